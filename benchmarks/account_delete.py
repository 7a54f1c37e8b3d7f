"""Deleting an account with ~12,000 interactions: with the foreign-key indexes of migration 0009,
then without them; as one cascading DELETE (what a request used to do, holding the write lock
throughout) and as the batched background job (the longest transaction is what other writers
wait for).

    python benchmarks/account_delete.py [--interactions 12000] [--cap 60]
    SOCIALPULSE_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/account_delete.py

Without the indexes each deleted interaction scans `interactions` (parent_id, SET NULL) and
`workflow_matches` (interaction_id, CASCADE): that run is stopped after --cap seconds
(default 45) so the whole benchmark stays within about three minutes; the output says when.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from socialpulse.accounts import deletion
from socialpulse.accounts.models import Post, PostMetricSnapshot, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
)
from socialpulse.kit.logging import configure_logging
from socialpulse.migrations import runner
from socialpulse.workspaces import service

POSTS = 60
SNAPSHOT_DAYS = 30
OTHER_INTERACTIONS = 4_000  # another account's rows: the table is not only the doomed ones


@dataclass
class Built:
    db: Database
    account_id: int
    rows: int  # rows the account owns, itself included


def _fresh(url: str) -> Database:
    db = Database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    return db


def _fill_account(
    conn: Connection, workspace_id: int, workflow_id: int, handle: str, interactions: int
) -> int:
    now = utcnow()
    account_id = conn.execute(
        insert(TrackedAccount)
        .values(workspace_id=workspace_id, platform="simulated", external_id=handle, handle=handle)
        .returning(TrackedAccount.id)
    ).scalar_one()
    post_ids = [
        conn.execute(
            insert(Post)
            .values(
                workspace_id=workspace_id,
                account_id=account_id,
                external_id=f"{handle}-p{p}",
                posted_at=now - dt.timedelta(days=p),
                hashtags=[],
                mentions=[],
            )
            .returning(Post.id)
        ).scalar_one()
        for p in range(POSTS)
    ]
    conn.execute(
        insert(PostMetricSnapshot),
        [
            {"post_id": post_id, "day": now.date() - dt.timedelta(days=d), "captured_at": now}
            for post_id in post_ids
            for d in range(SNAPSHOT_DAYS)
        ],
    )
    statuses = list(InteractionStatus)
    chunk = 2_000
    for start in range(0, interactions, chunk):
        rows = []
        for n in range(start, min(start + chunk, interactions)):
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "account_id": account_id,
                    "post_id": post_ids[n % POSTS],
                    "platform": "simulated",
                    "kind": InteractionKind.comment,
                    "external_id": f"{handle}-c{n}",
                    "author_external_id": f"fan{n % 500}",
                    "author_handle": f"fan{n % 500}",
                    "text": "love this",
                    "posted_at": now - dt.timedelta(minutes=7 * n),
                    "ingested_at": now,
                    "status": statuses[n % len(statuses)],
                    "ai_sentiment": ("positive", "neutral", "negative")[n % 3],
                    "labels": [],
                    "priority": 50,
                    "hidden": False,
                }
            )
        conn.execute(insert(Interaction), rows)
    ids = list(
        conn.scalars(
            select(Interaction.id)
            .where(Interaction.account_id == account_id)
            .order_by(Interaction.id)
        )
    )
    first = ids[0]
    # Every other interaction is a reply to the one before it (threads of two).
    conn.execute(
        update(Interaction)
        .where(Interaction.account_id == account_id, (Interaction.id - first) % 2 == 1)
        .values(parent_id=Interaction.id - 1, kind=InteractionKind.reply)
    )
    conn.execute(
        insert(WorkflowMatch),
        [
            {
                "workspace_id": workspace_id,
                "workflow_id": workflow_id,
                "interaction_id": i,
                "matched_at": now,
                "reason": "said thanks",
                "actions_applied": [],
                "auto_responded": False,
                "flagged": False,
            }
            for i in ids[::2]
        ],
    )
    conn.execute(
        insert(ReplyQueueItem),
        [
            {
                "workspace_id": workspace_id,
                "account_id": account_id,
                "interaction_id": i,
                "platform": "simulated",
                "text": "thank you!",
                "status": ReplyStatus.sent,
                "scheduled_for": now,
                "sent_at": now,
                "idempotency_key": f"{handle}-{i}",
                "priority": 50,
                "attempts": 1,
                "max_attempts": 3,
                "created_by": "user",
                "created_at": now,
            }
            for i in ids[::10]
        ],
    )
    return int(account_id)


def build(url: str, interactions: int) -> Built:
    db = _fresh(url)
    with db.session() as session:
        user = service.create_user(session, "bench@socialpulse.test", "bench-password-123")
        workspace = service.create_workspace(session, "bench", "Bench", user)
        workspace_id = workspace.id
        workflow = Workflow(workspace_id=workspace_id, name="thanks")
        session.add(workflow)
        session.flush()
        workflow_id = workflow.id
    with db.engine.begin() as conn:
        _fill_account(conn, workspace_id, workflow_id, "other", OTHER_INTERACTIONS)
        account_id = _fill_account(conn, workspace_id, workflow_id, "doomed", interactions)
    with db.session(readonly=True) as session:
        rows = 1 + sum(session.scalar(step.remaining(account_id)) or 0 for step in deletion.STEPS)
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return Built(db, account_id, rows)


def drop_new_indexes(db: Database) -> list[str]:
    script = ScriptDirectory.from_config(runner.alembic_config(db.url)).get_revision("0009")
    assert script is not None
    names = [f"ix_{table}_{column}" for table, column in script.module.INDEXES]
    with db.engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f"DROP INDEX {name}")
    return names


def single_delete(built: Built, cap_s: float) -> tuple[float, bool]:
    """One DELETE of the account row, cascading through every foreign key in one transaction
    (what DELETE /accounts/{id} used to run). Stopped after `cap_s`: (seconds, finished)."""
    began = time.perf_counter()
    try:
        with built.db.session() as session:
            conn = session.connection()
            timer = None
            if built.db.dialect == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(cap_s * 1000)}")
            else:
                raw: Any = conn.connection.dbapi_connection
                timer = threading.Timer(cap_s, raw.interrupt)
                timer.start()
            try:
                session.execute(delete(TrackedAccount).where(TrackedAccount.id == built.account_id))
            finally:
                if timer is not None:
                    timer.cancel()
    except DBAPIError:
        return time.perf_counter() - began, False
    return time.perf_counter() - began, True


def batched_job(built: Built, cap_s: float) -> tuple[float, float, int, bool]:
    """The background job's deletion: (seconds, longest transaction, rows deleted, finished)."""
    began = time.perf_counter()
    marks = [began]
    progress: dict[str, Any] = {}

    class Capped(Exception):
        pass

    def report(_session: Any, state: dict[str, Any]) -> None:
        now = time.perf_counter()
        marks.append(now)
        progress.update(state)
        if now - began > cap_s:
            raise Capped

    finished = True
    try:
        deletion.delete_account_data(built.db, built.account_id, report=report)
    except Capped:
        finished = False
    took = time.perf_counter() - began
    longest = max(b - a for a, b in itertools.pairwise(marks))
    return took, longest, int(progress.get("deleted", 0)), finished


