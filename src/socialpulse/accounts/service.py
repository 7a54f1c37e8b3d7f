"""Tracked accounts: adding them (validated against the platform), fetching them, ingesting
posts with their metric history.

Functions that talk to a platform take the `Database` and keep every transaction short:
no transaction is ever open across a network call (on SQLite it would hold the write lock).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts import deletion
from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import (
    AccountSnapshot,
    AccountStatus,
    FetchRun,
    FetchStatus,
    Post,
    PostMetricSnapshot,
    TrackedAccount,
)
from socialpulse.accounts.schemas import reveal_credentials
from socialpulse.db import Database, utcnow
from socialpulse.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from socialpulse.kit.security import SecretBox
from socialpulse.kit.upsert import upsert
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.http import EgressDenied
from socialpulse.worker.models import Job
from socialpulse.workspaces.models import Role, Workspace
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

# How far back a fetch refreshes post metrics, and how many posts it reads at most.
FETCH_LOOKBACK_DAYS = 90
FETCH_MAX_POSTS = 500


class ProviderUnavailable(ServiceUnavailable):
    pass


def platform_name(platform: str) -> str:
    try:
        return registry.get_provider(platform).display_name
    except registry.UnknownPlatformError:
        return platform


def resolve_ref(ref: str, platform: str | None) -> tuple[registry.ProviderInfo, str]:
    """(provider, handle) for a profile URL or a handle; clear 422s for what we cannot read."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput("give a handle or a profile URL")
    try:
        if platform is None or "/" in ref:
            registry.check_url_scheme(ref)
        if platform is None:
            parsed_platform, handle = registry.parse_account_ref(ref)
            return registry.get_provider(parsed_platform), handle
        info = registry.get_provider(platform)
    except (registry.UnknownPlatformError, registry.UnsupportedUrlError) as exc:
        raise InvalidInput(str(exc)) from exc
    parsed = registry.profile_handle(info, ref) if "/" in ref else None
    return info, (parsed or ref).lstrip("@")


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


def simulated_allowed(db: Database, subject: Subject, allow_everywhere: bool | None) -> bool:
    """The simulated platform is for the demo workspaces; elsewhere only when the operator
    says so (``SOCIALPULSE_SIMULATED_PLATFORM``). ``None`` reads the process settings."""
    if allow_everywhere is None:
        from socialpulse.config import get_settings

        allow_everywhere = get_settings().simulated_platform
    if allow_everywhere:
        return True
    # Imported here: the demo module builds on this one.
    from socialpulse.demo import DEMO_SECOND_SLUG, DEMO_SLUG

    with db.session(readonly=True) as session:
        slug = session.scalar(select(Workspace.slug).where(Workspace.id == subject.workspace_id))
    return slug in (DEMO_SLUG, DEMO_SECOND_SLUG)


def _provider_failure(info: registry.ProviderInfo, handle: str, exc: pb.ProviderError) -> Exception:
    """Translate a platform error met while validating an account into what the user reads."""
    name = info.display_name
    if isinstance(exc, EgressDenied):
        return InvalidInput(str(exc))  # our refusal, not the platform's
    if isinstance(exc, pb.NotFoundError):
        return InvalidInput(f"{name} has no account {handle!r}: {exc}")
    if isinstance(exc, pb.AuthError):
        return InvalidInput(f"{name} rejected the credentials: {exc}")
    if isinstance(exc, pb.BudgetDeferredError):
        return ProviderUnavailable(str(exc))
    if isinstance(exc, pb.PermanentError):
        return InvalidInput(f"{name} refused the request: {exc}")
    return ProviderUnavailable(f"{name} is not answering right now ({exc}); try again later")


def apply_profile(account: TrackedAccount, profile: pb.Profile) -> None:
    account.external_id = profile.external_id
    account.handle = profile.handle
    account.display_name = profile.display_name or profile.handle
    account.bio = profile.bio
    account.avatar_url = profile.avatar_url
    account.profile_url = profile.profile_url
    account.followers_count = profile.followers_count
    account.following_count = profile.following_count
    account.posts_count = profile.posts_count
    account.verified = profile.verified


