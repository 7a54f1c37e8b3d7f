"""The human-paced reply queue: limits, planning, enqueueing, and the tick that sends.

Pacing
------
Every connected account has limits (a ``ReplyLimit`` row, else its platform's defaults in
``PLATFORM_LIMITS``): at most ``max_per_minute`` replies in any rolling 60 s window and
``max_per_hour`` in any rolling 3600 s window (windows are half-open, ``[t, t + 60 s)``), at
least ``min_interval_s`` between two sends, plus a random extra delay drawn uniformly from
``[jitter_min_s, jitter_max_s]`` so replies do not leave at machine-regular intervals.
``plan_send_times`` is pure and O(n): times are appended in order, so only the last
``max_per_minute`` / ``max_per_hour`` times can constrain the next one.

Priority: new replies are planned at the end (FIFO). A reply with a higher priority than
pending, not yet started replies of the same account takes the earliest of their slots and
each of those moves one slot later (the last one takes the new slot). The set of send times is
unchanged, so the pacing guarantees still hold.

The tick (every minute)
-----------------------
Due items are claimed under a lease (compare-and-set, like ``worker.jobs.claim_job``), at most
``InboxSettings.max_replies_per_tick`` per account. Never a double send:

1. ``publish_started_at`` is committed (with ``attempts + 1``) BEFORE the platform call;
2. after it, ``sent`` + ``external_reply_id`` + the interaction ``answered`` are committed.

An item found with ``publish_started_at`` set (a worker died mid-send, or the call timed out)
is not re-sent blindly: the publisher's ``find_existing`` looks for our reply (same text, our
account) under the comment. Found → sent; not found → sent now; cannot tell → failed with
"could not confirm whether the reply was sent; check on the platform".

Failures: transient ones are retried after 1, 2, 4 minutes up to ``max_attempts`` (3), then
failed with the platform's message; auth errors fail at once and mark the account
``needs_reconnect``; a call that would cross the platform's daily API budget is never made:
the item stays pending until the next quota day. Before each send the account's actual recent
sends are checked against its limits too, so retries, manual retries and late ticks cannot
burst past them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.errors import Conflict, InvalidInput, NotFound
from socialpulse.inbox.models import (
    InboxSettings,
    Interaction,
    InteractionStatus,
    ReplyLimit,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers.publishing import (
    CannotConfirm,
    DryRunPublisher,
    Publisher,
    grapheme_count,
)
from socialpulse.providers.registry import MissingCredentialsError
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

MINUTE = dt.timedelta(seconds=60)
HOUR = dt.timedelta(seconds=3600)
DEFAULT_LEASE_S = 120.0
DEFAULT_MAX_PER_TICK = 10
RETRY_BASE_S = 60.0  # 1, 2, 4 minutes
CANNOT_CONFIRM = "could not confirm whether the reply was sent; check on the platform"


# --- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    max_per_hour: int
    max_per_minute: int
    min_interval_s: float
    jitter_min_s: float
    jitter_max_s: float

    def validate(self) -> None:
        if self.max_per_hour < 1 or self.max_per_minute < 1:
            raise InvalidInput("max_per_hour and max_per_minute must be at least 1")
        if self.max_per_minute > self.max_per_hour:
            raise InvalidInput("max_per_minute cannot exceed max_per_hour")
        if self.min_interval_s < 0 or self.jitter_min_s < 0:
            raise InvalidInput("intervals and delays cannot be negative")
        if self.jitter_max_s < self.jitter_min_s:
            raise InvalidInput("jitter_max_s must be at least jitter_min_s")


# Platform defaults. YouTube and Instagram are what our users specified. Instagram's "15-45 s"
# is read as: at least 15 s between replies plus 0-30 s random delay, so gaps fall in 15-45 s.
# Bluesky (createRecord costs 3 of 5,000 points an hour) and Mastodon (300 statuses per 3 h
# per account) allow far more than a person would send; we keep them at a person's pace.
# TikTok has no reply API here; its values are for planning only. The simulated platform is
# for the demo, so it moves quickly.
PLATFORM_LIMITS: dict[str, ReplyLimits] = {
    "youtube": ReplyLimits(60, 5, 10.0, 5.0, 30.0),
    "instagram": ReplyLimits(30, 3, 15.0, 0.0, 30.0),
    "bluesky": ReplyLimits(60, 5, 10.0, 5.0, 20.0),
    "mastodon": ReplyLimits(60, 5, 10.0, 5.0, 20.0),
    "tiktok": ReplyLimits(30, 3, 15.0, 5.0, 30.0),
    "simulated": ReplyLimits(120, 10, 2.0, 0.0, 3.0),
}
FALLBACK_LIMITS = ReplyLimits(30, 3, 15.0, 5.0, 30.0)


def default_limits(platform: str) -> ReplyLimits:
    return PLATFORM_LIMITS.get(platform, FALLBACK_LIMITS)


def limits_for(session: Session, account: TrackedAccount) -> tuple[ReplyLimits, bool]:
    """(limits, True if the account has its own override)."""
    row = session.scalar(
        select(ReplyLimit).where(
            ReplyLimit.workspace_id == account.workspace_id, ReplyLimit.account_id == account.id
        )
    )
    if row is None:
        return default_limits(account.platform), False
    return (
        ReplyLimits(
            row.max_per_hour,
            row.max_per_minute,
            row.min_interval_s,
            row.jitter_min_s,
            row.jitter_max_s,
        ),
        True,
    )


# --- text --------------------------------------------------------------------------------------

TEXT_LIMITS: dict[str, int] = {
    "youtube": 10_000,
    "bluesky": 300,
    "mastodon": 500,
    "instagram": 2200,
}
BLUESKY_MAX_BYTES = 3000


def validate_text(platform: str, text: str) -> str:
    """The reply text, trimmed, or a 422 saying what the platform would refuse."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("the reply text is empty")
    limit = TEXT_LIMITS.get(platform)
    if limit is None:
        return cleaned
    if platform == "bluesky":
        length, unit = grapheme_count(cleaned), "characters"
        if len(cleaned.encode()) > BLUESKY_MAX_BYTES:
            raise InvalidInput(f"Bluesky replies are limited to {BLUESKY_MAX_BYTES} bytes")
    else:
        length, unit = len(cleaned), "characters"
    if length > limit:
        raise InvalidInput(
            f"{platform} replies are limited to {limit} {unit}; this one has {length}",
            details={"limit": limit, "length": length},
        )
    return cleaned