def run(name: str, url_for: Any, interactions: int, cap_s: float) -> None:
    for indexed in (True, False):
        label = "with FK indexes   " if indexed else "without FK indexes"
        built = build(url_for(), interactions)
        with built.db.session(readonly=True) as session:
            count = session.scalar(
                select(func.count()).where(Interaction.account_id == built.account_id)
            )
        if not indexed:
            drop_new_indexes(built.db)
        took, done = single_delete(built, cap_s)
        verdict = f"{took:7.2f} s" if done else f"> {cap_s:.0f} s (stopped at the cap)"
        print(
            f"{name} {label}: one cascading DELETE of {count:,} interactions "
            f"({built.rows:,} rows) held the write lock {verdict}"
        )
        built.db.dispose()
        built = build(url_for(), interactions)
        if not indexed:
            drop_new_indexes(built.db)
        took, longest, deleted, done = batched_job(built, cap_s)
        rate = deleted / took if took else 0.0
        ending = "" if done else f", stopped at the cap after {deleted:,} of {built.rows:,}"
        print(
            f"{name} {label}: batched job deleted {deleted:,} rows in {took:6.2f} s "
            f"({rate:,.0f} rows/s), longest transaction {longest * 1000:,.0f} ms{ending}"
        )
        built.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=12_000)
    parser.add_argument(
        "--cap", type=float, default=45.0, help="stop a run without indexes after this long"
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        files = (Path(tmp) / f"bench{n}.db" for n in itertools.count())
        run("sqlite", lambda: f"sqlite:///{next(files)}", args.interactions, args.cap)
    pg_url = os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL")
    if pg_url:
        run("postgresql", lambda: pg_url, args.interactions, args.cap)
    else:
        print("postgresql: skipped (set SOCIALPULSE_BENCH_POSTGRES_URL to measure it)")


if __name__ == "__main__":
    main()
