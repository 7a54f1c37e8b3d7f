"""Publishing: scheduling throughput, CSV import of 5,000 rows, and publish lateness of 10,000
posts through the real worker with the dry-run publisher.

    python benchmarks/publishing_delivery.py [--posts 10000] [--window 600] [--workers 4]
    SOCIALPULSE_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/publishing_delivery.py

1. Scheduling: ``publishing.service.create_post`` for one-off posts on the simulated platform
   (every check of the API runs), posts per second.
2. CSV import: a 5,000-row file through ``publishing.bulk.import_posts``, checked (dry run) and
   committed, rows per second.
3. Lateness: ``--posts`` posts due across ``--window`` seconds (spread evenly). Each is a
   durable job at its exact time (``enqueue_job(run_after=...)``, a Huey task with a delay),
   run by the embedded Huey consumer on SQLite with ``--workers`` threads, as ``make run``
   does. Lateness is ``published_at - scheduled_for`` of every delivery: p50, p99, max. The
   issue's load, 10,000 posts across a day, is 0.12 per second; the default window packs them
   into 10 minutes, 144 times denser, so the figure is a bound for a day's load, not a
   flattering one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _configure(tmp: Path, database_url: str) -> None:
    os.environ["SOCIALPULSE_DATA_DIR"] = str(tmp)
    os.environ["SOCIALPULSE_DATABASE_URL"] = database_url
    os.environ["SOCIALPULSE_TASKS_URL"] = ""
    os.environ["SOCIALPULSE_LOG_LEVEL"] = "WARNING"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run(name: str, database_url: str, tmp: Path, args: argparse.Namespace) -> None:
    _configure(tmp, database_url)
    from sqlalchemy import select, text

    from socialpulse.accounts.models import TrackedAccount
    from socialpulse.config import get_settings
    from socialpulse.db import init_database, utcnow
    from socialpulse.kit.logging import configure_logging
    from socialpulse.migrations import runner
    from socialpulse.publishing import bulk
    from socialpulse.publishing import service as publishing
    from socialpulse.publishing.models import Delivery, DeliveryStatus
    from socialpulse.publishing.schemas import PostCreate, TargetIn
    from socialpulse.worker.consumer import start_embedded, stop_embedded
    from socialpulse.worker.queue import configure_tasks
    from socialpulse.worker.schedule import load_tasks
    from socialpulse.workspaces import service as workspaces
    from socialpulse.workspaces.models import Role
    from socialpulse.workspaces.tenancy import Subject

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("WARNING")
    db = init_database(settings.effective_database_url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    configure_tasks(settings)
    load_tasks()

    with db.session() as session:
        user = workspaces.create_user(session, "bench@socialpulse.test", "bench-password")
        workspace = workspaces.create_workspace(session, "bench", "Bench", user, timezone="UTC")
        accounts = []
        for number in range(args.accounts):
            account = TrackedAccount(
                workspace_id=workspace.id,
                platform="simulated",
                external_id=f"sim{number}",
                handle=f"sim{number}",
                is_own=True,
            )
            session.add(account)
            accounts.append(account)
        session.flush()
        subject = Subject(workspace_id=workspace.id, role=Role.owner, user_id=user.id)
        account_ids = [a.id for a in accounts]
        handles = [a.handle for a in accounts]

    def create(count: int, first_at: dt.datetime, spacing_s: float) -> float:
        began = time.perf_counter()
        batch = 200
        for start in range(0, count, batch):
            with db.session() as session:
                for i in range(start, min(count, start + batch)):
                    at = first_at + dt.timedelta(seconds=i * spacing_s)
                    publishing.create_post(
                        session,
                        subject,
                        PostCreate(
                            text=f"Bench post {i}",
                            scheduled_at=at,
                            targets=[TargetIn(account_id=account_ids[i % len(account_ids)])],
                        ),
                    )
        return time.perf_counter() - began

    # 1. Scheduling throughput (a day ahead: no worker touches these).
    pilot = min(2_000, args.posts)
    took = create(pilot, utcnow() + dt.timedelta(days=1), 1.0)
    rate = pilot / took
    print(f"{name}: scheduled {pilot:,} posts in {took:.1f} s = {rate:,.0f} posts/s")

    # 2. CSV import, 5,000 rows: dry run, then committed.
    lines = ["text,time,zone,accounts,recurrence"]
    base = utcnow() + dt.timedelta(days=2)
    for i in range(args.csv_rows):
        at = (base + dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S")
        recurrence = "0 9 * * 1" if i % 50 == 0 else ""
        lines.append(f"CSV post {i},{at},UTC,@{handles[i % len(handles)]},{recurrence}")
    data = "\n".join(lines).encode()
    for dry_run in (True, False):
        began = time.perf_counter()
        with db.session() as session:
            report = bulk.import_posts(session, subject, data, dry_run=dry_run)
        took = time.perf_counter() - began
        assert report.valid, report.errors[:3]
        label = "checked (dry run)" if dry_run else "imported"
        print(
            f"{name}: CSV {args.csv_rows:,} rows {label} in {took:.1f} s = "
            f"{args.csv_rows / took:,.0f} rows/s"
        )

    # 3. Lateness: the window starts once every post is created (plus a margin).
    estimate = args.posts / rate
    first_at = utcnow() + dt.timedelta(seconds=estimate * 1.5 + 15)
    spacing = args.window / args.posts
    took = create(args.posts, first_at, spacing)
    lead = (first_at - utcnow()).total_seconds()
    if lead < 2:
        print(
            f"{name}: creating took {took:.0f} s, past the window's start; rerun", file=sys.stderr
        )
        return
    print(
        f"{name}: {args.posts:,} posts due across {args.window:.0f} s "
        f"({args.posts / args.window:.1f}/s), first in {lead:.0f} s; "
        f"{args.workers} worker threads"
    )
    with db.session(readonly=True) as session:
        ids = set(
            session.scalars(
                select(Delivery.id).where(
                    Delivery.scheduled_for >= first_at - dt.timedelta(seconds=1),
                    Delivery.scheduled_for <= first_at + dt.timedelta(seconds=args.window + 1),
                )
            )
        )
    consumer: Any = start_embedded(workers=args.workers, periodic=True)
    try:
        deadline = time.monotonic() + lead + args.window + args.grace
        while time.monotonic() < deadline:
            time.sleep(5)
            with db.session(readonly=True) as session:
                done = session.scalar(
                    select(text("count(*)"))
                    .select_from(Delivery)
                    .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.published)
                )
            if done == len(ids):
                break
    finally:
        stop_embedded(consumer)
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(Delivery.status, Delivery.scheduled_for, Delivery.published_at).where(
                Delivery.id.in_(ids)
            )
        ).all()
    late = [
        (published - scheduled).total_seconds()
        for status, scheduled, published in rows
        if status == DeliveryStatus.published and published is not None
    ]
    unpublished = len(rows) - len(late)
    if not late:
        print(f"{name}: nothing was published", file=sys.stderr)
        return
    p99 = _percentile(late, 0.99)
    verdict = "ok" if p99 <= 1.0 else "over the 1 s aim"
    print(
        f"{name}: lateness over {len(late):,} published: p50 {statistics.median(late):.2f} s, "
        f"p99 {p99:.2f} s ({verdict}), max {max(late):.2f} s; "
        f"{unpublished} not published; early: {sum(1 for x in late if x < 0)}"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=600.0, help="seconds the posts span")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--csv-rows", type=int, default=5_000)
    parser.add_argument("--grace", type=float, default=120.0, help="seconds to wait after")
    parser.add_argument("--database-url", default="", help="measure this database only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            run("postgresql", args.database_url, Path(tmp), args)
            return
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp), args)
    pg_url = os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL")
    if pg_url:
        # Settings and the task queue are configured once per process: PostgreSQL gets its own.
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--database-url", pg_url])
    else:
        print("postgresql: skipped (set SOCIALPULSE_BENCH_POSTGRES_URL to measure it)")


if __name__ == "__main__":
    main()
