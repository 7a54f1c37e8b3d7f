"""What the Overview page shows: the workspace's social state at a glance, each figure with a
link to where it is acted on. Built from the domains' services (the page runs no SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import AccountStatus
from socialpulse.analytics import service as analytics
from socialpulse.db import utcnow
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.workspaces.tenancy import Subject

# The window of the follower deltas and of "this week's" top posts.
WEEK = 7

_ATTENTION = {
    AccountStatus.needs_reconnect: "Reconnect: the platform rejected its credentials",
    AccountStatus.not_found: "Gone from the platform",
    AccountStatus.error: "Its last fetch failed",
}


def follower_rows(session: Session, subject: Subject) -> list[dict[str, Any]]:
    """Each account with its followers and their change over the last week."""
    accounts = [
        account
        for account in accounts_service.list_accounts(session, subject)
        if account.status != AccountStatus.deleting
    ]
    deltas = analytics.count_deltas_for(
        session, subject, [account.id for account in accounts], ("followers",), (WEEK,)
    )
    rows: list[dict[str, Any]] = [
        {
            "account": account,
            "followers": account.followers_count,
            "delta": deltas[account.id]["followers"][0],
        }
        for account in accounts
    ]
    rows.sort(key=lambda row: -(row["followers"] or 0))
    return rows


def overview_context(session: Session, subject: Subject) -> dict[str, Any]:
    followers = follower_rows(session, subject)
    known = [row["delta"].absolute for row in followers if row["delta"].absolute is not None]
    posts = analytics.workspace_top_posts(
        session, subject, since=utcnow() - dt.timedelta(days=WEEK), limit=5
    )
    handles = {row["account"].id: row["account"].handle for row in followers}
    attention = [
        {
            "account": account,
            "why": (
                f"Latest fetch failed: {run.error}"
                if run is not None and run.error
                else _ATTENTION.get(account.status, "Its latest fetch failed")
            ),
            "reconnect": account.status == AccountStatus.needs_reconnect,
        }
        for account, run in accounts_service.accounts_needing_attention(session, subject)
    ]
    return {
        "week": WEEK,
        "followers": followers,
        "followers_total": sum(row["followers"] or 0 for row in followers),
        "followers_delta": sum(known) if known else None,
        "inbox": inbox_analytics.inbox_state(session, subject),
        "queue": inbox_analytics.response_queue(session, subject).overall,
        "top_posts": [(post, handles.get(post.account_id, "")) for post in posts],
        "attention": attention,
    }
