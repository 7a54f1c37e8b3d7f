"""Durable jobs of the creators domain (thin: the logic is in ``pipeline``)."""

from __future__ import annotations

from typing import Any

from socialpulse.creators import pipeline
from socialpulse.creators.service import BUILD_JOB
from socialpulse.worker.jobs import JobContext, job_handler


@job_handler(BUILD_JOB, lease_s=600, max_attempts=pipeline.MAX_ATTEMPTS)
def build_report(ctx: JobContext) -> dict[str, Any]:
    """Build (or refresh) one creator's report; payload ``{"creator_id": int}``."""
    return pipeline.run_build(ctx)
