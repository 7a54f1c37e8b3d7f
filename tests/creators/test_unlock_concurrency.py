"""The concurrency proof (issue #14, item 9), on SQLite and PostgreSQL: parallel unlocks from
threads, each with its own sessions, through the same gate and service as the API.

* 100 unlocks of different creators on a wallet with credits for 40: exactly 40 succeed, 60
  get 402, the balance is never seen below 0, the ledger sums to the balance;
* two members unlocking one creator at once: charged once;
* an unlock failing after its credits were held: charges nothing, and leaves no access.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from creators.discovery_helpers import add_creator
from creators.unlock_helpers import balance, charges, credits_only, ledger_sum
from factories import WorkspaceFixture, make
from socialpulse.billing.gate import CreditGate
from socialpulse.billing.models import Reservation, ReservationStatus
from socialpulse.creators import unlocks
from socialpulse.creators.models import CreatorAccess
from socialpulse.db import Database
from socialpulse.errors import InsufficientCredits
from socialpulse.workspaces.models import Membership, Role, User
from socialpulse.workspaces.tenancy import Subject

PRICE = 25


def _attempt(db: Database, subject: Subject, creator_id: int) -> str:
    gate = CreditGate(db, subject, None)
    try:
        read = unlocks.unlock_via_gate(
            db,
            gate,
            workspace_id=subject.workspace_id,
            creator_id=creator_id,
            actor_user_id=subject.user_id,
        )
    except InsufficientCredits:
        return "402"
    assert read.access.state == "unlocked"
    return "charged" if read.charged else "free"


def _watch_balance(
    db: Database, workspace_id: int, stop: threading.Event
) -> tuple[list[int], threading.Thread]:
    """Read the wallet's balance over and over until ``stop`` (what any reader would see)."""
    seen: list[int] = []

    def watch() -> None:
        while not stop.is_set():
            seen.append(balance(db, workspace_id))

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return seen, thread


def _held(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return (
            session.scalar(
                select(func.count()).where(
                    Reservation.workspace_id == workspace_id,
                    Reservation.status == ReservationStatus.held,
                )
            )
            or 0
        )


def test_100_parallel_unlocks_with_credits_for_40_exactly_40_succeed(
    db: Database, ws: WorkspaceFixture
) -> None:
    with db.session() as session:
        ids = [add_creator(session, f"racer_{n:03d}").id for n in range(100)]
    credits_only(db, ws.workspace_id, 40 * PRICE)
    stop = threading.Event()
    seen, watcher = _watch_balance(db, ws.workspace_id, stop)
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            outcomes = Counter(pool.map(lambda cid: _attempt(db, ws.subject, cid), ids))
    finally:
        stop.set()
        watcher.join()
    assert outcomes == Counter({"charged": 40, "402": 60})
    assert seen and min(seen) >= 0
    assert balance(db, ws.workspace_id) == 0 == ledger_sum(db, ws.workspace_id)
    assert charges(db, ws.workspace_id, unlocks.UNLOCK_ACTION) == 40
    with db.session(readonly=True) as session:
        granted = session.scalar(
            select(func.count()).where(CreatorAccess.workspace_id == ws.workspace_id)
        )
    assert granted == 40  # one access row per charge, none without
    assert _held(db, ws.workspace_id) == 0  # every hold settled or released


def _second_member(db: Database, ws: WorkspaceFixture) -> Subject:
    with db.session() as session:
        user = make(session, User)
        make(session, Membership, workspace_id=ws.workspace_id, user_id=user.id, role=Role.editor)
        return Subject(workspace_id=ws.workspace_id, role=Role.editor, user_id=user.id)


def _race_inside_unlock(monkeypatch: pytest.MonkeyPatch, parties: int) -> None:
    """Both unlocks hold their credits, then write at the same moment: neither saw the other's
    access before holding (the race a pre-check alone cannot close)."""
    barrier = threading.Barrier(parties, timeout=30)
    real: Callable[..., Any] = unlocks.unlock

    def racing(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(unlocks, "unlock", racing)


def test_two_members_unlocking_one_creator_at_once_are_charged_once(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        creator_id = add_creator(session, "shared_find").id
    credits_only(db, ws.workspace_id, 10 * PRICE)
    members = [ws.subject, _second_member(db, ws)]
    _race_inside_unlock(monkeypatch, parties=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = Counter(pool.map(lambda subject: _attempt(db, subject, creator_id), members))
    assert outcomes == Counter({"charged": 1, "free": 1})
    assert charges(db, ws.workspace_id, unlocks.UNLOCK_ACTION) == 1
    assert balance(db, ws.workspace_id) == 9 * PRICE == ledger_sum(db, ws.workspace_id)
    assert _held(db, ws.workspace_id) == 0


def test_an_unlock_failing_after_its_credits_were_held_charges_nothing(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        creator_id = add_creator(session, "fragile").id
    credits_only(db, ws.workspace_id, 2 * PRICE)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the disk filled up after the charge was written")

    # Fails after the access row and the settled charge were written, before the commit.
    monkeypatch.setattr(unlocks, "_unlock_read", broken)
    with pytest.raises(RuntimeError, match="disk filled up"):
        _attempt(db, ws.subject, creator_id)
    assert balance(db, ws.workspace_id) == 2 * PRICE == ledger_sum(db, ws.workspace_id)
    assert charges(db, ws.workspace_id, unlocks.UNLOCK_ACTION) == 0
    assert _held(db, ws.workspace_id) == 0  # released at once, not left to expire
    with db.session(readonly=True) as session:
        assert session.scalars(select(CreatorAccess)).all() == []
    monkeypatch.undo()
    assert _attempt(db, ws.subject, creator_id) == "charged"
    assert balance(db, ws.workspace_id) == PRICE == ledger_sum(db, ws.workspace_id)
