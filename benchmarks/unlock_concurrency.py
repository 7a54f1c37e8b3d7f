"""1,000 unlock attempts from threads on one workspace's wallet: throughput, successes, 402s
and ledger mismatches (which must be 0).

    python benchmarks/unlock_concurrency.py [--attempts 1000] [--threads 16] [--creators 800]
    python benchmarks/unlock_concurrency.py --database-url postgresql+psycopg://.../scratch

The database at ``--database-url`` is a scratch one: its schema is dropped and migrated again.
Each attempt is what ``POST /api/v1/discovery/unlock-profile`` does (the credit gate's hold in
its own unit of work, the access and the charge in another, the release on failure), with its
own sessions, on a creator drawn at random (so some are unlocked twice: charged once). The
wallet has credits for ``--credits-for`` unlocks and no allowance. Checked afterwards: the
balance equals the ledger's sum, charges equal access rows granted, no hold is left, and the
balance never read below 0 while the attempts ran.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_DATA = tempfile.mkdtemp(prefix="socialpulse-bench-unlocks-")
os.environ.setdefault("SOCIALPULSE_DATA_DIR", _DATA)
os.environ.setdefault("SOCIALPULSE_MEDIA_ROOT", str(Path(_DATA) / "media"))
os.environ.setdefault("SOCIALPULSE_TASKS_URL", "memory://")

from sqlalchemy import func, insert, select, text  # noqa: E402

from socialpulse import models as _all_models  # noqa: E402,F401
from socialpulse.billing import ledger as billing_ledger  # noqa: E402
from socialpulse.billing import pricing as billing_pricing  # noqa: E402
from socialpulse.billing import service as billing_service  # noqa: E402
from socialpulse.billing import wallets as billing_wallets  # noqa: E402
from socialpulse.billing.gate import CreditGate  # noqa: E402
from socialpulse.billing.models import (  # noqa: E402
    LedgerEntry,
    LedgerKind,
    Reservation,
    ReservationStatus,  # noqa: E402
)
from socialpulse.billing.schemas import PlanUpdate  # noqa: E402
from socialpulse.creators import unlocks  # noqa: E402
from socialpulse.creators.models import Creator, CreatorAccess, CreatorStatus  # noqa: E402
from socialpulse.db import Database, init_database, utcnow  # noqa: E402
from socialpulse.errors import InsufficientCredits  # noqa: E402
from socialpulse.migrations import runner  # noqa: E402
from socialpulse.workspaces import service as workspaces_service  # noqa: E402
from socialpulse.workspaces.models import Role  # noqa: E402
from socialpulse.workspaces.tenancy import Subject  # noqa: E402

PLAN = "standard"


def fresh_database(url: str) -> Database:
    db = init_database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    return db


def seed(db: Database, creators: int, credits: int) -> Subject:
    now = utcnow()
    with db.session() as session:
        session.execute(
            insert(Creator),
            [
                {
                    "id": n,
                    "platform": "simulated",
                    "handle": f"bench_{n}",
                    "status": CreatorStatus.ready,
                    "origin": "seed",
                    "data_version": 1,
                    "created_at": now,
                    "refreshed_at": now,
                }
                for n in range(1, creators + 1)
            ],
        )
        user = workspaces_service.create_user(session, "bench@example.test", "x" * 16, "Bench")
        workspace = workspaces_service.create_workspace(session, "bench", "Bench", user)
        billing_pricing.update_plan(session, PLAN, PlanUpdate(profiles_per_month=0))
        billing_service.set_plan(session, workspace.id, PLAN, reason="benchmark")
        billing_service.grant_credits(session, workspace.id, credits, reason="benchmark")
        return Subject(workspace_id=workspace.id, role=Role.owner, user_id=user.id)


def attempt(db: Database, subject: Subject, creator_id: int) -> str:
    try:
        read = unlocks.unlock_via_gate(
            db,
            CreditGate(db, subject, None),
            workspace_id=subject.workspace_id,
            creator_id=creator_id,
            actor_user_id=subject.user_id,
        )
    except InsufficientCredits:
        return "402"
    return "charged" if read.charged else "already unlocked (free)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="a scratch database (dropped)")
    parser.add_argument("--attempts", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--creators", type=int, default=800)
    parser.add_argument("--credits-for", type=int, default=500, help="unlocks the wallet pays")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(_DATA) / 'unlocks.db'}"
    db = fresh_database(url)
    price = 25
    subject = seed(db, args.creators, args.credits_for * price)
    rng = random.Random(14)
    targets = [rng.randint(1, args.creators) for _ in range(args.attempts)]

    lowest: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with db.session(readonly=True) as session:
                lowest.append(billing_wallets.wallet_for(session, subject.workspace_id).balance)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        outcomes = Counter(pool.map(lambda cid: attempt(db, subject, cid), targets))
    elapsed = time.perf_counter() - began
    stop.set()
    watcher.join()

    with db.session(readonly=True) as session:
        ws = subject.workspace_id
        wallet = billing_wallets.wallet_for(session, ws)
        ledger = billing_ledger.ledger_sum(session, ws)
        charged = session.scalar(
            select(func.count()).where(
                LedgerEntry.workspace_id == ws,
                LedgerEntry.kind == LedgerKind.charge,
                LedgerEntry.action == unlocks.UNLOCK_ACTION,
            )
        )
        granted = session.scalar(select(func.count()).where(CreatorAccess.workspace_id == ws))
        held = session.scalar(
            select(func.count()).where(
                Reservation.workspace_id == ws, Reservation.status == ReservationStatus.held
            )
        )
    mismatches = int(wallet.balance != ledger) + int(charged != granted) + int(held or 0)
    mismatches += int(wallet.balance != (args.credits_for - (charged or 0)) * price)
    print(
        f"database: {db.dialect}; {args.attempts:,} unlock attempts from {args.threads} threads "
        f"on {args.creators:,} creators; wallet: credits for {args.credits_for} unlocks"
    )
    print(f"elapsed: {elapsed:.2f} s; throughput: {args.attempts / elapsed:,.0f} attempts/s")
    for outcome in ("charged", "already unlocked (free)", "402"):
        print(f"  {outcome:26} {outcomes.get(outcome, 0):6,}")
    print(
        f"balance {wallet.balance:,} / ledger sum {ledger:,}; charges {charged:,} / access rows "
        f"{granted:,}; holds left {held}; lowest balance read while running "
        f"{min(lowest) if lowest else wallet.balance:,}"
    )
    print(f"ledger mismatches: {mismatches}")
    db.dispose()
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
