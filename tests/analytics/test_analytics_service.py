"""Analytics read functions against hand-computed data."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.ingest import ingest_posts, write_account_snapshot
from socialpulse.accounts.models import Post, PostMetricSnapshot, TrackedAccount
from socialpulse.analytics import export, service
from socialpulse.analytics import growth as growth_service
from socialpulse.analytics.schemas import ENGAGEMENT_DEFINITION, Baseline, RankBy, SeriesMetric
from socialpulse.db import Database
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.providers.simulated import SimulatedPlatform

if TYPE_CHECKING:
    from factories import Builder

LATEST = dt.date(2026, 3, 31)
NOW = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)


def days_ago(n: int) -> dt.date:
    return LATEST - dt.timedelta(days=n)


def at(days: float, hour: int = 12) -> dt.datetime:
    """A UTC instant `days` before NOW's date, at `hour`."""
    return dt.datetime.combine(LATEST, dt.time(hour), tzinfo=dt.UTC) - dt.timedelta(days=days)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "stats-co")


# --- overview: deltas ---------------------------------------------------------------------------


def test_deltas_compare_latest_with_latest_snapshot_on_or_before_n_days(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=1000)
    build.snapshots(
        account,
        [
            (days_ago(95), 800),
            (days_ago(31), 900),  # the latest on or before day-30
            (days_ago(10), 950),
            (days_ago(7), 960),
            (LATEST, 1000),
        ],
    )
    with db.session() as session:
        result = service.overview(session, ws.subject, account, now=NOW)
    week, month, quarter = result.followers.deltas
    assert result.as_of == LATEST
    assert (week.days, week.from_day, week.absolute) == (7, days_ago(7), 40)
    assert week.percent == pytest.approx(40 / 960 * 100)
    assert (month.from_day, month.from_value, month.to_value) == (days_ago(31), 900, 1000)
    assert month.absolute == 100
    assert month.percent == pytest.approx(100 / 900 * 100)
    assert (quarter.from_day, quarter.absolute) == (days_ago(95), 200)
    assert quarter.percent == pytest.approx(25.0)
    assert all(delta.reason is None for delta in result.followers.deltas)


