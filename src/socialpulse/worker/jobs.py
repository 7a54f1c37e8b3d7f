"""Durable jobs: database rows claimed under a lease.

Lifecycle: pending → running (claimed: `locked_by`, `lease_expires_at`, attempts + 1) →
completed | failed, or back to pending (retry with backoff, or the reaper after the lease
expired because the worker died). Huey only delivers "run job N" nudges; losing one costs
nothing because the dispatcher periodically re-sends due rows.

Exactly-once effects: a handler that writes its results through `ctx.finish(session)` commits
them in the same transaction as the guarded completion (`WHERE locked_by = me`), so a worker
that lost its lease can never commit a second copy.

Waits the handler knows better than the backoff: raising `RetryAt(at=...)` asks for the next
try no earlier than `at` (a platform's `Retry-After`, a quota reset). With
`counts_attempt=False` the attempt is given back, for waits where nothing was really tried (the
platform's quota or our own budget said "not before the reset"). Either wait is refused, and
the job failed, when it is longer than `MAX_RETRY_WAIT`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from socialpulse.db import Database, get_database, utcnow
from socialpulse.kit import leases
from socialpulse.worker.models import Job, JobStatus
from socialpulse.worker.queue import enqueue_after_commit, huey

log = structlog.get_logger(__name__)

JOBS_TOTAL = Counter(
    "socialpulse_jobs_total", "Durable jobs by kind and outcome", ["kind", "outcome"]
)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

# The longest wait a handler may ask for with `RetryAt`. The longest wait we know of is a quota
# day: YouTube's resets at midnight Pacific time, at most 24 h away (25 h on the day clocks go
# back); beyond that a job is not waiting for a reset but parked indefinitely, so it fails and
# says so instead.
MAX_RETRY_WAIT = dt.timedelta(hours=26)
# Waits that cost no attempt (quota or budget resets) may follow one another, but not for ever:
# a job still waiting a week after it was queued fails and says why, instead of showing
# "pending" to its user indefinitely.
MAX_DEFERRED_AGE = dt.timedelta(days=7)


JOB_LEASE = leases.LeaseColumns(
    Job, Job.id, Job.status, Job.locked_by, Job.lease_expires_at, JobStatus.running
)


class LeaseLost(Exception):
    """This worker no longer owns the job (its lease expired and it was reclaimed)."""


class UnknownJobKind(Exception):
    pass


class RetryAt(Exception):
    """Raised by a handler: run this job again, no earlier than `at` (timezone-aware).

    `str(error)` is why, kept as the job's `last_error`; raise it `from` the provider error so
    the error's type is kept too. A counted attempt (the default) waits at least the engine's
    backoff and, on the last attempt, fails the job. `counts_attempt=False` gives the attempt
    back: for waits where nothing was really tried (a platform quota or our own budget that
    resets at a known time), so that a long quota wait cannot use up the job's attempts. Such
    waits are bounded one at a time (`MAX_RETRY_WAIT`), not in number: like a deferred fetch or
    comment poll, the job waits for quota day after quota day until its call fits.
    """

    def __init__(self, message: str, *, at: dt.datetime, counts_attempt: bool = True) -> None:
        super().__init__(message)
        self.at = at
        self.counts_attempt = counts_attempt


def retry_refusal(
    at: dt.datetime,
    *,
    attempt: int,
    max_attempts: int,
    counts_attempt: bool = True,
    now: dt.datetime | None = None,
    queued_at: dt.datetime | None = None,
) -> str | None:
    """Why the engine would not honour `RetryAt(at=at)` on this attempt; None when it would.

    Handlers that record their own final outcome (a "failed" label) ask first, so they record
    it themselves instead of the engine failing the job behind their back."""
    wait = at - (now or utcnow())
    if wait > MAX_RETRY_WAIT:
        hours = MAX_RETRY_WAIT.total_seconds() / 3600
        return (
            f"the next try would be {wait.total_seconds() / 3600:.1f} h away, "
            f"longer than the {hours:.0f} h a job may wait"
        )
    if counts_attempt and attempt >= max_attempts:
        return f"gave up after {attempt} attempt{'' if attempt == 1 else 's'}"
    if not counts_attempt and queued_at is not None and at - queued_at > MAX_DEFERRED_AGE:
        return (
            f"queued {queued_at:%Y-%m-%d %H:%M} UTC and still waiting for a quota or budget "
            f"reset; a job waits {MAX_DEFERRED_AGE.days} days at most"
        )
    return None


@dataclass
class JobContext:
    db: Database
    job_id: int
    kind: str
    payload: dict[str, Any]
    workspace_id: int | None
    attempt: int
    worker_id: str
    lease_s: int
    queued_at: dt.datetime | None = None
    finished: bool = field(default=False)

    def heartbeat(self) -> None:
        """Extend the lease during long work; raises LeaseLost if another worker took over."""
        with self.db.session() as session:
            until = utcnow() + dt.timedelta(seconds=self.lease_s)
            if not leases.renew(session, JOB_LEASE, self.job_id, self.worker_id, until=until):
                raise LeaseLost(f"job {self.job_id} was reclaimed")

    def report_progress(self, session: Session, progress: dict[str, Any]) -> None:
        """Show progress on the job row (its `result` while it runs, replaced by the outcome)
        in the caller's transaction, so the figures commit together with the work they count;
        extends the lease like `heartbeat`. Raises LeaseLost if another worker took over,
        which rolls the caller's work back."""
        until = utcnow() + dt.timedelta(seconds=self.lease_s)
        if not leases.renew(
            session, JOB_LEASE, self.job_id, self.worker_id, until=until, result=progress
        ):
            raise LeaseLost(f"job {self.job_id} was reclaimed")

    def finish(self, session: Session, result: dict[str, Any] | None = None) -> None:
        """Mark the job completed inside the caller's transaction, with its effects."""
        _complete(session, self.job_id, self.worker_id, result)
        self.finished = True


