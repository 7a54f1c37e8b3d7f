"""Removing a tracked account: marked at once, its data deleted by a background job in batches.

An account with a few months of comments owns tens of thousands of rows (interactions,
workflow matches, replies, posts and their daily metric snapshots). Deleting the account row
and letting the foreign keys cascade did it all in one transaction, inside the request: on
SQLite that held the single write lock for as long as it took (122 s for 11,827 interactions
before their foreign keys were indexed), stalling every other writer. Instead:

1. `request_deletion` (the request) marks the account `deleting` and inactive, lets other
   domains stop the account's queued work (a `DeletionHook`: the inbox cancels waiting replies)
   and queues one durable job (deduplicated per account). From then on the daily fetch, comment
   polls and mention polls skip it, fetch/update requests are refused and the reply queue sends
   nothing for it.
2. `delete_account_data` (the job) waits while a hook reports work in flight (a reply being
   sent), then deletes the dependent rows table by table, at most `batch_size` rows per
   transaction, children before parents, and the account row last. Each batch commits together
   with the job's progress (rows deleted / total), so the figures are exact and a crashed
   worker's successor resumes where the last commit left off: every step selects what is left,
   so running it again is harmless.

Which tables hold an account's rows is read from the schema (`deletion_steps`), not listed
here: a table whose row cannot outlive an account (a foreign key to `accounts` with ON DELETE
CASCADE), or cannot outlive such a row (a match of an interaction, a snapshot of a post). So a
new domain's tables are cleaned up without editing this module.

Rows an in-flight job still adds meanwhile (a fetch or poll that started before the mark) are
removed by the final delete of the account row through the foreign keys' ON DELETE CASCADE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    MetaData,
    Select,
    Table,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import Base, Database, utcnow
from socialpulse.errors import Conflict
from socialpulse.worker.jobs import enqueue_job
from socialpulse.worker.models import Job

log = structlog.get_logger(__name__)

DELETE_JOB_KIND = "accounts.delete_account"
# Rows per transaction: each batch holds SQLite's write lock for a few tens of milliseconds.
DELETE_BATCH_ROWS = 2000
# How long to wait, at most, for work in flight (a reply being sent) before looking again.
IN_FLIGHT_WAIT = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class DeletionHook:
    """What another domain does about an account being removed; registered by that domain
    (accounts imports no other domain).

    ``on_requested(session, account_id)`` runs in the request's transaction: stop the account's
    queued work. ``busy_until(session, account_id, now)`` says until when work already under
    way must finish before its rows go (None: nothing under way); ``busy_reason`` is what the
    job shows meanwhile."""

    name: str
    on_requested: Callable[[Session, int], None] | None = None
    busy_until: Callable[[Session, int, dt.datetime], dt.datetime | None] | None = None
    busy_reason: str = "work of this account is under way"


_hooks: dict[str, DeletionHook] = {}


def register_deletion_hook(hook: DeletionHook) -> None:
    """Add ``hook``, or replace the one registered under its name (idempotent)."""
    _hooks[hook.name] = hook


def dedupe_key(account_id: int) -> str:
    return f"accounts.delete:{account_id}"


def refuse_if_deleting(account: TrackedAccount) -> None:
    """Nothing new starts for an account being removed."""
    if account.status == AccountStatus.deleting:
        raise Conflict(f"@{account.handle} is being removed")


def request_deletion(session: Session, account: TrackedAccount) -> Job:
    """Mark `account` as being deleted and queue the job that deletes it (idempotent: asking
    again while it runs returns the same job; after a failed job, a new one)."""
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
    for hook in _hooks.values():
        if hook.on_requested is not None:
            hook.on_requested(session, account.id)
    session.flush()
    log.info("accounts.delete.requested", account_id=account.id, job_id=job.id)
    return job


def deletion_preview(session: Session, account_id: int) -> list[tuple[str, int]]:
    """Rows that removing the account deletes, per table that has any, most first."""
    counts = []
    for step in deletion_steps():
        rows = session.scalar(step.remaining(account_id)) or 0
        if rows:
            counts.append((step.name.replace("_", " "), int(rows)))
    return sorted(counts, key=lambda item: (-item[1], item[0]))


def deletion_progress(
    session: Session, account_ids: list[int]
) -> dict[int, tuple[int, int] | None]:
    """{account id: (rows deleted, total) as the job last committed, None before it starts}."""
    if not account_ids:
        return {}
    keys = {dedupe_key(account_id): account_id for account_id in account_ids}
    results: dict[str | None, dict[str, Any] | None] = {
        key: result
        for key, result in session.execute(
            select(Job.dedupe_key, Job.result).where(Job.dedupe_key.in_(keys))
        ).all()
    }
    progress: dict[int, tuple[int, int] | None] = {}
    for key, account_id in keys.items():
        result = results.get(key) or {}
        total = result.get("total")
        progress[account_id] = (int(result.get("deleted", 0)), int(total)) if total else None
    return progress


# --- the job -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """Rows of one table that belong to the account, deleted by primary key in batches."""

    name: str
    table: Table
    key: Column[Any]  # the primary key column
    belongs: Callable[[int], ColumnElement[bool]]  # account id -> WHERE clause on `table`

    def remaining(self, account_id: int) -> Select[Any]:
        return select(func.count()).select_from(self.table).where(self.belongs(account_id))

    def next_batch(self, account_id: int, size: int) -> Select[Any]:
        # Newest first: a reply usually has a higher id than its parent, so deleting
        # interactions from the top removes children before the parents they point at.
        return (
            select(self.key).where(self.belongs(account_id)).order_by(self.key.desc()).limit(size)
        )


def _owning_keys(table: Table) -> list[ForeignKey]:
    """The foreign keys by which a row of ``table`` cannot outlive the row it points at."""
    return [
        fk
        for fk in table.foreign_keys
        if (fk.ondelete or "").upper() == "CASCADE" and fk.column.table is not table
    ]


def deletion_steps(metadata: MetaData | None = None) -> tuple[_Step, ...]:
    """One step per table holding rows of an account, children before parents.

    A row belongs to the account when it points at the account (a CASCADE foreign key to
    `accounts`) or, failing such a column, at a row that belongs to it (a match of an
    interaction, a snapshot of a post). `sorted_tables` lists parents first: walked in reverse,
    each batch's delete finds nothing left to cascade to."""
    tables = (metadata or Base.metadata).sorted_tables
    belongs: dict[Table, Callable[[int], ColumnElement[bool]]] = {}
    for table in tables:  # parents first: theirs is known before a child's
        keys = _owning_keys(table)
        direct = [fk.parent for fk in keys if fk.column.table.name == TrackedAccount.__tablename__]
        if direct:
            belongs[table] = _points_at_account(direct)
            continue
        through = [(fk.parent, fk.column) for fk in keys if fk.column.table in belongs]
        if through:
            belongs[table] = _points_at_owned(through, belongs)
    steps = []
    for table in reversed(tables):
        if table not in belongs:
            continue
        if len(table.primary_key.columns) != 1:
            raise TypeError(f"deleting an account in batches needs one primary key on {table}")
        (key,) = table.primary_key.columns
        steps.append(_Step(table.name, table, key, belongs[table]))
    return tuple(steps)


