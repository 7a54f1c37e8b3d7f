"""The alerts domain's job: evaluate an account's rules once its fetch completed (queued by
name by ``accounts.tasks``, which sits below this domain), then e-mail what fired."""

from __future__ import annotations

from typing import Any

from socialpulse.alerts import evaluation
from socialpulse.config import get_settings
from socialpulse.worker.jobs import JobContext, job_handler

EVALUATE_JOB = "alerts.evaluate_account"


@job_handler(EVALUATE_JOB, lease_s=120, max_attempts=3)
def evaluate_account(ctx: JobContext) -> dict[str, Any]:
    # The alerts and their webhook deliveries commit before any e-mail is tried.
    fired = evaluation.evaluate_and_notify(ctx.db, get_settings(), int(ctx.payload["account_id"]))
    return {"fired": fired}
