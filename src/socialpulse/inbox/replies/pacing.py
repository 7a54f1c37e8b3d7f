"""Reply pacing: limits, what a platform refuses in a reply, and planning send times.

Pacing
------
Every connected account has limits (a ``ReplyLimit`` row, else its platform's ``reply_limits``
in the provider registry): at most ``max_per_minute`` replies in any rolling 60 s window and
``max_per_hour`` in any rolling 3600 s window (windows are half-open, ``[t, t + 60 s)``), at
least ``min_interval_s`` between two sends, plus a random extra delay drawn uniformly from
``[jitter_min_s, jitter_max_s]`` so replies do not leave at machine-regular intervals.
``plan_send_times`` is pure and O(n): times are appended in order, so only the last
``max_per_minute`` / ``max_per_hour`` times can constrain the next one.

Catching up: when the queue falls behind (the worker was stopped, the account was
disconnected), the overdue replies do not leave back to back at the bare minimum interval.
``pacing_wait`` holds each send to the last actual send + ``min_interval_s`` + that reply's own
random extra delay (``send_jitter``), drawn from its idempotency key: stable however often the
sender re-checks (a fresh draw per check would favour the longest delays), different from every
other reply's. Planning draws the same delay for a reply planned alone (``plan_one``), so a
reply sent on schedule is never held back by its own check.

Priority: new replies are planned at the end (FIFO). A reply with a higher priority than
pending, not yet started replies of the same account takes the earliest of their slots and
each of those moves one slot later (the last one takes the new slot). The set of send times is
unchanged, so the pacing guarantees still hold.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.errors import InvalidInput
from socialpulse.inbox.models import ReplyLimit, ReplyQueueItem, ReplyStatus
from socialpulse.providers import registry
from socialpulse.providers.publishing import grapheme_count
from socialpulse.providers.registry import FALLBACK_REPLY_LIMITS, ReplyLimits

MINUTE = dt.timedelta(seconds=60)
HOUR = dt.timedelta(seconds=3600)

__all__ = [
    "FALLBACK_REPLY_LIMITS",
    "ReplyLimits",
    "default_limits",
    "limits_for",
    "occupied_times",
    "earliest_send",
    "pacing_wait",
    "plan_one",
    "plan_send_times",
    "send_jitter",
    "validate_limits",
    "validate_text",
]


# --- limits ------------------------------------------------------------------------------------


def validate_limits(limits: ReplyLimits) -> None:
    """Refuse limits no person could keep to, or that contradict each other (422)."""
    if limits.max_per_hour < 1 or limits.max_per_minute < 1:
        raise InvalidInput("max_per_hour and max_per_minute must be at least 1")
    if limits.max_per_minute > limits.max_per_hour:
        raise InvalidInput("max_per_minute cannot exceed max_per_hour")
    if limits.min_interval_s < 0 or limits.jitter_min_s < 0:
        raise InvalidInput("intervals and delays cannot be negative")
    if limits.jitter_max_s < limits.jitter_min_s:
        raise InvalidInput("jitter_max_s must be at least jitter_min_s")


def default_limits(platform: str) -> ReplyLimits:
    """The platform's pace from the registry; a careful person's for an unknown platform."""
    try:
        return registry.get_provider(platform).reply_limits
    except registry.UnknownPlatformError:
        return FALLBACK_REPLY_LIMITS


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


def validate_text(platform: str, text: str) -> str:
    """The reply text, trimmed, or a 422 saying what the platform would refuse."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("the reply text is empty")
    try:
        info = registry.get_provider(platform)
    except registry.UnknownPlatformError:
        return cleaned
    limit = info.text_limit
    if limit is None:
        return cleaned
    if limit.max_bytes is not None and len(cleaned.encode()) > limit.max_bytes:
        raise InvalidInput(f"{info.display_name} replies are limited to {limit.max_bytes} bytes")
    length = grapheme_count(cleaned) if limit.graphemes else len(cleaned)
    if length > limit.max_chars:
        raise InvalidInput(
            f"{platform} replies are limited to {limit.max_chars} characters; "
            f"this one has {length}",
            details={"limit": limit.max_chars, "length": length},
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


def occupied_times(session: Session, account_id: int, now: dt.datetime) -> list[dt.datetime]:
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


def send_jitter(limits: ReplyLimits, key: str) -> dt.timedelta:
    """The random extra delay of the reply whose idempotency key is `key` (uniform in
    ``[jitter_min_s, jitter_max_s]``; the key is a random UUID, so the draw is too)."""
    return dt.timedelta(
        seconds=random.Random(key).uniform(limits.jitter_min_s, limits.jitter_max_s)
    )


def plan_one(session: Session, account: TrackedAccount, now: dt.datetime, key: str) -> dt.datetime:
    """The send time of one new reply with idempotency key `key`, after everything queued."""
    limits, _ = limits_for(session, account)
    occupied = occupied_times(session, account.id, now)
    return plan_send_times(limits, occupied, 1, now, random.Random(key))[0]


def earliest_send(
    recent: Sequence[dt.datetime], limits: ReplyLimits, at: dt.datetime, jitter: dt.timedelta
) -> dt.datetime | None:
    """The earliest time a reply with extra delay `jitter` may leave, given the account's
    actual sends `recent` (sorted, all ≤ `at`, the last hour at least); None: now is fine."""
    earliest = at
    if recent:
        gap = dt.timedelta(seconds=limits.min_interval_s) + jitter
        earliest = max(earliest, recent[-1] + gap)
        in_minute = len(recent) - bisect.bisect_right(recent, at - MINUTE)
        if in_minute >= limits.max_per_minute:
            earliest = max(earliest, recent[-limits.max_per_minute] + MINUTE)
        in_hour = len(recent) - bisect.bisect_right(recent, at - HOUR)
        if in_hour >= limits.max_per_hour:
            earliest = max(earliest, recent[-limits.max_per_hour] + HOUR)
    return earliest if earliest > at else None


def pacing_wait(
    session: Session,
    item_id: int,
    account_id: int,
    limits: ReplyLimits,
    at: dt.datetime,
    jitter: dt.timedelta,
) -> dt.datetime | None:
    """The earliest time the account may send item `item_id` again given its actual recent
    sends (or None: it may send now)."""
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
    return earliest_send(recent, limits, at, jitter)