JobHandler = Callable[[JobContext], dict[str, Any] | None]


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    fn: JobHandler
    lease_s: int | None
    max_attempts: int


_handlers: dict[str, HandlerSpec] = {}
_SPEC_ATTRIBUTE = "__job_spec__"


def job_handler(
    kind: str, *, lease_s: int | None = None, max_attempts: int = 5
) -> Callable[[JobHandler], JobHandler]:
    """Mark the function that performs jobs of `kind` (named `domain.verb_object`).

    Marking registers nothing: `register_handlers` does, for the task modules `load_tasks()`
    names, so which jobs exist never depends on which modules happen to be imported.
    """

    def decorator(fn: JobHandler) -> JobHandler:
        setattr(fn, _SPEC_ATTRIBUTE, HandlerSpec(kind, fn, lease_s, max_attempts))
        return fn

    return decorator


def register_handler(fn: JobHandler) -> str:
    """Register one function marked by `job_handler`; returns its kind."""
    spec = getattr(fn, _SPEC_ATTRIBUTE, None)
    if not isinstance(spec, HandlerSpec):
        raise TypeError(f"{fn!r} is not marked with @job_handler")
    registered = _handlers.get(spec.kind)
    if registered is not None and registered.fn is not spec.fn:
        raise ValueError(f"two handlers claim job kind {spec.kind!r}")
    _handlers[spec.kind] = spec
    return spec.kind


