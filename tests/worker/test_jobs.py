"""Durable jobs: leases, retries, the reaper, enqueue-after-commit, and a killed worker."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

import worker_handlers
from conftest import REDIS_URL, make_settings, require
from factories import make_workspace
from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.worker import jobs, shutdown
from socialpulse.worker.consumer import start_embedded, stop_embedded
from socialpulse.worker.models import Job, JobStatus
from socialpulse.worker.queue import configure_tasks, enqueue_after_commit, huey

jobs.register_handlers(worker_handlers)  # the test job kinds, beside the product's

ROOT = Path(__file__).resolve().parents[2]


def _insert_job(db: Database, kind: str, payload: dict[str, object] | None = None) -> int:
    """A pending row without a Huey nudge (tests drive the worker by hand)."""
    with db.session() as session:
        job = Job(kind=kind, payload=payload or {}, max_attempts=3)
        session.add(job)
        session.flush()
        return job.id


def _effects(db: Database, parent: int) -> int:
    with db.session() as session:
        return sum(
            1
            for payload in session.scalars(select(Job.payload).where(Job.kind == "test.effect"))
            if payload.get("parent") == parent
        )


def _worker_process(db: Database, job_id: int, worker_id: str) -> subprocess.Popen[bytes]:
    code = (
        "import worker_handlers\n"
        "from socialpulse.db import init_database\n"
        "from socialpulse.worker import jobs\n"
        "jobs.register_handlers(worker_handlers)\n"
        f"jobs.run_job(init_database({db.url!r}), {job_id}, {worker_id!r})\n"
    )
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'tests'}{os.pathsep}{ROOT / 'src'}"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)


@pytest.mark.slow
def test_killed_worker_job_completes_exactly_once_after_lease_expiry(
    db: Database, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    job_id = _insert_job(db, "test.crashable", {"marker": str(marker)})

    first = _worker_process(db, job_id, "worker-a")
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert first.poll() is None, "worker exited before reaching the crash point"
        assert time.monotonic() < deadline, "worker never reached the crash point"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)

    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.attempts, job.locked_by) == (JobStatus.running, 1, "worker-a")
    assert _effects(db, job_id) == 0  # the dead worker's transaction never committed

    # Until the lease expires, nobody may take the job over.
    assert jobs.reap_expired_leases(db)["requeued"] == 0
    time.sleep(1.2)
    assert jobs.reap_expired_leases(db) == {"requeued": 1, "failed": 0}

    second = _worker_process(db, job_id, "worker-b")
    assert second.wait(timeout=60) == 0

    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == JobStatus.completed
        assert job.attempts == 2
        assert job.result == {"attempt": 2}
    assert _effects(db, job_id) == 1
    # Nudging a finished job again is a no-op: still exactly one effect.
    assert jobs.run_job(db, job_id, "worker-c") is None
    assert _effects(db, job_id) == 1


def test_worker_that_lost_its_lease_cannot_complete(db: Database) -> None:
    job_id = _insert_job(db, "test.slow_unsafe", {"sleep": 1.3})
    assert jobs.claim_job(db, job_id, "slow", lease_s=1)
    # Simulate the reaper and another worker taking over while "slow" is still running.
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
    assert jobs.reap_expired_leases(db)["requeued"] == 1
    assert jobs.claim_job(db, job_id, "fast", lease_s=60)
    assert jobs.run_claimed_job(db, job_id, "slow") is None
    assert jobs.run_claimed_job(db, job_id, "fast") == JobStatus.completed
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == JobStatus.completed


def test_failing_job_is_retried_with_backoff_then_failed_with_its_message(db: Database) -> None:
    job_id = _insert_job(db, "test.flaky")
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.max_attempts = 2
    assert jobs.run_job(db, job_id) == JobStatus.pending
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.run_after > utcnow() + dt.timedelta(seconds=10)
        assert "attempt 1" in (job.last_error or "")
        job.run_after = utcnow()  # skip the backoff wait
    assert jobs.run_job(db, job_id) == JobStatus.failed
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == JobStatus.failed
        assert job.last_error == "RuntimeError: upstream said no (attempt 2)"


def test_reaper_fails_a_job_whose_lease_expired_on_every_attempt(db: Database) -> None:
    job_id = _insert_job(db, "test.effect")
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.attempts, job.max_attempts = JobStatus.running, 3, 3
        job.lease_expires_at = utcnow() - dt.timedelta(seconds=5)
    assert jobs.reap_expired_leases(db) == {"requeued": 0, "failed": 1}
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == JobStatus.failed
        assert "lease expired" in (job.last_error or "")


def test_concurrent_batch_claims_never_hand_out_the_same_job(db: Database) -> None:
    ids = [_insert_job(db, "test.effect") for _ in range(30)]
    first = jobs.claim_due_jobs(db, "w1", lease_s=60, limit=20)
    second = jobs.claim_due_jobs(db, "w2", lease_s=60, limit=20)
    assert not set(first) & set(second)
    assert sorted(first + second) == ids
    with db.session() as session:
        owners = {job_id: owner for job_id, owner in session.execute(select(Job.id, Job.locked_by))}
    assert all(owners[i] == "w1" for i in first)
    assert all(owners[i] == "w2" for i in second)


def test_dedupe_key_returns_the_unfinished_job(db: Database) -> None:
    with db.session() as session:
        first = jobs.enqueue_job(session, "test.effect", dedupe_key="daily:1")
        again = jobs.enqueue_job(session, "test.effect", dedupe_key="daily:1")
        assert first.id == again.id
        session.info.clear()  # no nudges: this test only checks the rows


def test_unknown_job_kind_is_refused_at_enqueue(db: Database) -> None:
    with db.session() as session, pytest.raises(jobs.UnknownJobKind, match="no handler"):
        jobs.enqueue_job(session, "nope.missing")


def test_jobs_are_sent_only_after_commit(db: Database) -> None:
    sent: list[int] = []
    with db.session() as session:
        enqueue_after_commit(session, sent.append, 1)
        assert sent == []
    assert sent == [1]
    session = db.sessionmaker()
    enqueue_after_commit(session, sent.append, 2)
    session.rollback()
    session.close()
    with db.session():
        pass
    assert sent == [1]


@pytest.fixture
def queue_settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    yield make_settings(tmp_path, database_url)
    configure_tasks(make_settings(tmp_path, database_url))  # back to inline tasks


def _run_through_consumer(db: Database, settings: Settings) -> None:
    configure_tasks(settings)
    huey.flush()
    workspace = make_workspace(db, "queue-co")
    with db.session() as session:
        job = jobs.enqueue_job(
            session, "test.effect", {"n": 1}, workspace_id=workspace.workspace_id
        )
        job_id = job.id
    consumer = start_embedded(workers=2, periodic=False)
    # Tasks that wait on purpose (the reply tick) wait on the consumer's stop flag.
    stop_flag = shutdown.stop_flag()
    assert stop_flag is consumer.stop_flag and not stop_flag.is_set()
    try:
        deadline = time.monotonic() + 20
        while True:
            with db.session() as session:
                status = session.scalar(select(Job.status).where(Job.id == job_id))
            if status == JobStatus.completed:
                break
            assert time.monotonic() < deadline, f"job still {status} after 20 s"
            time.sleep(0.05)
    finally:
        stop_embedded(consumer)
    assert stop_flag.is_set()  # the stop reached them
    assert not shutdown.stop_flag().is_set()  # a tick called later, outside a consumer, runs
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


@pytest.mark.slow
def test_embedded_sqlite_queue_runs_jobs_in_consumer_threads(
    db: Database, queue_settings: Settings, tmp_path: Path
) -> None:
    settings = queue_settings.model_copy(update={"tasks_url": f"sqlite:///{tmp_path}/tasks.db"})
    _run_through_consumer(db, settings)


@pytest.mark.slow
def test_redis_queue_runs_jobs(db: Database, queue_settings: Settings) -> None:
    require(bool(REDIS_URL), "SOCIALPULSE_TEST_REDIS_URL is not set (CI starts Redis)")
    settings = queue_settings.model_copy(update={"tasks_url": REDIS_URL})
    _run_through_consumer(db, settings)


# --- RetryAt: waits the handler knows better than the backoff ---------------------------------


@jobs.job_handler("test.retry_at", max_attempts=3)
def _asks_to_wait(ctx: jobs.JobContext) -> None:
    """Says "not before `wait_s` seconds from now", like a platform's Retry-After."""
    at = utcnow() + dt.timedelta(seconds=float(ctx.payload["wait_s"]))
    counts = bool(ctx.payload.get("counts", True))
    raise jobs.RetryAt("the platform asked us to wait", at=at, counts_attempt=counts)


