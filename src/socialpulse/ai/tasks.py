"""Durable analysis jobs (thin: the logic is in ai.service)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from socialpulse.ai import service
from socialpulse.db import get_database
from socialpulse.worker.jobs import JobContext, enqueue_job, job_handler


@job_handler("ai.analyze_posts", lease_s=600, max_attempts=3)
def analyze_posts(ctx: JobContext) -> dict[str, Any]:
    count = service.analyze_pending_posts(
        ctx.db, workspace_id=ctx.payload.get("workspace_id"), heartbeat=ctx.heartbeat
    )
    return {"analysed": count}


def queue_analysis(session: Session, workspace_id: int) -> None:
    """One pending analysis job per workspace at a time (later fetches join it)."""
    enqueue_job(
        session,
        "ai.analyze_posts",
        {"workspace_id": workspace_id},
        workspace_id=workspace_id,
        dedupe_key=f"ai-posts:{workspace_id}",
    )


def analyze_pending() -> dict[str, int]:
    """Periodic safety net: whatever a job missed, or a new model version made pending."""
    return {"analysed": service.analyze_pending_posts(get_database())}
