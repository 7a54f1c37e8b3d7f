"""The related-profiles crawl under a burst: its limits hold (at once, per hour, per day), the
follower floor and complete profiles are skipped, failed builds are retried then failed."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from conftest import make_settings
from creator_crawl_helpers import (
    BUILD_KIND,
    finish_builds,
    make_complete,
    open_builds,
    seed_related,
)
from socialpulse.config import Settings
from socialpulse.creators import crawl
from socialpulse.creators.models import CreatorStatus, RelatedProfile, RelatedStatus
from socialpulse.db import Database
from socialpulse.db import utcnow as now
from socialpulse.worker.models import Job

# Queued builds stay pending (tests/creators/conftest.py): the crawl's tests end them.
pytestmark = pytest.mark.usefixtures("manual_jobs")
START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _settings(tmp_path: Path, db: Database, **overrides: object) -> Settings:
    return make_settings(tmp_path, db.url, **overrides)


def _job_times(db: Database) -> list[dt.datetime]:
    with db.session(readonly=True) as session:
        return sorted(session.scalars(select(Job.created_at).where(Job.kind == BUILD_KIND)))


def _max_in_window(times: list[dt.datetime], window: dt.timedelta) -> int:
    """The most build jobs created in any rolling window (from the jobs table, not the
    crawl's own ledger)."""
    best = 0
    start = 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _statuses(db: Database) -> dict[str, int]:
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(RelatedProfile.status, func.count()).group_by(RelatedProfile.status)
        ).all()
    return {status.value: n for status, n in rows}


def test_a_burst_of_500_related_profiles_keeps_every_limit(db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path, db)
    # 500 related profiles: 20 below the follower floor, 10 already complete.
    seed_related(db, 500, followers=lambda i: 999 if i % 25 == 0 else 5_000)
    make_complete(db, [f"rel{i}" for i in range(1, 500, 50)])
    minute = dt.timedelta(minutes=1)
    peak = 0
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(6 * 60):  # six hours of one tick a minute; builds take under a minute
            crawl.tick(db, settings, lookup=None)
            in_flight = len(open_builds(db))
            peak = max(peak, in_flight)
            assert in_flight <= 3
            clock.shift(minute)
            finish_builds(db)
    times = _job_times(db)
    assert peak == 3
    assert _max_in_window(times, dt.timedelta(hours=1)) == 100
    # Exactly at the limit in the first hour: the limit binds, it does not merely hold.
    assert sum(t < START + dt.timedelta(hours=1) for t in times) == 100
    statuses = _statuses(db)
    assert statuses["skipped"] == 30  # 20 below the floor + 10 complete (none both)
    assert statuses["done"] == len(times) == 470  # all the others, in five hours
    with db.session(readonly=True) as session:
        skipped = dict(
            session.execute(
                select(RelatedProfile.handle, RelatedProfile.status_message).where(
                    RelatedProfile.status == RelatedStatus.skipped
                )
            ).all()
        )
    assert skipped["rel0"] == "999 followers, below the crawl's floor of 1,000"
    assert skipped["rel1"] == "already complete"


def test_the_daily_limit_holds_across_hours(db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path, db, discovery_max_concurrent=60)
    seed_related(db, 1_300)
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(30 * 4):  # 30 hours, a tick every 15 minutes
            crawl.tick(db, settings, lookup=None)
            clock.shift(dt.timedelta(minutes=15))
            finish_builds(db)
    times = _job_times(db)
    assert _max_in_window(times, dt.timedelta(hours=1)) == 100
    assert _max_in_window(times, dt.timedelta(days=1)) == 1_000
    assert sum(t < START + dt.timedelta(days=1) for t in times) == 1_000
    # After the first day's window moved on, the crawl went on with the rest.
    assert len(times) == 1_300


def test_failed_builds_are_retried_with_backoff_then_failed(db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path, db, discovery_retry_backoff_s=600)
    seed_related(db, 1)
    waits: list[dt.timedelta] = []
    with time_machine.travel(START, tick=False) as clock:
        for _attempt in range(4):  # the first build and three retries
            assert crawl.tick(db, settings, lookup=None).queued == 1
            assert finish_builds(db, CreatorStatus.failed) == 1
            result = crawl.tick(db, settings, lookup=None)
            assert result.queued == 0
            with db.session(readonly=True) as session:
                row = session.scalars(select(RelatedProfile)).one()
            if row.status is RelatedStatus.failed:
                break
            assert row.next_attempt_at is not None
            waits.append(row.next_attempt_at - now())
            clock.move_to(row.next_attempt_at - dt.timedelta(seconds=1))
            assert crawl.tick(db, settings, lookup=None).queued == 0  # not before its time
            clock.shift(dt.timedelta(seconds=1))
    with db.session(readonly=True) as session:
        row = session.scalars(select(RelatedProfile)).one()
        builds = session.scalar(select(func.count()).select_from(Job))
    assert row.status is RelatedStatus.failed
    assert waits == [dt.timedelta(seconds=s) for s in (600, 1200, 2400)]
    assert row.attempts == 4
    assert builds == 4
    assert row.status_message is not None and row.status_message.startswith("failed after 4")


