"""Planning reply send times: the account's limits hold in every rolling window."""

from __future__ import annotations

import datetime as dt
import json
import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from socialpulse.inbox.replies.pacing import (
    ReplyLimits,
    default_limits,
    earliest_send,
    plan_send_times,
    send_jitter,
)

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _violations(times: list[dt.datetime], first_new: int, limits: ReplyLimits) -> list[str]:
    problems = []
    for i in range(max(first_new, 1), len(times)):
        if times[i] - times[i - 1] < dt.timedelta(seconds=limits.min_interval_s):
            problems.append(f"gap before #{i} is {times[i] - times[i - 1]}")
    for k, window in ((limits.max_per_minute, 60), (limits.max_per_hour, 3600)):
        for i in range(max(first_new, k), len(times)):
            # k + 1 sends must span at least the window, or one window holds all of them.
            if times[i] - times[i - k] < dt.timedelta(seconds=window):
                problems.append(f"{k + 1} sends within {window} s ending at #{i}")
    return problems


limits_strategy = st.builds(
    lambda hour, minute, interval, jmin, jspan: ReplyLimits(
        max(hour, minute), minute, interval, jmin, jmin + jspan
    ),
    st.integers(1, 120),
    st.integers(1, 12),
    st.floats(0, 40, allow_nan=False),
    st.floats(0, 20, allow_nan=False),
    st.floats(0, 30, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(
    limits=limits_strategy,
    existing_count=st.integers(0, 40),
    existing_offset_s=st.integers(-3600, 600),
    count=st.integers(1, 150),
    seed=st.integers(0, 2**32 - 1),
)
def test_planned_times_never_exceed_any_rolling_window(
    limits: ReplyLimits, existing_count: int, existing_offset_s: int, count: int, seed: int
) -> None:
    rng = random.Random(seed)
    # Already scheduled sends that themselves respect the limits (planned earlier).
    existing = plan_send_times(
        limits, [], existing_count, START + dt.timedelta(seconds=existing_offset_s), rng
    )
    planned = plan_send_times(limits, existing, count, START, rng)
    assert len(planned) == count
    assert all(t >= START for t in planned)
    union = existing + planned
    assert union == sorted(union)
    assert _violations(union, len(existing), limits) == []


def _catch_up(
    limits: ReplyLimits, backlog: list[dt.datetime], keys: list[str], resume: dt.datetime
) -> list[dt.datetime]:
    """What the sender does with a backlog it finds overdue at `resume`: each reply in planned
    order leaves when `earliest_send` allows, given the sends before it."""
    sent: list[dt.datetime] = []
    for planned, key in zip(backlog, keys, strict=True):
        at = max(resume, planned, sent[-1] if sent else resume)
        recent = [t for t in sent if t > at - dt.timedelta(hours=1)]
        allowed = earliest_send(recent, limits, at, send_jitter(limits, key))
        sent.append(allowed or at)
    return sent


@settings(max_examples=100, deadline=None)
@given(
    limits=limits_strategy.filter(lambda lim: lim.jitter_max_s - lim.jitter_min_s >= 0.5),
    count=st.integers(2, 100),
    pause_s=st.integers(60, 6 * 3600),
    seed=st.integers(0, 2**32 - 1),
)
def test_catching_up_after_a_pause_keeps_the_interval_and_each_random_delay(
    limits: ReplyLimits, count: int, pause_s: int, seed: int
) -> None:
    rng = random.Random(seed)
    keys = [f"{rng.getrandbits(128):032x}" for _ in range(count)]
    backlog = plan_send_times(limits, [], count, START, rng)  # planned, then the worker stopped
    resume = backlog[-1] + dt.timedelta(seconds=pause_s)
    sent = _catch_up(limits, backlog, keys, resume)
    assert _violations(sent, 0, limits) == []
    for before, after, key in zip(sent, sent[1:], keys[1:], strict=False):
        own_gap = dt.timedelta(seconds=limits.min_interval_s) + send_jitter(limits, key)
        assert after - before >= own_gap - dt.timedelta(microseconds=1)


def test_a_hundred_overdue_replies_never_leave_at_machine_regular_intervals() -> None:
    limits = default_limits("simulated")  # 2 s apart, 10 a minute, 0-3 s extra
    rng = random.Random(5)
    keys = [f"{rng.getrandbits(128):032x}" for _ in range(100)]
    backlog = plan_send_times(limits, [], 100, START, rng)
    sent = _catch_up(limits, backlog, keys, backlog[-1] + dt.timedelta(hours=2))
    gaps = [round((b - a).total_seconds(), 3) for a, b in zip(sent, sent[1:], strict=False)]
    assert all(x != y for x, y in zip(gaps, gaps[1:], strict=False)), gaps
    assert len({g for g in gaps if g == 2.0}) == 0  # never the bare minimum interval
    assert _violations(sent, 0, limits) == []


def test_a_reply_keeps_its_own_extra_delay_however_often_it_is_checked() -> None:
    limits = default_limits("youtube")
    assert send_jitter(limits, "a" * 32) == send_jitter(limits, "a" * 32)
    delays = {send_jitter(limits, f"{n:032x}") for n in range(50)}
    assert len(delays) == 50
    assert all(dt.timedelta(seconds=5) <= d <= dt.timedelta(seconds=30) for d in delays)


def test_each_reply_waits_the_minimum_interval_plus_a_random_delay() -> None:
    limits = default_limits("youtube")
    planned = plan_send_times(limits, [], 4, START, random.Random(1))
    assert 5 <= (planned[0] - START).total_seconds() <= 30
    gaps = [(b - a).total_seconds() for a, b in zip(planned, planned[1:], strict=False)]
    assert all(10 + 5 <= gap <= 10 + 30 for gap in gaps), gaps
    assert len(set(gaps)) == len(gaps)  # not machine-regular


def test_hourly_limit_pushes_the_61st_youtube_reply_into_the_next_hour() -> None:
    limits = default_limits("youtube")
    planned = plan_send_times(limits, [], 61, START, random.Random(7))
    assert planned[60] - planned[0] >= dt.timedelta(hours=1)
    per_minute = max(
        sum(1 for t in planned if s <= t < s + dt.timedelta(minutes=1)) for s in planned
    )
    assert per_minute <= 5


def test_already_scheduled_sends_count_against_the_limits() -> None:
    limits = ReplyLimits(
        max_per_hour=3, max_per_minute=3, min_interval_s=0, jitter_min_s=0, jitter_max_s=0
    )
    earlier = [
        START - dt.timedelta(minutes=50),
        START - dt.timedelta(minutes=40),
        START - dt.timedelta(minutes=30),
    ]
    (planned,) = plan_send_times(limits, earlier, 1, START, random.Random(0))
    assert planned == earlier[0] + dt.timedelta(hours=1)


def test_same_seed_gives_the_same_plan() -> None:
    limits = default_limits("instagram")
    first = plan_send_times(limits, [], 20, START, random.Random(42))
    assert first == plan_send_times(limits, [], 20, START, random.Random(42))


def test_planning_ten_thousand_replies_takes_under_a_second() -> None:
    began = time.perf_counter()
    planned = plan_send_times(default_limits("youtube"), [], 10_000, START, random.Random(3))
    assert time.perf_counter() - began < 1.0
    assert len(planned) == 10_000


def test_cli_queue_plan_prints_paced_iso_times() -> None:
    from typer.testing import CliRunner

    from socialpulse.inbox.cli import app

    args = ["queue-plan", "--platform", "instagram", "--count", "5", "--json", "--seed", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    times = [dt.datetime.fromisoformat(t) for t in json.loads(result.output)]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 5 and all(15 <= gap <= 45 for gap in gaps)
    assert sum(1 for t in times if t < times[0] + dt.timedelta(minutes=1)) <= 3


def test_cli_queue_plan_rejects_an_unknown_platform_with_the_supported_list() -> None:
    from typer.testing import CliRunner

    from socialpulse.inbox.cli import app

    result = CliRunner().invoke(app, ["queue-plan", "--platform", "myspace", "--count", "2"])
    assert result.exit_code == 2
    assert "supported: bluesky, instagram, mastodon, simulated, tiktok, youtube" in result.output
