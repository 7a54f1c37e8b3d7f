"""When a post's occurrences fall: once, by cron pattern, or every N minutes, hours or days;
read in the post's zone, and safe across daylight-saving changes.

The rules, for every kind of series:

* A wall-clock time that does not exist (skipped by spring-forward: 02:30 in New York on
  8 March 2026) fires **once, at the next valid minute** (03:00 local).
* A wall-clock time that happens twice (repeated by fall-back: 01:30 in New York on
  1 November 2026) fires **once**, the first time (EDT).

Cron patterns are evaluated by ``cronsim`` (a maintained library; no parser of our own) in the
post's zone. cronsim already moves a skipped time to the next valid minute; on fall-back it
yields a wildcard-hour pattern's times in both passes of the repeated hour (``*/30 * * * *``
fires at 01:00 EDT and again at 01:00 EST), so the second pass (``fold=1``) is dropped here:
a repeated wall-clock time fires once whatever the pattern. Times are also kept strictly
increasing, so two pattern times moved onto the same next valid minute fire once.

Intervals under a day step in real time (every 2 hours is 2 hours apart across a change);
whole days step the zone's wall clock (every day at 09:00 stays at 09:00 local).

A series ends at ``ends_at`` (inclusive) or after ``max_count`` occurrences, whichever comes
first; without either it is endless, and callers ask for a window (``until``) and a ``limit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2
from cronsim import CronSim, CronSimError

__all__ = [
    "MAX_COUNT",
    "Occurrence",
    "Recurrence",
    "RecurrenceError",
    "check_cron",
    "describe_interval",
    "get_zone",
    "occurrences",
    "parse_interval",
    "to_utc",
]

MAX_COUNT = 10_000  # occurrences one series may have when it ends by count
MIN_INTERVAL_S = 60
DAY_S = 86_400
_SEARCH_LIMIT = 100_000  # cron times looked at in one call before giving up (a pattern like Feb 30)

_INTERVAL = re2.compile(
    r"^\s*(?:every\s+)?(\d{1,6})\s*"
    r"(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)\s*$"
)
_UNIT_S = {"m": 60, "h": 3600, "d": DAY_S, "w": 7 * DAY_S}


class RecurrenceError(ValueError):
    """A zone, pattern or interval we cannot use; ``str()`` says why, for a person."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How a series repeats: a cron pattern or an interval in seconds, and how it ends."""

    cron: str | None = None
    interval_s: int | None = None
    ends_at: dt.datetime | None = None  # UTC, inclusive
    max_count: int | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    index: int | None  # 0-based position in the series; None when counted from a later point
    at: dt.datetime  # UTC


def get_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``), or ``RecurrenceError``."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise RecurrenceError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise RecurrenceError(
            f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)"
        ) from exc


def check_cron(pattern: str) -> str:
    """``pattern`` when cronsim accepts it (five fields), else ``RecurrenceError``."""
    text = " ".join(pattern.split())
    if len(text) > 120:
        raise RecurrenceError("a cron pattern has at most 120 characters")
    if len(text.split(" ")) != 5:
        raise RecurrenceError(
            f"invalid cron pattern {pattern!r}: five fields are needed "
            "(minute hour day-of-month month day-of-week, e.g. '0 14 * * *')"
        )
    try:
        CronSim(text, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    except CronSimError as exc:
        raise RecurrenceError(f"invalid cron pattern {pattern!r}: {exc}") from exc
    return text


def parse_interval(text: str) -> int:
    """Seconds of ``"every 2h"``, ``"30m"``, ``"1 day"``, ``"2 weeks"`` (at least a minute)."""
    match = _INTERVAL.match(text.lower())
    if match is None:
        raise RecurrenceError(
            f"invalid interval {text!r}: write it like 'every 2h', '30m', '1d' or '1w'"
        )
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)[0]]
    if seconds < MIN_INTERVAL_S:
        raise RecurrenceError("an interval is at least one minute")
    return seconds


def describe_interval(seconds: int) -> str:
    """``7200`` → ``"every 2h"`` (the form ``parse_interval`` reads back)."""
    for unit, size in (("w", 7 * DAY_S), ("d", DAY_S), ("h", 3600)):
        if seconds % size == 0:
            return f"every {seconds // size}{unit}"
    return f"every {seconds // 60}m"


