"""The related-profiles crawl at its limits, on the simulated platform.

    python benchmarks/creator_crawl.py [--builds 6] [--backlog 10000]
    SOCIALPULSE_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/creator_crawl.py

Prints:
- builds completed per minute: ticks queue builds (at most 3 at once), a worker runs them with
  the real pipeline on the simulated platform (profile, posts, comments, thumbnails, AI,
  report, related profiles), the next tick closes them and queues the next; and what the
  hourly and daily limits then allow (the sustained rate is the smallest of the three);
- the limits' bookkeeping per tick with a backlog of pending related profiles and a day's
  ledger of launches: a tick held back by a limit (reconcile + count only) and a tick that
  queues three builds (reconcile + count + pick + queue).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

_DATA = tempfile.mkdtemp(prefix="socialpulse-bench-crawl-")
os.environ.setdefault("SOCIALPULSE_DATA_DIR", _DATA)
os.environ.setdefault("SOCIALPULSE_MEDIA_ROOT", str(Path(_DATA) / "media"))
os.environ.setdefault("SOCIALPULSE_TASKS_URL", "memory://")
os.environ.setdefault("SOCIALPULSE_SIMULATED_PLATFORM", "true")

from sqlalchemy import insert, select, text, update  # noqa: E402

from socialpulse import models as _all_models  # noqa: E402,F401
from socialpulse.config import get_settings  # noqa: E402
from socialpulse.creators import crawl  # noqa: E402
from socialpulse.creators.models import (  # noqa: E402
    CrawlLaunch,
    Creator,
    CreatorStatus,
    RelatedProfile,
)
from socialpulse.db import Database, init_database, utcnow  # noqa: E402
from socialpulse.kit.logging import configure_logging  # noqa: E402
from socialpulse.migrations import runner  # noqa: E402
from socialpulse.worker import jobs  # noqa: E402
from socialpulse.worker.jobs import drain  # noqa: E402
from socialpulse.worker.models import Job, JobStatus  # noqa: E402
from socialpulse.worker.schedule import load_tasks  # noqa: E402


def fresh_database(url: str) -> Database:
    db = init_database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    return db


def seed(db: Database, count: int, prefix: str, source: str) -> None:
    with db.session() as session:
        creator = Creator(platform="simulated", handle=source, status=CreatorStatus.ready)
        session.add(creator)
        session.flush()
        now = utcnow()
        rows = [
            {
                "creator_id": creator.id,
                "platform": "simulated",
                "handle": f"{prefix}{i}",
                "relation": "neighbour",
                "followers_hint": 50_000,
                "discovered_at": now,
            }
            for i in range(count)
        ]
        session.execute(insert(RelatedProfile), rows)


def bench_builds(db: Database, builds: int) -> None:
    settings = get_settings()
    seed(db, builds, "crawlbench", "bench_source")
    done = 0
    began = time.perf_counter()
    tick_s = 0.0
    while done < builds:
        t0 = time.perf_counter()
        crawl.tick(db, settings, lookup=None)
        tick_s += time.perf_counter() - t0
        if drain(db) == 0:
            break
        with db.session(readonly=True) as session:
            done = len(
                session.scalars(
                    select(Job.id).where(
                        Job.kind == "creators.build_report", Job.status == JobStatus.completed
                    )
                ).all()
            )
    crawl.tick(db, settings, lookup=None)  # closes the last launches
    took = time.perf_counter() - began
    per_minute = done / took * 60
    limits = crawl.CrawlLimits.from_settings(settings)
    hourly = limits.per_hour / 60
    daily = limits.per_day / (24 * 60)
    sustained = min(per_minute, hourly, daily)
    print(
        f"builds: {done} completed in {took:.1f} s (one worker thread, at most "
        f"{limits.max_concurrent} queued at once) "
        f"= {per_minute:.1f} builds/min (ticks: {tick_s * 1000 / max(1, done):.1f} ms per build)"
    )
    print(
        f"limits allow: {hourly:.2f}/min per hour ({limits.per_hour}/h), {daily:.2f}/min per "
        f"day ({limits.per_day}/day); sustained crawl rate {sustained:.2f} builds/min "
        f"= {sustained * 60 * 24:,.0f} a day"
    )


def bench_bookkeeping(db: Database, backlog: int, rounds: int) -> None:
    """Tick cost with ``backlog`` pending profiles and a full day's ledger."""
    settings = get_settings()
    seed(db, backlog, "backlog", "backlog_source")
    now = utcnow()
    with db.session() as session:
        session.execute(
            insert(CrawlLaunch),
            [
                {
                    "platform": "simulated",
                    "queued_at": now - dt.timedelta(minutes=1 + i * 1.4),
                    "finished_at": now - dt.timedelta(minutes=i * 1.4),
                    "outcome": "done",
                }
                for i in range(settings.discovery_per_day - 200)
            ],
        )
    queued_ms: list[float] = []
    held_ms: list[float] = []
    for _ in range(rounds):
        with db.session() as session:  # the last round's builds finished, the ledger old
            session.execute(
                update(Job)
                .where(Job.kind == "creators.build_report", Job.status == JobStatus.pending)
                .values(status=JobStatus.completed, dedupe_key=None)
            )
            session.execute(
                update(CrawlLaunch)
                .where(CrawlLaunch.queued_at > now - dt.timedelta(hours=1))
                .values(queued_at=now - dt.timedelta(hours=2))
            )
        t0 = time.perf_counter()
        result = crawl.tick(db, settings, lookup=None)
        queued_ms.append((time.perf_counter() - t0) * 1000)
        assert result.queued == 3, result
        t0 = time.perf_counter()
        result = crawl.tick(db, settings, lookup=None)
        held_ms.append((time.perf_counter() - t0) * 1000)
        assert result.queued == 0 and result.held_back_by == "concurrent", result
    print(
        f"bookkeeping per tick ({backlog:,} pending, {settings.discovery_per_day - 200:,} "
        f"launches in the ledger): queuing 3 builds {statistics.median(queued_ms):.1f} ms, "
        f"held back by a limit {statistics.median(held_ms):.1f} ms (medians of {rounds})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=6)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    configure_logging("WARNING", json_logs=False)
    load_tasks()
    # Builds wait for `drain` (the worker) instead of running inline at the tick's commit.
    jobs.nudge_job = lambda *_args: None  # type: ignore[assignment]
    url = os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL") or f"sqlite:///{_DATA}/bench.db"
    db = fresh_database(url)
    print(f"creator crawl on {db.dialect}")
    bench_builds(db, args.builds)
    bench_bookkeeping(db, args.backlog, args.rounds)


if __name__ == "__main__":
    main()
