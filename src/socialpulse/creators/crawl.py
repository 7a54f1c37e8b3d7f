"""The related-profiles crawl: profiles that reports pointed at (``related_profiles``, status
pending) get full reports of their own, within our users' limits.

Each tick (the durable job ``creators.crawl_tick``, queued every minute) does, in order:

1. looks up the follower count of a few due profiles that have none (outside any transaction:
   a platform call), so the follower floor can be applied before a build is spent on them;
2. in ONE write transaction, serialised between workers (PostgreSQL: an advisory transaction
   lock; SQLite: the write lock its ``BEGIN IMMEDIATE`` takes): closes the launches whose build
   finished (done, skipped, or a retry after a backoff, failed after the last one), counts the
   crawl's builds in flight, queued in the last hour and in the last 24 hours from the
   ``crawl_launches`` ledger, and queues builds for due profiles while all three leave room.

Counting in the database, in the transaction that queues, is what makes the limits hold with
several workers: a counter in process memory would be one per worker. A platform whose crawl
build was deferred (its API budget, a rate limit: the build job waits with a later
``run_after``) gets no new crawl build until that time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import structlog
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from socialpulse.config import Settings
from socialpulse.creators import service as creator_service
from socialpulse.creators.admin_schemas import (
    CrawlConfig,
    CrawlStats,
    InFlightBuild,
    QueueStatus,
    TriggerResult,
    WaitingProfile,
)
from socialpulse.creators.models import (
    CrawlLaunch,
    Creator,
    CreatorReport,
    CreatorStatus,
    RelatedProfile,
    RelatedStatus,
)
from socialpulse.db import Database, utcnow
from socialpulse.errors import NotFound
from socialpulse.kit.upsert import upsert
from socialpulse.providers.base import BudgetDeferredError, NotFoundError, TransientError
from socialpulse.providers.creators import creator_source
from socialpulse.worker.models import Job, JobStatus

log = structlog.get_logger(__name__)

ORIGIN = "crawl"  # queue_build's origin for the crawl's builds
# pg_advisory_xact_lock key of the tick's transaction (any fixed 64-bit number).
LOCK_KEY = 0x13C2A3
LOOKUPS_PER_TICK = 20
SCAN_BATCH = 200
# Launches older than the longest window (a day) count for nothing; kept one more for stats.
LEDGER_KEEP = dt.timedelta(days=2)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# status_message of a profile whose follower count no cheap lookup could give: its build is
# queued anyway and the report shows the count.
FOLLOWERS_UNKNOWN = "followers unknown before the build"
_ACTIVE = (JobStatus.pending, JobStatus.running)


@dataclass(frozen=True)
class CrawlLimits:
    enabled: bool
    max_concurrent: int
    per_hour: int
    per_day: int
    min_followers: int
    max_retries: int
    retry_backoff_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> CrawlLimits:
        return cls(
            enabled=settings.discovery_enabled,
            max_concurrent=settings.discovery_max_concurrent,
            per_hour=settings.discovery_per_hour,
            per_day=settings.discovery_per_day,
            min_followers=settings.discovery_min_followers,
            max_retries=settings.discovery_max_retries,
            retry_backoff_s=settings.discovery_retry_backoff_s,
        )

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait before the next build of a profile whose ``attempts``-th build failed."""
        return dt.timedelta(seconds=self.retry_backoff_s * 2 ** max(0, attempts - 1))


@dataclass
class TickResult:
    queued: int = 0  # builds the crawl queued (each counts against the limits)
    joined: int = 0  # profiles whose build someone else had queued already
    skipped: int = 0  # profiles skipped: complete, below the floor, no such account
    done: int = 0  # builds found finished with a report
    retried: int = 0  # failed builds put back with a backoff
    failed: int = 0  # profiles failed after the last retry
    looked_up: int = 0  # follower counts looked up on the platform
    room: int = 0  # builds the limits allowed this tick
    held_back_by: str | None = None  # the limit that left no room: concurrent, hour, day...
    deferred_platforms: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Usage:
    """The crawl's builds as the ledger counts them at ``now``."""

    in_flight: int
    last_hour: int
    last_day: int

    def room(self, limits: CrawlLimits) -> tuple[int, str | None]:
        """How many builds may be queued now, and which limit binds when none may."""
        left = {
            "concurrent": limits.max_concurrent - self.in_flight,
            "hour": limits.per_hour - self.last_hour,
            "day": limits.per_day - self.last_day,
        }
        binding = min(left, key=lambda name: left[name])
        room = max(0, left[binding])
        return room, (binding if room == 0 else None)