# --- planning ----------------------------------------------------------------------------------


def plan_send_times(
    limits: ReplyLimits,
    already_scheduled: Sequence[dt.datetime],
    count: int,
    start: dt.datetime,
    rng: random.Random,
) -> list[dt.datetime]:
    """Send times for `count` new replies after the sorted `already_scheduled` ones.

    Each time is ≥ start + a random delay, ≥ the previous send + min_interval + a random delay,
    and keeps every rolling 60 s / 3600 s window (counting the already scheduled sends) within
    max_per_minute / max_per_hour. O(count): only the last k times can constrain the next."""
    times = list(already_scheduled)
    planned: list[dt.datetime] = []
    min_gap = dt.timedelta(seconds=limits.min_interval_s)
    per_minute, per_hour = limits.max_per_minute, limits.max_per_hour
    for _ in range(count):
        jitter = dt.timedelta(seconds=rng.uniform(limits.jitter_min_s, limits.jitter_max_s))
        candidate = start + jitter
        if times:
            candidate = max(candidate, times[-1] + max(min_gap, min_gap + jitter))
        if len(times) >= per_minute:
            candidate = max(candidate, times[-per_minute] + MINUTE)
        if len(times) >= per_hour:
            candidate = max(candidate, times[-per_hour] + HOUR)
        times.append(candidate)
        planned.append(candidate)
    return planned