jobs.register_handler(_asks_to_wait)


def _job(db: Database, job_id: int) -> Job:
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_retry_at_schedules_the_next_try_when_asked_not_after_the_backoff(db: Database) -> None:
    job_id = _insert_job(db, "test.retry_at", {"wait_s": 3600})
    before = utcnow()

    assert jobs.run_job(db, job_id) == JobStatus.pending

    job = _job(db, job_id)
    assert job.attempts == 1
    hour = dt.timedelta(hours=1)
    assert before + hour <= job.run_after <= utcnow() + hour
    assert job.last_error is not None
    assert job.last_error.startswith("RetryAt: the platform asked us to wait; next try at ")


def test_a_counted_retry_waits_at_least_the_backoff(db: Database) -> None:
    job_id = _insert_job(db, "test.retry_at", {"wait_s": 1})
    before = utcnow()

    jobs.run_job(db, job_id)

    assert _job(db, job_id).run_after >= before + dt.timedelta(seconds=15)


def test_a_wait_that_does_not_count_gives_the_attempt_back(db: Database) -> None:
    job_id = _insert_job(db, "test.retry_at", {"wait_s": 600, "counts": False})
    for _ in range(5):  # more waits than the job has attempts
        assert jobs.run_job(db, job_id) == JobStatus.pending
        job = _job(db, job_id)
        assert job.attempts == 0
        assert job.run_after >= utcnow() + dt.timedelta(seconds=590)
        with db.session() as session:
            row = session.get(Job, job_id)
            assert row is not None
            row.run_after = utcnow()  # the reset came


