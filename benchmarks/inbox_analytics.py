"""Inbox analytics latency: p50/p95/p99 of the four inbox analytics reads at 1,000,000
interactions.

Calls the service functions behind GET /api/v1/inbox/analytics/{overview,workflows,
response-queue,timeline} (`socialpulse.inbox.analytics`), one read-only session per call as a
request does. The dataset: one workspace with --interactions interactions spread over the last
365 days on 5 platforms (mixed statuses and sentiments, answered ones with a response time),
--workflows workflows with a match for ~6 % of the interactions, and --replies reply-queue items.
Target: p99 <= 100 ms for the 30-day reads.

Built once with the real migrations and bulk loads (Core insert() executemany on SQLite, COPY on
PostgreSQL). The load runs with the migrations' triggers in place, as production writes do, so
they fill the hourly rollup (`interaction_hourly_counts`) the overview and the timeline read;
the build time includes them. The SQLite file is cached under benchmarks/results/ (git-ignored)
and the PostgreSQL schema is tagged, both keyed by the parameters, so re-runs skip the build.
PostgreSQL runs when SOCIALPULSE_BENCH_POSTGRES_URL is set, e.g.
postgresql+psycopg://postgres@127.0.0.1:55432/bench (its public schema is dropped and rebuilt).

    python benchmarks/inbox_analytics.py [--interactions 1000000] [--calls 60]
        [--backend all] [--explain] [--rebuild]
"""

from __future__ import annotations

import argparse
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
from socialpulse.db import Database, init_database
from socialpulse.inbox import analytics
from socialpulse.inbox.models import (
    Interaction,
    InteractionHourlyCount,
    ReplyQueueItem,
    Workflow,
    WorkflowMatch,
)
from socialpulse.migrations import runner
from socialpulse.workspaces.tenancy import Subject

TARGET_P99_MS = 100.0
# Part of the cache key: bump when the schema or the data change (2: the hourly rollup).
DATASET_VERSION = 2
RESULTS = Path(__file__).resolve().parent / "results"
PLATFORMS = [
    ("youtube", 0.3),
    ("instagram", 0.3),
    ("tiktok", 0.2),
    ("bluesky", 0.1),
    ("mastodon", 0.1),
]
STATUSES = [
    ("answered", 0.4),
    ("unread", 0.3),
    ("ignored", 0.1),
    ("awaiting_approval", 0.1),
    ("flagged", 0.1),
]
SENTIMENTS = [("positive", 0.5), ("neutral", 0.3), ("negative", 0.15), (None, 0.05)]
REPLY_STATUSES = [("sent", 0.8), ("pending", 0.1), ("failed", 0.05), ("cancelled", 0.05)]


@dataclass(frozen=True)
class Params:
    interactions: int
    workflows: int
    replies: int
    seed: int

    @property
    def key(self) -> str:
        return (
            f"inbox-v{DATASET_VERSION}-i{self.interactions}-w{self.workflows}"
            f"-r{self.replies}-seed{self.seed}"
        )


@dataclass(frozen=True)
class Dataset:
    db: Database
    subject: Subject
    now: dt.datetime
    built_s: float | None


def _pick(rng: random.Random, table: list[tuple[Any, float]], k: int) -> list[Any]:
    return rng.choices([v for v, _ in table], [w for _, w in table], k=k)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _accounts(workspace_id: int) -> list[dict[str, Any]]:
    rows = ds.account_rows(workspace_id, 10, random.Random(1), first_id=1)
    for i, row in enumerate(rows):
        row["platform"] = PLATFORMS[i % len(PLATFORMS)][0]
    return rows


def _interactions(
    params: Params, workspace_id: int, accounts: list[dict[str, Any]], now: dt.datetime
) -> Iterator[dict[str, Any]]:
    rng = random.Random(params.seed)
    by_platform = {a["platform"]: a["id"] for a in accounts}
    span = 365 * 86400
    batch = 10_000
    for first in range(0, params.interactions, batch):
        size = min(batch, params.interactions - first)
        platforms = _pick(rng, PLATFORMS, size)
        statuses = _pick(rng, STATUSES, size)
        sentiments = _pick(rng, SENTIMENTS, size)
        for j in range(size):
            n = first + j + 1
            posted = now - dt.timedelta(seconds=rng.uniform(0, span))
            status = statuses[j]
            answered = (
                min(now, posted + dt.timedelta(minutes=rng.lognormvariate(4.0, 1.2)))
                if status == "answered"
                else None
            )
            yield {
                "id": n,
                "workspace_id": workspace_id,
                "account_id": by_platform[platforms[j]],
                "platform": platforms[j],
                "kind": "comment",
                "external_id": f"c{n}",
                "author_external_id": f"u{n % 50_000}",
                "author_handle": f"fan_{n % 50_000}",
                "text": "love this, where can I buy it?",
                "posted_at": posted,
                "ingested_at": posted,
                "status": status,
                "labels": [],
                "priority": 50,
                "hidden": False,
                "answered_at": answered,
                "ai_sentiment": sentiments[j],
            }


