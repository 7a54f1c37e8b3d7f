"""Ingest throughput of the whole fetch path, against a raw bulk insert of the same rows.

The fetch path is what the worker does for new accounts, timed as a whole, with what the worker
installs at start (`load_tasks()`: among it the session hooks that bump each workspace's data
version in every writing transaction):

* `accounts.fetching.run_fetch` once per account (its own transactions, as the
  `accounts.fetch_account` job runs it): profile and posts read from the simulated platform at
  zero latency (its credentials say latency_ms 0; the simulation's own CPU time is included and
  shown apart), the account's daily snapshot, posts upserted with a metric snapshot each, the
  API budget's bookkeeping and the fetch run's record;
* then the caption analysis those fetches queue (`ai.service.analyze_pending_posts` for the
  workspace, what the `ai.analyze_posts` job runs), on the configured AI backend.

The reference, in the same run: the same post and metric-snapshot rows, read back from the
fetch path's database (not timed), written into a fresh, migrated database with SQLAlchemy Core
`insert()` executemany, one transaction per account as the fetch path commits per account.
rows = posts + post metric snapshots, for both; the ratio is fetch path / raw insert.

    python benchmarks/ingest.py [--accounts 40] [--backend sqlite|postgres|all]
    python benchmarks/ingest.py --profile   # cProfile of the fetch path
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, insert, select

import _dataset as ds
from socialpulse.accounts import fetching
from socialpulse.accounts.models import (
    FetchRun,
    FetchStatus,
    Post,
    PostAnalysis,
    PostMetricSnapshot,
    TrackedAccount,
)
from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.service import analyze_pending_posts
from socialpulse.db import Database
from socialpulse.kit.logging import configure_logging
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.worker.schedule import load_tasks

SECRET = "ingest-benchmark-secret-0123456789abcdef"
POSTS: Table = Post.__table__  # type: ignore[assignment]
SNAPSHOTS: Table = PostMetricSnapshot.__table__  # type: ignore[assignment]
ACCOUNTS: Table = TrackedAccount.__table__  # type: ignore[assignment]
Rows = list[dict[str, Any]]


class TimedSource:
    """The platform client with the seconds spent inside it counted (the simulation's CPU)."""

    def __init__(self, inner: Any, clock: list[float]) -> None:
        self._inner, self._clock = inner, clock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._clock[0] += time.perf_counter() - started

        return timed


@dataclass
class FetchPath:
    rows: int
    posts: int
    fetch_s: float
    platform_s: float
    analysis_s: float

    @property
    def seconds(self) -> float:
        return self.fetch_s + self.analysis_s


def prepare_accounts(db: Database, count: int, seed: int) -> list[int]:
    """`count` simulated accounts with zero-latency credentials and a pending fetch run each
    (what `queue_fetch` leaves for the job; its job row is not needed to call run_fetch)."""
    subject = ds.create_workspace(db)
    box = SecretBox(SECRET)
    rows = ds.account_rows(subject.workspace_id, count, random.Random(seed))
    for index, row in enumerate(rows):
        row["credentials_encrypted"] = box.encrypt(
            json.dumps({"seed": seed + index, "latency_ms": 0})
        )
    with db.session() as session:
        session.execute(insert(TrackedAccount), rows)
        ids = list(
            session.scalars(
                select(TrackedAccount.id)
                .where(TrackedAccount.workspace_id == subject.workspace_id)
                .order_by(TrackedAccount.id)
            )
        )
        runs = [FetchRun(workspace_id=subject.workspace_id, account_id=i) for i in ids]
        session.add_all(runs)
        session.flush()
        return [run.id for run in runs]


def fetch_path(db: Database, run_ids: list[int], workspace_id: int) -> FetchPath:
    box = SecretBox(SECRET)
    platform_clock = [0.0]

    def source(info: registry.ProviderInfo, creds: dict[str, Any], obs: pb.CallObserver) -> Any:
        return TimedSource(fetching.build_source(info, creds, obs), platform_clock)

    started = time.perf_counter()
    for run_id in run_ids:
        run = fetching.run_fetch(db, run_id, box=box, source_factory=source)
        if run.status != FetchStatus.completed:
            raise RuntimeError(f"fetch run {run_id} ended {run.status}: {run.error}")
    fetched = time.perf_counter()
    analysed = analyze_pending_posts(db, workspace_id=workspace_id)
    done = time.perf_counter()
    with db.session(readonly=True) as session:
        posts = session.scalar(select(func.count()).select_from(Post)) or 0
        snapshots = session.scalar(select(func.count()).select_from(PostMetricSnapshot)) or 0
        analyses = session.scalar(select(func.count()).select_from(PostAnalysis)) or 0
    if analysed != posts or analyses != posts:
        raise RuntimeError(f"{posts} posts but {analysed} analysed, {analyses} analyses stored")
    return FetchPath(
        rows=posts + snapshots,
        posts=posts,
        fetch_s=fetched - started,
        platform_s=platform_clock[0],
        analysis_s=done - fetched,
    )


def rows_by_account(db: Database) -> tuple[Rows, dict[int, tuple[Rows, Rows]]]:
    """Every account row, and per account its post and metric-snapshot rows, as stored."""
    with db.engine.connect() as conn:
        accounts = [dict(r) for r in conn.execute(select(ACCOUNTS)).mappings()]
        grouped: dict[int, tuple[Rows, Rows]] = defaultdict(lambda: ([], []))
        account_of: dict[int, int] = {}
        for row in conn.execute(select(POSTS).order_by(POSTS.c.id)).mappings():
            grouped[row["account_id"]][0].append(dict(row))
            account_of[row["id"]] = row["account_id"]
        for row in conn.execute(select(SNAPSHOTS).order_by(SNAPSHOTS.c.id)).mappings():
            grouped[account_of[row["post_id"]]][1].append(dict(row))
    return accounts, dict(grouped)


def raw_insert(
    db: Database, accounts: Rows, grouped: dict[int, tuple[Rows, Rows]]
) -> tuple[int, float]:
    """Core executemany of the same rows, one transaction per account; (rows, seconds)."""
    ds.create_workspace(db)  # the same ids in a fresh database: rows reference them
    with db.engine.begin() as conn:
        conn.execute(insert(ACCOUNTS), accounts)
    rows = 0
    started = time.perf_counter()
    for posts, snapshots in grouped.values():
        with db.engine.begin() as conn:
            conn.execute(insert(POSTS), posts)
            conn.execute(insert(SNAPSHOTS), snapshots)
        rows += len(posts) + len(snapshots)
    return rows, time.perf_counter() - started


def profiled(call: Callable[[], FetchPath], top: int) -> FetchPath:
    profiler = cProfile.Profile()
    result = profiler.runcall(call)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())
    return result


