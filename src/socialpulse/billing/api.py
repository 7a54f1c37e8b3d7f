"""`/api/v1/credits/*`: the workspace's wallet, ledger, usage and prices (any member reads
them), and the instance's totals (instance administrator). Spending is not here: priced
routes spend through ``billing.gate``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path, Query

from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import reports, schemas
from socialpulse.billing import usage as billing_usage
from socialpulse.billing.models import LedgerKind
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id, UtcDatetime
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession, InstanceAdmin

router = api_router(prefix="/api/v1/credits", tags=["credits"], responses=error_responses(401))

ActionPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="A pricing rule's action, e.g. influencer_unlock (GET /pricing lists them).",
    ),
]
Page = Annotated[int, Query(ge=1, le=100_000, description="1-based page number.")]
PageSize = Annotated[int, Query(ge=1, le=200)]


@router.get("/balance", response_model=schemas.Balance)
def balance(session: DbSession, subject: CurrentSubject) -> object:
    """Top-up credits, those held by actions in progress, and what is available."""
    return billing_usage.balance(session, subject.workspace_id)


@router.get("/wallet/summary", response_model=schemas.WalletSummary)
def wallet_summary(session: DbSession, subject: CurrentSubject) -> object:
    """The plan, balance, this cycle's allowances and free units, and the top-up offers."""
    return reports.wallet_summary(session, subject.workspace_id)


@router.get("/dashboard", response_model=schemas.CreditsDashboard)
def dashboard(session: DbSession, subject: CurrentSubject) -> object:
    """The summary, this cycle's usage per action and the ten latest ledger rows."""
    return reports.dashboard(session, subject.workspace_id)


@router.get("/transactions", response_model=schemas.LedgerPage, responses=error_responses(422))
def transactions(
    session: DbSession,
    subject: CurrentSubject,
    page: Page = 1,
    page_size: PageSize = 50,
    kind: Annotated[LedgerKind | None, Query(description="charge, grant, topup...")] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[Id | None, Query(description="The user who spent or granted.")] = None,
    since: Annotated[UtcDatetime | None, Query(alias="from", description="Inclusive.")] = None,
    until: Annotated[UtcDatetime | None, Query(alias="to", description="Exclusive.")] = None,
) -> object:
    """The workspace's ledger, newest first: every charge, grant, top-up and plan change with
    its amount, the balance after it, who and why."""
    return reports.transactions(
        session,
        subject.workspace_id,
        page=page,
        page_size=page_size,
        kind=kind,
        action=action,
        actor_user_id=actor,
        since=since,
        until=until,
    )


@router.get(
    "/transactions/search", response_model=schemas.LedgerPage, responses=error_responses(422)
)
def search_transactions(
    session: DbSession,
    subject: CurrentSubject,
    q: Annotated[str, Query(min_length=1, max_length=reports.MAX_SEARCH_LENGTH)],
    page: Page = 1,
    page_size: PageSize = 50,
) -> object:
    """Ledger rows whose reference (e.g. creator:12), description or action contains `q`."""
    return reports.search_transactions(
        session, subject.workspace_id, q, page=page, page_size=page_size
    )


@router.get("/usage/monthly", response_model=schemas.MonthlyUsage)
def usage_monthly(session: DbSession, subject: CurrentSubject) -> object:
    """This billing cycle's actions, by what paid for them (free, allowance, credits)."""
    return reports.monthly_usage(session, subject.workspace_id)


@router.get("/analytics/spending", response_model=schemas.Spending, responses=error_responses(422))
def spending(
    session: DbSession,
    subject: CurrentSubject,
    months: Annotated[int, Query(ge=1, le=36)] = 6,
) -> object:
    """Credits spent and added per calendar month (workspace time zone), oldest first."""
    return reports.spending(session, subject.workspace_id, months)


@router.get("/can-perform/{action}", response_model=schemas.Quote, responses=error_responses(422))
def can_perform(
    action: ActionPath,
    session: DbSession,
    subject: CurrentSubject,
    quantity: Annotated[int, Query(ge=1, le=schemas.MAX_QUANTITY)] = 1,
) -> object:
    """Whether the workspace can perform `action` now, what it would cost and what would pay."""
    return billing_usage.quote(session, subject.workspace_id, action, quantity)


@router.get("/pricing", response_model=schemas.Pricing)
def pricing(session: DbSession, subject: CurrentSubject) -> object:
    """Every action's price, the plans, and the top-ups at this workspace's price."""
    return reports.pricing(session, subject.workspace_id)


@router.get(
    "/pricing/{action}", response_model=schemas.PricingRuleRead, responses=error_responses(422)
)
def pricing_rule(action: ActionPath, session: DbSession, subject: CurrentSubject) -> object:
    """One action's price, free units per month, allowance and access days."""
    return billing_pricing.get_rule(session, action)


@router.post(
    "/pricing/calculate", response_model=schemas.Calculation, responses=error_responses(422)
)
def calculate(
    items: Annotated[list[schemas.CalculateItem], Body(min_length=1, max_length=50)],
    session: DbSession,
    subject: CurrentSubject,
) -> object:
    """Quote several actions at once (each on its own against the wallet as it is now)."""
    return reports.calculate(session, subject.workspace_id, items)


@router.get("/allowances", response_model=schemas.Allowances)
def allowances(session: DbSession, subject: CurrentSubject) -> object:
    """This cycle's allowances (included, used, held, remaining) and free units per action."""
    return billing_usage.allowances(session, subject.workspace_id)


@router.get("/system/stats", response_model=schemas.SystemStats, responses=error_responses(403))
def system_stats(session: DbSession, _: InstanceAdmin) -> object:
    """The instance's wallets, plans, ledger totals and ledger mismatches (should be 0)."""
    return reports.system_stats(session)
