"""Retention: the daily pass that prunes what would otherwise grow for ever.

Four kinds of rows pile up with no one deleting them: finished background jobs, fetch runs,
workflow matches and finished reply-queue items. Every day from `SOCIALPULSE_RETENTION_TIME`
(02:00) in each workspace's time zone, one durable job per workspace deletes those older than
their setting (`SOCIALPULSE_RETENTION_*_DAYS`; 0 keeps a kind for ever), like the daily fetch
is queued once per local day. Rows that belong to no workspace (jobs queued without one) get the
same pass at 02:00 UTC.

What is never deleted, whatever its age:

* pending or running work: jobs that are not completed/failed, fetch runs still pending or
  running, replies pending or being sent;
* a finished job that a kept fetch run still points at (it goes with the run, later);
* a finished fetch run whose job is still pending or running;
* a workflow match whose interaction still waits for an answer (unread or awaiting approval):
  the match is what stops an `unanswered_for` workflow from acting on it a second time.

Rows go in batches of `SOCIALPULSE_RETENTION_BATCH_ROWS` (1,000) per transaction, so the pass
never holds SQLite's write lock for long; each batch commits with the job's progress, and a
rerun after a crash simply finds fewer rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import FetchRun, FetchStatus
from socialpulse.config import Settings
from socialpulse.db import Base, Database, utcnow
from socialpulse.inbox.models import (
    Interaction,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    WorkflowMatch,
)
from socialpulse.worker.jobs import enqueue_job
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Workspace

log = structlog.get_logger(__name__)

RETENTION_JOB_KIND = "worker.apply_retention"

# Interactions in these statuses can still be picked up by an `unanswered_for` workflow
# (socialpulse.inbox.workflows.WAITING_STATUSES): their matches must stay.
_WAITING = (InteractionStatus.unread, InteractionStatus.awaiting_approval)
_LIVE_JOB = (JobStatus.pending, JobStatus.running)


@dataclass(frozen=True)
class RetentionPolicy:
    """Ages in days per kind (0: keep for ever) and the rows deleted per transaction."""

    jobs_days: int = 30
    fetch_runs_days: int = 90
    workflow_matches_days: int = 180
    reply_queue_days: int = 90
    batch_rows: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            jobs_days=settings.retention_jobs_days,
            fetch_runs_days=settings.retention_fetch_runs_days,
            workflow_matches_days=settings.retention_workflow_matches_days,
            reply_queue_days=settings.retention_reply_queue_days,
            batch_rows=settings.retention_batch_rows,
        )


def _in_workspace(column: Any, workspace_id: int | None) -> ColumnElement[bool]:
    return column.is_(None) if workspace_id is None else column == workspace_id


def _expired_jobs(workspace_id: int | None, cutoff: dt.datetime) -> ColumnElement[bool]:
    return and_(
        _in_workspace(Job.workspace_id, workspace_id),
        Job.status.in_([JobStatus.completed, JobStatus.failed]),
        Job.finished_at < cutoff,
        ~exists().where(FetchRun.job_id == Job.id),
    )


def _expired_fetch_runs(workspace_id: int | None, cutoff: dt.datetime) -> ColumnElement[bool]:
    live_job = exists().where(Job.id == FetchRun.job_id, Job.status.in_(_LIVE_JOB))
    return and_(
        _in_workspace(FetchRun.workspace_id, workspace_id),
        FetchRun.status.in_([FetchStatus.completed, FetchStatus.failed, FetchStatus.deferred]),
        func.coalesce(FetchRun.finished_at, FetchRun.created_at) < cutoff,
        ~live_job,
    )


def _expired_workflow_matches(workspace_id: int | None, cutoff: dt.datetime) -> ColumnElement[bool]:
    waiting = exists().where(
        Interaction.id == WorkflowMatch.interaction_id, Interaction.status.in_(_WAITING)
    )
    return and_(
        _in_workspace(WorkflowMatch.workspace_id, workspace_id),
        WorkflowMatch.matched_at < cutoff,
        ~waiting,
    )


def _expired_replies(workspace_id: int | None, cutoff: dt.datetime) -> ColumnElement[bool]:
    return and_(
        _in_workspace(ReplyQueueItem.workspace_id, workspace_id),
        ReplyQueueItem.status.in_([ReplyStatus.sent, ReplyStatus.cancelled, ReplyStatus.failed]),
        ReplyQueueItem.created_at < cutoff,
        ReplyQueueItem.scheduled_for < cutoff,
        or_(ReplyQueueItem.sent_at.is_(None), ReplyQueueItem.sent_at < cutoff),
    )


@dataclass(frozen=True)
class _Kind:
    name: str
    table: type[Base]
    key: Any
    days: Callable[[RetentionPolicy], int]
    expired: Callable[[int | None, dt.datetime], ColumnElement[bool]]


# Fetch runs before jobs: a job a pruned run pointed at can go in the same pass.
KINDS: tuple[_Kind, ...] = (
    _Kind("fetch_runs", FetchRun, FetchRun.id, lambda p: p.fetch_runs_days, _expired_fetch_runs),
    _Kind("jobs", Job, Job.id, lambda p: p.jobs_days, _expired_jobs),
    _Kind(
        "workflow_matches",
        WorkflowMatch,
        WorkflowMatch.id,
        lambda p: p.workflow_matches_days,
        _expired_workflow_matches,
    ),
    _Kind(
        "reply_queue",
        ReplyQueueItem,
        ReplyQueueItem.id,
        lambda p: p.reply_queue_days,
        _expired_replies,
    ),
)

# Called in each batch's transaction with the counts so far; may raise to roll the batch back.
Reporter = Callable[[Session, dict[str, int]], None]


def prune(
    db: Database,
    workspace_id: int | None,
    policy: RetentionPolicy,
    *,
    now: dt.datetime | None = None,
    report: Reporter | None = None,
) -> dict[str, int]:
    """Delete one workspace's expired rows (workspace_id None: rows of no workspace), at most
    `policy.batch_rows` per transaction. Returns the rows deleted per kind."""
    now = now or utcnow()
    deleted: dict[str, int] = {}
    for kind in KINDS:
        days = kind.days(policy)
        if days <= 0:
            continue
        cutoff = now - dt.timedelta(days=days)
        deleted[kind.name] = 0
        while True:
            with db.session() as session:
                ids = list(
                    session.scalars(
                        select(kind.key)
                        .where(kind.expired(workspace_id, cutoff))
                        .order_by(kind.key)
                        .limit(policy.batch_rows)
                    )
                )
                if ids:
                    session.execute(
                        delete(kind.table)
                        .where(kind.key.in_(ids))
                        .execution_options(synchronize_session=False)
                    )
                    deleted[kind.name] += len(ids)
                    if report is not None:
                        report(session, dict(deleted))
            if len(ids) < policy.batch_rows:
                break
    log.info("worker.retention.pruned", workspace_id=workspace_id, **deleted)
    return deleted


def schedule_retention(
    db: Database, now: dt.datetime | None = None, at: dt.time = dt.time(2)
) -> int:
    """Queue today's retention job for every workspace whose local time has passed `at` and
    that has none since its local midnight (plus one at UTC for rows of no workspace)."""
    now = now or utcnow()
    queued = 0
    with db.session() as session:
        zones: list[tuple[int | None, str]] = [
            (row.id, row.timezone)
            for row in session.execute(select(Workspace.id, Workspace.timezone))
        ]
        for workspace_id, zone in [*zones, (None, "UTC")]:
            local = now.astimezone(ZoneInfo(zone))
            if local.time() < at:
                continue
            midnight = dt.datetime.combine(local.date(), dt.time(), local.tzinfo)
            done = session.scalar(
                select(Job.id)
                .where(
                    Job.kind == RETENTION_JOB_KIND,
                    _in_workspace(Job.workspace_id, workspace_id),
                    Job.created_at >= midnight,
                )
                .limit(1)
            )
            if done is not None:
                continue
            enqueue_job(
                session,
                RETENTION_JOB_KIND,
                {"workspace_id": workspace_id},
                workspace_id=workspace_id,
                dedupe_key=f"retention:{workspace_id or '-'}:{local.date().isoformat()}",
            )
            queued += 1
    if queued:
        log.info("worker.retention.scheduled", queued=queued)
    return queued