def add_account(
    db: Database,
    subject: Subject,
    ref: str,
    *,
    box: SecretBox,
    platform: str | None = None,
    credentials: Mapping[str, Any] | None = None,
    is_own: bool = True,
    source_factory: SourceFactory | None = None,
    allow_simulated: bool | None = None,
) -> TrackedAccount:
    """Track an account given by handle or profile URL, after checking it exists.

    ``allow_simulated``: the operator's ``simulated_platform`` setting (``None``: read it)."""
    subject.require(Role.editor)
    info, handle = resolve_ref(ref, platform)
    if info.name == pb.Platform.SIMULATED and not simulated_allowed(db, subject, allow_simulated):
        # Its knobs make the server sleep and fail on request: a tool for the demo, not a
        # platform every tenant may point at the server.
        raise PermissionDenied(
            "The simulated platform is only available in the demo workspace on this server; "
            "the operator can allow it everywhere with SOCIALPULSE_SIMULATED_PLATFORM=true"
        )
    if info.name == pb.Platform.MASTODON and "@" not in handle.lstrip("@"):
        raise InvalidInput("a Mastodon account needs its instance: @name@instance.social")
    plain = reveal_credentials(credentials)  # SecretStr values are unwrapped here only
    observer = BudgetObserver(db, subject.workspace_id)
    source = (source_factory or build_source)(info, plain, observer)
    try:
        profile: pb.Profile = source.get_profile(handle)
    except pb.ProviderError as exc:
        raise _provider_failure(info, handle, exc) from exc
    finally:
        with db.session() as session:
            observer.flush(session)
    with db.session() as session:
        existing = session.scalar(
            scoped(select(TrackedAccount), subject).where(
                TrackedAccount.platform == info.name,
                TrackedAccount.external_id == profile.external_id,
            )
        )
        if existing is not None:
            raise Conflict(f"{info.display_name} account @{profile.handle} is already tracked")
        account = TrackedAccount(
            workspace_id=subject.workspace_id,
            platform=info.name,
            is_own=is_own,
            credentials_encrypted=box.encrypt(json.dumps(plain)) if plain else None,
        )
        apply_profile(account, profile)
        session.add(account)
        session.flush()
        write_account_snapshot(session, account, _local_day(session, account.workspace_id))
        session.expunge(account)
    log.info("accounts.account.added", account_id=account.id, platform=account.platform)
    return account


def mark_needs_reconnect(session: Session, account_id: int, message: str) -> None:
    """The platform rejected the account's credentials: stop using them until the user
    reconnects, and say why on the account."""
    session.execute(
        update(TrackedAccount)
        .where(TrackedAccount.id == account_id)
        .values(status=AccountStatus.needs_reconnect, status_message=message[:4000])
        .execution_options(synchronize_session=False)
    )


def credentials_of(account: TrackedAccount, box: SecretBox) -> dict[str, Any]:
    if not account.credentials_encrypted:
        return {}
    value: dict[str, Any] = json.loads(box.decrypt(account.credentials_encrypted))
    return value


def list_accounts(
    session: Session, subject: Subject, platform: str | None = None
) -> list[TrackedAccount]:
    query = scoped(select(TrackedAccount), subject).order_by(
        TrackedAccount.platform, TrackedAccount.handle
    )
    if platform:
        query = query.where(TrackedAccount.platform == platform)
    return list(session.scalars(query))


def get_account(session: Session, subject: Subject, account_id: int) -> TrackedAccount:
    return get_scoped(session, TrackedAccount, account_id, subject)


