"""Analytics latency: p50/p95/p99/max of the account overview and top-posts reads.

Calls `socialpulse.analytics.service.overview` and `top_posts` (the functions behind
GET /api/v1/accounts/{id}/overview and /top-posts), one read-only session per call as a request
does, for random accounts of a dataset of --accounts accounts x --days daily account snapshots
x --posts posts per account, each post with a metric snapshot for each of its last
--post-snapshot-days days (clipped to its publication day). Target: p99 <= 50 ms.

The dataset is built once with the real migrations and bulk loads (Core insert() executemany on
SQLite, COPY on PostgreSQL); the SQLite file is cached under benchmarks/results/ and the
PostgreSQL schema is tagged, both keyed by the parameters, so re-runs skip the build (pending
migrations are applied to a cached dataset, as `socialpulse migrate` would).

    python benchmarks/analytics_latency.py [--accounts 1000] [--posts 200] [--days 365]
        [--calls 300] [--backend all] [--explain] [--rebuild]
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, func, select, text

import _dataset as ds
from socialpulse.accounts.models import AccountSnapshot, Post, PostMetricSnapshot, TrackedAccount
from socialpulse.analytics import service as analytics
from socialpulse.analytics.schemas import RankBy
from socialpulse.db import Database, init_database
from socialpulse.migrations import runner
from socialpulse.workspaces.tenancy import Subject

TARGET_P99_MS = 50.0
DATASET_VERSION = 1
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Params:
    accounts: int
    posts: int
    days: int
    post_snapshot_days: int
    seed: int

    @property
    def key(self) -> str:
        return (
            f"analytics-v{DATASET_VERSION}-a{self.accounts}-p{self.posts}-d{self.days}"
            f"-s{self.post_snapshot_days}-seed{self.seed}"
        )


@dataclass(frozen=True)
class Dataset:
    db: Database
    subject: Subject
    account_ids: list[int]
    now: dt.datetime  # the dataset's "now": snapshots end on its day
    built_s: float | None  # None: reused from the cache


# --- building ----------------------------------------------------------------------------------


@dataclass
class _PostInfo:
    id: int
    day: dt.date
    views: int
    likes: int
    comments: int
    shares: int
    saves: int


def _generate(
    params: Params, workspace_id: int, now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[_PostInfo]]:
    """Accounts, posts (explicit ids), and per post what its snapshots need."""
    rng = random.Random(params.seed)
    accounts = ds.account_rows(workspace_id, params.accounts, rng, first_id=1)
    posts: list[dict[str, Any]] = []
    infos: list[_PostInfo] = []
    span = params.days * 86400
    post_id = 0
    for account in accounts:
        followers = account["followers_count"]
        reach = float(followers)
        published = sorted(
            (now - dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(params.posts)),
        )
        for i, posted_at in enumerate(published):
            post_id += 1
            text_, tags, mentions = ds.caption(rng)
            m = ds.metrics(rng, reach)
            assert m.views is not None and m.likes is not None
            assert m.comments is not None and m.shares is not None and m.saves is not None
            media = rng.choices([t for t, _ in ds.MEDIA_TYPES], [w for _, w in ds.MEDIA_TYPES])[0]
            posts.append(
                {
                    "id": post_id,
                    "workspace_id": workspace_id,
                    "account_id": account["id"],
                    "external_id": f"{account['handle']}:{i}",
                    "url": f"https://simulated.invalid/@{account['handle']}/p/{i}",
                    "caption": text_,
                    "hashtags": list(tags),
                    "mentions": list(mentions),
                    "media_type": str(media),
                    "duration_seconds": None,
                    "posted_at": posted_at,
                    "thumbnail_url": None,
                    "views": m.views,
                    "likes": m.likes,
                    "comments": m.comments,
                    "shares": m.shares,
                    "saves": m.saves,
                    "engagement_rate": (m.likes + m.comments + m.shares) / followers,
                    "first_seen_at": posted_at,
                    "metrics_updated_at": now,
                }
            )
            infos.append(
                _PostInfo(
                    post_id, posted_at.date(), m.views, m.likes, m.comments, m.shares, m.saves
                )
            )
    return accounts, posts, infos


def _account_snapshots(
    params: Params, accounts: list[dict[str, Any]], posts: list[dict[str, Any]], now: dt.datetime
) -> Iterator[dict[str, Any]]:
    rng = random.Random(params.seed + 1)
    today = now.date()
    post_days: dict[int, list[dt.date]] = {}
    for post in posts:
        post_days.setdefault(post["account_id"], []).append(post["posted_at"].date())
    for account in accounts:
        growth = rng.uniform(0.0, 0.004)
        days_list = post_days.get(account["id"], [])
        for back in range(params.days - 1, -1, -1):
            day = today - dt.timedelta(days=back)
            later = len(days_list) - bisect.bisect_right(days_list, day)
            yield {
                "account_id": account["id"],
                "day": day,
                "followers_count": int(account["followers_count"] / (1 + growth) ** back),
                "following_count": account["following_count"] + rng.randint(-2, 2),
                "posts_count": account["posts_count"] - later,
                "captured_at": dt.datetime.combine(day, dt.time(3), dt.UTC),
            }


def _post_snapshots(
    params: Params, infos: list[_PostInfo], now: dt.datetime
) -> Iterator[dict[str, Any]]:
    today = now.date()
    first = today - dt.timedelta(days=params.post_snapshot_days - 1)
    for info in infos:
        day = max(info.day, first)
        while day <= today:
            frac = 1.0 - 0.5 ** ((day - info.day).days + 1) * 0.8
            yield {
                "post_id": info.id,
                "day": day,
                "views": int(info.views * frac),
                "likes": int(info.likes * frac),
                "comments": int(info.comments * frac),
                "shares": int(info.shares * frac),
                "saves": int(info.saves * frac),
                "captured_at": dt.datetime.combine(day, dt.time(3), dt.UTC),
            }
            day += dt.timedelta(days=1)


def build(db: Database, params: Params, now: dt.datetime, name: str) -> Subject:
    subject = ds.create_workspace(db)
    accounts, posts, infos = _generate(params, subject.workspace_id, now)
    counts: dict[str, int] = {}
    with db.engine.begin() as conn:
        step = time.perf_counter()
        counts["accounts"] = ds.bulk_insert(conn, _table(TrackedAccount), iter(accounts))
        counts["posts"] = ds.bulk_load(conn, _table(Post), iter(posts))
        counts["account_snapshots"] = ds.bulk_load(
            conn, _table(AccountSnapshot), _account_snapshots(params, accounts, posts, now)
        )
        counts["post_metric_snapshots"] = ds.bulk_load(
            conn, _table(PostMetricSnapshot), _post_snapshots(params, infos, now)
        )
        if conn.dialect.name == "postgresql":
            for table in ("accounts", "posts"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))
        load_s = time.perf_counter() - step
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # autovacuum would, soon after such a load
    print(
        f"{name:<8} built   "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
        + f" (load {load_s:.1f}s)"
    )
    return subject


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _pg_tag(db: Database) -> str | None:
    with db.engine.connect() as conn:
        tag: str | None = conn.execute(
            text("SELECT obj_description('public'::regnamespace, 'pg_namespace')")
        ).scalar()
    return tag


def open_dataset(name: str, url: str | None, params: Params, rebuild: bool) -> Dataset:
    """The dataset for `params`: reused when cached (SQLite file, tagged PostgreSQL schema)."""
    started = time.perf_counter()
    if url is None:  # SQLite: a cached file under benchmarks/results/
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{params.key}.db"
        meta = RESULTS / f"{params.key}.json"
        if path.exists() and meta.exists() and not rebuild:
            db = init_database(f"sqlite:///{path}")
            runner.upgrade(db)
            now = dt.datetime.fromisoformat(json.loads(meta.read_text())["now"])
            return Dataset(db, ds.bench_subject(db), _account_ids(db), now, None)
        building = path.with_suffix(".building.db")
        for stale in (path, meta, building):
            stale.unlink(missing_ok=True)
        db = ds.fresh_database(f"sqlite:///{building}")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        build(db, params, now, name)
        db.dispose()
        with closing(sqlite3.connect(building)) as raw:  # fold the WAL in before renaming
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            raw.execute("PRAGMA journal_mode=DELETE")
        building.rename(path)
        meta.write_text(json.dumps({"now": now.isoformat(), "params": params.__dict__}))
        db = init_database(f"sqlite:///{path}")
        return Dataset(
            db, ds.bench_subject(db), _account_ids(db), now, time.perf_counter() - started
        )
    db = init_database(url)
    tag = _pg_tag(db) or ""
    if tag.startswith(params.key + " ") and not rebuild:
        runner.upgrade(db)
        now = dt.datetime.fromisoformat(tag.split(" ", 1)[1])
        return Dataset(db, ds.bench_subject(db), _account_ids(db), now, None)
    db = ds.fresh_database(url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    subject = build(db, params, now, name)
    with db.engine.begin() as conn:
        conn.execute(text(f"COMMENT ON SCHEMA public IS '{params.key} {now.isoformat()}'"))
    return Dataset(db, subject, _account_ids(db), now, time.perf_counter() - started)


def _account_ids(db: Database) -> list[int]:
    with db.session(readonly=True) as session:
        return list(session.scalars(select(TrackedAccount.id).order_by(TrackedAccount.id)))


# --- measuring ---------------------------------------------------------------------------------

Read = Callable[[Any, Subject, int], object]


def reads(data: Dataset) -> list[tuple[str, Read]]:
    now = data.now

    def overview(session: Any, subject: Subject, account_id: int) -> object:
        return analytics.overview(session, subject, account_id, now=now)

    def top_posts(days: int, by: RankBy) -> Read:
        def read(session: Any, subject: Subject, account_id: int) -> object:
            return analytics.top_posts(
                session,
                subject,
                account_id,
                by=by,
                since=now - dt.timedelta(days=days),
                until=now,
                limit=10,
            )

        return read

    return [
        ("overview", overview),
        ("top_posts 30d engagement", top_posts(30, RankBy.engagement)),
        ("top_posts 365d views", top_posts(365, RankBy.views)),
    ]


def measure(data: Dataset, read: Read, ids: list[int], time_cap: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + time_cap
    for account_id in ids:
        started = time.perf_counter()
        with data.db.session(readonly=True) as session:
            read(session, data.subject, account_id)
        latencies.append(time.perf_counter() - started)
        if time.monotonic() > deadline:
            break
    return latencies


def explain(data: Dataset, label: str, read: Read, account_id: int) -> None:
    """The plan of every statement one call issues (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE)."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    engine = data.db.read_engine or data.db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with data.db.session(readonly=True) as session:
            read(session, data.subject, account_id)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    postgres = data.db.dialect == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    print(f"--- {label}: {len(captured)} statements for account {account_id}")
    with engine.connect() as conn:
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            started = time.perf_counter()
            conn.exec_driver_sql(statement, parameters).all()
            took = (time.perf_counter() - started) * 1000
            print(f"[{took:.2f} ms] " + " ".join(statement.split()))
            for row in conn.exec_driver_sql(prefix + statement, parameters):
                print("    " + " | ".join(str(v) for v in (row if postgres else row[-1:])))


