"""Huey tasks of the job engine itself: run one durable job, reap leases, dispatch due rows."""

from __future__ import annotations

import structlog

from socialpulse.db import get_database
from socialpulse.worker import jobs
from socialpulse.worker.queue import huey

log = structlog.get_logger(__name__)


@huey.task(name="worker.run_job")
def run_job_task(job_id: int) -> None:
    jobs.run_job(get_database(), job_id)


def nudge_job(job_id: int, delay: float | None = None) -> None:
    """Ask a worker to run job `job_id` now (or after `delay` seconds)."""
    if delay:
        run_job_task.schedule((job_id,), delay=delay)
    else:
        run_job_task(job_id)


def reap_and_dispatch() -> dict[str, int]:
    """Re-queue rows whose lease expired, then nudge every due row.

    Nudges are cheap and idempotent (claiming is compare-and-set), so re-sending one for a row
    that a worker is about to claim anyway costs a no-op.
    """
    db = get_database()
    reaped = jobs.reap_expired_leases(db)
    due = jobs.due_job_ids(db)
    for job_id in due:
        run_job_task(job_id)
    return {**reaped, "dispatched": len(due)}