def find_account(
    session: Session, subject: Subject, handle: str, platform: str | None = None
) -> TrackedAccount:
    query = scoped(select(TrackedAccount), subject).where(
        func.lower(TrackedAccount.handle) == handle.lstrip("@").lower()
    )
    if platform:
        query = query.where(TrackedAccount.platform == platform)
    matches = list(session.scalars(query))
    if not matches:
        raise NotFound(f"no tracked account @{handle.lstrip('@')}")
    if len(matches) > 1:
        platforms = ", ".join(sorted(m.platform for m in matches))
        raise InvalidInput(f"@{handle} is tracked on several platforms ({platforms}); name one")
    return matches[0]


def update_account(
    session: Session,
    subject: Subject,
    account_id: int,
    *,
    active: bool | None = None,
    is_own: bool | None = None,
    credentials: Mapping[str, Any] | None = None,
    box: SecretBox | None = None,
) -> TrackedAccount:
    subject.require(Role.editor)
    account = get_account(session, subject, account_id)
    deletion.refuse_if_deleting(account)
    if active is not None:
        account.active = active
    if is_own is not None:
        account.is_own = is_own
    if credentials is not None:
        assert box is not None
        plain = reveal_credentials(credentials)
        info = registry.get_provider(account.platform)
        if info.check_credentials is not None:
            try:
                info.check_credentials(plain)
            except ValueError as exc:
                raise InvalidInput(f"{info.display_name} settings are invalid: {exc}") from exc
        account.credentials_encrypted = box.encrypt(json.dumps(plain))
        if account.status == AccountStatus.needs_reconnect:
            account.status, account.status_message = AccountStatus.ok, None
    session.flush()
    return account


def delete_account(session: Session, subject: Subject, account_id: int) -> Job:
    """Mark the account as being removed and queue the job that deletes its data in batches
    (see `accounts.deletion`); returns that job, which users follow at GET /jobs/{id}."""
    subject.require(Role.editor)
    return deletion.request_deletion(session, get_account(session, subject, account_id))


# --- ingestion ---------------------------------------------------------------------------------


def _local_day(session: Session, workspace_id: int, at: dt.datetime | None = None) -> dt.date:
    zone = session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"
    return (at or utcnow()).astimezone(ZoneInfo(zone)).date()


def write_account_snapshot(session: Session, account: TrackedAccount, day: dt.date) -> None:
    upsert(
        session,
        AccountSnapshot.__table__,  # type: ignore[arg-type]
        [
            {
                "account_id": account.id,
                "day": day,
                "followers_count": account.followers_count,
                "following_count": account.following_count,
                "posts_count": account.posts_count,
                "captured_at": utcnow(),
            }
        ],
        conflict=["account_id", "day"],
        update=["followers_count", "following_count", "posts_count", "captured_at"],
    )


def engagement_rate(metrics: pb.PostMetrics, followers: int | None) -> float | None:
    """(likes + comments + shares) / followers, per post. None without a follower count."""
    if not followers:
        return None
    return ((metrics.likes or 0) + (metrics.comments or 0) + (metrics.shares or 0)) / followers


@dataclass
class IngestStats:
    posts_seen: int = 0
    posts_new: int = 0
    snapshots_written: int = 0


_POST_UPDATE = [
    "url",
    "caption",
    "hashtags",
    "mentions",
    "media_type",
    "duration_seconds",
    "thumbnail_url",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "engagement_rate",
    "metrics_updated_at",
]
_METRICS = ["views", "likes", "comments", "shares", "saves"]


