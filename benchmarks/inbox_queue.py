"""Reply queue: time to plan 10,000 replies, and tick throughput with the dry-run publisher.

    python benchmarks/inbox_queue.py [--items 2000]
    SOCIALPULSE_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/inbox_queue.py

Tick throughput is measured with limits that do not hold items back (the point is the
claim / record-before / record-after cost per item, not the human pace).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox import replies
from socialpulse.inbox.models import (
    InboxSettings,
    Interaction,
    InteractionKind,
    ReplyLimit,
    ReplyQueueItem,
)
from socialpulse.kit.logging import configure_logging
from socialpulse.migrations import runner
from socialpulse.providers.publishing import DryRunPublisher
from socialpulse.workspaces import service


def bench_planning(count: int) -> None:
    limits = replies.PLATFORM_LIMITS["youtube"]
    began = time.perf_counter()
    planned = replies.plan_send_times(limits, [], count, utcnow(), random.Random(1))
    took = time.perf_counter() - began
    span = (planned[-1] - planned[0]).total_seconds() / 3600
    verdict = "ok" if took <= 1.0 else "SLOW"
    print(
        f"plan {count:,} replies: {took * 1000:.1f} ms ({verdict}, target <= 1 s); "
        f"they span {span:.1f} h at YouTube's 60/h"
    )


def bench_tick(name: str, url: str, items: int, accounts: int) -> None:
    db = Database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    now = utcnow()
    with db.session() as session:
        user = service.create_user(session, "bench@socialpulse.test", "bench-password")
        workspace = service.create_workspace(session, "bench", "Bench", user)
        session.add(InboxSettings(workspace_id=workspace.id, max_replies_per_tick=items))
        for a in range(accounts):
            account = TrackedAccount(
                workspace_id=workspace.id,
                platform="simulated",
                external_id=f"sim{a}",
                handle=f"sim{a}",
            )
            session.add(account)
            session.flush()
            session.add(
                ReplyLimit(
                    workspace_id=workspace.id,
                    account_id=account.id,
                    max_per_hour=10**6,
                    max_per_minute=10**6,
                    min_interval_s=0,
                    jitter_min_s=0,
                    jitter_max_s=0,
                )
            )
            for i in range(items // accounts):
                interaction = Interaction(
                    workspace_id=workspace.id,
                    account_id=account.id,
                    platform="simulated",
                    kind=InteractionKind.comment,
                    external_id=f"c{a}-{i}",
                    author_external_id="fan",
                    author_handle="fan",
                    text="hi",
                    posted_at=now - dt.timedelta(hours=1),
                )
                session.add(interaction)
                session.flush()
                replies.enqueue_reply(
                    session, interaction, f"Thanks #{i}", created_by="bench", now=now
                )
    publisher = DryRunPublisher()
    began = time.perf_counter()
    result = replies.tick(
        db, now=now + dt.timedelta(minutes=1), publisher_factory=lambda account, observer: publisher
    )
    took = time.perf_counter() - began
    with db.session() as session:
        total = session.query(ReplyQueueItem).count()
    print(
        f"{name}: tick sent {result.sent:,} of {total:,} replies over {accounts} accounts "
        f"in {took:.2f} s = {result.sent / took:,.0f} items/s (dry-run publisher)"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plan", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    # One log line per enqueued reply would drown the figures.
    configure_logging("WARNING")
    bench_planning(args.plan)
    with tempfile.TemporaryDirectory() as tmp:
        bench_tick("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.items, args.accounts)
    pg_url = os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL")
    if pg_url:
        bench_tick("postgresql", pg_url, args.items, args.accounts)
    else:
        print("postgresql: skipped (set SOCIALPULSE_BENCH_POSTGRES_URL to measure it)")


if __name__ == "__main__":
    main()
