"""Tracked accounts: adding them (validated against the platform), reading, updating and
removing them, and asking for a fetch.

The work of a fetch lives in `accounts.fetching`, storing what it read in `accounts.ingest`;
other domains import this module only, so the few names they need are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts import budget, deletion, fetching
from socialpulse.accounts.budget import BudgetObserver

# Re-exported for other domains and the wiring above them (inbox, demo, the CLI, the
# dashboard), which import `service` only: "x as x" marks each one as meant.
from socialpulse.accounts.deletion import DeletionHook as DeletionHook
from socialpulse.accounts.deletion import register_deletion_hook as register_deletion_hook
from socialpulse.accounts.fetching import SourceFactory as SourceFactory
from socialpulse.accounts.fetching import build_source as build_source
from socialpulse.accounts.fetching import credentials_of as credentials_of
from socialpulse.accounts.fetching import queue_fetch as queue_fetch
from socialpulse.accounts.fetching import run_fetch as run_fetch
from socialpulse.accounts.fetching import schedule_daily_fetches as schedule_daily_fetches
from socialpulse.accounts.ingest import apply_profile as apply_profile
from socialpulse.accounts.ingest import ingest_posts as ingest_posts
from socialpulse.accounts.ingest import local_day, write_account_snapshot
from socialpulse.accounts.models import (
    AccountStatus,
    FetchRun,
    FetchStatus,
    Post,
    PostAnalysis,
    TrackedAccount,
)
from socialpulse.accounts.schemas import FetchProgress, reveal_credentials
from socialpulse.db import Database
from socialpulse.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.http import EgressDenied
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role, Workspace
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

# Workspaces where the simulated platform is on without the operator's setting: the demo's
# (`socialpulse.demo` creates them under these slugs).
SIMULATED_WORKSPACE_SLUGS = ("demo", "demo-agency")


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


def simulated_allowed(db: Database, subject: Subject, allow_everywhere: bool | None) -> bool:
    """The simulated platform is for the demo workspaces; elsewhere only when the operator
    says so (``SOCIALPULSE_SIMULATED_PLATFORM``). ``None`` reads the process settings."""
    if allow_everywhere is None:
        from socialpulse.config import get_settings

        allow_everywhere = get_settings().simulated_platform
    if allow_everywhere:
        return True
    with db.session(readonly=True) as session:
        slug = session.scalar(select(Workspace.slug).where(Workspace.id == subject.workspace_id))
    return slug in SIMULATED_WORKSPACE_SLUGS


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
        write_account_snapshot(session, account, local_day(session, account.workspace_id))
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


def iter_due_accounts(
    session: Session, subject: Subject, platform: str | None, handle: str | None
) -> Iterable[TrackedAccount]:
    if handle:
        return [find_account(session, subject, handle, platform)]
    query = scoped(select(TrackedAccount), subject).where(TrackedAccount.active.is_(True))
    if platform:
        query = query.where(TrackedAccount.platform == platform)
    return list(session.scalars(query.order_by(TrackedAccount.id)))


# A run in one of these will still read the platform: asking again follows it instead.
UNFINISHED_FETCH = (FetchStatus.pending, FetchStatus.running)


def active_fetch(session: Session, subject: Subject, account_id: int) -> FetchRun | None:
    """The account's fetch that is queued or running, if any (the newest one). Only a run whose
    job is unfinished counts: a run left 'running' by a job that gave up blocks nothing."""
    return session.scalar(
        scoped(select(FetchRun), subject)
        .join(Job, Job.id == FetchRun.job_id)
        .where(
            FetchRun.account_id == account_id,
            FetchRun.status.in_(UNFINISHED_FETCH),
            Job.status.in_([JobStatus.pending, JobStatus.running]),
        )
        .order_by(FetchRun.id.desc())
        .limit(1)
    )


def request_fetch(
    session: Session, subject: Subject, account_id: int, trigger: str = "manual"
) -> FetchRun:
    """Queue a fetch of one account (a durable job); returns the run users can follow.

    While a fetch of the account is queued or running, that run is returned and nothing new
    is queued: a second click (or a retried API call) would spend the platform budget twice
    for the same data. The per-account dedupe key covers two requests racing past the check."""
    subject.require(Role.editor)
    account = get_account(session, subject, account_id)
    deletion.refuse_if_deleting(account)
    existing = active_fetch(session, subject, account_id)
    if existing is not None:
        return existing
    return queue_fetch(session, account, trigger, dedupe_key=f"accounts.fetch-now:{account.id}")


def last_fetched(account: TrackedAccount) -> str:
    """When the account's data was last read from its platform, as every page shows it."""
    if account.last_fetched_at is None:
        return "never"
    return account.last_fetched_at.strftime("%Y-%m-%d %H:%M UTC")


_FETCH_STEPS = {
    FetchStatus.pending: (1, "Queued: waiting for a worker"),
    FetchStatus.running: (2, "Reading the profile and recent posts"),
    FetchStatus.completed: (3, "Done"),
    FetchStatus.failed: (3, "Failed"),
    FetchStatus.deferred: (3, "Deferred to the next budget window"),
}


