"""Periodic task of the job engine: reap expired leases, dispatch due rows (the Huey task
that runs one durable job lives beside the engine, in ``jobs``)."""

from __future__ import annotations

import structlog

from socialpulse.db import get_database
from socialpulse.worker import jobs

log = structlog.get_logger(__name__)


def reap_and_dispatch() -> dict[str, int]:
    """Re-queue rows whose lease expired, then nudge every due row.

    Nudges are cheap and idempotent (claiming is compare-and-set), so re-sending one for a row
    that a worker is about to claim anyway costs a no-op.
    """
    db = get_database()
    reaped = jobs.reap_expired_leases(db)
    due = jobs.due_job_ids(db)
    for job_id in due:
        jobs.run_job_task(job_id)
    return {**reaped, "dispatched": len(due)}