# A follower lookup: (platform, handle) -> followers (None: hidden); raises the provider's
# NotFoundError for no such account. Tests and the benchmark pass their own.
ProfileLookup = Callable[[str, str], int | None]


def platform_lookup(platform: str, handle: str) -> int | None:
    """One profile read with the instance's own access (no workspace credentials): a platform
    that needs them raises, and its profiles are built without a floor check first."""
    return creator_source(platform, {}).creator_profile(handle).followers_count


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        RelatedProfile.status == RelatedStatus.pending,
        or_(RelatedProfile.next_attempt_at.is_(None), RelatedProfile.next_attempt_at <= now),
    )


def usage(session: Session, now: dt.datetime) -> Usage:
    in_flight, last_hour, last_day = session.execute(
        select(
            func.count().filter(CrawlLaunch.finished_at.is_(None)),
            func.count().filter(CrawlLaunch.queued_at > now - HOUR),
            func.count().filter(CrawlLaunch.queued_at > now - DAY),
        ).select_from(CrawlLaunch)
    ).one()
    return Usage(in_flight or 0, last_hour or 0, last_day or 0)


# --------------------------------------------------------------------------- the tick


def tick(
    db: Database,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    prefer_creator_id: int | None = None,
    lookup: ProfileLookup | None = platform_lookup,
) -> TickResult:
    """One round of the crawl (see the module docstring). ``prefer_creator_id``: that
    creator's related profiles go first (the manual trigger). ``lookup=None``: no platform
    call; profiles without a known follower count are built without the floor check."""
    limits = CrawlLimits.from_settings(settings)
    result = TickResult()
    if lookup is not None and limits.enabled:
        _look_up_followers(db, lookup, limits, now or utcnow(), result)
    with db.session() as session:
        if db.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        now = now or utcnow()
        session.execute(delete(CrawlLaunch).where(CrawlLaunch.queued_at < now - LEDGER_KEEP))
        deferred = _reconcile(session, limits, now, result)
        result.deferred_platforms = {p: at.isoformat() for p, at in deferred.items()}
        if not limits.enabled:
            result.held_back_by = "disabled"
            return result
        result.room, result.held_back_by = usage(session, now).room(limits)
        room = result.room
        scopes = [RelatedProfile.creator_id == prefer_creator_id] if prefer_creator_id else []
        for scope in [*scopes, None]:
            room = _launch_due(session, limits, now, room, deferred, scope, result, lookup)
        if room > 0 and deferred and result.held_back_by is None:
            result.held_back_by = "budget"
    log.info("creators.crawl_tick", **{k: v for k, v in result.as_dict().items() if v})
    return result


def _look_up_followers(
    db: Database, lookup: ProfileLookup, limits: CrawlLimits, now: dt.datetime, result: TickResult
) -> None:
    with db.session(readonly=True) as session:
        targets = session.execute(
            select(RelatedProfile.platform, RelatedProfile.handle)
            .outerjoin(
                Creator,
                and_(
                    Creator.platform == RelatedProfile.platform,
                    Creator.handle == RelatedProfile.handle,
                ),
            )
            .where(
                _due(now),
                RelatedProfile.followers_hint.is_(None),
                RelatedProfile.status_message.is_(None),
                Creator.followers_count.is_(None),
            )
            .group_by(RelatedProfile.platform, RelatedProfile.handle)
            .order_by(func.min(RelatedProfile.id))
            .limit(LOOKUPS_PER_TICK)
        ).all()
    found: dict[tuple[str, str], tuple[int | None, str | None]] = {}
    for platform, handle in targets:
        try:
            followers = lookup(platform, handle)
        except NotFoundError:
            found[(platform, handle)] = (None, "skipped: the platform has no such account")
        except (BudgetDeferredError, TransientError):
            continue  # the next tick asks again
        except Exception as exc:  # no instance access (credentials), unsupported: build decides
            found[(platform, handle)] = (None, f"{FOLLOWERS_UNKNOWN}: {exc}"[:500])
        else:
            found[(platform, handle)] = (followers, None if followers is not None else "")
        result.looked_up += 1
    if not found:
        return
    with db.session() as session:
        for (platform, handle), (followers, message) in found.items():
            target = and_(
                RelatedProfile.platform == platform,
                RelatedProfile.handle == handle,
                RelatedProfile.status == RelatedStatus.pending,
            )
            if message and message.startswith("skipped"):
                values: dict[str, Any] = {
                    "status": RelatedStatus.skipped,
                    "status_message": message.removeprefix("skipped: "),
                }
            elif followers is not None:
                values = {"followers_hint": followers}
            else:  # hidden count, or no cheap lookup: the build is queued without the check
                values = {"status_message": message or f"{FOLLOWERS_UNKNOWN}: count hidden"}
            session.execute(update(RelatedProfile).where(target).values(**values))


