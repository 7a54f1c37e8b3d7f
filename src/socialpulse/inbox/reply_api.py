"""Reply queue routes: reply, approve/reject drafts, the queue, retry/cancel, reply limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, status

from socialpulse.errors import error_responses
from socialpulse.inbox.models import ReplyStatus
from socialpulse.inbox.replies import pacing
from socialpulse.inbox.replies import service as replies
from socialpulse.inbox.schemas import (
    ApproveBody,
    BulkApproveBody,
    InteractionDraftRead,
    ReplyBatchRead,
    ReplyCreate,
    ReplyItemRead,
    ReplyLimitsBody,
    ReplyLimitsRead,
)
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession

router = api_router(prefix="/api/v1", tags=["reply-queue"])

_ERRORS = error_responses(
    403,
    404,
    409,
    422,
    descriptions={
        403: "Needs the editor role",
        404: "Not in this workspace",
        409: "A reply is already queued, or the item is in the wrong state",
        422: "Empty text, or longer than the platform allows",
    },
)


def _limits_read(
    account_id: int, platform: str, limits: pacing.ReplyLimits, custom: bool
) -> ReplyLimitsRead:
    return ReplyLimitsRead(
        account_id=account_id,
        platform=platform,
        custom=custom,
        max_per_hour=limits.max_per_hour,
        max_per_minute=limits.max_per_minute,
        min_interval_s=limits.min_interval_s,
        jitter_min_s=limits.jitter_min_s,
        jitter_max_s=limits.jitter_max_s,
    )


@router.post(
    "/inbox/interactions/{interaction_id}/reply",
    response_model=ReplyItemRead,
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
)
def reply(
    interaction_id: Id, body: ReplyCreate, session: DbSession, subject: CurrentSubject
) -> object:
    """Queue a reply; it is sent at the account's pace (see `scheduled_for`)."""
    return replies.reply_to(session, subject, interaction_id, body.text, priority=body.priority)


# Declared before "{interaction_id}/approve", which would otherwise take "bulk" for an id.
@router.post(
    "/inbox/interactions/bulk/approve",
    response_model=ReplyBatchRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        403,
        404,
        409,
        422,
        descriptions={
            403: "Needs the editor role",
            404: "An id is not in this workspace (nothing is queued)",
            409: "An interaction already has a reply queued (nothing is queued)",
            422: "An interaction has no drafted reply, or a draft the platform would refuse",
        },
    ),
)
def bulk_approve(body: BulkApproveBody, session: DbSession, subject: CurrentSubject) -> object:
    """Queue the drafted replies of these interactions as one batch (one shared `batch_id`),
    all or nothing."""
    batch_id, items = replies.approve_suggestions(session, subject, body.ids)
    return ReplyBatchRead(
        batch_id=batch_id, items=[ReplyItemRead.model_validate(item) for item in items]
    )


@router.post(
    "/inbox/interactions/{interaction_id}/approve",
    response_model=ReplyItemRead,
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
)
def approve(
    interaction_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    body: ApproveBody | None = None,
) -> object:
    """Queue the drafted reply, or the edited `text`."""
    text = body.text if body is not None else None
    return replies.approve_suggestion(session, subject, interaction_id, text)


@router.post(
    "/inbox/interactions/{interaction_id}/reject",
    response_model=InteractionDraftRead,
    responses=_ERRORS,
)
def reject(interaction_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    """Drop the drafted reply."""
    return replies.reject_suggestion(session, subject, interaction_id)


@router.get("/inbox/queue", response_model=list[ReplyItemRead])
def queue(
    session: DbSession,
    subject: CurrentSubject,
    status_filter: Annotated[ReplyStatus | None, Query(alias="status")] = None,
    account_id: Id | None = None,
    batch_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="Only the replies queued together in this batch.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> object:
    """Queued, sent and failed replies, by scheduled time."""
    return replies.list_queue(
        session,
        subject,
        status=status_filter,
        account_id=account_id,
        batch_id=batch_id,
        limit=limit,
    )


@router.post("/inbox/queue/{queue_item_id}/retry", response_model=ReplyItemRead, responses=_ERRORS)
def retry(queue_item_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return replies.retry_item(session, subject, queue_item_id)


@router.post("/inbox/queue/{queue_item_id}/cancel", response_model=ReplyItemRead, responses=_ERRORS)
def cancel(queue_item_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return replies.cancel_item(session, subject, queue_item_id)


@router.get("/inbox/reply-limits/{account_id}", response_model=ReplyLimitsRead, responses=_ERRORS)
def read_limits(account_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    account, limits, custom = replies.get_limits(session, subject, account_id)
    return _limits_read(account.id, account.platform, limits, custom)


@router.put("/inbox/reply-limits/{account_id}", response_model=ReplyLimitsRead, responses=_ERRORS)
def update_limits(
    account_id: Id, body: ReplyLimitsBody, session: DbSession, subject: CurrentSubject
) -> object:
    """Override the platform defaults for this account (admin)."""
    limits = pacing.ReplyLimits(**body.model_dump())
    account, limits, custom = replies.set_limits(session, subject, account_id, limits)
    return _limits_read(account.id, account.platform, limits, custom)
