"""How the reply queue stands, per account: the limits in force, what waits, whether the next
send is late, how long the backlog takes to clear; and workflows whose auto-reply template went
out suspiciously often today (identical replies at volume are what platforms flag as spam)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import utcnow
from socialpulse.inbox.models import (
    DEFAULT_AUTO_REPLY_DAILY_WARNING,
    InboxSettings,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
)
from socialpulse.inbox.replies.pacing import ReplyLimits, limits_for
from socialpulse.workspaces.tenancy import Subject, scoped

WORKFLOW_PREFIX = "workflow:"
# Account states in which the sender claims nothing (inbox.replies.sender).
PAUSED = frozenset({AccountStatus.needs_reconnect, AccountStatus.deleting})


def planned_gap(limits: ReplyLimits) -> dt.timedelta:
    """The average time between two sends of one account when it has a backlog: the minimum
    interval plus the mean random delay, or what the per-minute / per-hour caps allow if they
    are slower."""
    seconds = max(
        limits.min_interval_s + (limits.jitter_min_s + limits.jitter_max_s) / 2,
        60.0 / limits.max_per_minute,
        3600.0 / limits.max_per_hour,
    )
    return dt.timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class AccountBacklog:
    account_id: int
    handle: str
    platform: str
    limits: ReplyLimits
    custom_limits: bool  # the account's own limits, not its platform's defaults
    waiting: int  # pending or being sent
    next_send: dt.datetime | None  # the earliest planned send still pending
    overdue: bool  # that send's time has passed and it has not gone out
    time_to_clear: dt.timedelta  # waiting x the average planned gap
    paused: bool  # the account must be reconnected (or is being removed): nothing leaves


def account_backlogs(
    session: Session, subject: Subject, now: dt.datetime | None = None
) -> list[AccountBacklog]:
    """Every own account of the workspace (that replies), busiest first, then by handle."""
    now = now or utcnow()
    accounts = list(
        session.scalars(
            scoped(select(TrackedAccount), subject).where(TrackedAccount.is_own.is_(True))
        )
    )
    waiting = dict(
        session.execute(
            scoped(select(ReplyQueueItem.account_id, func.count()), subject)
            .where(ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing]))
            .group_by(ReplyQueueItem.account_id)
        ).all()
    )
    pending_first = dict(
        session.execute(
            scoped(
                select(ReplyQueueItem.account_id, func.min(ReplyQueueItem.scheduled_for)),
                subject,
            )
            .where(ReplyQueueItem.status == ReplyStatus.pending)
            .group_by(ReplyQueueItem.account_id)
        ).all()
    )
    rows = []
    for account in accounts:
        limits, custom = limits_for(session, account)
        count = int(waiting.get(account.id, 0))
        next_send = pending_first.get(account.id)
        rows.append(
            AccountBacklog(
                account_id=account.id,
                handle=account.handle,
                platform=account.platform,
                limits=limits,
                custom_limits=custom,
                waiting=count,
                next_send=next_send,
                overdue=next_send is not None and next_send < now,
                time_to_clear=planned_gap(limits) * count,
                paused=account.status in PAUSED,
            )
        )
    rows.sort(key=lambda row: (-row.waiting, row.handle.lower()))
    return rows


@dataclass(frozen=True, slots=True)
class AutoReplyWarning:
    workflow_id: int
    workflow_name: str
    count: int  # its auto-replies queued today (UTC), cancelled ones left out
    threshold: int


def daily_warning_threshold(session: Session, subject: Subject) -> int:
    row = session.get(InboxSettings, subject.workspace_id)
    return row.auto_reply_daily_warning if row is not None else DEFAULT_AUTO_REPLY_DAILY_WARNING


def auto_reply_warnings(
    session: Session, subject: Subject, now: dt.datetime | None = None
) -> list[AutoReplyWarning]:
    """Workflows whose auto-reply template was queued more than the workspace's
    `auto_reply_daily_warning` times since midnight UTC, most first."""
    now = now or utcnow()
    threshold = daily_warning_threshold(session, subject)
    midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    counts = session.execute(
        scoped(select(ReplyQueueItem.created_by, func.count()), subject)
        .where(
            ReplyQueueItem.created_by.startswith(WORKFLOW_PREFIX),
            ReplyQueueItem.created_at >= midnight,
            ReplyQueueItem.status != ReplyStatus.cancelled,
        )
        .group_by(ReplyQueueItem.created_by)
        .having(func.count() > threshold)
    ).all()
    by_workflow = {
        int(source.removeprefix(WORKFLOW_PREFIX)): int(count)
        for source, count in counts
        if source.removeprefix(WORKFLOW_PREFIX).isdigit()
    }
    if not by_workflow:
        return []
    names = dict(
        session.execute(
            scoped(select(Workflow.id, Workflow.name), subject).where(
                Workflow.id.in_(list(by_workflow))
            )
        ).all()
    )
    warnings = [
        AutoReplyWarning(
            workflow_id=workflow_id,
            workflow_name=names.get(workflow_id, f"a deleted workflow ({workflow_id})"),
            count=count,
            threshold=threshold,
        )
        for workflow_id, count in by_workflow.items()
    ]
    warnings.sort(key=lambda warning: -warning.count)
    return warnings
