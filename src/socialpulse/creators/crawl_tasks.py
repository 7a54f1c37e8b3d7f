"""The crawl's durable job and its periodic nudge; the logic is in ``crawl``."""

from __future__ import annotations

from typing import Any

from socialpulse.config import get_settings
from socialpulse.creators import crawl
from socialpulse.db import get_database
from socialpulse.worker.jobs import JobContext, enqueue_job, job_handler

CRAWL_TICK_KIND = "creators.crawl_tick"


# One attempt: the next minute's tick is the retry, and a tick is never worth a backoff.
@job_handler(CRAWL_TICK_KIND, lease_s=120, max_attempts=1)
def crawl_tick(ctx: JobContext) -> dict[str, Any]:
    return crawl.tick(ctx.db, get_settings()).as_dict()


def schedule_crawl_tick() -> dict[str, int]:
    """Every minute: queue the crawl's tick (one at a time: the dedupe key holds while one
    waits or runs), unless the crawl is switched off."""
    if not get_settings().discovery_enabled:
        return {"queued": 0}
    with get_database().session() as session:
        enqueue_job(session, CRAWL_TICK_KIND, dedupe_key=CRAWL_TICK_KIND)
    return {"queued": 1}