def run_backend(name: str, urls: tuple[str, str], args: argparse.Namespace) -> None:
    db = ds.fresh_database(urls[0])
    run_ids = prepare_accounts(db, args.accounts, args.seed)
    with db.session(readonly=True) as session:
        workspace_id = session.scalar(select(TrackedAccount.workspace_id).limit(1))
    assert workspace_id is not None

    def call() -> FetchPath:
        return fetch_path(db, run_ids, workspace_id)

    # A worker loads its analyser once per process, not per fetch: loaded (and its lazy parts
    # touched by one text) before timing.
    started = time.perf_counter()
    get_analyzer(None).analyze(["warming up the analyser before the timed fetches"])
    load_s = time.perf_counter() - started
    path = profiled(call, args.profile_top) if args.profile else call()
    accounts, grouped = rows_by_account(db)  # not timed
    db.dispose()

    raw_db = ds.fresh_database(urls[1])  # PostgreSQL: the same database, schema dropped first
    rows, raw_s = raw_insert(raw_db, accounts, grouped)
    raw_db.dispose()
    if rows != path.rows:
        raise RuntimeError(f"raw insert wrote {rows} rows, the fetch path {path.rows}")

    path_rate, raw_rate = path.rows / path.seconds, rows / raw_s
    per_account = path.posts / args.accounts
    print(
        f"{name:<8} rows: {path.rows:,} ({path.posts:,} posts, {per_account:.0f} per account, "
        f"+ one metric snapshot each), {args.accounts} accounts; AI backend loaded "
        f"beforehand in {load_s:.2f}s"
    )
    print(
        f"{name:<8} fetch path      {path_rate:>9,.0f} rows/s   {path.seconds:6.2f}s = "
        f"run_fetch {path.fetch_s:.2f}s (simulated platform {path.platform_s:.2f}s of it) + "
        f"caption analysis {path.analysis_s:.2f}s"
    )
    print(f"{name:<8} raw Core insert {raw_rate:>9,.0f} rows/s   {raw_s:6.2f}s")
    without = path.rows / (path.seconds - path.platform_s)
    fetch_only = path.rows / path.fetch_s
    print(
        f"{name:<8} ratio fetch path / raw insert: {path_rate / raw_rate:.2f}x "
        f"(target >= 0.50x); without the simulation's own time: {without / raw_rate:.2f}x; "
        f"run_fetch alone (no caption analysis): {fetch_only / raw_rate:.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=40, help="accounts fetched")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the fetch path")
    parser.add_argument("--profile-top", type=int, default=30)
    args = parser.parse_args()
    if args.accounts < 1:
        parser.error("--accounts must be at least 1")
    # Warnings only: the per-fetch INFO line would interleave with the figures.
    configure_logging("WARNING")
    # As the worker starts: among what this installs are the session hooks that bump each
    # workspace's data version in every writing transaction, which the fetch path pays for.
    load_tasks()
    print(
        f"socialpulse ingest: {args.accounts} new simulated accounts (latency 0) through "
        "run_fetch + caption analysis, vs a raw Core insert of the same rows"
    )
    print(f"load average at start: {load()} (1, 5, 15 min)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in ds.backends(args.backend):
            urls = (url, url) if url else (f"sqlite:///{tmp}/fetch.db", f"sqlite:///{tmp}/raw.db")
            run_backend(name, urls, args)
    print(f"load average at end: {load()} (1, 5, 15 min)")
    return 0


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
