"""The reply queue's daily clean-up, part of the retention pass: sent, cancelled and failed
replies older than `SOCIALPULSE_RETENTION_REPLY_QUEUE_DAYS` go; replies still waiting to be sent
(however old, however far ahead) and recent finished ones stay. It runs from 02:00."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from factories import add_account, add_interaction, make, make_workspace
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.inbox.models import ReplyQueueItem, ReplyStatus
from socialpulse.retention import service as retention
from socialpulse.worker import jobs
from socialpulse.worker.models import Job, JobStatus
from socialpulse.worker.schedule import PERIODIC

NOW = dt.datetime(2027, 1, 15, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _jobs_wait_for_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # memory:// Huey would run each job inline at commit; these tests run them by hand.
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)


def _reply(
    db: Database,
    workspace_id: int,
    account: int,
    status: ReplyStatus,
    age: dt.timedelta,
    *,
    scheduled_in: dt.timedelta | None = None,
) -> int:
    """A reply queued `age` ago (and sent then, when sent)."""
    at = NOW - age
    interaction = add_interaction(db, account, posted_at=at - DAY)
    with db.session() as session:
        return int(
            make(
                session,
                ReplyQueueItem,
                workspace_id=workspace_id,
                account_id=account,
                interaction_id=interaction,
                platform="simulated",
                text="thanks!",
                status=status,
                created_at=at,
                scheduled_for=NOW + scheduled_in if scheduled_in is not None else at,
                sent_at=at if status == ReplyStatus.sent else None,
            ).id
        )


def _left(db: Database, ids: list[int]) -> list[bool]:
    with db.session(readonly=True) as session:
        found = set(session.scalars(select(ReplyQueueItem.id).where(ReplyQueueItem.id.in_(ids))))
    return [row_id in found for row_id in ids]


def test_finished_replies_older_than_the_setting_go_and_waiting_ones_stay(db: Database) -> None:
    ws = make_workspace(db, "queue-co").workspace_id
    account = add_account(db, ws)
    settings = Settings(_env_file=None, retention_reply_queue_days=30)  # type: ignore[call-arg]
    policy = retention.RetentionPolicy.from_settings(settings)
    assert policy.reply_queue_days == 30

    expected = {
        _reply(db, ws, account, ReplyStatus.sent, 31 * DAY): False,
        _reply(db, ws, account, ReplyStatus.cancelled, 45 * DAY): False,
        _reply(db, ws, account, ReplyStatus.failed, 200 * DAY): False,
        # Still to be sent, queued long ago: kept, due or scheduled far ahead.
        _reply(db, ws, account, ReplyStatus.pending, 60 * DAY): True,
        _reply(db, ws, account, ReplyStatus.pending, 60 * DAY, scheduled_in=DAY): True,
        _reply(db, ws, account, ReplyStatus.processing, 60 * DAY): True,
        # Finished inside the window.
        _reply(db, ws, account, ReplyStatus.sent, 29 * DAY): True,
        _reply(db, ws, account, ReplyStatus.failed, 2 * DAY): True,
    }
    deleted = retention.prune(db, ws, policy, now=NOW)
    assert deleted["reply_queue"] == 3
    assert _left(db, list(expected)) == list(expected.values())


def test_the_queue_clean_up_runs_in_the_daily_pass_from_two_am(db: Database) -> None:
    ws = make_workspace(db, "two-am").workspace_id  # UTC
    account = add_account(db, ws)
    old = _reply(db, ws, account, ReplyStatus.sent, 100 * DAY)
    waiting = _reply(db, ws, account, ReplyStatus.pending, 100 * DAY, scheduled_in=DAY)
    assert Settings(_env_file=None).retention_time == dt.time(2, 0)  # type: ignore[call-arg]
    # The periodic entry that queues the pass fires at 02:00 (and every quarter hour after).
    entry = next(p for p in PERIODIC if p.name == "worker.schedule_retention")
    assert entry.target == "socialpulse.retention.tasks:schedule_retention_jobs"
    assert entry.schedule(NOW.replace(tzinfo=None)) is True

    with time_machine.travel(NOW - dt.timedelta(minutes=1), tick=False):
        assert retention.schedule_retention(db) == 0  # 01:59: not yet
    with time_machine.travel(NOW, tick=False):
        assert retention.schedule_retention(db) == 2  # the workspace, and rows of none
        with db.session(readonly=True) as session:
            job_id = session.scalar(
                select(Job.id).where(
                    Job.kind == retention.RETENTION_JOB_KIND, Job.workspace_id == ws
                )
            )
        assert job_id is not None
        assert jobs.run_job(db, job_id) == JobStatus.completed
    with db.session(readonly=True) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.result is not None
        assert job.result["reply_queue"] == 1
    assert _left(db, [old, waiting]) == [False, True]
