"""Discovery routes (``/api/v1/discovery/``): browse and search every analysed creator, categories,
lookalikes, saved searches, unlocks, the discovery dashboard and its prices.

Pricing (BILLING.md): page 1 of a browse is free; any later page is ``discovery_pagination``
(5 free pages a month); ``search-advanced`` and running a saved search is ``advanced_search``
(10 free a month) on its first page and ``discovery_pagination`` after; unlocking a profile is
``influencer_unlock``; a published contact e-mail ``email_unlock``. Every charge goes through
the credit gate: held before the work, settled in the transaction that records it, released when
the work fails. Spending the workspace's credits needs the editor role; a viewer reads page 1.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from sqlalchemy.orm import Session

from socialpulse.billing.gate import CreditGate, Credits
from socialpulse.creators import discovery, unlocks
from socialpulse.creators.schemas import (
    AccessState,
    AdvancedSearchRequest,
    CategoryList,
    ChargeInfo,
    DiscoveryCriteria,
    DiscoveryDashboard,
    DiscoveryPage,
    DiscoveryPricing,
    EmailUnlockRead,
    SavedSearchCreate,
    SavedSearchRead,
    SimilarList,
    SortBy,
    UnlockPage,
    UnlockRead,
    UnlockRequest,
)
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession, get_db
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

router = api_router(
    prefix="/api/v1/discovery",
    tags=["discovery"],
    responses=error_responses(402, 403, 404, 409, 422),
)

PAGINATION_ACTION = "discovery_pagination"
ADVANCED_ACTION = "advanced_search"


def _priced_search(
    request: Request,
    subject: Subject,
    credits: CreditGate,
    criteria: DiscoveryCriteria,
    *,
    page: int,
    page_size: int,
    first_page_action: str | None,
    reference: str,
    save_as: str | None = None,
    saved_search_id: int | None = None,
) -> DiscoveryPage:
    """Run a search and charge for it when priced. The search reads in a unit of work of its
    own and the charge settles in another (with the saved search ``save_as`` writes): no
    request transaction is open meanwhile, so SQLite's single writer is never waited on by
    the request that holds it."""
    db = get_db(request)
    action = first_page_action if page == 1 else PAGINATION_ACTION
    discovery.check_criteria(criteria)  # a bad range is a 422 that holds nothing
    if action is not None or save_as is not None:
        subject.require(Role.editor)

    def run() -> DiscoveryPage:
        with db.session(readonly=True) as reader:
            return discovery.search(
                reader, subject.workspace_id, criteria, page=page, page_size=page_size
            )

    def record(writer: Session) -> int | None:
        found = saved_search_id
        if save_as is not None:
            found = discovery.save_search(
                writer,
                subject.workspace_id,
                name=save_as,
                criteria=criteria,
                user_id=subject.user_id,
            ).id
        if found is not None:
            discovery.mark_saved_search_run(writer, subject.workspace_id, found)
        return found

    if action is None:
        result = run()
        if save_as is None:
            return result
        with db.session() as writer:
            return result.model_copy(update={"saved_search_id": record(writer)})
    with credits.spend(action, reference=f"{reference}:page:{page}") as hold:
        result = run()
        with db.session() as writer:
            found = record(writer)
            entry = hold.settle(writer)
            charge = ChargeInfo(
                action=action,
                credits=-entry.amount,
                funding=str(entry.funding),
                replayed=hold.replayed,
            )
    return result.model_copy(update={"charge": charge, "saved_search_id": found})


@router.get("/browse", response_model=DiscoveryPage)
def browse(
    request: Request,
    subject: CurrentSubject,
    credits: Credits,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    search: Annotated[str | None, Query(max_length=200, description="Full-text words.")] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    followers_min: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    followers_max: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    engagement_rate_min: Annotated[float | None, Query(ge=0, le=100)] = None,
    engagement_rate_max: Annotated[float | None, Query(ge=0, le=100)] = None,
    audience_quality_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    audience_quality_max: Annotated[int | None, Query(ge=0, le=100)] = None,
    sort_by: SortBy | None = None,
    unlocked: bool | None = None,
) -> DiscoveryPage:
    """Every analysed creator of the instance, filtered and sorted: the preview for creators this
    workspace has not unlocked, more for those it has. Page 1 is free; later pages are priced
    (``discovery_pagination``)."""
    criteria = DiscoveryCriteria(
        query=search,
        platforms=[platform] if platform else [],
        categories=[category] if category else [],
        languages=[language] if language else [],
        followers_min=followers_min,
        followers_max=followers_max,
        engagement_rate_min=engagement_rate_min,
        engagement_rate_max=engagement_rate_max,
        audience_quality_min=audience_quality_min,
        audience_quality_max=audience_quality_max,
        sort_by=sort_by,
        unlocked=unlocked,
    )
    return _priced_search(
        request,
        subject,
        credits,
        criteria,
        page=page,
        page_size=page_size,
        first_page_action=None,
        reference="discovery:browse",
    )


@router.get("/categories", response_model=CategoryList)
def categories(session: DbSession, subject: CurrentSubject) -> CategoryList:
    """Analysed creators per category (and how many of them this workspace unlocked)."""
    return discovery.categories(session, subject.workspace_id)


@router.post("/search-advanced", response_model=DiscoveryPage)
def search_advanced(
    body: AdvancedSearchRequest,
    request: Request,
    subject: CurrentSubject,
    credits: Credits,
) -> DiscoveryPage:
    """Multi-criteria search (lists of platforms, categories, languages, hashtags, ranges,
    contact e-mail, verified); ``save_as`` also saves the criteria. Priced
    ``advanced_search`` (10 free a month), later pages ``discovery_pagination``."""
    criteria = DiscoveryCriteria.model_validate(
        body.model_dump(exclude={"page", "page_size", "save_as"})
    )
    return _priced_search(
        request,
        subject,
        credits,
        criteria,
        page=body.page,
        page_size=body.page_size,
        first_page_action=ADVANCED_ACTION,
        reference="discovery:advanced",
        save_as=body.save_as,
    )


@router.get("/saved-searches", response_model=list[SavedSearchRead])
def saved_searches(session: DbSession, subject: CurrentSubject) -> list[SavedSearchRead]:
    """This workspace's saved searches (shared by its members, private to it)."""
    return discovery.list_saved_searches(session, subject.workspace_id)


