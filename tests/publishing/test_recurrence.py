"""When a series fires: cron (cronsim) and intervals in the post's zone, across daylight-saving
changes in New York and Berlin, and how a series ends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from socialpulse.publishing.recurrence import (
    Recurrence,
    RecurrenceError,
    check_cron,
    get_zone,
    occurrences,
    parse_interval,
    to_utc,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
FAR = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def local_times(found: list, zone: ZoneInfo) -> list[str]:
    return [o.at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for o in found]


def daily(pattern: str, zone: ZoneInfo, start_local: dt.datetime, days: int) -> list[str]:
    start = start_local.replace(tzinfo=zone).astimezone(dt.UTC)
    found = occurrences(
        start, zone, Recurrence(cron=pattern), until=start + dt.timedelta(days=days)
    )
    return local_times(found, zone)


# --- spring forward: a skipped time fires once, at the next valid minute ---------------------


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (NEW_YORK, dt.datetime(2026, 3, 7, 12), "2026-03-08 03:00 EDT"),
        (BERLIN, dt.datetime(2026, 3, 28, 12), "2026-03-29 03:00 CEST"),
    ],
)
def test_a_time_skipped_by_spring_forward_fires_once_at_the_next_valid_minute(
    zone: ZoneInfo, day: dt.datetime, expected: str
) -> None:
    times = daily("30 2 * * *", zone, day, days=3)
    assert times[0] == expected
    assert [t[11:16] for t in times[1:]] == ["02:30", "02:30"]


@pytest.mark.parametrize(
    ("zone", "day"),
    [(NEW_YORK, dt.datetime(2026, 3, 8, 1, 0)), (BERLIN, dt.datetime(2026, 3, 29, 1, 0))],
)
def test_two_skipped_times_of_one_gap_fire_once_not_twice(zone: ZoneInfo, day: dt.datetime) -> None:
    times = daily("0,30 2 * * *", zone, day, days=2)
    assert times[0].endswith("03:00 " + ("EDT" if zone is NEW_YORK else "CEST"))
    # The gap's one firing, then 02:00 and 02:30 the next day.
    assert [t[11:16] for t in times[:3]] == ["03:00", "02:00", "02:30"]
    assert times[1][:10] != times[0][:10]


# --- fall back: a repeated time fires once ------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "pattern", "expected"),
    [
        (NEW_YORK, dt.datetime(2026, 10, 31, 12), "30 1 * * *", "2026-11-01 01:30 EDT"),
        (BERLIN, dt.datetime(2026, 10, 24, 12), "30 2 * * *", "2026-10-25 02:30 CEST"),
    ],
)
def test_a_time_repeated_by_fall_back_fires_once(
    zone: ZoneInfo, day: dt.datetime, pattern: str, expected: str
) -> None:
    times = daily(pattern, zone, day, days=2)
    assert times[0] == expected
    assert len(times) == 2  # that day once, the next day once
    assert times[0][:10] != times[1][:10]


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        (NEW_YORK, dt.datetime(2026, 11, 1, 0, 0)),
        (BERLIN, dt.datetime(2026, 10, 25, 1, 0)),
    ],
)
def test_a_half_hourly_pattern_fires_each_repeated_wall_time_once(
    zone: ZoneInfo, start: dt.datetime
) -> None:
    begin = start.replace(tzinfo=zone).astimezone(dt.UTC)
    found = occurrences(
        begin, zone, Recurrence(cron="*/30 * * * *"), until=begin + dt.timedelta(hours=5)
    )
    walls = [o.at.astimezone(zone).strftime("%H:%M") for o in found]
    assert len(walls) == len(set(walls)), walls
    assert [o.at for o in found] == sorted({o.at for o in found})


# --- intervals -------------------------------------------------------------------------------


def test_a_daily_interval_keeps_the_wall_clock_time_across_the_change() -> None:
    start = to_utc(dt.datetime(2026, 3, 27, 9, 0), BERLIN)
    found = occurrences(start, BERLIN, Recurrence(interval_s=86_400), until=FAR, limit=4)
    assert [t[11:16] for t in local_times(found, BERLIN)] == ["09:00"] * 4
    assert (found[3].at - found[0].at) == dt.timedelta(days=3, hours=-1)


def test_a_daily_interval_at_a_skipped_time_fires_at_the_next_valid_minute_that_day() -> None:
    start = to_utc(dt.datetime(2026, 3, 7, 2, 30), NEW_YORK)
    found = occurrences(start, NEW_YORK, Recurrence(interval_s=86_400), until=FAR, limit=3)
    assert local_times(found, NEW_YORK) == [
        "2026-03-07 02:30 EST",
        "2026-03-08 03:00 EDT",
        "2026-03-09 02:30 EDT",
    ]


def test_an_hourly_interval_steps_real_hours_across_fall_back() -> None:
    start = to_utc(dt.datetime(2026, 11, 1, 0, 0), NEW_YORK)
    found = occurrences(start, NEW_YORK, Recurrence(interval_s=7200), until=FAR, limit=3)
    assert [o.at - start for o in found] == [dt.timedelta(hours=h) for h in (0, 2, 4)]


def test_a_series_ends_after_its_count() -> None:
    start = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
    found = occurrences(
        start, "UTC", Recurrence(interval_s=3600, max_count=3), until=FAR, limit=100
    )
    assert [o.index for o in found] == [0, 1, 2]


def test_a_series_ends_at_its_end_date_inclusive() -> None:
    start = dt.datetime(2026, 6, 1, 14, tzinfo=dt.UTC)
    ends = dt.datetime(2026, 6, 4, 14, tzinfo=dt.UTC)
    found = occurrences(start, "UTC", Recurrence(cron="0 14 * * *", ends_at=ends), until=FAR)
    assert [o.at.day for o in found] == [1, 2, 3, 4]


def test_a_count_is_kept_when_asked_from_a_later_point() -> None:
    start = dt.datetime(2026, 6, 1, 14, tzinfo=dt.UTC)
    rule = Recurrence(cron="0 14 * * *", max_count=5)
    found = occurrences(start, "UTC", rule, after=start + dt.timedelta(days=2), until=FAR)
    assert [o.index for o in found] == [3, 4]


def test_a_one_off_post_has_its_one_time() -> None:
    start = dt.datetime(2026, 6, 1, 14, tzinfo=dt.UTC)
    assert [o.at for o in occurrences(start, "UTC", None, until=FAR)] == [start]
    assert occurrences(start, "UTC", None, after=start, until=FAR) == []


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["61 * * * *", "0 14 * *", "every day", "0 25 * * *"])
def test_an_invalid_cron_pattern_is_refused_with_the_reason(pattern: str) -> None:
    with pytest.raises(RecurrenceError, match="invalid cron pattern"):
        check_cron(pattern)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Europe/Berlinn"])
def test_an_unknown_zone_is_refused(name: str) -> None:
    with pytest.raises(RecurrenceError, match="IANA time zone"):
        get_zone(name)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("every 2h", 7200), ("30m", 1800), ("1 day", 86_400), ("2 weeks", 1_209_600)],
)
def test_intervals_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["every 0m", "sometimes", "2 fortnights"])
def test_an_unreadable_interval_is_refused(text: str) -> None:
    with pytest.raises(RecurrenceError):
        parse_interval(text)