def _workflows(params: Params, workspace_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "workspace_id": workspace_id,
            "name": f"Workflow {i + 1}",
            "status": "active" if i % 3 else "paused",
            "priority": 10 * (i + 1),
            "trigger": "new_interaction",
            "conditions": [],
            "actions": [],
            "stop_processing": True,
            "created_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            "updated_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        }
        for i in range(params.workflows)
    ]


def _matches(params: Params, workspace_id: int, now: dt.datetime) -> Iterator[dict[str, Any]]:
    rng = random.Random(params.seed + 1)
    span = 365 * 86400
    step = 16  # ~6 % of the interactions matched a workflow
    for n in range(1, params.interactions + 1, step):
        yield {
            "workspace_id": workspace_id,
            "workflow_id": rng.randint(1, params.workflows),
            "interaction_id": n,
            "matched_at": now - dt.timedelta(seconds=rng.uniform(0, span)),
            "reason": "intent is purchase_intent",
            "actions_applied": ["label"],
            "auto_responded": rng.random() < 0.3,
            "flagged": rng.random() < 0.1,
        }


def _replies(
    params: Params, workspace_id: int, accounts: list[dict[str, Any]], now: dt.datetime
) -> Iterator[dict[str, Any]]:
    rng = random.Random(params.seed + 2)
    statuses = _pick(rng, REPLY_STATUSES, params.replies)
    for i in range(params.replies):
        account = accounts[i % len(accounts)]
        status = statuses[i]
        scheduled = now + dt.timedelta(
            minutes=rng.uniform(-500_000, 0 if status != "pending" else 600)
        )
        yield {
            "workspace_id": workspace_id,
            "account_id": account["id"],
            "interaction_id": 1 + (i * 7) % params.interactions,
            "platform": account["platform"],
            "text": "Thank you!",
            "status": status,
            "priority": 50,
            "scheduled_for": scheduled,
            "attempts": 1 if status != "pending" else 0,
            "max_attempts": 3,
            "idempotency_key": f"bench-{i}",
            "created_by": "user:1",
            "created_at": scheduled,
            "last_error": "rate limited by the platform" if status == "failed" else None,
        }


def build(db: Database, params: Params, now: dt.datetime, name: str) -> Subject:
    subject = ds.create_workspace(db)
    ws = subject.workspace_id
    accounts = _accounts(ws)
    counts: dict[str, int] = {}
    with db.engine.begin() as conn:
        started = time.perf_counter()
        from socialpulse.accounts.models import TrackedAccount

        counts["accounts"] = ds.bulk_insert(conn, _table(TrackedAccount), iter(accounts))
        counts["interactions"] = ds.bulk_load(
            conn, _table(Interaction), _interactions(params, ws, accounts, now)
        )
        counts["workflows"] = ds.bulk_insert(conn, _table(Workflow), iter(_workflows(params, ws)))
        counts["workflow_matches"] = ds.bulk_load(
            conn, _table(WorkflowMatch), _matches(params, ws, now)
        )
        counts["reply_queue"] = ds.bulk_load(
            conn, _table(ReplyQueueItem), _replies(params, ws, accounts, now)
        )
        if conn.dialect.name == "postgresql":
            for table in ("accounts", "interactions", "workflows"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))
        load_s = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # As autovacuum would soon after such a load: statistics, and on PostgreSQL the
        # visibility map, without which index-only scans still visit every heap page.
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    print(
        f"{name:<8} built   "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
        + f" (load {load_s:.1f}s)"
    )
    return subject