@router.post("/saved-searches", response_model=SavedSearchRead, status_code=201)
def save_search(
    body: SavedSearchCreate, session: DbSession, subject: CurrentSubject
) -> SavedSearchRead:
    subject.require(Role.editor)
    return discovery.save_search(
        session,
        subject.workspace_id,
        name=body.name,
        criteria=body.criteria,
        user_id=subject.user_id,
    )


@router.get("/saved-searches/{search_id}", response_model=SavedSearchRead)
def saved_search(search_id: Id, session: DbSession, subject: CurrentSubject) -> SavedSearchRead:
    return discovery.get_saved_search(session, subject.workspace_id, search_id)


@router.delete("/saved-searches/{search_id}", status_code=204)
def delete_saved_search(search_id: Id, session: DbSession, subject: CurrentSubject) -> Response:
    subject.require(Role.editor)
    discovery.delete_saved_search(session, subject.workspace_id, search_id)
    return Response(status_code=204)


@router.post("/saved-searches/{search_id}/run", response_model=DiscoveryPage)
def run_saved_search(
    search_id: Id,
    request: Request,
    subject: CurrentSubject,
    credits: Credits,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DiscoveryPage:
    """Run a saved search: priced as ``search-advanced``."""
    with get_db(request).session(readonly=True) as reader:
        saved = discovery.get_saved_search(reader, subject.workspace_id, search_id)
    return _priced_search(
        request,
        subject,
        credits,
        saved.criteria,
        page=page,
        page_size=page_size,
        first_page_action=ADVANCED_ACTION,
        reference=f"discovery:saved:{search_id}",
        saved_search_id=search_id,
    )


@router.get("/similar/{creator_id}", response_model=SimilarList)
def similar(
    creator_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    limit: Annotated[int, Query(ge=1, le=50)] = discovery.SIMILAR_LIMIT,
) -> SimilarList:
    """Lookalikes: shared hashtags and topics, category, language, follower tier."""
    return discovery.similar(session, subject.workspace_id, creator_id, limit=limit)


@router.get("/access/{creator_id}", response_model=AccessState)
def access(creator_id: Id, session: DbSession, subject: CurrentSubject) -> AccessState:
    """Whether this workspace has the creator unlocked, and until when."""
    unlocks.require_creator(session, creator_id)
    return unlocks.access_state(session, subject.workspace_id, creator_id)


@router.post("/unlock-profile", response_model=UnlockRead)
def unlock_profile(
    body: UnlockRequest, request: Request, subject: CurrentSubject, credits: Credits
) -> UnlockRead:
    """Unlock the creator's full report for the workspace (``influencer_unlock``: the plan's
    profiles allowance first, then credits) for the rule's access days. Free when the workspace
    already has it unlocked; re-unlocking an expired one charges again."""
    subject.require(Role.editor)
    return unlocks.unlock_via_gate(
        get_db(request),
        credits,
        workspace_id=subject.workspace_id,
        creator_id=body.creator_id,
        actor_user_id=subject.user_id,
    )


@router.post("/unlock-email", response_model=EmailUnlockRead)
def unlock_email(
    body: UnlockRequest, request: Request, subject: CurrentSubject, credits: Credits
) -> EmailUnlockRead:
    """The contact e-mail the creator published in their profile (``email_unlock``), charged
    once per workspace; 404 without charge when the creator published none."""
    subject.require(Role.editor)
    return unlocks.unlock_email_via_gate(
        get_db(request),
        credits,
        workspace_id=subject.workspace_id,
        creator_id=body.creator_id,
        actor_user_id=subject.user_id,
    )


@router.get("/unlocked-profiles", response_model=UnlockPage)
def unlocked_profiles(
    session: DbSession,
    subject: CurrentSubject,
    include_expired: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UnlockPage:
    """The workspace's unlocked creators, soonest to expire first, with the time left."""
    return unlocks.list_unlocked(
        session,
        subject.workspace_id,
        include_expired=include_expired,
        page=page,
        page_size=page_size,
    )


@router.get("/dashboard", response_model=DiscoveryDashboard)
def dashboard(session: DbSession, subject: CurrentSubject) -> DiscoveryDashboard:
    """Totals, the team's recent unlocks, credit use and suggestions."""
    return discovery.dashboard(session, subject.workspace_id)


@router.get("/pricing", response_model=DiscoveryPricing)
def pricing(session: DbSession, subject: CurrentSubject) -> DiscoveryPricing:
    """What each discovery action costs this workspace now (free units, allowance, credits)."""
    return discovery.pricing(session, subject.workspace_id)
