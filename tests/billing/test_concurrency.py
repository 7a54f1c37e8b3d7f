"""The wallet under concurrent spenders (SQLite and PostgreSQL, as the suite runs): a hundred
parallel charges on credits for exactly forty, and parallel holds through reserve/settle."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from billing_support import NO_ALLOWANCE, Setup
from factories import WorkspaceFixture
from socialpulse.billing import ledger, service, usage, wallets
from socialpulse.billing.models import LedgerEntry, LedgerKind, Reservation, ReservationStatus
from socialpulse.db import Database
from socialpulse.errors import InsufficientCredits

ATTEMPTS = 100
AFFORDABLE = 40
PRICE = 25  # influencer_unlock


def _run_in_parallel(
    db: Database, ws: WorkspaceFixture, work: object
) -> tuple[list[str], list[int]]:
    """Run `work(n)` for n in range(ATTEMPTS) on threads started together, each in its own
    unit of work, while a watcher reads the balance; returns outcomes and balances seen."""
    start = threading.Barrier(ATTEMPTS + 1)
    done = threading.Event()
    seen: list[int] = []

    def watch() -> None:
        start.wait()
        while not done.is_set():
            with db.session(readonly=True) as session:
                seen.append(usage.balance(session, ws.workspace_id).balance)

    def attempt(n: int) -> str:
        start.wait()
        try:
            work(n)  # type: ignore[operator]
        except InsufficientCredits:
            return "402"
        return "ok"

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        outcomes = list(pool.map(attempt, range(ATTEMPTS)))
    done.set()
    watcher.join()
    return outcomes, seen


def _assert_ledger_is_the_balance(db: Database, ws: WorkspaceFixture) -> None:
    with db.session(readonly=True) as session:
        assert wallets.wallet_for(session, ws.workspace_id).balance == 0
        assert ledger.ledger_sum(session, ws.workspace_id) == 0
        charges = session.scalar(
            select(func.count()).where(
                LedgerEntry.workspace_id == ws.workspace_id, LedgerEntry.kind == LedgerKind.charge
            )
        )
        assert charges == AFFORDABLE


def test_a_hundred_parallel_charges_on_credits_for_forty_charge_exactly_forty(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=AFFORDABLE * PRICE, **NO_ALLOWANCE)

    def charge(n: int) -> None:
        with db.session() as session:
            service.charge(
                session,
                ws.workspace_id,
                "influencer_unlock",
                reference=f"creator:{n}",
                actor_user_id=ws.owner_id,
            )

    outcomes, seen = _run_in_parallel(db, ws, charge)
    assert outcomes.count("ok") == AFFORDABLE
    assert outcomes.count("402") == ATTEMPTS - AFFORDABLE
    assert seen and min(seen) >= 0
    _assert_ledger_is_the_balance(db, ws)


def test_parallel_holds_never_promise_more_than_the_balance(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    """The gate's way: reserve in one transaction, settle in another. Holds count against
    what is available, so forty are promised and charged, nothing more."""
    setup_wallet(ws, "standard", credits=AFFORDABLE * PRICE, **NO_ALLOWANCE)

    def hold_then_settle(n: int) -> None:
        with db.session() as session:
            reservation = service.reserve(
                session,
                ws.workspace_id,
                "influencer_unlock",
                reference=f"creator:{n}",
                actor_user_id=ws.owner_id,
            ).id
        with db.session() as session:
            service.settle(session, reservation)

    outcomes, seen = _run_in_parallel(db, ws, hold_then_settle)
    assert outcomes.count("ok") == AFFORDABLE
    assert min(seen) >= 0
    _assert_ledger_is_the_balance(db, ws)
    with db.session(readonly=True) as session:
        held = session.scalar(
            select(func.count()).where(Reservation.status == ReservationStatus.held)
        )
        assert held == 0
