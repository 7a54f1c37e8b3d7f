"""Ingest throughput: posts + metric snapshots upserted per second by the product's real path.

Calls `socialpulse.accounts.service.ingest_posts` once per account in its own transaction,
as `run_fetch` does, with Post DTOs generated beforehand (generation is not timed):

* day 1, first ingest: every post is inserted, plus one metric snapshot per post;
* day 2.., re-ingest: the same posts with grown counters (post updates) and a new snapshot
  per post for that day.

rows = posts upserted + snapshots written. Target: 20,000 rows/s on SQLite.

    python benchmarks/ingest.py [--accounts 100] [--posts 500] [--days 2] [--backend all]
    python benchmarks/ingest.py --backend sqlite --profile   # cProfile of the first ingest
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

import _dataset as ds
from socialpulse.accounts.models import Post, PostMetricSnapshot, TrackedAccount
from socialpulse.accounts.service import ingest_posts
from socialpulse.db import Database
from socialpulse.providers import base as pb

TARGET_ROWS_S = 20_000


@dataclass
class Pass:
    rows: int = 0  # posts upserted + snapshots written
    new: int = 0  # posts inserted
    seconds: float = 0.0  # wall clock
    cpu_s: float = 0.0  # this process's CPU time (SQLite's work included, PostgreSQL's not)

    def __iadd__(self, other: Pass) -> Pass:
        self.rows += other.rows
        self.new += other.new
        self.seconds += other.seconds
        self.cpu_s += other.cpu_s
        return self


def ingest_day(
    db: Database,
    accounts: list[TrackedAccount],
    batches: list[list[pb.Post]],
    day: dt.date,
    captured_at: dt.datetime,
) -> Pass:
    """One ingest of every account, one transaction each (as `run_fetch` does)."""
    result = Pass()
    started, cpu = time.perf_counter(), time.process_time()
    for account, posts in zip(accounts, batches, strict=True):
        with db.session() as session:
            stats = ingest_posts(session, account, posts, day=day, captured_at=captured_at)
        result.rows += stats.posts_seen + stats.snapshots_written
        result.new += stats.posts_new
    result.seconds = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu
    return result


def profiled(call: Callable[[], Pass], top: int) -> Pass:
    profiler = cProfile.Profile()
    result = profiler.runcall(call)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())
    return result


def run_backend(name: str, url: str, args: argparse.Namespace) -> None:
    setup = time.perf_counter()
    db = ds.fresh_database(url)
    subject = ds.create_workspace(db)
    accounts = ds.insert_accounts(db, subject, args.accounts, seed=args.seed)
    rng = random.Random(args.seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    day1 = now.date()
    batches = [ds.make_posts(rng, account, args.posts, now, 90) for account in accounts]
    setup_s = time.perf_counter() - setup
    print(
        f"{name:<8} setup {setup_s:.1f}s (migrations, workspace, {len(accounts)} accounts, "
        f"{args.accounts * args.posts:,} generated posts: not timed)"
    )

    def first() -> Pass:
        return ingest_day(db, accounts, batches, day1, now)

    result = profiled(first, args.profile_top) if args.profile else first()
    assert result.new == args.accounts * args.posts, f"expected all posts new, got {result.new}"
    report(name, "first", result, "inserts: posts + day-1 snapshots")

    again = Pass()
    for offset in range(1, args.days):
        batches = [[ds.grown(p, rng) for p in posts] for posts in batches]  # not timed
        day, at = day1 + dt.timedelta(days=offset), now + dt.timedelta(days=offset)
        again += ingest_day(db, accounts, batches, day, at)
    if args.days > 1:
        assert again.new == 0, f"re-ingest created {again.new} posts"
        label = "updates + new snapshots" + (f", {args.days - 1} days" if args.days > 2 else "")
        report(name, "re-ingest", again, label)

    with db.session(readonly=True) as session:
        posts = session.scalar(select(func.count()).select_from(Post))
        snaps = session.scalar(select(func.count()).select_from(PostMetricSnapshot))
    expected_snaps = args.accounts * args.posts * args.days
    assert snaps == expected_snaps, f"{snaps} snapshots, expected {expected_snaps}"
    print(f"{name:<8} check   {posts:,} posts, {snaps:,} post metric snapshots in the database")
    db.dispose()


def report(name: str, label: str, result: Pass, what: str) -> None:
    rate = result.rows / result.seconds
    # The target is SQLite's; other backends get the ratio for reference, no verdict.
    versus = (
        f"target {TARGET_ROWS_S:,}: {ds.ratio(rate, TARGET_ROWS_S)}"
        if name == "sqlite"
        else f"vs SQLite target {TARGET_ROWS_S:,}: {rate / TARGET_ROWS_S:.2f}x"
    )
    print(
        f"{name:<8} ingest  {label + ':':<10} {rate:>9,.0f} rows/s ({versus})   "
        f"{result.rows:,} rows in {result.seconds:.2f}s, {what}; "
        f"{result.rows / result.cpu_s:,.0f} rows per CPU-second of this process"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100, help="accounts (one tx each)")
    parser.add_argument("--posts", type=int, default=500, help="posts per account per fetch")
    parser.add_argument("--days", type=int, default=2, help="ingest days: 1 first + re-ingests")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the first ingest")
    parser.add_argument("--profile-top", type=int, default=30)
    args = parser.parse_args()
    if args.days < 1 or args.accounts < 1 or args.posts < 1:
        parser.error("--accounts, --posts and --days must be at least 1")
    print(
        f"socialpulse ingest: {args.accounts} accounts x {args.posts} posts, {args.days} day(s); "
        f"ingest_posts() per account in its own transaction; "
        f"target {TARGET_ROWS_S:,} rows/s on SQLite"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in ds.backends(args.backend):
            run_backend(name, url or f"sqlite:///{tmp}/ingest.db", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
