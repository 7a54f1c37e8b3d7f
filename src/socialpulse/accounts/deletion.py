"""Removing a tracked account: marked at once, its data deleted by a background job in batches.

An account with a few months of comments owns tens of thousands of rows (interactions,
workflow matches, replies, posts and their daily metric snapshots). Deleting the account row
and letting the foreign keys cascade did it all in one transaction, inside the request: on
SQLite that held the single write lock for as long as it took (122 s for 11,827 interactions
before their foreign keys were indexed), stalling every other writer. Instead:

1. `request_deletion` (the request) marks the account `deleting` and inactive, cancels its
   waiting replies and queues one durable job (deduplicated per account). From then on the
   daily fetch, comment polls and mention polls skip it, fetch/update requests are refused and
   the reply queue sends nothing for it.
2. `delete_account_data` (the job) deletes the dependent rows table by table, at most
   `batch_size` rows per transaction, children before parents, and the account row last. Each
   batch commits together with the job's progress (rows deleted / total), so the figures are
   exact and a crashed worker's successor resumes where the last commit left off: every step
   selects what is left, so running it again is harmless.

Rows an in-flight job still adds meanwhile (a fetch or poll that started before the mark) are
removed by the final delete of the account row through the foreign keys' ON DELETE CASCADE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import (
    AccountSnapshot,
    AccountStatus,
    ContentMapping,
    FetchRun,
    Post,
    PostAnalysis,
    PostMetricSnapshot,
    TrackedAccount,
)
from socialpulse.db import Base, Database, utcnow
from socialpulse.errors import Conflict
from socialpulse.inbox.models import (
    CommentPoll,
    Interaction,
    ReplyLimit,
    ReplyQueueItem,
    ReplyStatus,
    WorkflowMatch,
)
from socialpulse.worker.models import Job

log = structlog.get_logger(__name__)

DELETE_JOB_KIND = "accounts.delete_account"
# Rows per transaction: each batch holds SQLite's write lock for a few tens of milliseconds.
DELETE_BATCH_ROWS = 2000
# How long to wait for a reply that is being sent right now before deleting its interaction.
REPLY_IN_FLIGHT_WAIT = dt.timedelta(seconds=30)


def dedupe_key(account_id: int) -> str:
    return f"accounts.delete:{account_id}"


def refuse_if_deleting(account: TrackedAccount) -> None:
    """Nothing new starts for an account being removed."""
    if account.status == AccountStatus.deleting:
        raise Conflict(f"@{account.handle} is being removed")


def request_deletion(session: Session, account: TrackedAccount) -> Job:
    """Mark `account` as being deleted and queue the job that deletes it (idempotent: asking
    again while it runs returns the same job; after a failed job, a new one)."""
    import socialpulse.accounts.tasks  # noqa: F401  (registers the job handler)
    from socialpulse.worker.jobs import enqueue_job

    job = enqueue_job(
        session,
        DELETE_JOB_KIND,
        {"account_id": account.id},
        workspace_id=account.workspace_id,
        dedupe_key=dedupe_key(account.id),
    )
    account.status = AccountStatus.deleting
    account.status_message = f"being removed (job {job.id})"
    account.active = False
    # Replies still waiting would otherwise go out from an account the user has removed.
    cancelled = session.execute(
        update(ReplyQueueItem)
        .where(
            ReplyQueueItem.account_id == account.id,
            ReplyQueueItem.status == ReplyStatus.pending,
        )
        .values(status=ReplyStatus.cancelled, last_error="the account was removed")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    log.info(
        "accounts.delete.requested",
        account_id=account.id,
        job_id=job.id,
        replies_cancelled=cancelled.rowcount,  # type: ignore[attr-defined]
    )
    return job


# --- the job -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """Rows of one table that belong to the account, deleted by primary key in batches."""

    name: str
    table: type[Base]
    key: Any  # the primary key column
    belongs: Callable[[int], Any]  # account id -> WHERE clause on `table`

    def remaining(self, account_id: int) -> Select[Any]:
        return select(func.count()).select_from(self.table).where(self.belongs(account_id))

    def next_batch(self, account_id: int, size: int) -> Select[Any]:
        # Newest first: a reply usually has a higher id than its parent, so deleting
        # interactions from the top removes children before the parents they point at.
        return (
            select(self.key).where(self.belongs(account_id)).order_by(self.key.desc()).limit(size)
        )


def _account_interactions(account_id: int) -> Any:
    return select(Interaction.id).where(Interaction.account_id == account_id)


def _account_posts(account_id: int) -> Any:
    return select(Post.id).where(Post.account_id == account_id)


# Children before parents, so each batch's delete finds nothing left to cascade to.
STEPS: tuple[_Step, ...] = (
    _Step(
        "reply_queue",
        ReplyQueueItem,
        ReplyQueueItem.id,
        lambda a: ReplyQueueItem.account_id == a,
    ),
    _Step("comment_polls", CommentPoll, CommentPoll.id, lambda a: CommentPoll.account_id == a),
    _Step(
        "workflow_matches",
        WorkflowMatch,
        WorkflowMatch.id,
        lambda a: WorkflowMatch.interaction_id.in_(_account_interactions(a)),
    ),
    _Step("interactions", Interaction, Interaction.id, lambda a: Interaction.account_id == a),
    _Step(
        "content_mappings",
        ContentMapping,
        ContentMapping.id,
        lambda a: ContentMapping.post_id.in_(_account_posts(a)),
    ),
    _Step(
        "post_analyses",
        PostAnalysis,
        PostAnalysis.post_id,
        lambda a: PostAnalysis.post_id.in_(_account_posts(a)),
    ),
    _Step(
        "post_metric_snapshots",
        PostMetricSnapshot,
        PostMetricSnapshot.id,
        lambda a: PostMetricSnapshot.post_id.in_(_account_posts(a)),
    ),
    _Step("posts", Post, Post.id, lambda a: Post.account_id == a),
    _Step(
        "account_snapshots",
        AccountSnapshot,
        AccountSnapshot.id,
        lambda a: AccountSnapshot.account_id == a,
    ),
    _Step("fetch_runs", FetchRun, FetchRun.id, lambda a: FetchRun.account_id == a),
    _Step("reply_limits", ReplyLimit, ReplyLimit.id, lambda a: ReplyLimit.account_id == a),
)


class ReplyInFlight(Exception):
    """A reply of the account is being sent right now; its interaction must wait."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__("a reply of this account is being sent; deletion waits for it")
        self.until = until


