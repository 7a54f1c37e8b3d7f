"""Removing an account stops its reply queue: the inbox's reaction to the accounts domain.

Waiting replies are cancelled when the removal is asked for (they would otherwise go out from an
account the user has removed), and the deletion waits for a reply being sent right now.
``inbox.tasks.on_load`` registers ``REPLY_QUEUE_HOOK`` with the accounts domain at start-up.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.inbox.models import ReplyQueueItem, ReplyStatus

log = structlog.get_logger(__name__)


def _cancel_waiting_replies(session: Session, account_id: int) -> None:
    # Replies still waiting would otherwise go out from an account the user has removed.
    cancelled = session.execute(
        update(ReplyQueueItem)
        .where(
            ReplyQueueItem.account_id == account_id,
            ReplyQueueItem.status == ReplyStatus.pending,
        )
        .values(status=ReplyStatus.cancelled, last_error="the account was removed")
        .execution_options(synchronize_session=False)
    )
    log.info(
        "inbox.replies.cancelled",
        account_id=account_id,
        replies_cancelled=cancelled.rowcount,  # type: ignore[attr-defined]
    )


def _reply_being_sent(session: Session, account_id: int, now: dt.datetime) -> dt.datetime | None:
    """When the lease of a reply being sent for the account ends (None: none is being sent)."""
    return session.scalar(
        select(func.max(ReplyQueueItem.lease_expires_at)).where(
            ReplyQueueItem.account_id == account_id,
            ReplyQueueItem.status == ReplyStatus.processing,
            ReplyQueueItem.lease_expires_at > now,
        )
    )


REPLY_QUEUE_HOOK = accounts_service.DeletionHook(
    name="inbox.reply_queue",
    on_requested=_cancel_waiting_replies,
    busy_until=_reply_being_sent,
    busy_reason="a reply of this account is being sent",
)
