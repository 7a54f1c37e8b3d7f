"""Alert routes: an account's rules (``/accounts/{id}/alert-rules``; writes need editor) and the
workspace's alerts (``/alerts``; acknowledging needs editor). Thin: logic in `alerts.service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from socialpulse.alerts import service
from socialpulse.alerts.schemas import (
    AlertRead,
    AlertRuleCreate,
    AlertRuleRead,
    AlertRuleUpdate,
    AlertState,
)
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession

router = api_router(prefix="/api/v1", tags=["alerts"], responses=error_responses(403, 404))


@router.get("/accounts/{account_id}/alert-rules", response_model=list[AlertRuleRead])
def list_rules(account_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return service.list_rules(session, subject, account_id)


@router.post(
    "/accounts/{account_id}/alert-rules",
    response_model=AlertRuleRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 422),
)
def create_rule(
    account_id: Id, body: AlertRuleCreate, session: DbSession, subject: CurrentSubject
) -> object:
    """Watch the account: evaluated after each of its fetches. Parameters left out take the
    kind's defaults; one that does not apply to the kind is a 422."""
    return service.create_rule(session, subject, account_id, body)


@router.patch(
    "/accounts/{account_id}/alert-rules/{rule_id}",
    response_model=AlertRuleRead,
    responses=error_responses(422),
)
def update_rule(
    account_id: Id, rule_id: Id, body: AlertRuleUpdate, session: DbSession, subject: CurrentSubject
) -> object:
    """Change thresholds (the rule is re-armed) or pause it (`enabled: false`)."""
    return service.update_rule(session, subject, account_id, rule_id, body)


@router.delete(
    "/accounts/{account_id}/alert-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_rule(
    account_id: Id, rule_id: Id, session: DbSession, subject: CurrentSubject
) -> Response:
    """Delete the rule; the alerts it fired stay, with `rule_id` null."""
    service.delete_rule(session, subject, account_id, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/alerts", response_model=list[AlertRead])
def list_alerts(
    session: DbSession,
    subject: CurrentSubject,
    account_id: Annotated[Id | None, Query(description="Only this account's alerts.")] = None,
    state: Annotated[
        AlertState, Query(description="open (not acknowledged), acknowledged, or all.")
    ] = AlertState.open,
    limit: Annotated[int, Query(ge=1, le=service.ALERTS_PAGE_MAX)] = 50,
) -> object:
    """The workspace's alerts, newest first."""
    return service.list_alerts(session, subject, account_id=account_id, state=state, limit=limit)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge(alert_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    """Mark the alert seen: it leaves the overview's open alerts."""
    return service.acknowledge(session, subject, alert_id)