def test_delta_without_old_enough_snapshot_is_null_with_reason(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    build.snapshots(account, [(days_ago(10), 950), (LATEST, 1000)])
    with db.session() as session:
        week, month, quarter = service.overview(session, ws.subject, account).followers.deltas
    assert week.absolute == 50
    for delta in (month, quarter):
        assert delta.absolute is None
        assert delta.percent is None
        assert delta.from_day is None
        assert delta.reason is not None
        assert f"no snapshot on or before {LATEST - dt.timedelta(days=delta.days)}" in delta.reason
        assert f"history starts {days_ago(10)}" in delta.reason


def test_deltas_of_many_accounts_at_once_are_each_accounts_own(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    # Pages listing every account read their deltas in one go: each must be what the
    # account's own overview says, whatever its history looks like.
    steady = build.account(ws.workspace_id, handle="steady")
    build.snapshots(steady, [(days_ago(n), 1000 - 5 * n) for n in range(0, 40)])
    gap = build.account(ws.workspace_id, handle="gap")  # nothing in the 90 days before latest
    build.snapshots(gap, [(days_ago(400), 10), (days_ago(200), 20), (LATEST, 30)])
    young = build.account(ws.workspace_id, handle="young")
    build.snapshots(young, [(days_ago(3), 7), (LATEST, 9)])
    stale = build.account(ws.workspace_id, handle="stale")  # its latest is long ago
    build.snapshots(stale, [(days_ago(300), 50), (days_ago(250), 60)])
    never = build.account(ws.workspace_id, handle="never")
    other = make_workspace(db, "other-co")
    theirs = build.account(other.workspace_id, handle="theirs")
    build.snapshots(theirs, [(days_ago(8), 1), (LATEST, 2)])
    mine = [steady, gap, young, stale, never]
    with db.session() as session:
        together = service.count_deltas_for(session, ws.subject, [*mine, theirs])
        for account in mine:
            assert together[account] == service.count_deltas(session, ws.subject, account)
        # Another workspace's account is read as one without snapshots, never as its own.
        assert together[theirs]["followers"][0].reason == "no snapshots yet"
    assert together[gap]["followers"][2].from_value == 20
    assert together[stale]["followers"][0].from_day == days_ago(300)


def test_delta_from_zero_or_missing_count_gives_no_made_up_number(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    build.snapshots(account, [(days_ago(7), 0), (LATEST, 25)], following=None)
    with db.session() as session:
        result = service.overview(session, ws.subject, account)
    week = result.followers.deltas[0]
    assert (week.absolute, week.percent) == (25, None)
    assert week.reason == "no percent change from zero followers"
    following_week = result.following.deltas[0]
    assert following_week.absolute is None
    assert following_week.reason == f"the following count is not available on {LATEST}"


def test_overview_without_snapshots_says_so(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    with db.session() as session:
        result = service.overview(session, ws.subject, account, now=NOW)
    assert result.as_of is None
    assert {d.reason for d in result.followers.deltas} == {"no snapshots yet"}
    assert result.follower_trend.slope_per_day is None
    assert result.engagement.rate is None
    assert result.engagement.reason == "no posts in the last 30 days"


# --- overview: engagement, trend, volume ---------------------------------------------------------


def test_engagement_rate_is_the_mean_of_per_post_rates_over_30_days(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=1000)
    build.post(account, "a", at(1), likes=30, comments=10, shares=10)  # 0.05
    build.post(account, "b", at(10), likes=80, comments=10, shares=10)  # 0.10
    build.post(account, "old", at(40), likes=900, comments=0, shares=0)  # outside the window
    with db.session() as session:
        result = service.overview(session, ws.subject, account, now=NOW)
    assert result.engagement.definition == ENGAGEMENT_DEFINITION
    assert result.engagement.definition == (
        "(likes + comments + shares) / followers, per post, averaged"
    )
    assert result.engagement.rate == pytest.approx(0.075)
    assert (result.engagement.posts_averaged, result.engagement.posts_without_rate) == (2, 0)
    assert (result.posts_last_7_days, result.posts_last_30_days) == (1, 2)


def test_posts_without_a_rate_are_counted_apart_not_as_zero(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=None)
    build.post(account, "a", at(1), likes=30)
    with db.session() as session:
        engagement = service.overview(session, ws.subject, account, now=NOW).engagement
    assert engagement.rate is None
    assert (engagement.posts_averaged, engagement.posts_without_rate) == (0, 1)
    assert engagement.reason is not None


@pytest.mark.parametrize("per_day", [25, -4])
def test_follower_trend_is_the_least_squares_slope_of_the_last_30_days(
    db: Database, ws: WorkspaceFixture, build: Builder, per_day: int
) -> None:
    account = build.account(ws.workspace_id)
    linear = [(days_ago(30 - i), 5000 + per_day * i) for i in range(31)]
    # Older history with another trend must not bend the 30-day fit.
    build.snapshots(account, [(days_ago(60), 100), (days_ago(45), 90_000), *linear])
    with db.session() as session:
        trend = service.overview(session, ws.subject, account, now=NOW).follower_trend
    assert trend.slope_per_day == pytest.approx(per_day)
    assert trend.n == 31
    assert (trend.since_day, trend.until_day) == (days_ago(30), LATEST)


def test_follower_trend_needs_two_snapshots(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    build.snapshots(account, [(LATEST, 1000)])
    with db.session() as session:
        trend = service.overview(session, ws.subject, account).follower_trend
    assert (trend.slope_per_day, trend.n) == (None, 1)
    assert trend.reason is not None


def _statements_of(read: Callable[[], object]) -> list[str]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):  # not queries
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        read()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return seen


@pytest.mark.parametrize(("history_days", "statements"), [(200, 5), (40, 5)])
def test_overview_reads_the_snapshots_in_two_statements(
    db: Database, ws: WorkspaceFixture, build: Builder, history_days: int, statements: int
) -> None:
    """The account, the workspace's zone, the latest snapshot, the snapshots of the last 90
    days and the recent posts: where the latest snapshot was read six times and every delta's
    base by itself (14 statements)."""
    account = build.account(ws.workspace_id)
    build.snapshots(account, [(days_ago(n), 2000 - n) for n in range(history_days)])
    with db.session(readonly=True) as session:
        seen = _statements_of(lambda: service.overview(session, ws.subject, account, now=NOW))
        result = service.overview(session, ws.subject, account, now=NOW)
    assert len(seen) <= statements, seen
    assert [delta.absolute for delta in result.followers.deltas] == [
        7 if history_days > 7 else None,
        30,
        90 if history_days > 90 else None,
    ]
    assert result.follower_trend.slope_per_day == pytest.approx(1.0)


# --- timeseries --------------------------------------------------------------------------------


def test_timeseries_of_followers_has_only_days_with_snapshots(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    build.snapshots(account, [(days_ago(9), 900), (days_ago(3), 970), (LATEST, 1000)])
    with db.session() as session:
        series = service.timeseries(
            session, ws.subject, account, SeriesMetric.followers, 7, now=NOW
        )
    assert (series.since_day, series.until_day) == (days_ago(6), LATEST)
    assert [(p.day, p.value) for p in series.points] == [(days_ago(3), 970), (LATEST, 1000)]


def test_timeseries_of_engagement_averages_posts_per_local_day(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    build.set_timezone(ws.workspace_id, "Asia/Tokyo")  # UTC+9
    account = build.account(ws.workspace_id, followers=100)
    build.post(account, "a", at(2, hour=1), likes=10)  # 0.10, local day-2 10:00
    build.post(account, "b", at(2, hour=16), likes=20)  # 0.20, UTC day-2, local day-1 01:00
    build.post(account, "c", at(1, hour=2), likes=40)  # 0.40, local day-1 (11:00)
    with db.session() as session:
        series = service.timeseries(
            session, ws.subject, account, SeriesMetric.engagement, 7, now=NOW
        )
    assert [(p.day, p.samples) for p in series.points] == [(days_ago(2), 1), (days_ago(1), 2)]
    assert series.points[0].value == pytest.approx(0.10)
    assert series.points[1].value == pytest.approx(0.30)


# --- top posts ---------------------------------------------------------------------------------


def test_top_posts_ranks_by_metric_within_the_period(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    build.post(account, "mid", at(3), views=500, likes=5)
    build.post(account, "best", at(5), views=900, likes=1)
    build.post(account, "low", at(6), views=100, likes=50)
    build.post(account, "hidden", at(2), views=None, likes=2)  # no views: not ranked as zero
    build.post(account, "too-old", at(40), views=10_000)
    with db.session() as session:
        by_views = service.top_posts(session, ws.subject, account, by=RankBy.views, now=NOW)
        by_likes = service.top_posts(
            session, ws.subject, account, by=RankBy.likes, limit=2, now=NOW
        )
        narrow = service.top_posts(
            session, ws.subject, account, by=RankBy.views, since=at(5.5), until=at(2.5)
        )
    assert [p.external_id for p in by_views.posts] == ["best", "mid", "low"]
    assert [p.external_id for p in by_likes.posts] == ["low", "mid"]
    assert [p.external_id for p in narrow.posts] == ["best", "mid"]


def test_top_posts_by_engagement_uses_the_rate(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=100)
    build.post(account, "shared", at(1), likes=1, shares=9)  # 0.10
    build.post(account, "liked", at(2), likes=5)  # 0.05
    with db.session() as session:
        top = service.top_posts(session, ws.subject, account, by=RankBy.engagement, now=NOW)
    assert [p.external_id for p in top.posts] == ["shared", "liked"]
    assert top.posts[0].engagement_rate == pytest.approx(0.10)


# --- post growth -------------------------------------------------------------------------------


def test_post_growth_has_day_over_day_changes(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    posted = at(5)
    post = build.post(account, "p", posted, day=days_ago(5), views=100, likes=10)
    build.post(account, "p", posted, day=days_ago(4), views=250, likes=12)
    build.post(account, "p", posted, day=days_ago(2), views=300, likes=15)
    with db.session() as session:
        growth = growth_service.post_growth(session, ws.subject, account, post)
    assert [p.day for p in growth.points] == [days_ago(5), days_ago(4), days_ago(2)]
    first, second, third = growth.points
    assert first.change is None
    assert second.change is not None
    assert (second.change.views, second.change.likes, second.days_since_previous) == (150, 2, 1)
    assert third.change is not None
    assert (third.change.views, third.previous_day, third.days_since_previous) == (
        50,
        days_ago(4),
        2,
    )
    assert third.change.shares == 0
    assert growth.post.views == 300


def test_post_growth_rejects_a_post_of_another_account(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    mine = build.account(ws.workspace_id, "mine")
    other = build.account(ws.workspace_id, "other")
    post = build.post(other, "p", at(1))
    with db.session() as session, pytest.raises(NotFound):
        growth_service.post_growth(session, ws.subject, mine, post)


def test_growth_between_ranks_gainers_and_starts_new_posts_at_zero(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    start, end = days_ago(10), days_ago(3)
    build.post(account, "steady", at(20), day=days_ago(12), views=1000)
    build.post(account, "steady", at(20), day=days_ago(4), views=1300)  # +300
    build.post(account, "steady", at(20), day=days_ago(1), views=9000)  # after end: ignored
    build.post(account, "new", at(6), day=days_ago(5), views=800)  # published after start
    build.post(account, "flat", at(30), day=days_ago(30), views=50)  # no capture in the period
    build.post(account, "unknown", at(20), day=days_ago(5), views=70)  # no baseline
    with db.session() as session:
        result = growth_service.growth_between(session, ws.subject, account, start, end)
    assert [(g.post.external_id, g.change.views) for g in result.posts] == [
        ("new", 800),
        ("steady", 300),
    ]
    new, steady = result.posts
    assert (new.baseline, new.start_day, new.start.views) == (
        Baseline.published_after_start,
        None,
        0,
    )
    assert (steady.baseline, steady.start_day, steady.end_day) == (
        Baseline.snapshot,
        days_ago(12),
        days_ago(4),
    )
    assert result.posts_without_baseline == 1
    with db.session() as session, pytest.raises(InvalidInput):
        growth_service.growth_between(session, ws.subject, account, end, start)


def test_growth_between_defaults_to_the_last_7_days(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    build.post(account, "p", at(20), day=days_ago(9), views=100)
    build.post(account, "p", at(20), day=days_ago(1), views=160)
    with db.session() as session:
        result = growth_service.growth_between(session, ws.subject, account, now=NOW)
    assert (result.start_day, result.end_day) == (days_ago(7), LATEST)
    assert [(g.start_day, g.end_day, g.change.views) for g in result.posts] == [
        (days_ago(9), days_ago(1), 60)
    ]


# --- hashtags ----------------------------------------------------------------------------------


def test_hashtags_need_the_minimum_number_of_posts(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=100)
    build.post(account, "1", at(1), likes=10, views=100, hashtags=["Travel", "food"])
    build.post(account, "2", at(2), likes=20, views=300, hashtags=["travel", "food"])
    build.post(account, "3", at(3), likes=30, views=None, hashtags=["travel"])
    build.post(account, "old", at(100), likes=90, hashtags=["food"])
    with db.session() as session:
        three = service.hashtag_performance(session, ws.subject, account, min_posts=3, now=NOW)
        two = service.hashtag_performance(session, ws.subject, account, min_posts=2, now=NOW)
    assert [(h.hashtag, h.posts) for h in three.hashtags] == [("travel", 3)]
    assert three.hashtags_below_min_posts == 1
    travel = three.hashtags[0]
    assert travel.engagement_rate == pytest.approx(0.2)
    assert travel.engagement_samples == 3
    assert (travel.avg_views, travel.views_samples) == (pytest.approx(200.0), 2)
    assert [(h.hashtag, h.posts) for h in two.hashtags] == [("travel", 3), ("food", 2)]
    assert two.posts_considered == 3


# --- best times --------------------------------------------------------------------------------


def test_best_times_bucket_in_the_workspace_time_zone(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=100)
    tuesday_late = dt.datetime(2026, 1, 13, 23, 30, tzinfo=dt.UTC)  # a Tuesday, CET is UTC+1
    assert tuesday_late.weekday() == 1
    build.post(account, "late", tuesday_late, likes=10)
    now = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    with db.session() as session:
        in_utc = service.best_times(session, ws.subject, account, min_samples=1, now=now)
    build.set_timezone(ws.workspace_id, "Europe/Berlin")
    with db.session() as session:
        in_berlin = service.best_times(session, ws.subject, account, min_samples=1, now=now)
    assert [(c.weekday_name, c.hour) for c in in_utc.top] == [("Tuesday", 23)]
    assert [(c.weekday, c.weekday_name, c.hour) for c in in_berlin.top] == [(2, "Wednesday", 0)]
    assert in_berlin.timezone == "Europe/Berlin"
    assert len(in_berlin.cells) == 168
    cell = next(c for c in in_berlin.cells if (c.weekday, c.hour) == (2, 0))
    assert (cell.samples, cell.engagement_rate) == (1, pytest.approx(0.1))


def test_best_times_top_cells_need_enough_samples(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=100)
    monday = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    for week in range(3):  # Monday 09:00 three times at 0.05
        build.post(account, f"m{week}", monday + dt.timedelta(weeks=week, hours=9), likes=5)
    for week in range(3):  # Friday 18:00 three times at 0.08
        build.post(
            account, f"f{week}", monday + dt.timedelta(weeks=week, days=4, hours=18), likes=8
        )
    build.post(account, "lucky", monday + dt.timedelta(days=2, hours=7), likes=90)  # one sample
    with db.session() as session:
        result = service.best_times(session, ws.subject, account, min_samples=3, now=NOW)
    assert [(c.weekday_name, c.hour, c.samples) for c in result.top] == [
        ("Friday", 18, 3),
        ("Monday", 9, 3),
    ]
    assert result.top[0].engagement_rate == pytest.approx(0.08)
    assert result.posts_considered == 7


# --- compare -----------------------------------------------------------------------------------


def test_compare_lists_each_account_with_30_day_figures(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    yt = build.account(ws.workspace_id, "tube", platform="youtube", followers=2000)
    bsky = build.account(ws.workspace_id, "sky", platform="bluesky", followers=500)
    build.snapshots(yt, [(days_ago(30), 1600), (LATEST, 2000)])
    build.snapshots(bsky, [(days_ago(5), 450), (LATEST, 500)])
    build.post(yt, "v1", at(2), views=1000, likes=100)  # 0.05
    build.post(yt, "v2", at(3), views=3000, likes=300)  # 0.15
    build.post(yt, "v-old", at(45), views=99_999, likes=1)
    build.post(bsky, "s1", at(1), views=None, likes=25)  # 0.05
    with db.session() as session:
        everything = service.compare(session, ws.subject, now=NOW)
        only = service.compare(session, ws.subject, [bsky], now=NOW)
    rows = {row.account.handle: row for row in everything.rows}
    assert set(rows) == {"tube", "sky"}
    tube = rows["tube"]
    assert (tube.followers, tube.posts_30d) == (2000, 2)
    assert (tube.follower_delta_30d.absolute, tube.follower_delta_30d.percent) == (400, 25.0)
    assert tube.engagement_rate_30d == pytest.approx(0.10)
    assert tube.avg_views_30d == pytest.approx(2000.0)
    sky = rows["sky"]
    assert sky.follower_delta_30d.absolute is None
    assert sky.follower_delta_30d.reason is not None
    assert (sky.avg_views_30d, sky.posts_30d) == (None, 1)
    assert [row.account.id for row in only.rows] == [bsky]


def test_compare_refuses_another_workspaces_account(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    other = make_workspace(db, "rival-co")
    theirs = build.account(other.workspace_id, "theirs")
    with db.session() as session, pytest.raises(NotFound):
        service.compare(session, ws.subject, [theirs])


# --- CSV export --------------------------------------------------------------------------------


def test_csv_has_one_row_per_post_snapshot_and_escapes_formulas(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    evil = '=HYPERLINK("http://evil.invalid","x")'
    build.post(account, "p1", at(3), day=days_ago(3), views=10, caption=evil)
    build.post(account, "p1", at(3), day=days_ago(2), views=20, caption=evil)
    build.post(account, "p1", at(3), day=days_ago(1), views=35, caption=evil)
    build.post(account, "p2", at(1), day=days_ago(1), views=None, caption="+1 @you -ok")
    with db.session() as session:
        text = "".join(export.export_posts_csv(session, ws.subject, account))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["external_id"], r["day"], r["views"]) for r in rows] == [
        ("p1", days_ago(3).isoformat(), "10"),
        ("p1", days_ago(2).isoformat(), "20"),
        ("p1", days_ago(1).isoformat(), "35"),
        ("p2", days_ago(1).isoformat(), ""),
    ]
    assert rows[0]["caption"] == "'" + evil
    assert rows[3]["caption"] == "'+1 @you -ok"
    assert list(rows[0]) == list(export.CSV_COLUMNS)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("ok", "ok")],
)
def test_csv_safe_prefixes_formula_cells(cell: str, expected: str) -> None:
    assert export.csv_safe(cell) == expected


def test_csv_export_checks_the_account_before_streaming(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    other = make_workspace(db, "rival-co")
    theirs = build.account(other.workspace_id, "theirs")
    with db.session() as session, pytest.raises(NotFound):
        export.export_posts_csv(session, ws.subject, theirs)


# --- realistic data from the simulated platform ------------------------------------------------


def test_simulated_history_gives_consistent_overview_and_export(
    db: Database, ws: WorkspaceFixture
) -> None:
    """Five daily fetches of a simulated account, ingested like the fetch job does."""
    handle, start = "garden_lab", dt.datetime(2025, 6, 1, 18, tzinfo=dt.UTC)
    with db.session() as session:
        sim = SimulatedPlatform(seed=3, now=lambda: start)
        profile = sim.get_profile(handle)
        account = TrackedAccount(
            workspace_id=ws.workspace_id,
            platform="simulated",
            external_id=profile.external_id,
            handle=handle,
        )
        session.add(account)
        session.flush()
        account_id = account.id
        for offset in range(0, 9, 2):  # a fetch every other day
            when = start + dt.timedelta(days=offset)
            sim = SimulatedPlatform(seed=3, now=lambda when=when: when)
            profile = sim.get_profile(handle)
            account.followers_count = profile.followers_count
            account.following_count = profile.following_count
            account.posts_count = profile.posts_count
            write_account_snapshot(session, account, when.date())
            ingest_posts(session, account, sim.list_posts(profile, limit=30).items, day=when.date())
        last_followers = account.followers_count
    first_followers = SimulatedPlatform(seed=3, now=lambda: start).get_profile(handle)
    with db.session() as session:
        now = start + dt.timedelta(days=8)
        result = service.overview(session, ws.subject, account_id, now=now)
        week = result.followers.deltas[0]
        assert week.from_day == start.date()
        assert week.absolute == last_followers - (first_followers.followers_count or 0)
        assert result.follower_trend.n == 5
        snapshots = session.scalar(
            select(func.count(PostMetricSnapshot.id))
            .join(Post, Post.id == PostMetricSnapshot.post_id)
            .where(Post.account_id == account_id)
        )
        rows = list(
            csv.DictReader(
                io.StringIO("".join(export.export_posts_csv(session, ws.subject, account_id)))
            )
        )
    assert snapshots
    assert len(rows) == snapshots
    assert result.engagement.posts_averaged == result.posts_last_30_days > 0