def open_dataset(name: str, url: str | None, params: Params, rebuild: bool) -> Dataset:
    started = time.perf_counter()
    if url is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{params.key}.db"
        meta = RESULTS / f"{params.key}.json"
        if path.exists() and meta.exists() and not rebuild:
            db = init_database(f"sqlite:///{path}")
            runner.upgrade(db)
            now = dt.datetime.fromisoformat(json.loads(meta.read_text())["now"])
            return Dataset(db, ds.bench_subject(db), now, None)
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
        return Dataset(db, ds.bench_subject(db), now, time.perf_counter() - started)
    db = init_database(url)
    with db.engine.connect() as conn:
        tag = (
            conn.execute(
                text("SELECT obj_description('public'::regnamespace, 'pg_namespace')")
            ).scalar()
            or ""
        )
    if tag.startswith(params.key + " ") and not rebuild:
        runner.upgrade(db)
        now = dt.datetime.fromisoformat(tag.split(" ", 1)[1])
        return Dataset(db, ds.bench_subject(db), now, None)
    db = ds.fresh_database(url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    subject = build(db, params, now, name)
    with db.engine.begin() as conn:
        conn.execute(text(f"COMMENT ON SCHEMA public IS '{params.key} {now.isoformat()}'"))
    return Dataset(db, subject, now, time.perf_counter() - started)


Read = Callable[[Any, Subject], object]


def reads(data: Dataset) -> list[tuple[str, Read, bool]]:
    """(label, read, held to the target)."""
    now = data.now
    return [
        ("overview 30d", lambda s, subj: analytics.overview(s, subj, 30, now=now), True),
        ("workflows 30d", lambda s, subj: analytics.workflow_activity(s, subj, 30, now=now), True),
        ("response-queue", lambda s, subj: analytics.response_queue(s, subj), True),
        ("timeline 30d", lambda s, subj: analytics.timeline(s, subj, 30, now=now), True),
        (
            "timeline 30d sentiment",
            lambda s, subj: analytics.timeline(s, subj, 30, by_sentiment=True, now=now),
            True,
        ),
        ("overview 90d", lambda s, subj: analytics.overview(s, subj, 90, now=now), False),
        ("overview 365d", lambda s, subj: analytics.overview(s, subj, 365, now=now), False),
        ("timeline 365d", lambda s, subj: analytics.timeline(s, subj, 365, now=now), False),
    ]


def measure(data: Dataset, read: Read, calls: int, time_cap: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + time_cap
    for _ in range(calls):
        started = time.perf_counter()
        with data.db.session(readonly=True) as session:
            read(session, data.subject)
        latencies.append(time.perf_counter() - started)
        if time.monotonic() > deadline:
            break
    return latencies


def explain(data: Dataset, label: str, read: Read) -> None:
    """The plan of every statement one call issues (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE)."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    engine = data.db.read_engine or data.db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with data.db.session(readonly=True) as session:
            read(session, data.subject)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    postgres = data.db.dialect == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    print(f"--- {label}: {len(captured)} statements")
    with engine.connect() as conn:
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            started = time.perf_counter()
            conn.exec_driver_sql(statement, parameters).all()
            took = (time.perf_counter() - started) * 1000
            print(f"[{took:.2f} ms] " + " ".join(statement.split())[:300])
            for row in conn.exec_driver_sql(prefix + statement, parameters):
                print("    " + " | ".join(str(v) for v in (row if postgres else row[-1:])))


def run_backend(name: str, url: str | None, args: argparse.Namespace, params: Params) -> None:
    data = open_dataset(name, url, params, args.rebuild)
    schema = "the migrations' schema"
    with data.db.session(readonly=True) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Interaction, WorkflowMatch, ReplyQueueItem)
        }
        rollup_rows = session.scalar(select(func.count()).select_from(InteractionHourlyCount))
        rolled_up = session.scalar(select(func.sum(InteractionHourlyCount.count))) or 0
    if rolled_up != counts["interactions"]:  # the figures would be wrong, not just slow
        raise SystemExit(
            f"{name}: the hourly rollup counts {rolled_up:,} interactions, the table holds "
            f"{counts['interactions']:,}; rebuild the dataset (--rebuild)"
        )
    source = "cached" if data.built_s is None else f"built in {data.built_s:.1f}s"
    print(
        f"{name:<8} dataset {source}: "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
        + f"; hourly rollup {rollup_rows:,} rows; now={data.now.isoformat()}; schema: {schema}"
    )
    for label, read, targeted in reads(data):
        for _ in range(args.warmup):
            with data.db.session(readonly=True) as session:
                read(session, data.subject)
        s = ds.summarize(measure(data, read, args.calls, args.time_cap))
        verdict = (
            f"target p99 {TARGET_P99_MS:.0f} ms: "
            + ds.ratio(s.p99, TARGET_P99_MS, lower_is_better=True)
            if targeted
            else "for scale, no target"
        )
        print(
            f"{name:<8} {label:<23} p50 {s.p50:7.2f} ms  p95 {s.p95:7.2f} ms  "
            f"p99 {s.p99:7.2f} ms  max {s.max:7.2f} ms  n={s.n}  ({verdict})"
        )
        if args.explain:
            explain(data, f"{name} {label}", read)
    data.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--workflows", type=int, default=12)
    parser.add_argument("--replies", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=60, help="measured calls per read")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured calls per read")
    parser.add_argument("--time-cap", type=float, default=15.0, help="seconds per read at most")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached dataset")
    parser.add_argument("--explain", action="store_true", help="print the plans of one call")
    args = parser.parse_args()
    if min(args.interactions, args.workflows, args.replies, args.calls) < 1:
        parser.error("--interactions, --workflows, --replies, --calls must be >= 1")
    params = Params(args.interactions, args.workflows, args.replies, args.seed)
    print(
        f"socialpulse inbox analytics latency: {args.interactions:,} interactions over 365 days, "
        f"{args.workflows} workflows, {args.replies:,} queued replies; {args.calls} calls per "
        f"read, one read-only session each; target p99 <= {TARGET_P99_MS:.0f} ms (30-day reads)"
    )
    for name, url in ds.backends(args.backend):
        run_backend(name, url, args, params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