def test_waits_that_cost_no_attempt_end_a_week_after_the_job_was_queued(db: Database) -> None:
    job_id = _insert_job(db, "test.retry_at", {"wait_s": 3600, "counts": False})
    with db.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.created_at = utcnow() - jobs.MAX_DEFERRED_AGE

    assert jobs.run_job(db, job_id) == JobStatus.failed

    job = _job(db, job_id)
    assert job.status == JobStatus.failed
    assert "still waiting for a quota or budget reset; a job waits 7 days at most" in (
        job.last_error or ""
    )


def test_a_counted_retry_on_the_last_attempt_fails_the_job(db: Database) -> None:
    job_id = _insert_job(db, "test.retry_at", {"wait_s": 60})
    with db.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.max_attempts = 1

    assert jobs.run_job(db, job_id) == JobStatus.failed

    job = _job(db, job_id)
    assert job.status == JobStatus.failed
    assert job.last_error == "RetryAt: the platform asked us to wait (gave up after 1 attempt)"


def test_a_wait_longer_than_the_limit_fails_the_job_and_says_why(db: Database) -> None:
    too_long = jobs.MAX_RETRY_WAIT + dt.timedelta(hours=1)
    job_id = _insert_job(db, "test.retry_at", {"wait_s": too_long.total_seconds(), "counts": False})

    assert jobs.run_job(db, job_id) == JobStatus.failed

    job = _job(db, job_id)
    assert job.status == JobStatus.failed and job.dedupe_key is None
    assert "27.0 h away, longer than the 26 h a job may wait" in (job.last_error or "")
