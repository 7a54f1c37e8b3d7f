"""Retention's job and periodic task; the logic is in ``service``."""

from __future__ import annotations

from typing import Any

from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.retention.service import (
    RETENTION_JOB_KIND,
    RetentionPolicy,
    prune,
    schedule_retention,
)
from socialpulse.worker.jobs import JobContext, job_handler


# The kind keeps its historical name: queued rows from before the move still find it.
@job_handler(RETENTION_JOB_KIND, lease_s=300, max_attempts=3)
def apply_retention(ctx: JobContext) -> dict[str, Any]:
    policy = RetentionPolicy.from_settings(get_settings())
    workspace_id = ctx.payload.get("workspace_id")
    return prune(ctx.db, workspace_id, policy, report=ctx.report_progress)


def schedule_retention_jobs() -> dict[str, int]:
    """Periodic (every 15 minutes): queue each workspace's daily retention pass."""
    return {"queued": schedule_retention(get_database(), at=get_settings().retention_time)}