def _occupied_times(session: Session, account_id: int, now: dt.datetime) -> list[dt.datetime]:
    """Send times that count against the account's limits: queued ones, and real sends (or
    attempts that may have gone out) of the last hour."""
    queued = session.scalars(
        select(ReplyQueueItem.scheduled_for).where(
            ReplyQueueItem.account_id == account_id,
            ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing]),
        )
    ).all()
    started = session.scalars(
        select(ReplyQueueItem.publish_started_at).where(
            ReplyQueueItem.account_id == account_id,
            ReplyQueueItem.status.in_([ReplyStatus.sent, ReplyStatus.failed]),
            ReplyQueueItem.publish_started_at >= now - HOUR,
        )
    ).all()
    return sorted([*queued, *(t for t in started if t is not None)])


def _plan_one(
    session: Session, account: TrackedAccount, now: dt.datetime, rng: random.Random | None = None
) -> dt.datetime:
    limits, _ = limits_for(session, account)
    occupied = _occupied_times(session, account.id, now)
    return plan_send_times(limits, occupied, 1, now, rng or random.Random())[0]


# --- enqueueing --------------------------------------------------------------------------------


def enqueue_reply(
    session: Session,
    interaction: Interaction,
    text: str,
    *,
    created_by: str,
    priority: int = 50,
    batch_id: str | None = None,
    now: dt.datetime | None = None,
) -> ReplyQueueItem:
    """Queue a reply to `interaction` at the account's pace (the caller commits)."""
    now = now or utcnow()
    account = session.get(TrackedAccount, interaction.account_id)
    if account is None or account.workspace_id != interaction.workspace_id:
        raise NotFound(f"account {interaction.account_id} not found")
    if not account.is_own:
        raise InvalidInput("replies go out from your own connected accounts only")
    cleaned = validate_text(account.platform, text)
    if not 0 <= priority <= 100:
        raise InvalidInput("priority must be between 0 and 100")
    active = session.scalar(
        select(ReplyQueueItem.id).where(
            ReplyQueueItem.interaction_id == interaction.id,
            ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing]),
        )
    )
    if active is not None:
        raise Conflict(
            f"a reply to this interaction is already queued (item {active}); cancel it first"
        )
    scheduled = _plan_one(session, account, now)
    item = ReplyQueueItem(
        workspace_id=interaction.workspace_id,
        account_id=account.id,
        interaction_id=interaction.id,
        platform=account.platform,
        text=cleaned,
        priority=priority,
        batch_id=batch_id,
        scheduled_for=scheduled,
        idempotency_key=uuid.uuid4().hex,
        created_by=created_by,
        created_at=now,
    )
    session.add(item)
    _give_priority(session, item, now)
    session.flush()
    log.info(
        "inbox.queue.enqueued",
        item_id=item.id,
        account_id=account.id,
        scheduled_for=item.scheduled_for.isoformat(),
    )
    return item


def _give_priority(session: Session, item: ReplyQueueItem, now: dt.datetime) -> None:
    """Let `item` jump ahead of pending lower-priority replies by rotating their slots."""
    lower = list(
        session.scalars(
            select(ReplyQueueItem)
            .where(
                ReplyQueueItem.account_id == item.account_id,
                ReplyQueueItem.status == ReplyStatus.pending,
                ReplyQueueItem.publish_started_at.is_(None),
                ReplyQueueItem.priority < item.priority,
                ReplyQueueItem.scheduled_for > now,
                ReplyQueueItem.scheduled_for < item.scheduled_for,
            )
            .order_by(ReplyQueueItem.scheduled_for, ReplyQueueItem.id)
        )
    )
    if not lower:
        return
    slots = [row.scheduled_for for row in lower] + [item.scheduled_for]
    item.scheduled_for = slots[0]
    for row, slot in zip(lower, slots[1:], strict=True):
        row.scheduled_for = slot


