"""Reactions between domains that the lower domain may not import, installed at start-up: the
app, the CLI and the tests' conftest call `install_hooks()` (idempotent).

Removing an account (accounts) must stop the inbox's reply queue for it: waiting replies are
cancelled when the removal is asked for, and the deletion waits for a reply being sent right
now. The inbox's side belongs in the inbox domain; it is written here until the inbox registers
its own hook at start-up.
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


def install_hooks() -> None:
    accounts_service.register_deletion_hook(REPLY_QUEUE_HOOK)
