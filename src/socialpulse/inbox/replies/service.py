"""Reply use-cases: queueing a reply at the account's pace (by hand, from an approved draft or a
workflow), drafts, the queue listing, retry and cancel, and per-account limits.

Batches: every reply queued from now on carries a `batch_id`, the id of the action that queued
it. Replies queued together share one: a bulk approve, or one workflow's run over the
interactions of one trigger pass. A reply queued on its own (one manual reply, one approve) is a
batch of one, with its own id, so "what else was queued with this?" has an answer for every
item. Items queued before batches existed have none (null). A retry keeps the item's batch."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import asdict

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, NotFound
from socialpulse.inbox.models import (
    NOT_IN_LISTS,
    Interaction,
    InteractionStatus,
    ReplyLimit,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.inbox.replies.pacing import (
    ReplyLimits,
    limits_for,
    plan_one,
    validate_limits,
    validate_text,
)
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

BULK_APPROVE_MAX = 500


def new_batch_id() -> str:
    return uuid.uuid4().hex


# --- enqueueing --------------------------------------------------------------------------------


def enqueue_reply(
    session: Session,
    interaction: Interaction,
    text: str,
    *,
    created_by: str,
    priority: int = 50,
    batch_id: str | None = None,
    now: dt.datetime | None = None,
) -> ReplyQueueItem:
    """Queue a reply to `interaction` at the account's pace (the caller commits). Without a
    `batch_id` the reply is a batch of its own."""
    now = now or utcnow()
    account = session.get(TrackedAccount, interaction.account_id)
    if account is None or account.workspace_id != interaction.workspace_id:
        raise NotFound(f"account {interaction.account_id} not found")
    if not account.is_own:
        raise InvalidInput("replies go out from your own connected accounts only")
    cleaned = validate_text(account.platform, text)
    if not 0 <= priority <= 100:
        raise InvalidInput("priority must be between 0 and 100")
    active = session.scalar(
        select(ReplyQueueItem.id).where(
            ReplyQueueItem.interaction_id == interaction.id,
            ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing]),
        )
    )
    if active is not None:
        raise Conflict(
            f"a reply to this interaction is already queued (item {active}); cancel it first"
        )
    key = uuid.uuid4().hex
    scheduled = plan_one(session, account, now, key)
    item = ReplyQueueItem(
        workspace_id=interaction.workspace_id,
        account_id=account.id,
        interaction_id=interaction.id,
        platform=account.platform,
        text=cleaned,
        priority=priority,
        batch_id=batch_id or new_batch_id(),
        scheduled_for=scheduled,
        idempotency_key=key,
        created_by=created_by,
        created_at=now,
    )
    session.add(item)
    _give_priority(session, item, now)
    session.flush()
    log.info(
        "inbox.queue.enqueued",
        item_id=item.id,
        account_id=account.id,
        scheduled_for=item.scheduled_for.isoformat(),
        batch_id=item.batch_id,
    )
    return item


def _give_priority(session: Session, item: ReplyQueueItem, now: dt.datetime) -> None:
    """Let `item` jump ahead of pending lower-priority replies by rotating their slots."""
    lower = list(
        session.scalars(
            select(ReplyQueueItem)
            .where(
                ReplyQueueItem.account_id == item.account_id,
                ReplyQueueItem.status == ReplyStatus.pending,
                ReplyQueueItem.publish_started_at.is_(None),
                ReplyQueueItem.priority < item.priority,
                ReplyQueueItem.scheduled_for > now,
                ReplyQueueItem.scheduled_for < item.scheduled_for,
            )
            .order_by(ReplyQueueItem.scheduled_for, ReplyQueueItem.id)
        )
    )
    if not lower:
        return
    slots = [row.scheduled_for for row in lower] + [item.scheduled_for]
    item.scheduled_for = slots[0]
    for row, slot in zip(lower, slots[1:], strict=True):
        row.scheduled_for = slot


def _interaction(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    return get_scoped(session, Interaction, interaction_id, subject)


def reply_to(
    session: Session,
    subject: Subject,
    interaction_id: int,
    text: str,
    *,
    priority: int = 50,
    now: dt.datetime | None = None,
) -> ReplyQueueItem:
    subject.require(Role.editor)
    interaction = _interaction(session, subject, interaction_id)
    return enqueue_reply(
        session, interaction, text, created_by=subject.actor, priority=priority, now=now
    )


def approve_suggestion(
    session: Session,
    subject: Subject,
    interaction_id: int,
    text: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> ReplyQueueItem:
    """Queue the drafted reply (or the edited text the human approved)."""
    subject.require(Role.editor)
    interaction = _interaction(session, subject, interaction_id)
    final = text if text is not None else interaction.suggested_reply
    if not final:
        raise InvalidInput("this interaction has no drafted reply to approve; send a text")
    return _approve(session, subject, interaction, final, new_batch_id(), now)


def _approve(
    session: Session,
    subject: Subject,
    interaction: Interaction,
    text: str,
    batch_id: str,
    now: dt.datetime | None,
) -> ReplyQueueItem:
    item = enqueue_reply(
        session,
        interaction,
        text,
        created_by=subject.actor,
        priority=interaction.priority,
        batch_id=batch_id,
        now=now,
    )
    interaction.suggested_reply = item.text
    if interaction.status == InteractionStatus.awaiting_approval:
        interaction.status = InteractionStatus.unread
    session.flush()
    return item


def approve_suggestions(
    session: Session,
    subject: Subject,
    interaction_ids: Sequence[int],
    *,
    now: dt.datetime | None = None,
) -> tuple[str, list[ReplyQueueItem]]:
    """Queue the drafted reply of each interaction, in the order given, as one batch: they
    share a `batch_id`. All or nothing: an id outside the workspace (404), an interaction
    without a draft (422) or with a reply already queued (409) queues none (the request's
    transaction rolls back)."""
    subject.require(Role.editor)
    unique = list(dict.fromkeys(interaction_ids))
    if not 1 <= len(unique) <= BULK_APPROVE_MAX:
        raise InvalidInput(f"approve between 1 and {BULK_APPROVE_MAX} interactions at once")
    found = {
        it.id: it
        for it in session.scalars(
            scoped(select(Interaction), subject).where(Interaction.id.in_(unique))
        )
    }
    missing = [i for i in unique if i not in found]
    if missing:
        raise NotFound(f"interactions not found: {', '.join(map(str, missing))}")
    undrafted = [i for i in unique if not found[i].suggested_reply]
    if undrafted:
        raise InvalidInput(
            "these interactions have no drafted reply to approve: " + ", ".join(map(str, undrafted))
        )
    queued = sorted(
        session.scalars(
            scoped(select(ReplyQueueItem.interaction_id), subject).where(
                ReplyQueueItem.interaction_id.in_(unique),
                ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing]),
            )
        )
    )
    if queued:
        raise Conflict(
            "these interactions already have a reply queued (cancel it first): "
            + ", ".join(map(str, queued))
        )
    batch_id = new_batch_id()
    items = []
    for interaction_id in unique:
        interaction = found[interaction_id]
        draft = interaction.suggested_reply
        assert draft is not None  # checked above
        items.append(_approve(session, subject, interaction, draft, batch_id, now))
    log.info("inbox.queue.bulk_approved", batch_id=batch_id, items=len(items))
    return batch_id, items


def reject_suggestion(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    subject.require(Role.editor)
    interaction = _interaction(session, subject, interaction_id)
    if not interaction.suggested_reply:
        raise InvalidInput("this interaction has no drafted reply")
    interaction.suggested_reply = None
    interaction.suggested_reply_source = None
    if interaction.status == InteractionStatus.awaiting_approval:
        interaction.status = InteractionStatus.unread
    session.flush()
    return interaction


def list_queue(
    session: Session,
    subject: Subject,
    *,
    status: ReplyStatus | None = None,
    account_id: int | None = None,
    batch_id: str | None = None,
    limit: int = 200,
) -> list[ReplyQueueItem]:
    query = scoped(select(ReplyQueueItem), subject).order_by(
        ReplyQueueItem.scheduled_for, ReplyQueueItem.id
    )
    if batch_id is not None:
        query = query.where(ReplyQueueItem.batch_id == batch_id)
    if status is not None:
        query = query.where(ReplyQueueItem.status == status)
    if account_id is not None:
        query = query.where(ReplyQueueItem.account_id == account_id)
    return list(session.scalars(query.limit(limit)))


def retry_item(
    session: Session, subject: Subject, item_id: int, *, now: dt.datetime | None = None
) -> ReplyQueueItem:
    """Queue a failed or cancelled reply again, at the account's pace, with fresh attempts.

    After "could not confirm", the user has checked the platform: retrying sends anew."""
    subject.require(Role.editor)
    now = now or utcnow()
    item = get_scoped(session, ReplyQueueItem, item_id, subject)
    if item.status not in (ReplyStatus.failed, ReplyStatus.cancelled):
        raise Conflict(
            f"only failed or cancelled replies can be retried; this one is {item.status}"
        )
    account = session.get(TrackedAccount, item.account_id)
    assert account is not None
    item.scheduled_for = plan_one(session, account, now, item.idempotency_key)
    item.status = ReplyStatus.pending
    item.attempts = 0
    item.publish_started_at = None
    item.locked_by = None
    item.lease_expires_at = None
    item.last_error = None
    session.flush()
    return item


def cancel_item(session: Session, subject: Subject, item_id: int) -> ReplyQueueItem:
    subject.require(Role.editor)
    item = get_scoped(session, ReplyQueueItem, item_id, subject)
    if item.status != ReplyStatus.pending or item.publish_started_at is not None:
        raise Conflict(f"only replies still waiting can be cancelled; this one is {item.status}")
    result = session.execute(
        update(ReplyQueueItem)
        .where(ReplyQueueItem.id == item.id, ReplyQueueItem.status == ReplyStatus.pending)
        .values(status=ReplyStatus.cancelled, locked_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the reply is being sent right now; it can no longer be cancelled")
    session.refresh(item)
    return item


def get_limits(
    session: Session, subject: Subject, account_id: int
) -> tuple[TrackedAccount, ReplyLimits, bool]:
    account = get_scoped(session, TrackedAccount, account_id, subject)
    limits, custom = limits_for(session, account)
    return account, limits, custom


def set_limits(
    session: Session, subject: Subject, account_id: int, limits: ReplyLimits
) -> tuple[TrackedAccount, ReplyLimits, bool]:
    subject.require(Role.admin)
    account = get_scoped(session, TrackedAccount, account_id, subject)
    validate_limits(limits)
    row = session.scalar(
        scoped(select(ReplyLimit), subject).where(ReplyLimit.account_id == account.id)
    )
    if row is None:
        row = ReplyLimit(workspace_id=account.workspace_id, account_id=account.id, **asdict(limits))
        session.add(row)
    else:
        for key, value in asdict(limits).items():
            setattr(row, key, value)
    session.flush()
    return account, limits, True


def queue_with_interactions(
    session: Session,
    subject: Subject,
    statuses: Sequence[ReplyStatus],
    *,
    newest: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[tuple[ReplyQueueItem, Interaction]]:
    """Queue items in these statuses with the interaction each answers, by planned time
    (latest first with ``newest``)."""
    order = ReplyQueueItem.scheduled_for.desc() if newest else ReplyQueueItem.scheduled_for
    rows = session.execute(
        scoped(select(ReplyQueueItem, Interaction), subject)
        .join(Interaction, Interaction.id == ReplyQueueItem.interaction_id)
        .options(*NOT_IN_LISTS)
        .where(ReplyQueueItem.status.in_(list(statuses)))
        .order_by(order, ReplyQueueItem.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [(item, interaction) for item, interaction in rows]


def get_item(session: Session, subject: Subject, item_id: int) -> ReplyQueueItem:
    return get_scoped(session, ReplyQueueItem, item_id, subject)


def waiting_reply(session: Session, subject: Subject, interaction_id: int) -> ReplyQueueItem | None:
    """The reply to this interaction still waiting to be sent (pending or being sent), if any."""
    return session.scalar(
        scoped(select(ReplyQueueItem), subject).where(
            ReplyQueueItem.interaction_id == interaction_id,
            ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing]),
        )
    )