def run_backend(name: str, url: str | None, args: argparse.Namespace, params: Params) -> None:
    data = open_dataset(name, url, params, args.rebuild)
    with data.db.session(readonly=True) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (TrackedAccount, AccountSnapshot, Post, PostMetricSnapshot)
        }
    source = "cached" if data.built_s is None else f"built in {data.built_s:.1f}s"
    where = url or str(data.db.url)
    print(
        f"{name:<8} dataset {source}: "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
        + f"; now={data.now.isoformat()} ({where.rsplit('/', 1)[-1]})"
    )
    rng = random.Random(args.seed)
    for label, read in reads(data):
        for account_id in rng.sample(data.account_ids, min(args.warmup, len(data.account_ids))):
            with data.db.session(readonly=True) as session:
                read(session, data.subject, account_id)
        ids = [rng.choice(data.account_ids) for _ in range(args.calls)]
        s = ds.summarize(measure(data, read, ids, args.time_cap))
        verdict = ds.ratio(s.p99, TARGET_P99_MS, lower_is_better=True)
        print(
            f"{name:<8} {label:<25} p50 {s.p50:6.2f} ms  p95 {s.p95:6.2f} ms  "
            f"p99 {s.p99:6.2f} ms  max {s.max:6.2f} ms  n={s.n}  "
            f"(target p99 {TARGET_P99_MS:.0f} ms: {verdict})"
        )
        if args.explain:
            explain(data, f"{name} {label}", read, rng.choice(data.account_ids))
    data.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=200, help="posts per account")
    parser.add_argument("--days", type=int, default=365, help="daily account snapshots")
    parser.add_argument(
        "--post-snapshot-days", type=int, default=7, help="metric snapshots per post (last N days)"
    )
    parser.add_argument("--calls", type=int, default=300, help="measured calls per read")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured calls per read")
    parser.add_argument("--time-cap", type=float, default=30.0, help="seconds per read at most")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached dataset")
    parser.add_argument("--explain", action="store_true", help="print the plans of one call")
    args = parser.parse_args()
    params = Params(args.accounts, args.posts, args.days, args.post_snapshot_days, args.seed)
    if min(args.accounts, args.posts, args.days, args.post_snapshot_days, args.calls) < 1:
        parser.error("--accounts, --posts, --days, --post-snapshot-days, --calls must be >= 1")
    print(
        f"socialpulse analytics latency: {args.accounts:,} accounts x {args.days} days of account "
        f"snapshots x {args.posts} posts ({args.post_snapshot_days} daily metric snapshots each); "
        f"{args.calls} calls per read, one read-only session each; target p99 <= "
        f"{TARGET_P99_MS:.0f} ms"
    )
    for name, url in ds.backends(args.backend):
        run_backend(name, url, args, params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