def test_retry_backoff_doubles() -> None:
    limits = crawl.CrawlLimits(True, 3, 100, 1000, 1000, 3, 600)
    assert [limits.backoff(n).total_seconds() for n in (1, 2, 3)] == [600, 1200, 2400]


def test_a_platform_whose_build_waits_for_its_budget_gets_no_new_builds(
    db: Database, tmp_path: Path
) -> None:
    from sqlalchemy import update

    settings = _settings(tmp_path, db)
    seed_related(db, 5, platform="simulated")
    seed_related(db, 5, platform="bluesky", prefix="sky", source_handle="src.bsky.social")
    with time_machine.travel(START, tick=False):
        crawl.tick(db, settings, lookup=None)
        builds = open_builds(db)
        assert len(builds) == 3
        # The first build was deferred by its budget: it waits for the next quota day.
        with db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == builds[0][0])
                .values(run_after=START + dt.timedelta(hours=15), last_error="budget")
            )
            platform = session.scalar(
                select(RelatedProfile.platform).where(
                    RelatedProfile.related_creator_id == builds[0][1]
                )
            )
        finish_builds(db, only={c for _, c in builds[1:]})
        result = crawl.tick(db, settings, lookup=None)
    assert set(result.deferred_platforms) == {platform}
    assert result.queued == 2
    with db.session(readonly=True) as session:
        queued_platforms = session.execute(
            select(RelatedProfile.platform, func.count())
            .where(RelatedProfile.status == RelatedStatus.queued)
            .group_by(RelatedProfile.platform)
        ).all()
    # The deferred platform has only its waiting build; the other got the two free slots.
    assert dict(queued_platforms)[platform] == 1


def test_ticks_of_several_workers_at_once_never_pass_the_limits(
    db: Database, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, db)
    seed_related(db, 200)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                crawl.tick(db, settings, lookup=None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(open_builds(db)) == 3
    with db.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 3


def test_followers_are_looked_up_when_no_hint_came_with_the_profile(
    db: Database, tmp_path: Path
) -> None:
    from socialpulse.providers.base import NotFoundError

    settings = _settings(tmp_path, db)
    seed_related(db, 4, followers=lambda i: None)
    asked: list[str] = []

    def lookup(platform: str, handle: str) -> int | None:
        asked.append(handle)
        if handle == "rel0":
            return 10
        if handle == "rel1":
            raise NotFoundError("no such account", platform=platform, endpoint="profile")
        if handle == "rel2":
            raise RuntimeError("needs an API key")
        return 50_000

    result = crawl.tick(db, settings, lookup=lookup)
    assert sorted(asked) == ["rel0", "rel1", "rel2", "rel3"]
    assert result.queued == 2  # rel2 (unknown: the build decides) and rel3
    with db.session(readonly=True) as session:
        rows = {r.handle: r for r in session.scalars(select(RelatedProfile))}
    assert rows["rel0"].status is RelatedStatus.skipped
    assert rows["rel1"].status is RelatedStatus.skipped
    assert rows["rel1"].status_message == "the platform has no such account"
    assert rows["rel2"].status is RelatedStatus.queued
    assert rows["rel3"].status is RelatedStatus.queued
    assert crawl.tick(db, settings, lookup=lookup).looked_up == 0  # asked once only


def test_a_switched_off_crawl_queues_nothing(db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path, db, discovery_enabled=False)
    seed_related(db, 10)
    result = crawl.tick(db, settings, lookup=None)
    assert (result.queued, result.held_back_by) == (0, "disabled")


@pytest.mark.parametrize("status", [CreatorStatus.not_found, CreatorStatus.private])
def test_builds_that_find_no_public_account_are_skipped_not_retried(
    db: Database, tmp_path: Path, status: CreatorStatus
) -> None:
    settings = _settings(tmp_path, db)
    seed_related(db, 1)
    crawl.tick(db, settings, lookup=None)
    finish_builds(db, status)
    crawl.tick(db, settings, lookup=None)
    with db.session(readonly=True) as session:
        row = session.scalars(select(RelatedProfile)).one()
    assert row.status is RelatedStatus.skipped
    assert open_builds(db) == []
