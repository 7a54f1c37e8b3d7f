"""Retention: once a day from 02:00 in each workspace's time zone, old finished jobs, fetch runs,
workflow matches and reply-queue items are deleted in small batches; live work and anything
still needed stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from factories import make, make_workspace
from socialpulse.accounts.models import FetchRun, FetchStatus, TrackedAccount
from socialpulse.db import Base, Database
from socialpulse.inbox.models import (
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
)
from socialpulse.retention import service as retention
from socialpulse.worker import jobs
from socialpulse.worker.models import Job, JobStatus
from socialpulse.worker.schedule import PERIODIC
from socialpulse.workspaces.models import Workspace

# 02:00 in New York (UTC-5 in January) is 07:00 UTC.
NY_TWO_AM = dt.datetime(2027, 1, 15, 7, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _jobs_wait_for_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # memory:// Huey would run each job inline at commit; these tests run them by hand.
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)


def _workspace(db: Database, slug: str, zone: str) -> int:
    ws = make_workspace(db, slug)
    with db.session() as session:
        workspace = session.get(Workspace, ws.workspace_id)
        assert workspace is not None
        workspace.timezone = zone
    return ws.workspace_id


def _add(db: Database, model: type[Base], **fields: Any) -> int:
    with db.session() as session:
        return int(make(session, model, **fields).id)  # type: ignore[attr-defined]


def _job(
    db: Database, workspace_id: int | None, status: JobStatus, age: dt.timedelta | None
) -> int:
    at = NY_TWO_AM - (age or DAY)
    return _add(
        db,
        Job,
        kind="accounts.fetch_account",
        workspace_id=workspace_id,
        status=status,
        created_at=at,
        run_after=at,
        finished_at=at if status in (JobStatus.completed, JobStatus.failed) else None,
    )


def _run(
    db: Database, ws: int, account: int, status: FetchStatus, age: dt.timedelta, job: int | None
) -> int:
    at = NY_TWO_AM - age
    finished = None if status in (FetchStatus.pending, FetchStatus.running) else at
    return _add(
        db,
        FetchRun,
        workspace_id=ws,
        account_id=account,
        status=status,
        job_id=job,
        created_at=at,
        finished_at=finished,
    )


def _interaction(db: Database, ws: int, account: int, status: InteractionStatus) -> int:
    return _add(
        db,
        Interaction,
        workspace_id=ws,
        account_id=account,
        platform="simulated",
        kind=InteractionKind.comment,
        author_external_id="fan",
        author_handle="fan",
        posted_at=NY_TWO_AM - 300 * DAY,
        status=status,
    )


def _match(db: Database, ws: int, workflow: int, interaction: int, age: dt.timedelta) -> int:
    return _add(
        db,
        WorkflowMatch,
        workspace_id=ws,
        workflow_id=workflow,
        interaction_id=interaction,
        reason="matched",
        matched_at=NY_TWO_AM - age,
    )


def _reply(
    db: Database, ws: int, account: int, interaction: int, status: ReplyStatus, age: dt.timedelta
) -> int:
    at = NY_TWO_AM - age
    return _add(
        db,
        ReplyQueueItem,
        workspace_id=ws,
        account_id=account,
        interaction_id=interaction,
        platform="simulated",
        text="thanks!",
        status=status,
        scheduled_for=at,
        created_at=at,
        sent_at=at if status == ReplyStatus.sent else None,
    )


def _exists(db: Database, table: type[Base], ids: list[int]) -> list[bool]:
    with db.session(readonly=True) as session:
        found = set(session.scalars(select(table.id).where(table.id.in_(ids))))  # type: ignore[attr-defined]
    return [row_id in found for row_id in ids]


def test_the_daily_pass_deletes_old_finished_rows_and_keeps_live_work(db: Database) -> None:
    ny = _workspace(db, "new-york-co", "America/New_York")
    tokyo = _workspace(db, "tokyo-co", "Asia/Tokyo")
    account = _add(db, TrackedAccount, workspace_id=ny)
    workflow = _add(db, Workflow, workspace_id=ny, name="thanks")

    old_done = _job(db, ny, JobStatus.completed, 40 * DAY)
    old_failed = _job(db, ny, JobStatus.failed, 31 * DAY)
    recent_done = _job(db, ny, JobStatus.completed, 10 * DAY)
    old_pending = _job(db, ny, JobStatus.pending, 60 * DAY)
    old_running = _job(db, ny, JobStatus.running, 60 * DAY)
    kept_by_run = _job(db, ny, JobStatus.completed, 40 * DAY)
    gone_with_run = _job(db, ny, JobStatus.completed, 100 * DAY)
    tokyo_old = _job(db, tokyo, JobStatus.completed, 40 * DAY)
    jobs_expected = {
        old_done: False,
        old_failed: False,
        recent_done: True,
        old_pending: True,
        old_running: True,
        kept_by_run: True,  # a kept fetch run still points at it
        gone_with_run: False,  # its run is pruned first, in the same pass
        tokyo_old: True,  # Tokyo's own pass prunes it
    }
    runs_expected = {
        _run(db, ny, account, FetchStatus.completed, 100 * DAY, gone_with_run): False,
        _run(db, ny, account, FetchStatus.failed, 95 * DAY, None): False,
        _run(db, ny, account, FetchStatus.deferred, 95 * DAY, None): False,
        _run(db, ny, account, FetchStatus.completed, 10 * DAY, kept_by_run): True,
        _run(db, ny, account, FetchStatus.pending, 100 * DAY, old_pending): True,
        # Finished long ago, but its job is still queued (a retry): the job reloads it.
        _run(db, ny, account, FetchStatus.completed, 100 * DAY, old_pending): True,
    }
    answered = _interaction(db, ny, account, InteractionStatus.answered)
    unread = _interaction(db, ny, account, InteractionStatus.unread)
    recent_answered = _interaction(db, ny, account, InteractionStatus.ignored)
    matches_expected = {
        _match(db, ny, workflow, answered, 200 * DAY): False,
        # Still waiting: the match stops an unanswered_for workflow acting on it twice.
        _match(db, ny, workflow, unread, 200 * DAY): True,
        _match(db, ny, workflow, recent_answered, 10 * DAY): True,
    }
    replies_expected = {
        _reply(db, ny, account, answered, ReplyStatus.sent, 100 * DAY): False,
        _reply(db, ny, account, answered, ReplyStatus.cancelled, 100 * DAY): False,
        _reply(db, ny, account, answered, ReplyStatus.failed, 100 * DAY): False,
        _reply(db, ny, account, unread, ReplyStatus.pending, 100 * DAY): True,
        _reply(db, ny, account, recent_answered, ReplyStatus.sent, 10 * DAY): True,
    }

    with time_machine.travel(NY_TWO_AM - dt.timedelta(minutes=1), tick=False):
        # 01:59 in New York: Tokyo (15:59) and the rows of no workspace (06:59 UTC) only.
        assert retention.schedule_retention(db) == 2
    with time_machine.travel(NY_TWO_AM, tick=False):
        assert retention.schedule_retention(db) == 1
        assert retention.schedule_retention(db) == 0  # once per local day
        with db.session(readonly=True) as session:
            job_id = session.scalar(
                select(Job.id).where(
                    Job.kind == retention.RETENTION_JOB_KIND, Job.workspace_id == ny
                )
            )
        assert job_id is not None
        assert jobs.run_job(db, job_id) == JobStatus.completed
    with time_machine.travel(NY_TWO_AM + dt.timedelta(minutes=15), tick=False):
        assert retention.schedule_retention(db) == 0

    with db.session(readonly=True) as session:
        done = session.get(Job, job_id)
        assert done is not None
        assert done.result == {"fetch_runs": 3, "jobs": 3, "workflow_matches": 1, "reply_queue": 3}
    assert _exists(db, Job, list(jobs_expected)) == list(jobs_expected.values())
    assert _exists(db, FetchRun, list(runs_expected)) == list(runs_expected.values())
    assert _exists(db, WorkflowMatch, list(matches_expected)) == list(matches_expected.values())
    assert _exists(db, ReplyQueueItem, list(replies_expected)) == list(replies_expected.values())

    with time_machine.travel(NY_TWO_AM + DAY, tick=False):  # the next day, all three again
        assert retention.schedule_retention(db) == 3


def test_rows_go_in_batches_of_the_configured_size(db: Database) -> None:
    ws = _workspace(db, "batch-co", "UTC")
    old = [_job(db, ws, JobStatus.completed, 40 * DAY) for _ in range(7)]
    reports: list[dict[str, int]] = []

    def record(_session: Any, progress: dict[str, int]) -> None:
        reports.append(progress)

    policy = retention.RetentionPolicy(batch_rows=2)
    deleted = retention.prune(db, ws, policy, now=NY_TWO_AM, report=record)
    assert deleted["jobs"] == 7
    assert [r["jobs"] for r in reports] == [2, 4, 6, 7]
    assert _exists(db, Job, old) == [False] * 7


def test_an_age_of_zero_keeps_that_kind_for_ever(db: Database) -> None:
    ws = _workspace(db, "keep-co", "UTC")
    ancient = _job(db, ws, JobStatus.completed, 3000 * DAY)
    deleted = retention.prune(db, ws, retention.RetentionPolicy(jobs_days=0), now=NY_TWO_AM)
    assert "jobs" not in deleted
    assert _exists(db, Job, [ancient]) == [True]


def test_the_pass_is_a_registered_periodic_task() -> None:
    names = {periodic.name: periodic.target for periodic in PERIODIC}
    assert names["worker.schedule_retention"] == (
        "socialpulse.retention.tasks:schedule_retention_jobs"
    )
