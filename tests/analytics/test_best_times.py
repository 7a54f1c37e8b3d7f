"""Best times to post: the account's own history (normalised, smoothed, DST-correct), the
platform defaults when history is thin, the next slot, the weekly volume, and the route."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_workspace
from socialpulse.analytics import service
from socialpulse.analytics.schemas import SlotSource
from socialpulse.db import Database, utcnow

if TYPE_CHECKING:
    from factories import Builder

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)  # a Friday
FIRST_MONDAY = dt.date(2026, 2, 2)  # twelve weeks across the change to summer time (29 March)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "times-co")


def berlin(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN)


def tuesday_evening_account(
    build: Builder, workspace_id: int, first_monday: dt.date = FIRST_MONDAY
) -> int:
    """Twelve weeks: Tuesday 18:00 (Berlin) posts do five times better than the others, plus
    one viral Friday-morning post."""
    account = build.account(workspace_id, "evening", followers=1000)
    for week in range(12):
        monday = first_monday + dt.timedelta(weeks=week)
        build.post(account, f"tue{week}", berlin(monday + dt.timedelta(days=1), 18), likes=50)
        for offset, hour, likes in ((0, 10, 10), (3, 13, 12), (5, 9, 8)):
            posted = berlin(monday + dt.timedelta(days=offset), hour)
            build.post(account, f"w{week}-{offset}", posted, likes=likes + week % 3)
    build.post(account, "viral", berlin(first_monday + dt.timedelta(days=4), 7), likes=9000)
    return account


def test_the_hour_whose_posts_do_best_ranks_first_in_the_workspace_zone(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    build.set_timezone(ws.workspace_id, "Europe/Berlin")
    account = tuesday_evening_account(build, ws.workspace_id)
    with db.session() as session:
        result = service.best_times(session, ws.workspace_id, account, now=NOW)
    best = result.top_slots[0]
    assert (best.weekday_name, best.hour, best.samples) == ("Tuesday", 18, 12)
    assert best.source == SlotSource.history
    assert result.timezone == "Europe/Berlin"
    assert result.sample_size == 49
    assert result.source in (SlotSource.history, SlotSource.blend)


def test_one_viral_post_does_not_make_its_hour_a_top_slot(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = tuesday_evening_account(build, ws.workspace_id)
    with db.session() as session:
        result = service.best_times(session, ws.subject, account, zone="Europe/Berlin", now=NOW)
    viral = result.grid[4][7]  # Friday 07:00: one post at 9,000 likes
    assert (4, 7) not in [(c.weekday, c.hour) for c in result.top_slots]
    assert viral < result.top_slots[0].score
    cell = next(c for c in result.cells if (c.weekday, c.hour) == (4, 7))
    assert (cell.samples, cell.source, cell.confidence) == (1, SlotSource.defaults, 0.0)


def test_hours_are_bucketed_in_local_time_across_daylight_saving(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=100)
    winter = dt.datetime(2026, 1, 13, 17, 0, tzinfo=dt.UTC)  # Tuesday 18:00 CET
    summer = dt.datetime(2026, 7, 14, 16, 0, tzinfo=dt.UTC)  # Tuesday 18:00 CEST
    build.post(account, "winter", winter, likes=5)
    build.post(account, "summer", summer, likes=5)
    with db.session() as session:
        result = service.best_times(
            session,
            ws.subject,
            account,
            zone="Europe/Berlin",
            days=365,
            now=dt.datetime(2026, 8, 1, tzinfo=dt.UTC),
        )
    samples = {(c.weekday, c.hour): c.samples for c in result.cells if c.samples}
    assert samples == {(1, 18): 2}


def test_few_posts_fall_back_to_the_platform_defaults_with_low_confidence(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, platform="instagram", followers=500)
    for n in range(5):  # five strong Sunday-night posts are not enough to trust
        build.post(account, f"p{n}", dt.datetime(2026, 4, 5 + n, 23, tzinfo=dt.UTC), likes=90)
    with db.session() as session:
        result = service.best_times(session, ws.subject, account, now=NOW)
    assert result.source == SlotSource.defaults
    assert (result.confidence, result.confidence_level) == (0.0, "low")
    assert result.sample_size == 5
    # Instagram's published peak: weekday late mornings and lunch (see PLATFORM_PEAKS).
    assert [(c.weekday_name, c.hour) for c in result.top_slots[:3]] == [
        ("Monday", 11),
        ("Monday", 12),
        ("Monday", 13),
    ]
    assert all(c.source == SlotSource.defaults for c in result.top_slots)
    assert result.frequency is not None
    assert (result.frequency.source, result.frequency.suggested_min) == (SlotSource.defaults, 3)
    assert result.frequency.suggested_max == 5


def test_next_slot_is_at_least_fifteen_minutes_ahead(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)  # no history: Monday-Wednesday 9-12 defaults
    after = berlin(dt.date(2026, 3, 23), 10, 50)  # Monday 10:50; 11:00 is only 10 minutes away
    with db.session() as session:
        slot = service.next_best_slot(
            session, ws.workspace_id, account, after=after, zone="Europe/Berlin"
        )
    assert slot.at == berlin(dt.date(2026, 3, 24), 9)  # Tuesday 09:00, the next top cell
    assert (slot.weekday_name, slot.hour, slot.timezone) == ("Tuesday", 9, "Europe/Berlin")


def test_next_slot_keeps_the_local_hour_across_the_change_to_summer_time(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    after = berlin(dt.date(2026, 3, 25), 12)  # Wednesday; the clocks go forward on Sunday
    with db.session() as session:
        slot = service.next_best_slot(
            session, ws.workspace_id, account, after=after, zone="Europe/Berlin"
        )
    assert slot.at.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
    assert (slot.at.astimezone(BERLIN).hour, slot.weekday_name) == (9, "Monday")


def test_weekly_volume_suggestion_follows_engagement_per_post(
    db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id, followers=1000)
    # Alternate weeks of 2 posts (each at 30 likes) and 4 posts (each at 29 likes), then
    # weeks of 8 posts that do much worse per post: 4 a week is the suggestion.
    for week in range(12):
        monday = FIRST_MONDAY + dt.timedelta(weeks=week)
        count, likes = ((2, 30), (4, 29), (8, 10))[week % 3]
        for n in range(count):
            posted = dt.datetime.combine(monday + dt.timedelta(days=n % 7), dt.time(9), dt.UTC)
            build.post(account, f"w{week}-{n}", posted + dt.timedelta(hours=n // 7), likes=likes)
    with db.session() as session:
        frequency = service.best_times(session, ws.subject, account, now=NOW).frequency
    assert frequency is not None
    assert frequency.source == SlotSource.history
    assert (frequency.suggested_min, frequency.suggested_max) == (3, 4)
    assert frequency.current_per_week == pytest.approx(56 / 12, abs=0.01)


# --- the route -----------------------------------------------------------------------------------


def test_route_returns_the_grid_slots_next_slot_and_frequency(
    client: TestClient, ws: WorkspaceFixture, build: Builder
) -> None:
    build.set_timezone(ws.workspace_id, "Europe/Berlin")
    today = utcnow().date()  # the route reads the last 180 days up to now
    account = tuesday_evening_account(
        build, ws.workspace_id, today - dt.timedelta(days=today.weekday(), weeks=14)
    )
    response = client.get(
        f"/api/v1/analytics/best-times?account_id={account}", headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [len(row) for row in body["grid"]] == [24] * 7
    assert body["timezone"] == "Europe/Berlin"
    assert body["next_slot"]["at"] is not None
    assert body["frequency"]["default_min"] <= body["frequency"]["default_max"]
    assert (body["sample_size"], body["min_posts"]) == (49, 30)
    assert body["source"] in ("history", "blend")


def test_route_reads_another_zone_when_asked(
    client: TestClient, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    response = client.get(
        f"/api/v1/analytics/best-times?account_id={account}&zone=America/New_York",
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == "America/New_York"
    assert response.json()["next_slot"]["at"].endswith(("-04:00", "-05:00"))


def test_another_workspaces_account_is_not_found(
    client: TestClient, db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    other = make_workspace(db, "other-co")
    theirs = build.account(other.workspace_id, "theirs")
    response = client.get(f"/api/v1/analytics/best-times?account_id={theirs}", headers=ws.headers())
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_zone_is_refused_with_a_clear_message(
    client: TestClient, ws: WorkspaceFixture, build: Builder
) -> None:
    account = build.account(ws.workspace_id)
    response = client.get(
        f"/api/v1/analytics/best-times?account_id={account}&zone=Mars/Olympus",
        headers=ws.headers(),
    )
    assert response.status_code == 422, response.text
    assert "unknown time zone 'Mars/Olympus'" in response.json()["error"]["message"]