def _outcome(creator: Creator | None) -> tuple[str, str | None]:
    """done, skipped (no account, private) or retry, for a creator whose build finished."""
    if creator is None:
        return "retry", "the creator was deleted while its build ran"
    if creator.status is CreatorStatus.ready:
        return "done", None
    if creator.status in (CreatorStatus.not_found, CreatorStatus.private):
        return "skipped", creator.status_message or f"account is {creator.status.value}"
    return "retry", creator.status_message or f"build ended with status {creator.status.value}"


def _reconcile(
    session: Session, limits: CrawlLimits, now: dt.datetime, result: TickResult
) -> dict[str, dt.datetime]:
    """Close finished launches and settle their profiles; returns the platforms whose crawl
    builds wait for a later time (budget or rate limit), with that time."""
    deferred: dict[str, dt.datetime] = {}
    active: set[int] = set()
    finished: list[CrawlLaunch] = []
    rows = session.execute(
        select(CrawlLaunch, Job.status, Job.run_after)
        .outerjoin(Job, Job.id == CrawlLaunch.job_id)
        .where(CrawlLaunch.finished_at.is_(None))
    ).all()
    for launch, status, run_after in rows:
        if status in _ACTIVE and launch.creator_id is not None:
            active.add(launch.creator_id)
            if status is JobStatus.pending and run_after is not None and run_after > now:
                deferred[launch.platform] = max(run_after, deferred.get(launch.platform, now))
        else:
            finished.append(launch)
    outcomes: dict[int, tuple[str, str | None]] = {}
    for launch in finished:
        creator = session.get(Creator, launch.creator_id) if launch.creator_id else None
        outcome = _outcome(creator)
        launch.finished_at, launch.outcome = now, outcome[0]
        if launch.creator_id is not None:
            outcomes[launch.creator_id] = outcome
    # Profiles joined to someone else's build have no launch: settled once that build ended.
    joined = session.scalars(
        select(RelatedProfile.related_creator_id)
        .where(
            RelatedProfile.status == RelatedStatus.queued,
            RelatedProfile.related_creator_id.is_not(None),
        )
        .distinct()
    ).all()
    for creator_id in joined:
        if creator_id is None or creator_id in active or creator_id in outcomes:
            continue
        creator = session.get(Creator, creator_id)
        if creator is not None and creator.build_job_id is not None:
            if session.scalar(select(Job.status).where(Job.id == creator.build_job_id)) in _ACTIVE:
                continue
        outcomes[creator_id] = _outcome(creator)
    for creator_id, (kind, message) in outcomes.items():
        _settle(session, limits, now, creator_id, kind, message, result)
    return deferred


def _settle(
    session: Session,
    limits: CrawlLimits,
    now: dt.datetime,
    creator_id: int,
    outcome: str,
    message: str | None,
    result: TickResult,
) -> None:
    queued = and_(
        RelatedProfile.related_creator_id == creator_id,
        RelatedProfile.status == RelatedStatus.queued,
    )
    if outcome != "retry":
        status = RelatedStatus.done if outcome == "done" else RelatedStatus.skipped
        changed = session.execute(
            update(RelatedProfile).where(queued).values(status=status, status_message=message)
        )
        count = int(getattr(changed, "rowcount", 0) or 0)
        if outcome == "done":
            result.done += count
        else:
            result.skipped += count
        return
    for row in session.scalars(select(RelatedProfile).where(queued)):
        if row.attempts > limits.max_retries:
            row.status = RelatedStatus.failed
            row.status_message = f"failed after {row.attempts} builds: {message}"
            result.failed += 1
        else:
            row.status = RelatedStatus.pending
            row.next_attempt_at = now + limits.backoff(row.attempts)
            row.status_message = f"retry {row.attempts} of {limits.max_retries}: {message}"
            result.retried += 1


