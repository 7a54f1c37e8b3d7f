"""The inbox API: interactions (filters, thread, triage, bulk, hide / unhide on the platform),
fans and superfans, settings, and polling an account's comments or mentions now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, status

from socialpulse.errors import InvalidInput, error_responses
from socialpulse.inbox import corrections, moderation, polling, service
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox.models import InteractionStatus
from socialpulse.inbox.schemas import (
    BulkAction,
    BulkResult,
    CommentPollQueued,
    FanDetail,
    FanRead,
    FanSummary,
    InboxSettingsRead,
    InboxSettingsUpdate,
    InteractionDetail,
    InteractionPage,
    InteractionRead,
    InteractionUpdate,
    LabelCorrectionCreate,
    LabelCorrectionRead,
    MentionPollQueued,
)
from socialpulse.kit.params import DB_INT_MAX, Id, UtcDatetime
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CachedReads, CurrentSubject, DbSession
from socialpulse.workspaces.tenancy import Subject

router = api_router(prefix="/api/v1", tags=["inbox"], responses=error_responses(403, 404))


@router.get("/inbox/interactions", response_model=InteractionPage)
def list_interactions(
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    platform: str | None = None,
    account_id: Id | None = None,
    fan_id: Id | None = None,
    status: InteractionStatus | None = None,
    sentiment: Annotated[str | None, Query(pattern="^(positive|neutral|negative)$")] = None,
    intent: str | None = None,
    language: str | None = None,
    superfan: bool | None = None,
    assignee: Annotated[
        str | None,
        # At most 10 digits: a user id is an INTEGER (checked against DB_INT_MAX below).
        Query(description="A user id, or 'none' for unassigned.", pattern=r"^(\d{1,10}|none)$"),
    ] = None,
    label: str | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> object:
    """Newest first; `next_cursor` gives the next (older) page. Cached like the reports (an
    `ETag`, 304 for `If-None-Match`) until the inbox, or anything else the page read, changes:
    a client polling for new comments costs little while none arrive."""
    assignee_id = int(assignee) if assignee and assignee != "none" else None
    if assignee_id is not None and not 1 <= assignee_id <= DB_INT_MAX:
        raise InvalidInput(f"assignee must be a user id between 1 and {DB_INT_MAX}, or 'none'")
    filters = service.InteractionFilters(
        platform=platform,
        account_id=account_id,
        fan_id=fan_id,
        status=status,
        sentiment=sentiment,
        intent=intent,
        language=language,
        superfan=superfan,
        assignee_user_id=assignee_id,
        unassigned=assignee == "none",
        label=label,
        q=q,
        since=since,
        until=until,
    )

    def compute() -> InteractionPage:
        page = service.list_interactions(session, subject, filters, limit=limit, cursor=cursor)
        return InteractionPage(
            items=[InteractionRead.model_validate(item) for item in page.items],
            next_cursor=page.next_cursor,
        )

    return cache.respond(InteractionPage, compute)


def _detail(
    session: DbSession, subject: Subject, thread: service.InteractionThread
) -> InteractionDetail:
    base = InteractionRead.model_validate(thread.interaction).model_dump()
    item = thread.interaction
    return InteractionDetail(
        **base,
        ai_evidence=item.ai_evidence,
        matched_reason=item.matched_reason,
        matched_workflow_name=thread.workflow_name,
        suggested_reply_source=item.suggested_reply_source,
        parent=InteractionRead.model_validate(thread.parent) if thread.parent else None,
        replies=[InteractionRead.model_validate(r) for r in thread.replies],
        fan=FanSummary.model_validate(thread.fan) if thread.fan else None,
        hide_failure=moderation.failure_details(session, subject, [item]).get(item.id),
    )


@router.get("/inbox/interactions/{interaction_id}", response_model=InteractionDetail)
def read_interaction(
    interaction_id: Id, session: DbSession, subject: CurrentSubject
) -> InteractionDetail:
    """One interaction with its thread (parent and replies), fan, workflow match and
    suggested reply."""
    return _detail(session, subject, service.interaction_thread(session, subject, interaction_id))


@router.patch("/inbox/interactions/{interaction_id}", response_model=InteractionDetail)
def update_interaction(
    interaction_id: Id, body: InteractionUpdate, session: DbSession, subject: CurrentSubject
) -> InteractionDetail:
    extra: dict[str, Any] = {}
    if "assignee_user_id" in body.model_fields_set:
        extra["assignee_user_id"] = body.assignee_user_id
    service.update_interaction(
        session,
        subject,
        interaction_id,
        status=body.status,
        labels=body.labels,
        priority=body.priority,
        **extra,
    )
    return _detail(session, subject, service.interaction_thread(session, subject, interaction_id))


@router.post("/inbox/interactions/{interaction_id}/hide", response_model=InteractionDetail)
def hide_interaction(
    interaction_id: Id, session: DbSession, subject: CurrentSubject
) -> InteractionDetail:
    """Hide a comment: in the inbox now, on the platform (YouTube, Instagram) just after
    (editor). Idempotent; `hide_state` tells `hide_pending`, `hidden` or `hide_failed`. 422
    where the platform does not let an account hide comments."""
    moderation.request_hide(session, subject, interaction_id)
    return _detail(session, subject, service.interaction_thread(session, subject, interaction_id))


@router.post("/inbox/interactions/{interaction_id}/unhide", response_model=InteractionDetail)
def unhide_interaction(
    interaction_id: Id, session: DbSession, subject: CurrentSubject
) -> InteractionDetail:
    """Show a hidden comment again: in the inbox now, on the platform just after if it was
    hidden there (editor). Idempotent; a hide still pending is dropped."""
    moderation.request_unhide(session, subject, interaction_id)
    return _detail(session, subject, service.interaction_thread(session, subject, interaction_id))


@router.post(
    "/inbox/interactions/{interaction_id}/label-correction",
    response_model=LabelCorrectionRead,
    responses=error_responses(422),
)
def correct_labels(
    interaction_id: Id, body: LabelCorrectionCreate, session: DbSession, subject: CurrentSubject
) -> object:
    """Say the AI got a label wrong (editor): the right sentiment and/or intent. Stored for the
    workspace, it wins over the model's label in the inbox, its filters and workflow
    conditions; re-analysis by a newer model does not undo it."""
    return corrections.correct_labels(
        session, subject, interaction_id, sentiment=body.sentiment, intent=body.intent
    )


@router.post("/inbox/interactions/bulk", response_model=BulkResult)
def bulk_update(body: BulkAction, session: DbSession, subject: CurrentSubject) -> BulkResult:
    """One action on many interactions; 404 (and no change) if any id is not in the workspace."""
    updated = service.bulk_update(
        session,
        subject,
        body.ids,
        action=body.action,
        status=body.status,
        label=body.label,
        assignee_user_id=body.assignee_user_id,
    )
    return BulkResult(updated=updated)


@router.get("/inbox/fans", response_model=list[FanRead])
def list_fans(
    session: DbSession,
    subject: CurrentSubject,
    superfan: bool | None = None,
    platform: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[FanRead]:
    """Fans sorted by lifetime value, highest first (`superfan=true`: superfans only)."""
    fans = fan_service.list_fans(
        session, subject, superfan=superfan, platform=platform, limit=limit, offset=offset
    )
    return [FanRead.model_validate(fan) for fan in fans]


@router.get("/inbox/fans/{fan_id}", response_model=FanDetail)
def read_fan(fan_id: Id, session: DbSession, subject: CurrentSubject) -> FanDetail:
    """A fan's stats, superfan status and since when, scores (lifetime counts) and recent
    interactions."""
    fan = fan_service.get_fan(session, subject, fan_id)
    recent = fan_service.recent_interactions_of(session, subject, fan.id)
    return FanDetail(
        **FanRead.model_validate(fan).model_dump(),
        recent_interactions=[InteractionRead.model_validate(i) for i in recent],
    )


@router.get("/inbox/settings", response_model=InboxSettingsRead)
def read_settings(session: DbSession, subject: CurrentSubject) -> object:
    return service.get_inbox_settings(session, subject)


@router.put("/inbox/settings", response_model=InboxSettingsRead)
def update_settings(
    body: InboxSettingsUpdate, session: DbSession, subject: CurrentSubject
) -> object:
    """Change inbox thresholds (admin); new superfan thresholds re-score every fan now."""
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    return service.update_settings(session, subject, values)


@router.post(
    "/accounts/{account_id}/comments/poll",
    response_model=CommentPollQueued,
    status_code=status.HTTP_202_ACCEPTED,
)
def poll_account_comments(
    account_id: Id, session: DbSession, subject: CurrentSubject
) -> CommentPollQueued:
    """Poll the comments of every post of the last 30 days of this account now (editor)."""
    poll_ids = polling.request_account_poll(session, subject, account_id)
    return CommentPollQueued(account_id=account_id, polls_queued=len(poll_ids), poll_ids=poll_ids)


@router.post(
    "/accounts/{account_id}/mentions/poll",
    response_model=MentionPollQueued,
    status_code=status.HTTP_202_ACCEPTED,
)
def poll_account_mentions(
    account_id: Id, session: DbSession, subject: CurrentSubject
) -> MentionPollQueued:
    """Read this account's new mentions and direct messages now (editor), as a job; its
    result (`GET /api/v1/jobs/{job_id}`) says how many were new. A poll already pending is
    reused. 422 on a platform whose mentions socialpulse cannot read (only Mastodon's)."""
    job_id = polling.request_mention_poll(session, subject, account_id)
    return MentionPollQueued(account_id=account_id, job_id=job_id)