def fetch_progress(session: Session, subject: Subject, account_id: int) -> FetchProgress:
    """Where the account's latest fetch stands, for a page that follows it without reloading."""
    account = get_account(session, subject, account_id)
    runs = fetch_history(session, subject, account_id, 1)
    run = runs[0] if runs else None
    if run is None:
        return FetchProgress(
            account_id=account_id,
            active=False,
            step=0,
            label="No fetch yet",
            last_fetched=last_fetched(account),
        )
    step, label = _FETCH_STEPS[run.status]
    active = run.status in UNFINISHED_FETCH
    if active and active_fetch(session, subject, account_id) is None:
        active, step, label = False, 3, "Stopped without finishing"
    if run.status == FetchStatus.completed:
        label = f"Done: {run.posts_seen} posts read, {run.posts_new} new"
    elif run.error and run.status != FetchStatus.running:
        label = f"{label}: {run.error}"
    return FetchProgress(
        account_id=account_id,
        run_id=run.id,
        status=run.status,
        active=active,
        step=step,
        label=label,
        last_fetched=last_fetched(account),
    )


def accounts_needing_attention(
    session: Session, subject: Subject
) -> list[tuple[TrackedAccount, FetchRun | None]]:
    """Accounts to act on: credentials rejected, gone from the platform, or whose latest fetch
    failed; each with that failed run (None when the account's status alone says so)."""
    latest = (
        scoped(select(func.max(FetchRun.id)), subject)
        .where(FetchRun.status != FetchStatus.pending)
        .group_by(FetchRun.account_id)
    )
    failed = {
        run.account_id: run
        for run in session.scalars(
            scoped(select(FetchRun), subject).where(
                FetchRun.id.in_(latest), FetchRun.status == FetchStatus.failed
            )
        )
    }
    troubled = (AccountStatus.needs_reconnect, AccountStatus.not_found, AccountStatus.error)
    return [
        (account, failed.get(account.id))
        for account in list_accounts(session, subject)
        if account.status in troubled
        or (account.id in failed and account.status != AccountStatus.deleting)
    ]


def removal_preview(session: Session, subject: Subject, account_id: int) -> list[tuple[str, int]]:
    """What removing the account deletes besides the account row: (what, rows) per table."""
    get_account(session, subject, account_id)
    return deletion.deletion_preview(session, account_id)


def removal_progress(session: Session, subject: Subject) -> dict[int, tuple[int, int] | None]:
    """{account id: (rows deleted, rows in all) or None before the job starts} for the
    workspace's accounts being removed."""
    ids = [
        account.id
        for account in list_accounts(session, subject)
        if account.status == AccountStatus.deleting
    ]
    return deletion.deletion_progress(session, ids)


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


@dataclass(frozen=True)
class BudgetChange:
    daily_units: int
    safety_margin: float
    released: int  # deferred fetches and other parked work made due now


def change_budget(
    session: Session, subject: Subject, platform: str, daily_units: int, safety_margin: float
) -> BudgetChange:
    """Set a platform's daily budget (admins). When more becomes usable and today's use
    leaves room, what the budget deferred (fetches, and the work other domains registered with
    `budget.register_budget_release`) is due at once instead of at the next quota day."""
    subject.require(Role.admin)
    try:
        registry.get_provider(platform)
    except registry.UnknownPlatformError as exc:
        raise InvalidInput(str(exc)) from exc
    workspace_id = subject.workspace_id
    before = budget.budget_for(session, workspace_id, platform)
    row = budget.set_budget(session, workspace_id, platform, daily_units, safety_margin)
    after = budget.Budget(row.daily_units, row.safety_margin)
    used = budget.units_used(session, workspace_id, platform, budget.quota_day(platform))
    released = 0
    if budget.more_room(before, after, used):
        released = fetching.release_budget_waits(session, workspace_id, platform)
        released += budget.release_deferred_jobs(session, workspace_id, platform)
        for release in budget.budget_releases():
            released += release(session, workspace_id, platform)
    session.flush()
    log.info(
        "accounts.budget.changed",
        workspace_id=workspace_id,
        platform=platform,
        daily_units=row.daily_units,
        safety_margin=row.safety_margin,
        released=released,
    )
    return BudgetChange(row.daily_units, row.safety_margin, released)


def waiting_fetches(
    session: Session, subject: Subject, limit: int = 50
) -> list[tuple[FetchRun, str, dt.datetime | None]]:
    """Fetches not run yet (pending, or deferred to the next quota day), newest first, as
    (run, account handle, when its job may run)."""
    rows = session.execute(
        scoped(select(FetchRun, TrackedAccount.handle, Job.run_after), subject)
        .join(TrackedAccount, TrackedAccount.id == FetchRun.account_id)
        .outerjoin(Job, Job.id == FetchRun.job_id)
        .where(FetchRun.status.in_([FetchStatus.deferred, FetchStatus.pending]))
        .order_by(FetchRun.id.desc())
        .limit(limit)
    ).all()
    return [(run, handle, run_after) for run, handle, run_after in rows]


def get_post(session: Session, subject: Subject, post_id: int) -> Post:
    """One of the workspace's posts, or 404 (another workspace's post does not exist here)."""
    return get_scoped(session, Post, post_id, subject)


def post_thumbnails(
    session: Session, subject: Subject, post_ids: Sequence[int]
) -> dict[int, str | None]:
    """{post id: thumbnail URL} for the workspace's posts among ``post_ids``."""
    rows = session.execute(
        scoped(select(Post.id, Post.thumbnail_url), subject).where(Post.id.in_(list(post_ids)))
    ).all()
    return {post_id: url for post_id, url in rows}


def post_analyses(
    session: Session, subject: Subject, post_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """{post id: stored text analysis} for the workspace's posts among ``post_ids`` that have
    one."""
    rows = session.execute(
        select(PostAnalysis.post_id, PostAnalysis.analysis).where(
            PostAnalysis.post_id.in_(
                scoped(select(Post.id), subject).where(Post.id.in_(list(post_ids)))
            )
        )
    ).all()
    return {post_id: analysis for post_id, analysis in rows}
