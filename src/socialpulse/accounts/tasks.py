"""Durable jobs and periodic tasks of the accounts domain (thin: the logic is in `fetching`
and `deletion`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts import deletion, fetching
from socialpulse.accounts.models import FetchStatus
from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.kit.security import SecretBox
from socialpulse.worker.jobs import JobContext, RetryAt, enqueue_job, job_handler
from socialpulse.worker.models import Job

FETCH_MAX_ATTEMPTS = 4
# The AI domain's handler for new posts, named rather than imported: accounts sits below ai.
ANALYZE_POSTS_JOB = "ai.analyze_posts"
# Performance alerts (the alerts domain, above accounts) are evaluated after each fetch.
EVALUATE_ALERTS_JOB = "alerts.evaluate_account"


@job_handler("accounts.fetch_account", lease_s=600, max_attempts=FETCH_MAX_ATTEMPTS)
def fetch_account(ctx: JobContext) -> dict[str, Any]:
    run = fetching.run_fetch(
        ctx.db,
        int(ctx.payload["fetch_run_id"]),
        box=SecretBox(get_settings().resolved_secret_key()),
        attempt=ctx.attempt,
        max_attempts=FETCH_MAX_ATTEMPTS,
        heartbeat=ctx.heartbeat,
    )
    if run.posts_seen or run.status == FetchStatus.completed:
        with ctx.db.session() as session:
            if run.posts_seen:
                queue_post_analysis(session, run.workspace_id)
            if run.status == FetchStatus.completed:
                queue_alert_evaluation(session, run.workspace_id, run.account_id)
    return {"status": run.status.value, "posts_seen": run.posts_seen, "error": run.error}


def queue_post_analysis(session: Session, workspace_id: int) -> None:
    """Ask the AI domain to analyse the new posts, by job kind: one pending job per workspace at
    a time (later fetches join it), the same row ``ai.tasks.queue_analysis`` makes."""
    enqueue_job(
        session,
        ANALYZE_POSTS_JOB,
        {"workspace_id": workspace_id},
        workspace_id=workspace_id,
        dedupe_key=f"ai-posts:{workspace_id}",
    )


def queue_alert_evaluation(session: Session, workspace_id: int, account_id: int) -> None:
    """Ask the alerts domain to evaluate the account's rules against the fresh snapshot; a
    pending evaluation of the account is joined (it reads the data as it is when it runs)."""
    enqueue_job(
        session,
        EVALUATE_ALERTS_JOB,
        {"account_id": account_id},
        workspace_id=workspace_id,
        dedupe_key=f"alerts:{account_id}",
    )


def schedule_daily_fetches() -> dict[str, int]:
    at = get_settings().daily_fetch_time
    return {"queued": fetching.schedule_daily_fetches(get_database(), at=at)}


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
    except deletion.WorkInFlight as exc:
        raise RetryAt(str(exc), at=exc.until, counts_attempt=False) from exc