# Called inside each batch's transaction with the progress so far; may raise to roll it back.
ProgressReporter = Callable[[Session, dict[str, Any]], None]


def delete_account_data(
    db: Database,
    account_id: int,
    *,
    report: ProgressReporter,
    progress: dict[str, Any] | None = None,
    batch_size: int | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Delete everything of the account, then the account, `batch_size` rows per transaction.

    `progress` is what the previous attempt committed (None on the first): its `deleted`
    count carries on. Returns the final progress. Raises ReplyInFlight while a reply of the
    account is mid-send (its lease not yet expired)."""
    now = now or utcnow()
    batch_size = batch_size or DELETE_BATCH_ROWS
    state: dict[str, Any] = dict(progress or {})
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        if account is None:  # already gone: a previous attempt finished the last step
            return state | {"account_id": account_id, "step": "done"}
        sending = session.scalar(
            select(func.max(ReplyQueueItem.lease_expires_at)).where(
                ReplyQueueItem.account_id == account_id,
                ReplyQueueItem.status == ReplyStatus.processing,
                ReplyQueueItem.lease_expires_at > now,
            )
        )
        if sending is not None:
            raise ReplyInFlight(min(sending, now + REPLY_IN_FLIGHT_WAIT))
        if "total" not in state:
            left = sum(session.scalar(step.remaining(account_id)) or 0 for step in STEPS)
            state = {
                "account_id": account_id,
                "handle": account.handle,
                "deleted": 0,
                "total": left + 1,  # + the account row
            }
        state["step"] = STEPS[0].name
        report(session, dict(state))
    bound = log.bind(account_id=account_id)
    for step in STEPS:
        while True:
            with db.session() as session:
                ids = list(session.scalars(step.next_batch(account_id, batch_size)))
                if ids:
                    session.execute(
                        delete(step.table)
                        .where(step.key.in_(ids))
                        .execution_options(synchronize_session=False)
                    )
                state["deleted"] += len(ids)
                # Rows added meanwhile (an in-flight poll) are deleted too: keep total honest.
                state["total"] = max(state["total"], state["deleted"] + 1)
                state["step"] = step.name
                report(session, dict(state))
            if len(ids) < batch_size:
                break
        bound.debug("accounts.delete.step_done", step=step.name, deleted=state["deleted"])
    with db.session() as session:
        session.execute(delete(TrackedAccount).where(TrackedAccount.id == account_id))
        state["deleted"] += 1
        state["total"] = max(state["total"], state["deleted"])
        state["step"] = "done"
        report(session, dict(state))
    bound.info("accounts.delete.finished", deleted=state["deleted"])
    return state