def register_handlers(module: ModuleType) -> list[str]:
    """Register every handler marked in `module`; returns their kinds."""
    return sorted(
        register_handler(value)
        for value in vars(module).values()
        if isinstance(getattr(value, _SPEC_ATTRIBUTE, None), HandlerSpec)
        and getattr(value, _SPEC_ATTRIBUTE).fn is value
    )


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def enqueue_job(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    workspace_id: int | None = None,
    dedupe_key: str | None = None,
    run_after: dt.datetime | None = None,
) -> Job:
    """Add a job row to the caller's transaction; the worker is nudged after commit.

    With a `dedupe_key`, an unfinished job with the same key is returned instead of a new one.
    """
    if kind not in _handlers:
        raise UnknownJobKind(f"no handler registered for job kind {kind!r}")
    if dedupe_key is not None:
        existing = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    spec = _handlers[kind]
    job = Job(
        kind=kind,
        payload=payload or {},
        workspace_id=workspace_id,
        dedupe_key=dedupe_key,
        max_attempts=spec.max_attempts,
        run_after=run_after or utcnow(),
    )
    session.add(job)
    session.flush()
    delay = None
    if run_after is not None:
        delay = max(0.0, (run_after - utcnow()).total_seconds())
    enqueue_after_commit(session, nudge_job, job.id, delay)
    return job


def make_due_now(session: Session, job_ids: list[int]) -> list[int]:
    """Bring pending jobs that wait for a later time forward to now, in the caller's
    transaction (what they waited for, a budget, no longer holds them); each is nudged after
    commit like a new job. Returns the ids moved: running, finished or already due ones are
    left alone."""
    if not job_ids:
        return []
    now = utcnow()
    moved = list(
        session.scalars(
            select(Job.id).where(
                Job.id.in_(job_ids), Job.status == JobStatus.pending, Job.run_after > now
            )
        )
    )
    if not moved:
        return []
    session.execute(
        update(Job)
        .where(Job.id.in_(moved), Job.status == JobStatus.pending)
        .values(run_after=now)
        .execution_options(synchronize_session=False)
    )
    for job_id in moved:
        enqueue_after_commit(session, nudge_job, job_id, None)
    return moved


@huey.task(name="worker.run_job")
def run_job_task(job_id: int) -> None:
    run_job(get_database(), job_id)


# A delayed job's nudge is sent this much early and `run_job` waits for the exact time: Huey's
# scheduler moves due tasks once a second and an idle worker polls a SQLite queue every 0.5 s
# at most, so a nudge sent at the due time arrives up to 1.5 s late (a scheduled post would go
# out late). Early by as much, it arrives 0-1.5 s before and holds a worker thread that long.
EARLY_NUDGE_S = 1.5


def nudge_job(job_id: int, delay: float | None = None) -> None:
    """Ask a worker to run job `job_id` now (or after `delay` seconds, on time)."""
    if delay and not huey.immediate:
        delay -= EARLY_NUDGE_S
    if delay and delay > 0:
        run_job_task.schedule((job_id,), delay=delay)
    else:
        run_job_task(job_id)


def claim_job(db: Database, job_id: int, worker_id: str, lease_s: int) -> bool:
    """Compare-and-set one due pending row to running; True if this worker got it."""
    now = utcnow()
    with db.session() as session:
        claimed = leases.claim(
            session,
            JOB_LEASE,
            and_(Job.id == job_id, Job.status == JobStatus.pending, Job.run_after <= now),
            owner=worker_id,
            until=now + dt.timedelta(seconds=lease_s),
            attempts=Job.attempts + 1,
            started_at=now,
        )
        return claimed == 1


