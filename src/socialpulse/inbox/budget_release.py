"""Inbox work parked by a budget becomes due when the budget is raised.

Comment polls and queued replies that a budget deferred wait for the platform's next quota
day, with the deferral's message (``budget.deferral_prefix``) as their ``last_error``. Raising
the budget brings their time to now: the next polling round (every 5 minutes) fits the polls
into the new budget, and the reply sender takes the replies at its account's pace. Registered
with ``budget.register_budget_release`` by ``inbox.tasks.on_load``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import utcnow
from socialpulse.inbox.models import CommentPoll, ReplyQueueItem, ReplyStatus

RELEASE_NAME = "inbox"


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def release_budget_polls(session: Session, workspace_id: int, platform: str) -> int:
    """Make the workspace's comment polls that wait for ``platform``'s budget due now;
    returns how many."""
    now = utcnow()
    accounts = select(TrackedAccount.id).where(
        TrackedAccount.workspace_id == workspace_id, TrackedAccount.platform == platform
    )
    result = session.execute(
        update(CommentPoll)
        .where(
            CommentPoll.workspace_id == workspace_id,
            CommentPoll.account_id.in_(accounts),
            CommentPoll.next_poll_at > now,
            CommentPoll.last_error.startswith(
                budget_service.deferral_prefix(platform), autoescape=True
            ),
        )
        .values(next_poll_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


def release_budget_replies(session: Session, workspace_id: int, platform: str) -> int:
    """Make the workspace's queued replies that wait for ``platform``'s budget due now (the
    sender still keeps each account's reply pace); returns how many."""
    now = utcnow()
    result = session.execute(
        update(ReplyQueueItem)
        .where(
            ReplyQueueItem.workspace_id == workspace_id,
            ReplyQueueItem.platform == platform,
            ReplyQueueItem.status == ReplyStatus.pending,
            ReplyQueueItem.scheduled_for > now,
            ReplyQueueItem.last_error.startswith(
                budget_service.deferral_prefix(platform), autoescape=True
            ),
        )
        .values(scheduled_for=now)
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


def release_budget_waits(session: Session, workspace_id: int, platform: str) -> int:
    return release_budget_polls(session, workspace_id, platform) + release_budget_replies(
        session, workspace_id, platform
    )
