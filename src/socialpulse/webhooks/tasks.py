"""Durable jobs and periodic entry points of outbound webhooks (thin: the logic is in
``webhooks.delivery``). ``worker.schedule.load_tasks`` registers them at start-up."""

from __future__ import annotations

from typing import Any

from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.kit.security import SecretBox
from socialpulse.webhooks import delivery
from socialpulse.worker.jobs import JobContext, job_handler


# Each job is one attempt; retries of the delivery are new jobs (delivery.RETRY_DELAYS). The
# engine's own retries only cover a crash of this handler.
@job_handler(delivery.DELIVER_JOB, lease_s=60, max_attempts=3)
def deliver_event(ctx: JobContext) -> dict[str, Any]:
    """POST one delivery's event; payload ``{"delivery_id": int}``."""
    box = SecretBox(get_settings().resolved_secret_key())
    # The lease owner names this job's run, so two threads of one worker never share it.
    owner = f"{ctx.worker_id}:job{ctx.job_id}:{ctx.attempt}"
    result = delivery.attempt(ctx.db, int(ctx.payload["delivery_id"]), box=box, worker_id=owner)
    return result.as_dict()


def sweep_deliveries() -> dict[str, int]:
    """Every 5 minutes: deliveries whose attempt is overdue or whose worker died."""
    return delivery.sweep(get_database())