def ingest_posts(
    session: Session,
    account: TrackedAccount,
    posts: Sequence[pb.Post],
    *,
    day: dt.date,
    captured_at: dt.datetime | None = None,
) -> IngestStats:
    """Upsert posts (unique per account and platform id) and their metrics snapshot for `day`."""
    stats = IngestStats(posts_seen=len(posts))
    if not posts:
        return stats
    captured_at = captured_at or utcnow()
    unique = {post.external_id: post for post in posts}
    existing = set(
        session.scalars(
            select(Post.external_id).where(
                Post.account_id == account.id, Post.external_id.in_(list(unique))
            )
        )
    )
    stats.posts_new = len(unique.keys() - existing)
    rows = [
        {
            "workspace_id": account.workspace_id,
            "account_id": account.id,
            "external_id": post.external_id,
            "url": post.url,
            "caption": post.caption,
            "hashtags": list(post.hashtags),
            "mentions": list(post.mentions),
            "media_type": str(post.media_type),
            "duration_seconds": post.duration_seconds,
            "posted_at": post.posted_at,
            "thumbnail_url": post.thumbnail_url,
            **{name: getattr(post.metrics, name) for name in _METRICS},
            "engagement_rate": engagement_rate(post.metrics, account.followers_count),
            "first_seen_at": captured_at,
            "metrics_updated_at": captured_at,
        }
        for post in unique.values()
    ]
    upsert(
        session,
        Post.__table__,  # type: ignore[arg-type]
        rows,
        conflict=["account_id", "external_id"],
        update=_POST_UPDATE,
    )
    ids = dict(
        session.execute(
            select(Post.external_id, Post.id).where(
                Post.account_id == account.id, Post.external_id.in_(list(unique))
            )
        ).all()
    )
    snapshots = [
        {
            "post_id": ids[post.external_id],
            "day": day,
            **{name: getattr(post.metrics, name) for name in _METRICS},
            "captured_at": captured_at,
        }
        for post in unique.values()
    ]
    stats.snapshots_written = upsert(
        session,
        PostMetricSnapshot.__table__,  # type: ignore[arg-type]
        snapshots,
        conflict=["post_id", "day"],
        update=[*_METRICS, "captured_at"],
    )
    return stats


# --- fetching ----------------------------------------------------------------------------------


def request_fetch(
    session: Session, subject: Subject, account_id: int, trigger: str = "manual"
) -> FetchRun:
    """Queue a fetch of one account (a durable job); returns the run users can follow."""
    subject.require(Role.editor)
    account = get_account(session, subject, account_id)
    deletion.refuse_if_deleting(account)
    return queue_fetch(session, account, trigger)


def queue_fetch(
    session: Session,
    account: TrackedAccount,
    trigger: str,
    *,
    run_after: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> FetchRun:
    from socialpulse.worker.jobs import enqueue_job

    run = FetchRun(workspace_id=account.workspace_id, account_id=account.id, trigger=trigger)
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
        day = _local_day(session, account.workspace_id)
        write_account_snapshot(session, account, day)
        stats = ingest_posts(session, account, posts, day=day)
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
            queue_fetch(session, account, run.trigger, run_after=later)
        session.flush()
        session.expunge(run)
    log.info("ingest.fetch.finished", fetch_run_id=fetch_run_id, status=status.value)
    return run


def fetch_history(
    session: Session, subject: Subject, account_id: int, limit: int = 20
) -> list[FetchRun]:
    get_account(session, subject, account_id)
    return list(
        session.scalars(
            scoped(select(FetchRun), subject)
            .where(FetchRun.account_id == account_id)
            .order_by(FetchRun.id.desc())
            .limit(limit)
        )
    )


# --- the daily schedule ------------------------------------------------------------------------

DAILY_FETCH_HOUR = 3
# Between two fetches of one platform: enough to keep bursts well under provider rate limits.
FETCH_SPACING_S = {"youtube": 5.0, "instagram": 20.0, "tiktok": 10.0}
DEFAULT_SPACING_S = 3.0


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
                spacing = FETCH_SPACING_S.get(account.platform, DEFAULT_SPACING_S)
                next_slot[account.platform] = slot + dt.timedelta(seconds=spacing)
                queue_fetch(session, account, "schedule", run_after=slot, dedupe_key=key)
                queued += 1
    return queued


def iter_due_accounts(
    session: Session, subject: Subject, platform: str | None, handle: str | None
) -> Iterable[TrackedAccount]:
    if handle:
        return [find_account(session, subject, handle, platform)]
    query = scoped(select(TrackedAccount), subject).where(TrackedAccount.active.is_(True))
    if platform:
        query = query.where(TrackedAccount.platform == platform)
    return list(session.scalars(query.order_by(TrackedAccount.id)))
