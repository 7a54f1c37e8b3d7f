from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, status

from socialpulse.accounts import budget, service
from socialpulse.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    ApiUsageRead,
    BudgetRead,
    BudgetUpdate,
    EndpointUsageRead,
    FetchRunRead,
)
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.kit.security import SecretBox
from socialpulse.worker.schemas import JobRead
from socialpulse.workspaces.deps import (
    AppSettings,
    CachedReads,
    CurrentSubject,
    DbSession,
    get_db,
)

router = api_router(prefix="/api/v1", tags=["accounts"], responses=error_responses(403, 404))


@router.get("/accounts", response_model=list[AccountRead])
def list_accounts(
    session: DbSession, subject: CurrentSubject, cache: CachedReads, platform: str | None = None
) -> object:
    return cache.respond(
        list[AccountRead], lambda: service.list_accounts(session, subject, platform)
    )


@router.post(
    "/accounts",
    response_model=AccountRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        409, 503, descriptions={409: "Already tracked", 503: "Platform down"}
    ),
)
def add_account(
    body: AccountCreate, request: Request, subject: CurrentSubject, settings: AppSettings
) -> object:
    """Validate the account against its platform, then track it (one snapshot is taken now)."""
    return service.add_account(
        get_db(request),
        subject,
        body.ref,
        box=SecretBox(settings.resolved_secret_key()),
        platform=body.platform,
        credentials=body.credentials,
        is_own=body.is_own,
        allow_simulated=settings.simulated_platform,
    )


@router.get("/accounts/{account_id}", response_model=AccountRead)
def read_account(account_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return service.get_account(session, subject, account_id)


@router.patch("/accounts/{account_id}", response_model=AccountRead)
def update_account(
    account_id: Id,
    body: AccountUpdate,
    session: DbSession,
    subject: CurrentSubject,
    settings: AppSettings,
) -> object:
    return service.update_account(
        session,
        subject,
        account_id,
        active=body.active,
        is_own=body.is_own,
        credentials=body.credentials,
        box=SecretBox(settings.resolved_secret_key()),
    )


@router.delete(
    "/accounts/{account_id}",
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
)
def delete_account(account_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    """Remove the account: it shows as `deleting` at once and nothing new starts for it; a
    background job deletes its data in batches. Follow it at GET /jobs/{id}: its `result`
    counts the rows deleted of the total. Asking again returns the same job."""
    return service.delete_account(session, subject, account_id)


@router.post(
    "/accounts/{account_id}/fetch",
    response_model=FetchRunRead,
    status_code=status.HTTP_202_ACCEPTED,
)
def fetch_account(account_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    """Queue a fetch now; follow it with GET /accounts/{id}/fetches. While a fetch of the
    account is queued or running, that run is returned and no second one is queued."""
    return service.request_fetch(session, subject, account_id)


@router.get("/accounts/{account_id}/fetches", response_model=list[FetchRunRead])
def list_fetches(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> object:
    return service.fetch_history(session, subject, account_id, limit)


@router.get("/usage", response_model=list[ApiUsageRead])
def api_usage(
    session: DbSession,
    subject: CurrentSubject,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> list[ApiUsageRead]:
    """API calls per platform and quota day, with each platform's daily budget."""
    return [
        ApiUsageRead(
            platform=line.platform,
            day=line.day,
            requests=line.requests,
            successes=line.successes,
            failures=line.failures,
            average_latency_ms=line.average_latency_ms or 0.0,
            quota_units=line.quota_units,
            deferred=line.deferred,
            daily_units=line.budget.daily_units if line.budget else None,
            usable_units=line.budget.usable_units if line.budget else None,
            endpoints=[
                EndpointUsageRead(
                    endpoint=item.endpoint, requests=item.requests, quota_units=item.quota_units
                )
                for item in line.endpoints
            ],
        )
        for line in budget.usage_report(session, subject, days=days).days
    ]


@router.put("/usage/budgets/{platform}", response_model=BudgetRead)
def set_budget(
    platform: str, body: BudgetUpdate, session: DbSession, subject: CurrentSubject
) -> BudgetRead:
    """Set a platform's daily quota (in the platform's units) and the safety margin. Raising
    it makes the work it deferred due at once (`released_jobs`); lowering leaves that work
    waiting for the next quota day."""
    change = service.change_budget(session, subject, platform, body.daily_units, body.safety_margin)
    return BudgetRead(
        daily_units=change.daily_units,
        safety_margin=change.safety_margin,
        released_jobs=change.released,
    )
