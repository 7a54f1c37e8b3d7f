"""Durable jobs and periodic tasks of the accounts domain (thin: the logic is in service)."""

from __future__ import annotations

from typing import Any

from socialpulse.accounts import service
from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.kit.security import SecretBox
from socialpulse.worker.jobs import JobContext, job_handler

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
