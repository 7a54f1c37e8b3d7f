"""Durable jobs and periodic tasks of the inbox's ingestion (thin: the logic is in service
and fans)."""

from __future__ import annotations

from typing import Any

from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.inbox import fans, service
from socialpulse.kit.security import SecretBox
from socialpulse.worker.jobs import JobContext, job_handler


@job_handler("inbox.poll_comments", lease_s=300, max_attempts=3)
def poll_comments(ctx: JobContext) -> dict[str, Any]:
    result = service.poll_post_comments(
        ctx.db,
        int(ctx.payload["poll_id"]),
        box=SecretBox(get_settings().resolved_secret_key()),
    )
    return {
        "status": result.status,
        "comments_seen": result.comments_seen,
        "interactions_new": result.interactions_new,
        "error": result.error,
    }


def schedule_comment_polls() -> dict[str, int]:
    """Every 5 minutes: create polls for new posts, queue the due ones within the budgets."""
    return {"queued": service.schedule_polls(get_database())}


def nightly_superfans() -> dict[str, int]:
    """Nightly: re-score every fan and apply the superfan rule as the window moves."""
    return fans.evaluate_all(get_database())