def _points_at_account(columns: list[Column[Any]]) -> Callable[[int], ColumnElement[bool]]:
    return lambda account_id: or_(*(column == account_id for column in columns))


def _points_at_owned(
    through: list[tuple[Column[Any], Column[Any]]],
    belongs: dict[Table, Callable[[int], ColumnElement[bool]]],
) -> Callable[[int], ColumnElement[bool]]:
    def clause(account_id: int) -> ColumnElement[bool]:
        return or_(
            *(
                column.in_(select(target).where(belongs[target.table](account_id)))
                for column, target in through
            )
        )

    return clause


class WorkInFlight(Exception):
    """Work of the account is under way (a reply being sent): its rows must wait."""

    def __init__(self, reason: str, until: dt.datetime) -> None:
        super().__init__(f"{reason}; deletion waits for it")
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
    count carries on. Returns the final progress. Raises WorkInFlight while a hook reports work
    of the account under way (a reply mid-send, its lease not yet expired)."""
    now = now or utcnow()
    batch_size = batch_size or DELETE_BATCH_ROWS
    state: dict[str, Any] = dict(progress or {})
    steps = deletion_steps()
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        if account is None:  # already gone: a previous attempt finished the last step
            return state | {"account_id": account_id, "step": "done"}
        for hook in _hooks.values():
            busy = hook.busy_until(session, account_id, now) if hook.busy_until else None
            if busy is not None:
                raise WorkInFlight(hook.busy_reason, min(busy, now + IN_FLIGHT_WAIT))
        if "total" not in state:
            left = sum(session.scalar(step.remaining(account_id)) or 0 for step in steps)
            state = {
                "account_id": account_id,
                "handle": account.handle,
                "deleted": 0,
                "total": left + 1,  # + the account row
            }
        state["step"] = steps[0].name
        report(session, dict(state))
    bound = log.bind(account_id=account_id)
    for step in steps:
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