def claim_due_jobs(db: Database, worker_id: str, lease_s: int, limit: int = 20) -> list[int]:
    """Claim up to `limit` due rows. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets many workers
    claim concurrently without waiting on each other; SQLite serialises writers anyway."""
    now = utcnow()
    with db.session() as session:
        ids = list(
            session.scalars(
                select(Job.id)
                .where(Job.status == JobStatus.pending, Job.run_after <= now)
                .order_by(Job.run_after, Job.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        leases.claim(
            session,
            JOB_LEASE,
            and_(Job.id.in_(ids), Job.status == JobStatus.pending),
            owner=worker_id,
            until=now + dt.timedelta(seconds=lease_s),
            attempts=Job.attempts + 1,
            started_at=now,
        )
        return ids


def _complete(session: Session, job_id: int, worker_id: str, result: dict[str, Any] | None) -> None:
    completed = leases.release(
        session,
        JOB_LEASE,
        job_id,
        worker_id,
        status=JobStatus.completed,
        result=result,
        finished_at=utcnow(),
        lease_expires_at=None,
        dedupe_key=None,
        last_error=None,
    )
    if not completed:
        raise LeaseLost(f"job {job_id} was reclaimed before it could complete")


def _retry_delay(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 15 * 2 ** max(0, attempt - 1)))


def run_claimed_job(db: Database, job_id: int, worker_id: str) -> JobStatus | None:
    """Run a job this worker has claimed. Returns the job's new status (None if lease lost)."""
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.locked_by != worker_id or job.status != JobStatus.running:
            return None
        kind, payload, workspace_id, attempts, max_attempts, queued_at = (
            job.kind,
            dict(job.payload),
            job.workspace_id,
            job.attempts,
            job.max_attempts,
            job.created_at,
        )
    spec = _handlers.get(kind)
    bound = log.bind(job_id=job_id, kind=kind, attempt=attempts)
    if spec is None:
        _fail(db, job_id, worker_id, f"no handler registered for job kind {kind!r}", final=True)
        JOBS_TOTAL.labels(kind, "failed").inc()
        return JobStatus.failed
    lease_s = spec.lease_s or _default_lease_s()
    ctx = JobContext(
        db, job_id, kind, payload, workspace_id, attempts, worker_id, lease_s, queued_at
    )
    try:
        result = spec.fn(ctx)
        if not ctx.finished:
            with db.session() as session:
                _complete(session, job_id, worker_id, result)
    except LeaseLost:
        bound.warning("worker.job.lease_lost")
        JOBS_TOTAL.labels(kind, "lease_lost").inc()
        return None
    except RetryAt as exc:
        return _retry_at(db, job_id, worker_id, kind, exc, attempts, max_attempts, bound, queued_at)
    except Exception as exc:
        final = attempts >= max_attempts
        message = f"{type(exc).__name__}: {exc}"
        bound.error("worker.job.failed", error=message, final=final, tb=traceback.format_exc())
        _fail(db, job_id, worker_id, message, final=final, attempt=attempts)
        JOBS_TOTAL.labels(kind, "failed" if final else "retry").inc()
        return JobStatus.failed if final else JobStatus.pending
    bound.info("worker.job.completed")
    JOBS_TOTAL.labels(kind, "completed").inc()
    return JobStatus.completed


def _retry_at(
    db: Database,
    job_id: int,
    worker_id: str,
    kind: str,
    exc: RetryAt,
    attempts: int,
    max_attempts: int,
    bound: Any,
    queued_at: dt.datetime | None = None,
) -> JobStatus:
    """Re-queue for `exc.at` (a counted attempt: not before the backoff either), or fail the
    job when the engine refuses the wait."""
    now = utcnow()
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    message = f"{type(cause).__name__}: {exc}"
    refusal = retry_refusal(
        exc.at,
        attempt=attempts,
        max_attempts=max_attempts,
        counts_attempt=exc.counts_attempt,
        now=now,
        queued_at=queued_at,
    )
    if refusal is not None:
        message = f"{message} ({refusal})"
        bound.error("worker.job.failed", error=message, final=True)
        _fail(db, job_id, worker_id, message, final=True)
        JOBS_TOTAL.labels(kind, "failed").inc()
        return JobStatus.failed
    run_after = max(exc.at, now)
    if exc.counts_attempt:
        run_after = max(run_after, now + _retry_delay(attempts))
    message = f"{message}; next try at {run_after:%Y-%m-%d %H:%M:%S} UTC"
    outcome = "retry" if exc.counts_attempt else "deferred"
    bound.info(f"worker.job.{outcome}", error=message, run_after=run_after.isoformat())
    _fail(
        db,
        job_id,
        worker_id,
        message,
        final=False,
        run_after=run_after,
        give_back_attempt=not exc.counts_attempt,
    )
    JOBS_TOTAL.labels(kind, outcome).inc()
    return JobStatus.pending


def _fail(
    db: Database,
    job_id: int,
    worker_id: str,
    message: str,
    *,
    final: bool,
    attempt: int = 1,
    run_after: dt.datetime | None = None,
    give_back_attempt: bool = False,
) -> None:
    values: dict[str, Any] = {"last_error": message[:4000], "lease_expires_at": None}
    if final:
        values |= {"status": JobStatus.failed, "finished_at": utcnow(), "dedupe_key": None}
    else:
        values |= {
            "status": JobStatus.pending,
            "locked_by": None,
            "run_after": run_after or utcnow() + _retry_delay(attempt),
        }
        if give_back_attempt:  # the claim counted one; nothing was really tried
            values["attempts"] = Job.attempts - 1
    with db.session() as session:
        leases.release(session, JOB_LEASE, job_id, worker_id, **values)


def reap_expired_leases(db: Database, now: dt.datetime | None = None) -> dict[str, int]:
    """Put running rows whose lease expired back to pending (or fail them when out of tries)."""
    now = now or utcnow()
    with db.session() as session:
        expired = session.execute(
            select(Job.id, Job.attempts, Job.max_attempts)
            .where(leases.expired(JOB_LEASE, now))
            .with_for_update(skip_locked=True)
        ).all()
        requeued = failed = 0
        for job_id, attempts, max_attempts in expired:
            stale = Job.id == job_id
            if attempts >= max_attempts:
                session.execute(
                    update(Job)
                    .where(stale, Job.status == JobStatus.running)
                    .values(
                        status=JobStatus.failed,
                        finished_at=now,
                        dedupe_key=None,
                        lease_expires_at=None,
                        last_error=f"worker lease expired on each of {attempts} attempts",
                    )
                )
                failed += 1
            else:
                session.execute(
                    update(Job)
                    .where(stale, Job.status == JobStatus.running)
                    .values(
                        status=JobStatus.pending,
                        locked_by=None,
                        lease_expires_at=None,
                        run_after=now,
                        last_error="worker lease expired; re-queued",
                    )
                )
                requeued += 1
    if requeued or failed:
        log.warning("worker.lease.reaped", requeued=requeued, failed=failed)
    return {"requeued": requeued, "failed": failed}


def due_job_ids(db: Database, limit: int = 500) -> list[int]:
    now = utcnow()
    with db.session() as session:
        return list(
            session.scalars(
                select(Job.id)
                .where(Job.status == JobStatus.pending, Job.run_after <= now)
                .order_by(Job.run_after)
                .limit(limit)
            )
        )


def run_job(db: Database, job_id: int, worker_id: str = WORKER_ID) -> JobStatus | None:
    """Claim and run one job if it is due and unclaimed (what a Huey nudge does)."""
    spec = None
    with db.session() as session:
        row = session.execute(select(Job.kind, Job.run_after).where(Job.id == job_id)).first()
    kind, run_after = row if row is not None else (None, None)
    if kind is not None:
        spec = _handlers.get(kind)
    if run_after is not None and not huey.immediate:
        # An early nudge (see EARLY_NUDGE_S) waits here for the job's time; a nudge for a job
        # moved further ahead finds it not due and leaves it to its own nudge.
        wait = (run_after - utcnow()).total_seconds()
        if 0 < wait <= EARLY_NUDGE_S + 1.0:
            time.sleep(wait)
    lease_s = (spec.lease_s if spec else None) or _default_lease_s()
    if not claim_job(db, job_id, worker_id, lease_s):
        return None
    return run_claimed_job(db, job_id, worker_id)


def drain(db: Database, worker_id: str = WORKER_ID, limit: int = 20) -> int:
    """Claim and run due jobs in a batch until none are due; returns how many ran."""
    ran = 0
    while True:
        ids = claim_due_jobs(db, worker_id, _default_lease_s(), limit)
        if not ids:
            return ran
        for job_id in ids:
            run_claimed_job(db, job_id, worker_id)
            ran += 1


def _default_lease_s() -> int:
    from socialpulse.config import get_settings

    return get_settings().job_lease_s
