"""Reading accounts from their platforms: the client, the fetch job's work, and the daily
schedule that queues one fetch per account and local day.

No transaction is ever open across a network call (on SQLite it would hold the write lock).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.ingest import (
    apply_profile,
    ingest_posts,
    local_day,
    write_account_snapshot,
)
from socialpulse.accounts.models import AccountStatus, FetchRun, FetchStatus, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.worker.jobs import enqueue_job, make_due_now
from socialpulse.workspaces.models import Workspace

log = structlog.get_logger(__name__)

# How far back a fetch refreshes post metrics, and how many posts it reads at most.
FETCH_LOOKBACK_DAYS = 90
FETCH_MAX_POSTS = 500


SourceFactory = Callable[[registry.ProviderInfo, dict[str, Any], pb.CallObserver], Any]


def build_source(
    info: registry.ProviderInfo, credentials: dict[str, Any], observer: pb.CallObserver
) -> Any:
    try:
        return info.build(credentials, observer)
    except registry.MissingCredentialsError as exc:
        raise InvalidInput(str(exc)) from exc
    except ValueError as exc:
        raise InvalidInput(f"{info.display_name} settings are invalid: {exc}") from exc


def credentials_of(account: TrackedAccount, box: SecretBox) -> dict[str, Any]:
    if not account.credentials_encrypted:
        return {}
    value: dict[str, Any] = json.loads(box.decrypt(account.credentials_encrypted))
    return value


def queue_fetch(
    session: Session,
    account: TrackedAccount,
    trigger: str,
    *,
    run_after: dt.datetime | None = None,
    dedupe_key: str | None = None,
    budget_platform: str | None = None,
) -> FetchRun:
    """Queue a fetch of ``account``; ``budget_platform``: it waits for that platform's budget
    (raising the budget makes it due at once, see `release_budget_waits`)."""
    run = FetchRun(
        workspace_id=account.workspace_id,
        account_id=account.id,
        trigger=trigger,
        budget_platform=budget_platform,
    )
    session.add(run)
    session.flush()
    job = enqueue_job(
        session,
        "accounts.fetch_account",
        {"fetch_run_id": run.id},
        workspace_id=account.workspace_id,
        dedupe_key=dedupe_key,
        run_after=run_after,
    )
    if job.payload.get("fetch_run_id") != run.id:
        # An unfinished fetch for the same window already exists: follow that one instead.
        session.delete(run)
        session.flush()
        existing = session.get(FetchRun, job.payload["fetch_run_id"])
        assert existing is not None
        return existing
    run.job_id = job.id
    session.flush()
    return run


class FetchDeferred(Exception):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


FETCH_MAX_PAGES = 25


def _read_posts(source: Any, profile: pb.Profile, heartbeat: Callable[[], None]) -> list[pb.Post]:
    """Recent posts, newest first, until the lookback window or the post limit is reached.

    The fresh profile is passed as the account so clients that need more than a handle
    (YouTube's uploads playlist) do not spend another call looking it up. A page can be empty
    yet have a next cursor (YouTube drops private and deleted videos from a page), so only a
    missing or repeated cursor ends the listing."""
    cutoff = utcnow() - dt.timedelta(days=FETCH_LOOKBACK_DAYS)
    collected: list[pb.Post] = []
    cursor: str | None = None
    for _page in range(FETCH_MAX_PAGES):
        page = source.list_posts(profile, cursor=cursor, limit=50)
        collected.extend(page.items)
        heartbeat()
        if len(collected) >= FETCH_MAX_POSTS:
            break
        if not page.next_cursor or page.next_cursor == cursor:
            break
        if page.items and all(post.posted_at < cutoff for post in page.items):
            break
        cursor = page.next_cursor
    return collected[:FETCH_MAX_POSTS]


def run_fetch(
    db: Database,
    fetch_run_id: int,
    *,
    box: SecretBox,
    attempt: int = 1,
    max_attempts: int = 1,
    heartbeat: Callable[[], None] = lambda: None,
    source_factory: SourceFactory | None = None,
) -> FetchRun:
    """Fetch one account: profile, snapshot, recent posts with metrics. Never raises for
    outcomes the user should see (auth, not found, budget); re-raises transient failures so the
    job is retried, and records them on the run."""
    with db.session() as session:
        run = session.get(FetchRun, fetch_run_id)
        if run is None:
            raise NotFound(f"fetch run {fetch_run_id} not found")
        account = session.get(TrackedAccount, run.account_id)
        assert account is not None
        if account.status == AccountStatus.deleting:
            # Queued before the account was removed: no platform call for data about to go.
            run.status, run.finished_at = FetchStatus.failed, utcnow()
            run.error = "the account was removed"
            session.flush()
            session.expunge(run)
            return run
        run.status, run.started_at, run.error = FetchStatus.running, utcnow(), None
        # Running now: a later retry of this run waits for its backoff, not for a budget.
        run.budget_platform = None
        session.flush()
        session.expunge(account)
    info = registry.get_provider(account.platform)
    observer = BudgetObserver(db, account.workspace_id)
    bound = log.bind(account_id=account.id, platform=account.platform, fetch_run_id=fetch_run_id)
    try:
        source = (source_factory or build_source)(info, credentials_of(account, box), observer)
        profile = source.get_profile(account.handle)
        heartbeat()
        posts = _read_posts(source, profile, heartbeat)
    except pb.BudgetDeferredError as exc:
        return _finish_run(db, fetch_run_id, observer, FetchStatus.deferred, str(exc), retry=exc)
    except pb.AuthError as exc:
        message = (
            f"{info.display_name} rejected the stored credentials ({exc}); reconnect the account"
        )
        return _finish_run(
            db,
            fetch_run_id,
            observer,
            FetchStatus.failed,
            message,
            account_status=AccountStatus.needs_reconnect,
        )
    except pb.NotFoundError as exc:
        message = f"{info.display_name} no longer has this account ({exc})"
        return _finish_run(
            db,
            fetch_run_id,
            observer,
            FetchStatus.failed,
            message,
            account_status=AccountStatus.not_found,
        )
    except (pb.PermanentError, InvalidInput) as exc:
        return _finish_run(
            db,
            fetch_run_id,
            observer,
            FetchStatus.failed,
            str(exc),
            account_status=AccountStatus.error,
        )
    except (pb.TransientError, pb.QuotaExhaustedError, pb.CircuitOpenError) as exc:
        final = attempt >= max_attempts
        message = f"{info.display_name} did not answer ({exc})" + (
            "" if final else f"; retrying (attempt {attempt} of {max_attempts})"
        )
        bound.warning("ingest.fetch.failed", error=str(exc), final=final)
        _finish_run(
            db,
            fetch_run_id,
            observer,
            FetchStatus.failed if final else FetchStatus.pending,
            message,
            account_status=AccountStatus.error if final else None,
        )
        if final:
            with db.session(readonly=True) as session:
                done = session.get(FetchRun, fetch_run_id)
                assert done is not None
                session.expunge(done)
            return done
        raise
    with db.session() as session:
        account = session.get(TrackedAccount, account.id)
        if account is None or account.status == AccountStatus.deleting:
            # Removed while we were reading the platform: store nothing for it.
            return _finish_run(
                db, fetch_run_id, observer, FetchStatus.failed, "the account was removed"
            )
        apply_profile(account, profile)
        account.status, account.status_message = AccountStatus.ok, None
        account.last_fetched_at = utcnow()
        day = local_day(session, account.workspace_id)
        stats = ingest_posts(session, account, posts, day=day)
        # After the posts: the snapshot's totals are over their metrics as just stored.
        write_account_snapshot(session, account, day)
        observer.flush(session)
        run = session.get(FetchRun, fetch_run_id)
        assert run is not None
        run.status, run.finished_at = FetchStatus.completed, utcnow()
        run.posts_seen, run.posts_new = stats.posts_seen, stats.posts_new
        run.snapshots_written = stats.snapshots_written + 1
        run.api_calls, run.quota_units = observer.calls, observer.units
        session.flush()
        session.expunge(run)
    bound.info("ingest.fetch.completed", posts=stats.posts_seen, new=stats.posts_new)
    return run


def _finish_run(
    db: Database,
    fetch_run_id: int,
    observer: BudgetObserver,
    status: FetchStatus,
    message: str,
    *,
    account_status: AccountStatus | None = None,
    retry: pb.BudgetDeferredError | None = None,
) -> FetchRun:
    with db.session() as session:
        observer.flush(session)
        run = session.get(FetchRun, fetch_run_id)
        assert run is not None
        run.status, run.error = status, message
        run.api_calls, run.quota_units = observer.calls, observer.units
        if status != FetchStatus.pending:
            run.finished_at = utcnow()
        if account_status is not None:
            session.execute(
                update(TrackedAccount)
                .where(
                    TrackedAccount.id == run.account_id,
                    # "Being removed" outlives whatever a last fetch met on the platform.
                    TrackedAccount.status != AccountStatus.deleting,
                )
                .values(status=account_status, status_message=message)
            )
        account = session.get(TrackedAccount, run.account_id)
        if retry is not None and account is not None and account.status != AccountStatus.deleting:
            later = utcnow() + dt.timedelta(seconds=retry.retry_after or 3600)
            queue_fetch(
                session, account, run.trigger, run_after=later, budget_platform=retry.platform
            )
        session.flush()
        session.expunge(run)
    log.info("ingest.fetch.finished", fetch_run_id=fetch_run_id, status=status.value)
    return run


def release_budget_waits(session: Session, workspace_id: int, platform: str) -> int:
    """Make the workspace's fetches that wait for ``platform``'s budget due now (it was
    raised); returns how many. Each runs as soon as a worker takes its nudge, and is deferred
    again, to the next quota day, if its calls still do not fit."""
    job_ids = session.scalars(
        select(FetchRun.job_id).where(
            FetchRun.workspace_id == workspace_id,
            FetchRun.budget_platform == platform,
            FetchRun.status == FetchStatus.pending,
            FetchRun.job_id.is_not(None),
        )
    )
    released = make_due_now(session, [job_id for job_id in job_ids if job_id is not None])
    if released:
        log.info(
            "ingest.fetch.released",
            workspace_id=workspace_id,
            platform=platform,
            jobs=len(released),
        )
    return len(released)


# --- the daily schedule ------------------------------------------------------------------------

DAILY_FETCH_HOUR = 3
# Between two fetches of an unknown platform (a known one states its own fetch_spacing_s).
DEFAULT_SPACING_S = 3.0


def _fetch_spacing_s(platform: str) -> float:
    try:
        return registry.get_provider(platform).fetch_spacing_s
    except registry.UnknownPlatformError:
        return DEFAULT_SPACING_S


def schedule_daily_fetches(
    db: Database, now: dt.datetime | None = None, at: dt.time = dt.time(DAILY_FETCH_HOUR)
) -> int:
    """Queue today's fetch for every active account whose workspace has passed `at` (03:00)
    local time and that has none yet today; spread per platform so no provider gets a burst."""
    now = now or utcnow()
    queued = 0
    with db.session() as session:
        workspaces = session.execute(select(Workspace.id, Workspace.timezone)).all()
        next_slot: dict[str, dt.datetime] = {}
        for workspace_id, zone in workspaces:
            local = now.astimezone(ZoneInfo(zone))
            if local.time() < at:
                continue
            local_midnight = dt.datetime.combine(local.date(), dt.time(), local.tzinfo)
            # A scheduled run today (finished, failed or waiting) means today is taken care of.
            already = set(
                session.scalars(
                    select(FetchRun.account_id).where(
                        FetchRun.workspace_id == workspace_id,
                        FetchRun.trigger == "schedule",
                        FetchRun.created_at >= local_midnight,
                    )
                )
            )
            accounts = session.scalars(
                select(TrackedAccount).where(
                    TrackedAccount.workspace_id == workspace_id,
                    TrackedAccount.active.is_(True),
                    TrackedAccount.status != AccountStatus.needs_reconnect,
                )
            )
            for account in accounts:
                key = f"fetch:{account.id}:{local.date().isoformat()}"
                if account.id in already:
                    continue
                slot = next_slot.get(account.platform, now)
                spacing = _fetch_spacing_s(account.platform)
                next_slot[account.platform] = slot + dt.timedelta(seconds=spacing)
                queue_fetch(session, account, "schedule", run_after=slot, dedupe_key=key)
                queued += 1
    return queued
