"""Every durable job handler and periodic entry point of publishing, thin: the logic is in
``publishing.delivery``. `worker.schedule.load_tasks` imports this module once at start-up,
registers its handlers and calls `on_load`."""

from __future__ import annotations

from typing import Any

from socialpulse.accounts import budget as budget_service
from socialpulse.db import get_database
from socialpulse.publishing import budget_release, delivery
from socialpulse.publishing.series import PUBLISH_JOB
from socialpulse.worker.jobs import JobContext, job_handler


def on_load() -> None:
    """Raising a budget publishes the deliveries it deferred."""
    budget_service.register_budget_release(
        budget_release.RELEASE_NAME, budget_release.release_budget_deliveries
    )


@job_handler(PUBLISH_JOB, lease_s=600, max_attempts=3)
def publish_delivery(ctx: JobContext) -> dict[str, Any]:
    """One delivery at its exact time. Its retries, waits and failures are the delivery's own
    (recorded on its row, with a new job for a retry), so this job always completes; a crash
    here is retried by the engine and the delivery's lease keeps it from running twice."""
    outcome = delivery.publish_delivery(ctx.db, int(ctx.payload["delivery_id"]))
    return {"outcome": outcome}


def sweep() -> dict[str, int]:
    """Every minute: the next deliveries of running series, and anything due that its job
    missed (downtime) or whose worker died."""
    return delivery.sweep(get_database()).as_dict()
