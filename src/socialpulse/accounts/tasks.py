"""Durable jobs and periodic tasks of the accounts domain (thin: the logic is in service)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from socialpulse.accounts import deletion, service
from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.kit.security import SecretBox
from socialpulse.worker.jobs import JobContext, RetryAt, job_handler
from socialpulse.worker.models import Job

FETCH_MAX_ATTEMPTS = 4


@job_handler("accounts.fetch_account", lease_s=600, max_attempts=FETCH_MAX_ATTEMPTS)
def fetch_account(ctx: JobContext) -> dict[str, Any]:
    run = service.run_fetch(
        ctx.db,
        int(ctx.payload["fetch_run_id"]),
        box=SecretBox(get_settings().resolved_secret_key()),
        attempt=ctx.attempt,
        max_attempts=FETCH_MAX_ATTEMPTS,
        heartbeat=ctx.heartbeat,
    )
    if run.posts_seen:
        from socialpulse.ai.tasks import queue_analysis

        with ctx.db.session() as session:
            queue_analysis(session, run.workspace_id)
    return {"status": run.status.value, "posts_seen": run.posts_seen, "error": run.error}


def schedule_daily_fetches() -> dict[str, int]:
    at = get_settings().daily_fetch_time
    return {"queued": service.schedule_daily_fetches(get_database(), at=at)}


@job_handler(deletion.DELETE_JOB_KIND, lease_s=300, max_attempts=5)
def delete_account(ctx: JobContext) -> dict[str, Any]:
    """Delete a removed account's data in batches; progress is the job's `result` meanwhile."""
    with ctx.db.session(readonly=True) as session:
        previous = session.scalar(select(Job.result).where(Job.id == ctx.job_id))
    try:
        return deletion.delete_account_data(
            ctx.db,
            int(ctx.payload["account_id"]),
            report=ctx.report_progress,
            progress=previous,
        )
    except deletion.ReplyInFlight as exc:
        raise RetryAt(str(exc), at=exc.until, counts_attempt=False) from exc
