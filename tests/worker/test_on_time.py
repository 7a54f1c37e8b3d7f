"""Delayed jobs run on time: the nudge is sent early and the worker waits for the exact
second (scheduled posts go out when their user said, not up to two seconds later)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

import worker_handlers
from socialpulse.db import Database, utcnow
from socialpulse.worker import jobs
from socialpulse.worker.models import Job, JobStatus
from socialpulse.worker.queue import huey

jobs.register_handlers(worker_handlers)


@pytest.fixture
def queued_mode() -> Iterator[None]:
    """A real queue (as a deployed worker has) instead of the tests' immediate mode."""
    was_immediate = huey._immediate
    huey._immediate = False
    try:
        yield
    finally:
        huey.storage.flush_all()
        huey._immediate = was_immediate


@pytest.mark.usefixtures("queued_mode")
def test_a_delayed_job_is_nudged_early_by_the_lead_time() -> None:
    began = time.time()
    jobs.nudge_job(12345, delay=10.0)
    scheduled = huey.pending()
    assert len(scheduled) == 1
    eta = scheduled[0].eta.replace(tzinfo=dt.UTC).timestamp()
    assert eta - began == pytest.approx(10.0 - jobs.EARLY_NUDGE_S, abs=0.5)


@pytest.mark.usefixtures("queued_mode")
def test_an_early_nudge_waits_for_the_due_time_then_runs(db: Database) -> None:
    due = utcnow() + dt.timedelta(seconds=0.8)
    with db.session() as session:
        job_id = jobs.enqueue_job(session, "test.effect", {"n": 1}, run_after=due).id
    jobs.run_job(db, job_id)
    assert utcnow() >= due
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == JobStatus.completed
        assert job.started_at is not None and job.started_at >= due


@pytest.mark.usefixtures("queued_mode")
def test_a_nudge_for_a_job_moved_further_ahead_leaves_it_pending(db: Database) -> None:
    with db.session() as session:
        job_id = jobs.enqueue_job(
            session, "test.effect", {}, run_after=utcnow() + dt.timedelta(minutes=10)
        ).id
    began = time.monotonic()
    assert jobs.run_job(db, job_id) is None
    assert time.monotonic() - began < 1.0
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == JobStatus.pending
