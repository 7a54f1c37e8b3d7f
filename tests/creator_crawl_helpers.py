"""Related profiles in bulk and a stand-in for the build worker: the crawl's tests decide how
each build ends (a report, a failure, no such account) without running the pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from socialpulse.config import get_settings
from socialpulse.creators.models import (
    CrawlLaunch,
    Creator,
    CreatorReport,
    CreatorStatus,
    RelatedProfile,
)
from socialpulse.db import Database, utcnow
from socialpulse.worker.models import Job, JobStatus

BUILD_KIND = "creators.build_report"


def seed_related(
    db: Database,
    count: int,
    *,
    followers: Callable[[int], int | None] = lambda i: 5_000,
    platform: str = "simulated",
    prefix: str = "rel",
    source_handle: str = "source",
) -> int:
    """``count`` pending related profiles of one ready source creator; returns its id."""
    with db.session() as session:
        source = session.scalar(
            select(Creator).where(Creator.platform == platform, Creator.handle == source_handle)
        )
        if source is None:
            source = Creator(platform=platform, handle=source_handle, status=CreatorStatus.ready)
            session.add(source)
            session.flush()
        now = utcnow()
        session.execute(
            insert(RelatedProfile),
            [
                {
                    "creator_id": source.id,
                    "platform": platform,
                    "handle": f"{prefix}{i}",
                    "relation": "neighbour",
                    "followers_hint": followers(i),
                    "discovered_at": now,
                }
                for i in range(count)
            ],
        )
        return source.id


def make_complete(db: Database, handles: list[str], platform: str = "simulated") -> None:
    """Stored creators whose report is complete."""
    with db.session() as session:
        for handle in handles:
            creator = Creator(platform=platform, handle=handle, status=CreatorStatus.ready)
            session.add(creator)
            session.flush()
            session.add(CreatorReport(creator_id=creator.id, complete=True))


def open_builds(db: Database) -> list[tuple[int, int]]:
    """(job id, creator id) of the build jobs waiting or running."""
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(Job.id, Job.payload).where(
                Job.kind == BUILD_KIND, Job.status.in_((JobStatus.pending, JobStatus.running))
            )
        ).all()
    return [(job_id, payload["creator_id"]) for job_id, payload in rows]


def finish_builds(
    db: Database,
    status: CreatorStatus = CreatorStatus.ready,
    only: set[int] | None = None,
) -> int:
    """End the open builds (of the creators in ``only``, or all) as the worker would: the job
    completed (or failed) and the creator with ``status``. Returns how many."""
    builds = [(j, c) for j, c in open_builds(db) if only is None or c in only]
    with db.session() as session:
        for job_id, creator_id in builds:
            ok = status is not CreatorStatus.failed
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    status=JobStatus.completed if ok else JobStatus.failed,
                    dedupe_key=None,
                    finished_at=utcnow(),
                )
            )
            session.execute(
                update(Creator)
                .where(Creator.id == creator_id)
                .values(status=status, build_step=None, followers_count=5_000)
            )
    return len(builds)


def launches_between(db: Database, start: dt.datetime, end: dt.datetime) -> int:
    with db.session(readonly=True) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(CrawlLaunch)
                .where(CrawlLaunch.queued_at > start, CrawlLaunch.queued_at <= end)
            )
            or 0
        )


def build_jobs_total(db: Database) -> int:
    with db.session(readonly=True) as session:
        return (
            session.scalar(select(func.count()).select_from(Job).where(Job.kind == BUILD_KIND)) or 0
        )


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The CLI's settings point at the test database (import it into a test module)."""
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
