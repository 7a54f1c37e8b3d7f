"""The instance administrator's edits of the catalogue every workspace is billed by: plans
(price, seats, allowances, top-up discount) and pricing rules. Each route needs
`InstanceAdmin`; workspace roles are not enough."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from socialpulse.billing import pricing, schemas
from socialpulse.errors import error_responses
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import DbSession, InstanceAdmin

router = api_router(
    prefix="/api/v1/admin", tags=["instance admin"], responses=error_responses(401, 403, 422)
)


@router.get("/plans", response_model=list[schemas.PlanRead])
def list_plans(session: DbSession, _: InstanceAdmin) -> object:
    """Every plan, inactive ones included."""
    return pricing.list_plans(session)


@router.put("/plans/{code}", response_model=schemas.PlanRead, responses=error_responses(404))
def update_plan(
    code: Annotated[str, Path(min_length=1, max_length=32)],
    body: schemas.PlanUpdate,
    session: DbSession,
    _: InstanceAdmin,
) -> object:
    """Change a plan; only the fields given change. Takes effect at once for every workspace
    on it (allowances are compared with this cycle's use as it stands)."""
    return pricing.update_plan(session, code, body)


@router.put("/pricing/{action}", response_model=schemas.PricingRuleRead)
def update_rule(
    action: Annotated[str, Path(min_length=1, max_length=64)],
    body: schemas.PricingRuleUpdate,
    session: DbSession,
    _: InstanceAdmin,
) -> object:
    """Change an action's price, free units per month, allowance or access days."""
    return pricing.update_rule(session, action, body)
