"""Concurrent-ish charges on one wallet: throughput, and whether the ledger still adds up.

    python benchmarks/credit_ledger.py [--charges 1000] [--threads 32]
    python benchmarks/credit_ledger.py --database-url postgresql+psycopg://user@host/db

SQLite by default (a fresh file); a PostgreSQL URL has its public schema dropped and rebuilt
by the migrations. One workspace's wallet holds credits for half of the charges (the plan's
profile allowance edited to 0), and `--threads` threads fire `--charges` influencer_unlock
charges at it, each in its own transaction (``billing.service.charge``: lock the wallet,
quote, append the ledger row). A second round does the same through the gate's two steps
(reserve in one transaction, settle in another).

Prints, per round: charges per second, p50/p99 latency per attempt, how many were charged and
how many refused (402), and the ledger mismatches (should be 0): a charged count other than
the credits allowed, a balance other than the sum of the ledger, a running ``balance_after``
that does not follow the amounts, or a negative balance.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_DATA = tempfile.mkdtemp(prefix="socialpulse-bench-ledger-")
os.environ.setdefault("SOCIALPULSE_DATA_DIR", _DATA)
os.environ.setdefault("SOCIALPULSE_TASKS_URL", "memory://")

from sqlalchemy import select, text  # noqa: E402

from socialpulse import models as _all_models  # noqa: E402,F401
from socialpulse.billing import ledger as billing_ledger  # noqa: E402
from socialpulse.billing import pricing as billing_pricing  # noqa: E402
from socialpulse.billing import schemas, service  # noqa: E402
from socialpulse.billing import wallets as billing_wallets  # noqa: E402
from socialpulse.billing.models import LedgerEntry  # noqa: E402
from socialpulse.db import Database, init_database  # noqa: E402
from socialpulse.errors import InsufficientCredits  # noqa: E402
from socialpulse.kit.logging import configure_logging  # noqa: E402
from socialpulse.migrations import runner  # noqa: E402
from socialpulse.worker.schedule import load_tasks  # noqa: E402
from socialpulse.workspaces import service as workspace_service  # noqa: E402

PRICE = 25  # influencer_unlock


def fresh_database(url: str) -> Database:
    db = init_database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    return db


def make_wallet(db: Database, slug: str, credits: int) -> int:
    with db.session() as session:
        user = workspace_service.get_user_by_email(
            session, "bench@socialpulse.test"
        ) or workspace_service.create_user(session, "bench@socialpulse.test", "bench-password-1")
        workspace = workspace_service.create_workspace(session, slug, slug, user)
        billing_pricing.update_plan(
            session,
            "standard",
            schemas.PlanUpdate(profiles_per_month=0, emails_per_month=0, posts_per_month=0),
        )
        service.set_plan(session, workspace.id, "standard", reason="benchmark")
        service.grant_credits(session, workspace.id, credits, reason="benchmark")
        return workspace.id


def mismatches(db: Database, workspace_id: int, expected_charges: int, charged: int) -> int:
    found = 0
    with db.session(readonly=True) as session:
        balance = billing_wallets.wallet_for(session, workspace_id).balance
        found += int(balance != billing_ledger.ledger_sum(session, workspace_id))
        found += int(balance < 0)
        running = 0
        for entry in session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.workspace_id == workspace_id)
            .order_by(LedgerEntry.id)
        ):
            running += entry.amount
            found += int(entry.balance_after != running)
    found += int(charged != expected_charges)
    return found


def run_round(
    db: Database, name: str, workspace_id: int, charges: int, threads: int, affordable: int
) -> None:
    def charge_once(n: int) -> None:
        with db.session() as session:
            service.charge(
                session,
                workspace_id,
                "influencer_unlock",
                reference=f"creator:{n}",
                actor_user_id=None,
            )

    def reserve_then_settle(n: int) -> None:
        with db.session() as session:
            reservation = service.reserve(
                session,
                workspace_id,
                "influencer_unlock",
                reference=f"creator:{n}",
                actor_user_id=None,
            ).id
        with db.session() as session:
            service.settle(session, reservation)

    work: Callable[[int], None] = charge_once if name == "charge" else reserve_then_settle
    latencies: list[float] = []

    def attempt(n: int) -> bool:
        started = time.perf_counter()
        try:
            work(n)
            return True
        except InsufficientCredits:
            return False
        finally:
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(attempt, range(charges)))
    elapsed = time.perf_counter() - started
    charged = sum(outcomes)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"  {name:<16} {charges / elapsed:8.0f} attempts/s  "
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"charged {charged} refused {charges - charged}  "
        f"ledger mismatches {mismatches(db, workspace_id, affordable, charged)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--charges", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--database-url", default=None, help="Default: a fresh SQLite file.")
    args = parser.parse_args()
    configure_logging("WARNING", json_logs=False)
    load_tasks()
    url = args.database_url or f"sqlite:///{Path(_DATA) / 'bench.db'}"
    db = fresh_database(url)
    affordable = args.charges // 2
    print(
        f"{db.dialect}: {args.charges} charges of {PRICE} credits from {args.threads} threads "
        f"on a wallet with credits for {affordable}"
    )
    for name in ("charge", "reserve+settle"):
        slug = "bench-" + name.replace("+", "-")
        workspace_id = make_wallet(db, slug, affordable * PRICE)
        run_round(db, name, workspace_id, args.charges, args.threads, affordable)
    db.dispose()


if __name__ == "__main__":
    main()
