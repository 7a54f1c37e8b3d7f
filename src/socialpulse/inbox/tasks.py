"""Every durable job handler and periodic entry point of the inbox, thin: the logic is in the
services (polling, moderation, fans, workflows, replies). `worker.schedule.load_tasks` imports
this module once at start-up, registers its handlers and calls `on_load`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import TrackedAccount
from socialpulse.config import get_settings
from socialpulse.db import get_database
from socialpulse.inbox import budget_release, fans, moderation, polling
from socialpulse.inbox.replies import account_removal, sender
from socialpulse.inbox.workflows import engine
from socialpulse.kit.security import SecretBox
from socialpulse.worker import shutdown
from socialpulse.worker.jobs import JobContext, job_handler


def on_load() -> None:
    """Removing an account cancels its waiting replies and waits for one being sent; raising
    a budget makes the comment polls and replies it deferred due."""
    accounts_service.register_deletion_hook(account_removal.REPLY_QUEUE_HOOK)
    budget_service.register_budget_release(
        budget_release.RELEASE_NAME, budget_release.release_budget_waits
    )


def _box() -> SecretBox:
    return SecretBox(get_settings().resolved_secret_key())


# --- durable jobs ------------------------------------------------------------------------------


@job_handler("inbox.poll_comments", lease_s=300, max_attempts=3)
def poll_comments(ctx: JobContext) -> dict[str, Any]:
    result = polling.poll_post_comments(ctx.db, int(ctx.payload["poll_id"]), box=_box())
    return {
        "status": result.status,
        "comments_seen": result.comments_seen,
        "interactions_new": result.interactions_new,
        "error": result.error,
    }


@job_handler(polling.POLL_JOB, lease_s=300, max_attempts=3)
def poll_account_mentions_job(ctx: JobContext) -> dict[str, Any]:
    """The on-demand poll. Provider failures are part of the result (the periodic poll tries
    again within 5 minutes); only a crash is retried by the job engine."""
    account_id = int(ctx.payload["account_id"])
    with ctx.db.session(readonly=True) as session:
        owner = session.scalar(
            select(TrackedAccount.workspace_id).where(TrackedAccount.id == account_id)
        )
    if owner is None or (ctx.workspace_id is not None and owner != ctx.workspace_id):
        reason = f"account {account_id} no longer exists"
        return asdict(polling.MentionPollResult(account_id, "skipped", reason=reason))
    return asdict(polling.poll_account_mentions(ctx.db, account_id, box=_box()))


def _on_platform(ctx: JobContext, action: str) -> dict[str, Any]:
    run = moderation.hide_on_platform if action == "hide" else moderation.unhide_on_platform
    result = run(
        ctx.db,
        int(ctx.payload["interaction_id"]),
        box=_box(),
        workspace_id=ctx.workspace_id,
        attempt=ctx.attempt,
        finish=lambda session, outcome: ctx.finish(session, outcome),
        queued_at=ctx.queued_at,
    )
    return result.as_dict()


@job_handler(moderation.HIDE_JOB, lease_s=120, max_attempts=moderation.MAX_ATTEMPTS)
def hide_interaction(ctx: JobContext) -> dict[str, Any]:
    return _on_platform(ctx, "hide")


@job_handler(moderation.UNHIDE_JOB, lease_s=120, max_attempts=moderation.MAX_ATTEMPTS)
def unhide_interaction(ctx: JobContext) -> dict[str, Any]:
    return _on_platform(ctx, "unhide")


# --- periodic entry points (worker.schedule.PERIODIC) -------------------------------------------


def schedule_comment_polls() -> dict[str, int]:
    """Every 5 minutes: create polls for new posts, queue the due ones within the budgets."""
    return {"queued": polling.schedule_polls(get_database())}


def poll_mentions() -> dict[str, int]:
    """Every 5 minutes: new mentions and DMs of the connected accounts that have them."""
    return polling.poll_all_mentions(get_database(), box=_box())


def run_workflow_time_triggers() -> dict[str, int]:
    """Every 5 minutes: the `unanswered_for` workflows of every workspace."""
    return engine.run_time_triggers(get_database())


def reply_queue_tick() -> dict[str, int]:
    """Every minute: send what is due within the coming minute, paced; a stopping worker
    hands back what it has not sent."""
    return sender.tick(get_database(), lookahead_s=50.0, stop=shutdown.stop_flag()).as_dict()


def nightly_superfans() -> dict[str, int]:
    """Nightly: re-score every fan and apply the superfan rule as the window moves."""
    return fans.evaluate_all(get_database())