def _exists(local: dt.datetime, zone: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == local


def to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A naive wall-clock time in ``zone`` as UTC, by the rules above: a skipped time moves to
    the next valid minute, a repeated one is its first pass."""
    local = local.replace(tzinfo=None, fold=0)
    if not _exists(local, zone):
        # Gaps are at most a few hours (3 h at the most on record): walk to the first minute
        # that exists.
        candidate = local.replace(second=0, microsecond=0)
        for _ in range(24 * 60):
            candidate += dt.timedelta(minutes=1)
            if _exists(candidate, zone):
                local = candidate
                break
    return local.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


def _cron_times(pattern: str, start: dt.datetime, zone: ZoneInfo) -> Iterator[dt.datetime]:
    """Pattern times at or after ``start`` (UTC), strictly increasing, each once (UTC)."""
    # cronsim yields times strictly after its start: start a second earlier to include it.
    begin = (start - dt.timedelta(seconds=1)).astimezone(zone)
    last: dt.datetime | None = None
    for looked, local in enumerate(CronSim(pattern, begin)):
        if looked >= _SEARCH_LIMIT:
            return
        if local.fold == 1:
            continue  # the repeated hour's second pass: that wall-clock time already fired
        at = local.astimezone(dt.UTC)
        if last is not None and at <= last:
            continue
        last = at
        yield at


def _interval_times(
    start: dt.datetime, interval_s: int, zone: ZoneInfo, first_index: int
) -> Iterator[dt.datetime]:
    if interval_s % DAY_S == 0:
        days = interval_s // DAY_S
        local = start.astimezone(zone).replace(tzinfo=None, fold=0)
        index = first_index
        last: dt.datetime | None = None
        while True:
            at = to_utc(local + dt.timedelta(days=days * index), zone)
            if last is None or at > last:
                last = at
                yield at
            index += 1
    else:
        index = first_index
        while True:
            yield start + dt.timedelta(seconds=interval_s * index)
            index += 1


def occurrences(
    start: dt.datetime,
    zone: str | ZoneInfo,
    recurrence: Recurrence | None,
    *,
    after: dt.datetime | None = None,
    until: dt.datetime,
    limit: int = 100,
) -> list[Occurrence]:
    """The occurrences of a series starting at ``start`` (UTC), later than ``after`` (if
    given) and not later than ``until``, at most ``limit`` of them.

    Without a recurrence the one occurrence is ``start`` itself. A cron series fires at the
    pattern's times from ``start`` on (``start`` included when it matches)."""
    tz = zone if isinstance(zone, ZoneInfo) else get_zone(zone)
    found: list[Occurrence] = []
    if recurrence is None or (recurrence.cron is None and recurrence.interval_s is None):
        if (after is None or start > after) and start <= until:
            found.append(Occurrence(0, start))
        return found
    end = until if recurrence.ends_at is None else min(until, recurrence.ends_at)
    counted = recurrence.max_count is not None
    times: Iterator[dt.datetime]
    first_index = 0
    if recurrence.cron is not None:
        # A series ending by count is walked from its start (its index matters); an endless
        # one from ``after``, so a long-running series costs the same as a new one.
        begin = start if counted or after is None else max(start, after)
        times = _cron_times(recurrence.cron, begin, tz)
        if not counted and after is not None and after > start:
            first_index = -1  # unknown: counted from a later point
    else:
        assert recurrence.interval_s is not None
        if not counted and after is not None and after > start:
            steps = int((after - start).total_seconds() // recurrence.interval_s)
            first_index = max(0, steps - 1)  # a day of DST drift at most: start a step early
        times = _interval_times(start, recurrence.interval_s, tz, first_index)
    for position, at in enumerate(times):
        index = first_index + position if first_index >= 0 else None
        if counted and index is not None and index >= (recurrence.max_count or 0):
            break
        if at > end or len(found) >= limit:
            break
        if after is not None and at <= after:
            continue
        found.append(Occurrence(index, at))
    return found