def _launch_due(
    session: Session,
    limits: CrawlLimits,
    now: dt.datetime,
    room: int,
    deferred: dict[str, dt.datetime],
    scope: ColumnElement[bool] | None,
    result: TickResult,
    lookup: ProfileLookup | None,
) -> int:
    """Queue builds for due profiles (in discovery order) while ``room`` lasts; returns what
    is left of it. Profiles settled without a build (skipped, joined) cost no room."""
    last_id = 0
    seen: set[tuple[str, str]] = set()
    while room > 0:
        query = select(RelatedProfile).where(_due(now), RelatedProfile.id > last_id)
        if scope is not None:
            query = query.where(scope)
        batch = list(session.scalars(query.order_by(RelatedProfile.id).limit(SCAN_BATCH)))
        if not batch:
            return room
        last_id = batch[-1].id
        for row in batch:
            target = (row.platform, row.handle)
            if target in seen or row.platform in deferred:
                continue
            seen.add(target)
            room -= _launch(session, limits, now, target, result, lookup)
            if room == 0:
                return 0
    return room


def _launch(
    session: Session,
    limits: CrawlLimits,
    now: dt.datetime,
    target: tuple[str, str],
    result: TickResult,
    lookup: ProfileLookup | None,
) -> int:
    """Settle one related target (every due row naming it); returns 1 when a build was
    queued, 0 otherwise."""
    platform, handle = target
    rows = list(
        session.scalars(
            select(RelatedProfile).where(
                _due(now), RelatedProfile.platform == platform, RelatedProfile.handle == handle
            )
        )
    )
    creator = session.scalar(
        select(Creator).where(Creator.platform == platform, Creator.handle == handle)
    )
    skip = _skip_reason(session, creator, rows, limits)
    if skip is not None:
        _mark(rows, RelatedStatus.skipped, skip, creator)
        result.skipped += len(rows)
        return 0
    followers_known = creator is not None and creator.followers_count is not None
    if (
        lookup is not None
        and not followers_known
        and all(r.followers_hint is None and r.status_message is None for r in rows)
    ):
        return 0  # a later tick's lookup first (a few per tick)
    if creator is None:
        creator = _creator_for(session, platform, handle)
    job = creator_service.queue_build(session, creator, origin=ORIGIN)
    for row in rows:
        row.attempts += 1
        row.queued_at = now
        row.next_attempt_at = None
    _mark(rows, RelatedStatus.queued, None, creator)
    if job is None:  # a build (a user's search) is already on its way: ride along
        result.joined += len(rows)
        return 0
    session.add(CrawlLaunch(creator_id=creator.id, platform=platform, job_id=job.id, queued_at=now))
    session.flush()
    result.queued += 1
    return 1


def _skip_reason(
    session: Session, creator: Creator | None, rows: Iterable[RelatedProfile], limits: CrawlLimits
) -> str | None:
    if creator is not None:
        if creator.status in (CreatorStatus.not_found, CreatorStatus.private):
            return creator.status_message or f"account is {creator.status.value}"
        complete = session.scalar(
            select(CreatorReport.complete).where(CreatorReport.creator_id == creator.id)
        )
        if complete:
            return "already complete"
    followers = creator.followers_count if creator is not None else None
    if followers is None:
        hints = [r.followers_hint for r in rows if r.followers_hint is not None]
        followers = max(hints) if hints else None
    if followers is not None and followers < limits.min_followers:
        return f"{followers:,} followers, below the crawl's floor of {limits.min_followers:,}"
    return None


def _mark(
    rows: Iterable[RelatedProfile],
    status: RelatedStatus,
    message: str | None,
    creator: Creator | None,
) -> None:
    for row in rows:
        row.status = status
        row.status_message = message
        if creator is not None:
            row.related_creator_id = creator.id


def _creator_for(session: Session, platform: str, handle: str) -> Creator:
    """The shared creator row of a related profile, made if new (a concurrent search may make
    the same row: the insert then does nothing)."""
    upsert(
        session,
        Creator.__table__,  # type: ignore[arg-type]
        [{"platform": platform, "handle": handle, "origin": "related"}],
        conflict=["platform", "handle"],
        update=[],
    )
    creator = session.scalar(
        select(Creator).where(Creator.platform == platform, Creator.handle == handle)
    )
    assert creator is not None
    return creator


# --------------------------------------------------------------------------- admin views


def config(settings: Settings) -> CrawlConfig:
    return CrawlConfig(**asdict(CrawlLimits.from_settings(settings)))


