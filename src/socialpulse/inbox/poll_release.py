"""Comment polls parked by a budget become due when the budget is raised.

A poll the budget deferred (its calls would pass the safety margin, or the scheduler could not
fit it into the units left today) waits for the next quota day, with the deferral's message as
its ``last_error``. Raising the budget brings its ``next_poll_at`` to now; the next scheduling
round (every 5 minutes) fits it into the new budget. Registered with
``budget.register_budget_release`` by ``inbox.tasks.on_load``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import utcnow
from socialpulse.inbox.models import CommentPoll

RELEASE_NAME = "inbox.comment_polls"


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
    return int(getattr(result, "rowcount", 0) or 0)