def _interaction(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    return get_scoped(session, Interaction, interaction_id, subject)


def reply_to(
    session: Session,
    subject: Subject,
    interaction_id: int,
    text: str,
    *,
    priority: int = 50,
    now: dt.datetime | None = None,
) -> ReplyQueueItem:
    subject.require(Role.editor)
    interaction = _interaction(session, subject, interaction_id)
    return enqueue_reply(
        session, interaction, text, created_by=subject.actor, priority=priority, now=now
    )


def approve_suggestion(
    session: Session,
    subject: Subject,
    interaction_id: int,
    text: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> ReplyQueueItem:
    """Queue the drafted reply (or the edited text the human approved)."""
    subject.require(Role.editor)
    interaction = _interaction(session, subject, interaction_id)
    final = text if text is not None else interaction.suggested_reply
    if not final:
        raise InvalidInput("this interaction has no drafted reply to approve; send a text")
    item = enqueue_reply(
        session,
        interaction,
        final,
        created_by=subject.actor,
        priority=interaction.priority,
        now=now,
    )
    interaction.suggested_reply = item.text
    if interaction.status == InteractionStatus.awaiting_approval:
        interaction.status = InteractionStatus.unread
    session.flush()
    return item


def reject_suggestion(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    subject.require(Role.editor)
    interaction = _interaction(session, subject, interaction_id)
    if not interaction.suggested_reply:
        raise InvalidInput("this interaction has no drafted reply")
    interaction.suggested_reply = None
    interaction.suggested_reply_source = None
    if interaction.status == InteractionStatus.awaiting_approval:
        interaction.status = InteractionStatus.unread
    session.flush()
    return interaction


def list_queue(
    session: Session,
    subject: Subject,
    *,
    status: ReplyStatus | None = None,
    account_id: int | None = None,
    limit: int = 200,
) -> list[ReplyQueueItem]:
    query = scoped(select(ReplyQueueItem), subject).order_by(
        ReplyQueueItem.scheduled_for, ReplyQueueItem.id
    )
    if status is not None:
        query = query.where(ReplyQueueItem.status == status)
    if account_id is not None:
        query = query.where(ReplyQueueItem.account_id == account_id)
    return list(session.scalars(query.limit(limit)))


def retry_item(
    session: Session, subject: Subject, item_id: int, *, now: dt.datetime | None = None
) -> ReplyQueueItem:
    """Queue a failed or cancelled reply again, at the account's pace, with fresh attempts.

    After "could not confirm", the user has checked the platform: retrying sends anew."""
    subject.require(Role.editor)
    now = now or utcnow()
    item = get_scoped(session, ReplyQueueItem, item_id, subject)
    if item.status not in (ReplyStatus.failed, ReplyStatus.cancelled):
        raise Conflict(
            f"only failed or cancelled replies can be retried; this one is {item.status}"
        )
    account = session.get(TrackedAccount, item.account_id)
    assert account is not None
    item.scheduled_for = _plan_one(session, account, now)
    item.status = ReplyStatus.pending
    item.attempts = 0
    item.publish_started_at = None
    item.locked_by = None
    item.lease_expires_at = None
    item.last_error = None
    session.flush()
    return item


def cancel_item(session: Session, subject: Subject, item_id: int) -> ReplyQueueItem:
    subject.require(Role.editor)
    item = get_scoped(session, ReplyQueueItem, item_id, subject)
    if item.status != ReplyStatus.pending or item.publish_started_at is not None:
        raise Conflict(f"only replies still waiting can be cancelled; this one is {item.status}")
    result = session.execute(
        update(ReplyQueueItem)
        .where(ReplyQueueItem.id == item.id, ReplyQueueItem.status == ReplyStatus.pending)
        .values(status=ReplyStatus.cancelled, locked_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the reply is being sent right now; it can no longer be cancelled")
    session.refresh(item)
    return item


def get_limits(
    session: Session, subject: Subject, account_id: int
) -> tuple[TrackedAccount, ReplyLimits, bool]:
    account = get_scoped(session, TrackedAccount, account_id, subject)
    limits, custom = limits_for(session, account)
    return account, limits, custom


def set_limits(
    session: Session, subject: Subject, account_id: int, limits: ReplyLimits
) -> tuple[TrackedAccount, ReplyLimits, bool]:
    subject.require(Role.admin)
    account = get_scoped(session, TrackedAccount, account_id, subject)
    limits.validate()
    row = session.scalar(
        scoped(select(ReplyLimit), subject).where(ReplyLimit.account_id == account.id)
    )
    if row is None:
        row = ReplyLimit(workspace_id=account.workspace_id, account_id=account.id, **asdict(limits))
        session.add(row)
    else:
        for key, value in asdict(limits).items():
            setattr(row, key, value)
    session.flush()
    return account, limits, True


# --- publishers --------------------------------------------------------------------------------


class NoPublisher(Exception):
    """The platform has no reply API in socialpulse."""


PublisherFactory = Callable[[TrackedAccount, pb.CallObserver], Publisher]

_dry_run_lock = threading.Lock()
_dry_runs: dict[Path | None, DryRunPublisher] = {}


def dry_run_publisher(path: Path | None = None) -> DryRunPublisher:
    """The process-wide dry-run publisher recording into `path` (the data dir by default)."""
    if path is None:
        from socialpulse.config import get_settings

        path = get_settings().data_dir / "dry_run_replies.jsonl"
    with _dry_run_lock:
        publisher = _dry_runs.get(path)
        if publisher is None:
            publisher = _dry_runs[path] = DryRunPublisher(path)
        return publisher


def publisher_for(
    account: TrackedAccount,
    box: SecretBox,
    *,
    observer: pb.CallObserver | None = None,
    http_client: Any = None,
) -> Publisher:
    """The publisher of the account's platform, built from its stored credentials."""
    from socialpulse.accounts.service import credentials_of

    platform = account.platform
    if platform == pb.Platform.SIMULATED.value:
        return dry_run_publisher()
    credentials = credentials_of(account, box)
    if platform == pb.Platform.YOUTUBE.value:
        from socialpulse.providers.youtube.publish import build_publisher as youtube

        return youtube(credentials, observer, http_client)
    if platform == pb.Platform.BLUESKY.value:
        from socialpulse.providers.bluesky.publish import build_publisher as bluesky

        return bluesky(credentials, observer, http_client, handle=account.handle)
    if platform == pb.Platform.MASTODON.value:
        from socialpulse.providers.mastodon.publish import build_publisher as mastodon

        return mastodon(credentials, observer, http_client, handle=account.handle)
    if platform == pb.Platform.INSTAGRAM.value:
        from socialpulse.providers.instagram.publish import build_publisher as instagram

        return instagram(credentials, observer, http_client)
    raise NoPublisher(
        f"socialpulse cannot reply on {platform}: the platform offers no reply API we support "
        "(replies work on YouTube, Instagram, Bluesky, Mastodon and the simulated platform)"
    )


# --- the tick ----------------------------------------------------------------------------------


@dataclass
class TickResult:
    claimed: int = 0
    sent: int = 0
    recovered: int = 0  # found on the platform after a crash: marked sent, not re-sent
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # budget or pacing: back to pending, later
    skipped: int = 0  # lease lost to another worker
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return {
            key: getattr(self, key)
            for key in ("claimed", "sent", "recovered", "retried", "failed", "deferred", "skipped")
        }


def _claimable(now: dt.datetime, horizon: dt.datetime) -> Any:
    return or_(
        and_(ReplyQueueItem.status == ReplyStatus.pending, ReplyQueueItem.scheduled_for <= horizon),
        and_(
            ReplyQueueItem.status == ReplyStatus.processing,
            ReplyQueueItem.lease_expires_at < now,
        ),
    )


def _claim(
    db: Database,
    *,
    now: dt.datetime,
    horizon: dt.datetime,
    worker_id: str,
    lease_until: dt.datetime,
    max_per_account: int | None,
) -> dict[int, list[int]]:
    """Claim due items (and items whose worker died) per account; {account_id: [item ids]}."""
    with db.session() as session:
        rows = session.execute(
            select(ReplyQueueItem.id, ReplyQueueItem.account_id, ReplyQueueItem.workspace_id)
            .join(TrackedAccount, TrackedAccount.id == ReplyQueueItem.account_id)
            .where(
                _claimable(now, horizon),
                # A removed account (being deleted) sends nothing more.
                TrackedAccount.status.not_in(
                    [AccountStatus.needs_reconnect, AccountStatus.deleting]
                ),
            )
            .order_by(ReplyQueueItem.account_id, ReplyQueueItem.scheduled_for, ReplyQueueItem.id)
            .limit(5000)
        ).all()
        caps: dict[int, int] = {}
        if max_per_account is None:
            workspaces = {row.workspace_id for row in rows}
            caps = (
                dict(
                    session.execute(
                        select(
                            InboxSettings.workspace_id, InboxSettings.max_replies_per_tick
                        ).where(InboxSettings.workspace_id.in_(workspaces))
                    ).all()
                )
                if workspaces
                else {}
            )
        per_account: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            cap = max_per_account or caps.get(row.workspace_id, DEFAULT_MAX_PER_TICK)
            if len(per_account[row.account_id]) >= cap:
                continue
            result = session.execute(
                update(ReplyQueueItem)
                .where(ReplyQueueItem.id == row.id, _claimable(now, horizon))
                .values(
                    status=ReplyStatus.processing, locked_by=worker_id, lease_expires_at=lease_until
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                per_account[row.account_id].append(row.id)
    return {account: ids for account, ids in per_account.items() if ids}


@dataclass
class _Run:
    db: Database
    worker_id: str
    now: dt.datetime
    started: float
    lease_s: float
    lookahead_s: float
    sleep: Callable[[float], None]
    result: TickResult

    def current(self) -> dt.datetime:
        """`now` moved forward by the real time this tick has taken."""
        return self.now + dt.timedelta(seconds=time.monotonic() - self.started)


def _mine(item_id: int, worker_id: str) -> Any:
    return and_(
        ReplyQueueItem.id == item_id,
        ReplyQueueItem.locked_by == worker_id,
        ReplyQueueItem.status == ReplyStatus.processing,
    )


def _settle(
    run: _Run, item_id: int, outcome: str, interaction_answered: bool = False, **values: Any
) -> None:
    """Write the item's outcome if this worker still holds it."""
    values.setdefault("locked_by", None)
    values.setdefault("lease_expires_at", None)
    with run.db.session() as session:
        result = session.execute(
            update(ReplyQueueItem)
            .where(_mine(item_id, run.worker_id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            run.result.add("skipped")
            return
        if interaction_answered:
            interaction_id = session.scalar(
                select(ReplyQueueItem.interaction_id).where(ReplyQueueItem.id == item_id)
            )
            session.execute(
                update(Interaction)
                .where(Interaction.id == interaction_id)
                .values(status=InteractionStatus.answered, answered_at=values["sent_at"])
                .execution_options(synchronize_session=False)
            )
    run.result.add(outcome)


def _mark_sent(run: _Run, item_id: int, published_id: str, outcome: str) -> None:
    _settle(
        run,
        item_id,
        outcome,
        interaction_answered=True,
        status=ReplyStatus.sent,
        external_reply_id=published_id,
        sent_at=run.current(),
        last_error=None,
    )
    log.info("inbox.queue.sent", item_id=item_id, external_id=published_id, outcome=outcome)


def _fail(run: _Run, item_id: int, message: str) -> None:
    _settle(run, item_id, "failed", status=ReplyStatus.failed, last_error=message[:4000])
    log.warning("inbox.queue.failed", item_id=item_id, error=message)


def _later(
    run: _Run, item_id: int, outcome: str, when: dt.datetime, message: str, **extra: Any
) -> None:
    _settle(
        run,
        item_id,
        outcome,
        status=ReplyStatus.pending,
        scheduled_for=when,
        last_error=message[:4000],
        **extra,
    )


def _needs_reconnect(run: _Run, account_id: int, message: str) -> None:
    with run.db.session() as session:
        session.execute(
            update(TrackedAccount)
            .where(TrackedAccount.id == account_id)
            .values(status=AccountStatus.needs_reconnect, status_message=message[:4000])
            .execution_options(synchronize_session=False)
        )


def _backoff(attempts: int, retry_after: float | None) -> dt.timedelta:
    return dt.timedelta(seconds=max(RETRY_BASE_S * 2 ** max(0, attempts - 1), retry_after or 0))


def _pacing_wait(
    session: Session, item_id: int, account_id: int, limits: ReplyLimits, at: dt.datetime
) -> dt.datetime | None:
    """The earliest time the account may send again given its actual recent sends (or None)."""
    recent = sorted(
        t
        for t in session.scalars(
            select(ReplyQueueItem.publish_started_at).where(
                ReplyQueueItem.account_id == account_id,
                ReplyQueueItem.id != item_id,
                ReplyQueueItem.publish_started_at > at - HOUR,
            )
        )
        if t is not None and t <= at
    )
    earliest = at
    if recent:
        earliest = max(earliest, recent[-1] + dt.timedelta(seconds=limits.min_interval_s))
        in_minute = len(recent) - bisect.bisect_right(recent, at - MINUTE)
        if in_minute >= limits.max_per_minute:
            earliest = max(earliest, recent[-limits.max_per_minute] + MINUTE)
        if len(recent) >= limits.max_per_hour:
            earliest = max(earliest, recent[-limits.max_per_hour] + HOUR)
    return earliest if earliest > at else None


def _process(
    run: _Run, item_id: int, account: TrackedAccount, publisher: Publisher, limits: ReplyLimits
) -> None:
    with run.db.session(readonly=True) as session:
        item = session.get(ReplyQueueItem, item_id)
        if item is None or item.locked_by != run.worker_id or item.status != ReplyStatus.processing:
            run.result.add("skipped")
            return
        interaction = session.get(Interaction, item.interaction_id)
        assert interaction is not None
        session.expunge(interaction)
        text, key, attempts = item.text, item.idempotency_key, item.attempts
        max_attempts, scheduled, started = (
            item.max_attempts,
            item.scheduled_for,
            item.publish_started_at,
        )
        last_error = item.last_error

    wait = (scheduled - run.current()).total_seconds()
    if wait > 0:  # claimed ahead within the tick's window: leave at the planned second
        run.sleep(wait)

    if started is not None:
        # A previous attempt may have reached the platform: look before sending again.
        try:
            found = publisher.find_existing(account, interaction, text)
        except CannotConfirm as exc:
            _fail(run, item_id, f"{CANNOT_CONFIRM} ({exc})")
            return
        except pb.AuthError as exc:
            _needs_reconnect(run, account.id, str(exc))
            _fail(run, item_id, f"{CANNOT_CONFIRM}; the platform refused our credentials: {exc}")
            return
        except pb.ProviderError as exc:
            retry_after = getattr(exc, "retry_after", None)
            _later(run, item_id, "retried", run.current() + _backoff(1, retry_after), str(exc))
            return
        if found is not None:
            _mark_sent(run, item_id, found.external_id, "recovered")
            return
        if attempts >= max_attempts:
            _fail(run, item_id, last_error or "the reply could not be sent")
            return

    with run.db.session(readonly=True) as session:
        allowed = _pacing_wait(session, item_id, account.id, limits, run.current())
    window_end = run.now + dt.timedelta(seconds=run.lookahead_s)
    if allowed is not None and allowed <= window_end:  # within this tick's window: wait for it
        run.sleep((allowed - run.current()).total_seconds())
        allowed = None
    if allowed is not None:
        _later(run, item_id, "deferred", allowed, "waiting for the account's reply limits")
        return

    # 1. Record that we are about to call the platform, with a fresh lease, BEFORE the call.
    begin = run.current()
    with run.db.session() as session:
        result = session.execute(
            update(ReplyQueueItem)
            .where(_mine(item_id, run.worker_id))
            .values(
                publish_started_at=begin,
                attempts=ReplyQueueItem.attempts + 1,
                lease_expires_at=begin + dt.timedelta(seconds=run.lease_s),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            run.result.add("skipped")
            return
    attempts += 1

    # 2. The platform call.
    try:
        published = publisher.reply(account, interaction, text, idempotency_key=key)
    except pb.BudgetDeferredError as exc:
        # Refused by our budget guard before any request: not an attempt, nothing was sent.
        when = begin + dt.timedelta(seconds=exc.retry_after or 3600)
        _later(
            run,
            item_id,
            "deferred",
            when,
            str(exc),
            publish_started_at=started,
            attempts=attempts - 1,
        )
        return
    except pb.AuthError as exc:
        _needs_reconnect(run, account.id, str(exc))
        _fail(run, item_id, f"the platform refused our credentials; reconnect the account: {exc}")
        return
    except pb.NotFoundError as exc:
        _fail(run, item_id, f"the comment is gone from the platform: {exc}")
        return
    except (pb.TransientError, pb.QuotaExhaustedError, pb.CircuitOpenError) as exc:
        # 429s, quota and open circuits never reached the platform's write path; timeouts and
        # 5xx might have: keep publish_started_at so the next attempt looks first.
        not_sent = isinstance(exc, pb.QuotaExhaustedError | pb.CircuitOpenError) or (
            exc.status_code == 429
        )
        if attempts >= max_attempts and not_sent:
            _fail(run, item_id, str(exc))
            return
        when = begin + _backoff(attempts, exc.retry_after)
        extra: dict[str, Any] = {"publish_started_at": None} if not_sent else {}
        _later(run, item_id, "retried", when, str(exc), **extra)
        return
    except pb.ProviderError as exc:
        _fail(run, item_id, str(exc))
        return
    except Exception as exc:  # a bug or an unknown failure: it may have been sent; look first
        log.exception("inbox.queue.publish_crashed", item_id=item_id)
        _later(
            run,
            item_id,
            "retried",
            begin + _backoff(attempts, None),
            f"{type(exc).__name__}: {exc}",
        )
        return

    # 3. Record the outcome.
    _mark_sent(run, item_id, published.external_id, "sent")


def _run_account(
    run: _Run,
    account_id: int,
    item_ids: list[int],
    factory: PublisherFactory | None,
) -> None:
    with run.db.session(readonly=True) as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        limits, _ = limits_for(session, account)
        session.expunge(account)
    observer = BudgetObserver(run.db, account.workspace_id)
    try:
        if factory is not None:
            publisher = factory(account, observer)
        else:
            from socialpulse.config import get_settings

            box = SecretBox(get_settings().resolved_secret_key())
            publisher = publisher_for(account, box, observer=observer)
    except (NoPublisher, MissingCredentialsError, pb.ProviderError, ValueError) as exc:
        if isinstance(exc, MissingCredentialsError):
            _needs_reconnect(run, account_id, str(exc))
        for item_id in item_ids:
            _fail(run, item_id, str(exc))
        return
    try:
        for item_id in item_ids:
            _process(run, item_id, account, publisher, limits)
    finally:
        with run.db.session() as session:
            observer.flush(session)


def tick(
    db: Database,
    *,
    now: dt.datetime | None = None,
    publisher_factory: PublisherFactory | None = None,
    max_per_account: int | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    lookahead_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    worker_id: str | None = None,
) -> TickResult:
    """Send the due replies. With `lookahead_s`, items due within that many seconds are claimed
    too and sent at their planned second (the periodic task: smooth pacing, not bursts at the
    top of each minute); accounts then run in parallel threads."""
    now = now or utcnow()
    run = _Run(
        db=db,
        worker_id=worker_id or f"replies:{uuid.uuid4().hex[:10]}",
        now=now,
        started=time.monotonic(),
        lease_s=lease_s,
        lookahead_s=lookahead_s,
        sleep=sleep,
        result=TickResult(),
    )
    claimed = _claim(
        db,
        now=now,
        horizon=now + dt.timedelta(seconds=lookahead_s),
        worker_id=run.worker_id,
        lease_until=now + dt.timedelta(seconds=lookahead_s + lease_s),
        max_per_account=max_per_account,
    )
    run.result.claimed = sum(len(ids) for ids in claimed.values())
    if lookahead_s > 0 and len(claimed) > 1:
        with ThreadPoolExecutor(max_workers=min(8, len(claimed))) as pool:
            futures = [
                pool.submit(_run_account, run, account_id, ids, publisher_factory)
                for account_id, ids in claimed.items()
            ]
            for future in futures:
                future.result()
    else:
        for account_id, ids in claimed.items():
            _run_account(run, account_id, ids, publisher_factory)
    if run.result.claimed:
        log.info("inbox.queue.tick", **run.result.as_dict())
    return run.result


def reply_queue_tick() -> dict[str, int]:
    """Periodic task (every minute): send what is due within the coming minute, paced."""
    from socialpulse.db import get_database

    return tick(get_database(), lookahead_s=50.0).as_dict()