def stats(session: Session, settings: Settings, now: dt.datetime | None = None) -> CrawlStats:
    now = now or utcnow()
    limits = CrawlLimits.from_settings(settings)
    counts = dict(
        session.execute(
            select(RelatedProfile.status, func.count()).group_by(RelatedProfile.status)
        ).all()
    )
    used = usage(session, now)
    room, binding = used.room(limits) if limits.enabled else (0, "disabled")
    outcomes = session.execute(
        select(CrawlLaunch.outcome, func.count())
        .where(CrawlLaunch.finished_at > now - DAY, CrawlLaunch.outcome.is_not(None))
        .group_by(CrawlLaunch.outcome)
    ).all()
    total, complete = session.execute(
        select(func.count(Creator.id), func.count(CreatorReport.id).filter(CreatorReport.complete))
        .select_from(Creator)
        .outerjoin(CreatorReport, CreatorReport.creator_id == Creator.id)
    ).one()
    return CrawlStats(
        related={status.value: counts.get(status, 0) for status in RelatedStatus},
        in_flight=used.in_flight,
        queued_last_hour=used.last_hour,
        queued_last_day=used.last_day,
        room_now=room,
        held_back_by=binding,
        outcomes_last_day={str(outcome): n for outcome, n in outcomes},
        creators_total=total or 0,
        creators_complete=complete or 0,
    )


def queue_status(
    session: Session, now: dt.datetime | None = None, *, limit: int = 20
) -> QueueStatus:
    now = now or utcnow()
    flights = session.execute(
        select(CrawlLaunch, Creator.handle, Creator.build_step, Job.status, Job.run_after)
        .outerjoin(Creator, Creator.id == CrawlLaunch.creator_id)
        .outerjoin(Job, Job.id == CrawlLaunch.job_id)
        .where(CrawlLaunch.finished_at.is_(None))
        .order_by(CrawlLaunch.queued_at)
    ).all()
    waiting = session.execute(
        select(
            RelatedProfile.platform,
            RelatedProfile.handle,
            func.max(RelatedProfile.followers_hint),
            func.max(RelatedProfile.attempts),
            func.max(RelatedProfile.status_message),
            func.count(),
        )
        .where(_due(now))
        .group_by(RelatedProfile.platform, RelatedProfile.handle)
        .order_by(func.min(RelatedProfile.id))
        .limit(limit)
    ).all()
    retry_waiting = session.scalar(
        select(func.count())
        .select_from(RelatedProfile)
        .where(RelatedProfile.status == RelatedStatus.pending, RelatedProfile.next_attempt_at > now)
    )
    return QueueStatus(
        in_flight=[
            InFlightBuild(
                creator_id=launch.creator_id,
                platform=launch.platform,
                handle=handle,
                job_id=launch.job_id,
                job_status=job_status.value if job_status is not None else None,
                build_step=step,
                queued_at=launch.queued_at,
                run_after=run_after,
            )
            for launch, handle, step, job_status, run_after in flights
        ],
        next_due=[
            WaitingProfile(
                platform=platform,
                handle=handle,
                status=RelatedStatus.pending,
                followers_hint=hint,
                attempts=attempts or 0,
                next_attempt_at=None,
                status_message=message,
                related_to=count,
            )
            for platform, handle, hint, attempts, message, count in waiting
        ],
        retry_waiting=retry_waiting or 0,
    )


def trigger(
    db: Database,
    settings: Settings,
    creator_id: int,
    *,
    lookup: ProfileLookup | None = platform_lookup,
) -> TriggerResult:
    """Crawl one stored creator's related profiles now: those waiting for a retry are due at
    once and go first; the limits hold as in every tick."""
    with db.session() as session:
        creator = session.get(Creator, creator_id)
        if creator is None:
            raise NotFound(f"no stored creator {creator_id}")
        platform, handle = creator.platform, creator.handle
        mine = and_(
            RelatedProfile.creator_id == creator_id,
            RelatedProfile.status == RelatedStatus.pending,
        )
        pending = session.scalar(select(func.count()).select_from(RelatedProfile).where(mine))
        session.execute(update(RelatedProfile).where(mine).values(next_attempt_at=None))
    result = tick(db, settings, prefer_creator_id=creator_id, lookup=lookup)
    return TriggerResult(
        creator_id=creator_id,
        platform=platform,
        handle=handle,
        pending_related=pending or 0,
        queued=result.queued,
        joined=result.joined,
        skipped=result.skipped,
        held_back_by=result.held_back_by,
    )
