"""The wallet and its ledger: what pays for an action (free units, then the allowance, then
credits), balances that always equal the ledger's sum, cycles in the workspace's zone,
idempotent replays, and bad input that writes nothing."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from billing_support import NO_ALLOWANCE, Setup
from factories import WorkspaceFixture
from socialpulse.billing import catalog, ledger, pricing, service, usage, wallets
from socialpulse.billing.models import (
    Funding,
    LedgerEntry,
    LedgerIsAppendOnly,
    LedgerKind,
    Reservation,
    ReservationStatus,
)
from socialpulse.db import Database
from socialpulse.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from socialpulse.workspaces.models import Workspace


def _balance(db: Database, ws: WorkspaceFixture) -> int:
    with db.session(readonly=True) as session:
        return usage.balance(session, ws.workspace_id).balance


def _ledger(db: Database, ws: WorkspaceFixture) -> list[LedgerEntry]:
    with db.session(readonly=True) as session:
        return list(
            session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.workspace_id == ws.workspace_id)
                .order_by(LedgerEntry.id)
            )
        )


def _charge(db: Database, ws: WorkspaceFixture, action: str, ref: str, **kw: object) -> LedgerEntry:
    with db.session() as session:
        return service.charge(
            session, ws.workspace_id, action, reference=ref, actor_user_id=ws.owner_id, **kw
        )  # type: ignore[arg-type]


def _assert_ledger_is_the_balance(db: Database, ws: WorkspaceFixture) -> None:
    with db.session(readonly=True) as session:
        wallet = wallets.wallet_for(session, ws.workspace_id)
        assert ledger.ledger_sum(session, ws.workspace_id) == wallet.balance >= 0
        rows = _ledger(db, ws)
        running = 0
        for row in rows:
            running += row.amount
            assert row.balance_after == running


# --- the catalogue --------------------------------------------------------------------------


def test_the_migration_seeds_the_catalogue_as_the_issue_priced_it(db: Database) -> None:
    path = next(
        Path(__file__)
        .resolve()
        .parents[2]
        .glob("src/socialpulse/migrations/versions/*billing_core.py")
    )
    spec = importlib.util.spec_from_file_location("billing_core_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    plan_keys = (
        "code name price_cents seats profiles_per_month emails_per_month posts_per_month "
        "topup_discount_pct sort_order"
    ).split()
    assert [
        dict(zip(plan_keys, row, strict=True)) for row in migration.PLANS
    ] == catalog.DEFAULT_PLANS
    rule_keys = "action credits free_per_month allowance access_days description".split()
    assert [
        dict(zip(rule_keys, row, strict=True)) for row in migration.RULES
    ] == catalog.DEFAULT_RULES
    assert [
        {"code": c, "credits": n, "price_cents": p} for c, n, p in migration.TOPUPS
    ] == catalog.DEFAULT_TOPUPS
    with db.session(readonly=True) as session:
        plans = {p.code: p for p in pricing.list_plans(session)}
        assert (plans["premium"].price_cents, plans["premium"].seats) == (49900, 5)
        assert plans["standard"].profiles_per_month == 500
        assert plans["premium"].topup_discount_pct == 20
        unlock = pricing.get_rule(session, "influencer_unlock")
        assert (unlock.credits, unlock.allowance, unlock.access_days) == (25, "profiles", 30)
        assert pricing.get_rule(session, "advanced_search").free_per_month == 10
        assert [t.credits for t in pricing.list_topups(session)] == [1000, 2500, 10000]


# --- what pays ------------------------------------------------------------------------------


def test_allowance_is_used_first_then_credits(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=60, profiles_per_month=2)
    fundings = [_charge(db, ws, "influencer_unlock", f"creator:{n}") for n in range(4)]
    assert [(e.funding, e.amount) for e in fundings] == [
        (Funding.allowance, 0),
        (Funding.allowance, 0),
        (Funding.credits, -25),
        (Funding.credits, -25),
    ]
    assert _balance(db, ws) == 10
    with pytest.raises(InsufficientCredits) as refused:
        _charge(db, ws, "influencer_unlock", "creator:9")
    assert refused.value.details["price"] == 25
    assert refused.value.details["balance"] == 10
    assert refused.value.details["allowance_remaining"] == 0
    assert "25 credits" in refused.value.message and "10" in refused.value.message
    _assert_ledger_is_the_balance(db, ws)


def test_free_units_come_before_credits_each_cycle(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "free", credits=100)
    entries = [_charge(db, ws, "bulk_export", f"list:{n}") for n in range(2)]
    assert [(e.funding, e.amount) for e in entries] == [(Funding.free, 0), (Funding.credits, -50)]
    with db.session(readonly=True) as session:
        q = usage.quote(session, ws.workspace_id, "discovery_pagination", 5)
        assert (q.funding, q.credits, q.free_remaining) == (Funding.free, 0, 5)
        # 6 pages do not fit in 5 free ones: the quantity is paid from one source.
        q = usage.quote(session, ws.workspace_id, "discovery_pagination", 6)
        assert (q.funding, q.credits) == (Funding.credits, 60)
        assert q.can_perform is False  # 50 left
        assert q.reason is not None and "60 credits" in q.reason


def test_an_allowance_is_shared_by_its_actions_only(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", profiles_per_month=1, posts_per_month=1)
    _charge(db, ws, "influencer_unlock", "creator:1")
    with db.session(readonly=True) as session:
        allowances = {a.allowance: a for a in usage.allowances(session, ws.workspace_id).allowances}
    assert (allowances["profiles"].used, allowances["profiles"].remaining) == (1, 0)
    assert (allowances["posts"].used, allowances["posts"].remaining) == (0, 1)
    assert _charge(db, ws, "post_analytics", "post:1").funding == Funding.allowance


def test_reserved_credits_are_not_available_to_others_until_released(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=30, **NO_ALLOWANCE)
    with db.session() as session:
        held = service.reserve(
            session, ws.workspace_id, "influencer_unlock", reference="creator:1", actor_user_id=None
        ).id
    with db.session(readonly=True) as session:
        bal = usage.balance(session, ws.workspace_id)
    assert (bal.balance, bal.held, bal.available) == (30, 25, 5)
    with pytest.raises(InsufficientCredits):
        _charge(db, ws, "influencer_unlock", "creator:2")
    with db.session() as session:
        service.release(session, held, "the build failed")
    assert _charge(db, ws, "influencer_unlock", "creator:2").amount == -25
    assert [r.kind for r in _ledger(db, ws)] == [
        LedgerKind.plan_change,
        LedgerKind.grant,
        LedgerKind.charge,
    ]


def test_settle_charges_once_and_a_released_hold_cannot_be_settled(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=100, **NO_ALLOWANCE)
    with db.session() as session:
        first = service.reserve(
            session,
            ws.workspace_id,
            "campaign_analysis",
            reference="campaign:1",
            actor_user_id=None,
        ).id
        second = service.reserve(
            session,
            ws.workspace_id,
            "campaign_analysis",
            reference="campaign:2",
            actor_user_id=None,
        ).id
    with db.session() as session:
        entry = service.settle(session, first)
        assert service.settle(session, first).id == entry.id  # settling again charges nothing
        service.release(session, second, "abandoned")
    with db.session() as session, pytest.raises(Conflict, match="released"):
        service.settle(session, second)
    with db.session() as session, pytest.raises(Conflict, match="already charged"):
        service.release(session, first, "too late")
    assert _balance(db, ws) == 90
    _assert_ledger_is_the_balance(db, ws)


def test_expired_holds_count_nothing_and_the_sweep_releases_them(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=25, **NO_ALLOWANCE)
    start = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        with db.session() as session:
            stale = service.reserve(
                session,
                ws.workspace_id,
                "influencer_unlock",
                reference="creator:1",
                actor_user_id=None,
            ).id
    with time_machine.travel(start + dt.timedelta(minutes=11), tick=False):
        with db.session(readonly=True) as session:
            assert usage.balance(session, ws.workspace_id).available == 25
        with db.session() as session:
            assert service.release_expired(session) == 1
            assert service.release_expired(session) == 0
        _charge(db, ws, "influencer_unlock", "creator:2")
    with db.session(readonly=True) as session:
        assert session.get(Reservation, stale).status == ReservationStatus.released  # type: ignore[union-attr]
    assert _balance(db, ws) == 0


# --- cycles ---------------------------------------------------------------------------------


def test_allowances_reset_at_the_cycle_start_in_the_workspace_zone(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, ws.workspace_id)
        assert workspace is not None
        workspace.timezone = "America/New_York"
    # Subscribed on 31 January, 23:30 in New York (04:30 UTC on 1 February).
    anchor = dt.datetime(2027, 2, 1, 4, 30, tzinfo=dt.UTC)
    with time_machine.travel(anchor, tick=False):
        setup_wallet(ws, "free", credits=0)  # 5 profiles a month
        for n in range(5):
            _charge(db, ws, "influencer_unlock", f"creator:{n}")
        with pytest.raises(InsufficientCredits):
            _charge(db, ws, "influencer_unlock", "creator:5")
    # February has no 31st: the next cycle starts on 28 February 23:30 New York time.
    renewal = dt.datetime(2027, 3, 1, 4, 30, tzinfo=dt.UTC)
    with time_machine.travel(renewal - dt.timedelta(minutes=1), tick=False):
        with db.session(readonly=True) as session:
            start, end = wallets.cycle_bounds(session, ws.workspace_id)
            assert (start, end) == (anchor, renewal)
        with pytest.raises(InsufficientCredits):
            _charge(db, ws, "influencer_unlock", "creator:5")
    with time_machine.travel(renewal, tick=False):
        entry = _charge(db, ws, "influencer_unlock", "creator:5")
        assert entry.funding == Funding.allowance
        assert entry.cycle_start == dt.date(2027, 2, 28)  # the New York date
        with db.session(readonly=True) as session:
            start, end = wallets.cycle_bounds(session, ws.workspace_id)
        # Then the 31st again: 31 March 23:30 EDT is 1 April 03:30 UTC (DST began).
        assert (start, end) == (renewal, dt.datetime(2027, 4, 1, 3, 30, tzinfo=dt.UTC))


def test_cycle_of_clips_the_anchor_day_to_each_month() -> None:
    from zoneinfo import ZoneInfo

    utc = ZoneInfo("UTC")
    anchor = dt.datetime(2027, 1, 31, 10, 0, tzinfo=dt.UTC)
    at = dt.datetime(2027, 5, 15, tzinfo=dt.UTC)
    assert wallets.cycle_of(anchor, utc, at) == (
        dt.datetime(2027, 4, 30, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 5, 31, 10, 0, tzinfo=dt.UTC),
    )
    # Before the anchor (a clock behind the subscription): the first cycle.
    assert wallets.cycle_of(anchor, utc, anchor - dt.timedelta(days=3))[0] == anchor


# --- idempotency ----------------------------------------------------------------------------


def test_a_retried_charge_with_its_key_is_charged_once(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=100, **NO_ALLOWANCE)
    first = _charge(db, ws, "campaign_analysis", "campaign:1", idempotency_key="req-1")
    again = _charge(db, ws, "campaign_analysis", "campaign:1", idempotency_key="req-1")
    assert again.id == first.id
    assert _balance(db, ws) == 90
    with pytest.raises(Conflict, match="already used"):
        _charge(db, ws, "campaign_analysis", "campaign:2", idempotency_key="req-1")
    with pytest.raises(Conflict, match="already used"):
        _charge(db, ws, "bulk_export", "campaign:1", idempotency_key="req-1")
    assert _balance(db, ws) == 90


def test_a_replayed_grant_credits_nothing(db: Database, ws: WorkspaceFixture) -> None:
    with db.session() as session:
        first = service.grant_credits(
            session,
            ws.workspace_id,
            1000,
            kind="topup",
            reason="top-up",
            idempotency_key="stripe:evt_1",
        )
    with db.session() as session:
        again = service.grant_credits(
            session,
            ws.workspace_id,
            1000,
            kind="topup",
            reason="top-up",
            idempotency_key="stripe:evt_1",
        )
    assert again.id == first.id
    assert _balance(db, ws) == 1000
    assert len(_ledger(db, ws)) == 1


def test_keys_belong_to_their_workspace(
    db: Database, ws: WorkspaceFixture, other: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=50, **NO_ALLOWANCE)
    setup_wallet(other, "standard", credits=50, **NO_ALLOWANCE)
    _charge(db, ws, "campaign_analysis", "campaign:1", idempotency_key="same")
    _charge(db, other, "campaign_analysis", "campaign:1", idempotency_key="same")
    assert (_balance(db, ws), _balance(db, other)) == (40, 40)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        (0, "between 1"),
        (-5, "between 1"),
        (2.5, "whole number"),
        ("10", "whole number"),
        (True, "whole number"),
    ],
)
def test_grants_of_bad_amounts_are_422_and_write_nothing(
    db: Database, ws: WorkspaceFixture, credits: object, message: str
) -> None:
    with db.session() as session, pytest.raises(InvalidInput, match=message):
        service.grant_credits(session, ws.workspace_id, credits, reason="x")  # type: ignore[arg-type]
    assert _ledger(db, ws) == []
    assert _balance(db, ws) == 0


def test_unknown_actions_and_bad_quantities_are_422(
    db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=100)
    before = len(_ledger(db, ws))
    with pytest.raises(InvalidInput, match="unknown action 'teleport'; known: advanced_search"):
        _charge(db, ws, "teleport", "x")
    for quantity in (0, -1, 1.5, 10_001):
        with pytest.raises(InvalidInput):
            _charge(db, ws, "campaign_analysis", "x", quantity=quantity)
    with pytest.raises(InvalidInput, match="idempotency key"):
        _charge(db, ws, "campaign_analysis", "x", idempotency_key="k" * 201)
    with db.session() as session, pytest.raises(NotFound, match="unknown plan 'gold'"):
        service.set_plan(session, ws.workspace_id, "gold", reason="x")
    assert len(_ledger(db, ws)) == before
    assert _balance(db, ws) == 100


def test_the_ledger_is_append_only(db: Database, ws: WorkspaceFixture) -> None:
    with db.session() as session:
        service.grant_credits(session, ws.workspace_id, 10, reason="gift")
    with db.session() as session:
        entry = session.scalars(select(LedgerEntry)).one()
        entry.amount = 1000
        with pytest.raises(LedgerIsAppendOnly):
            session.flush()
        session.rollback()
    with db.session() as session:
        session.delete(session.scalars(select(LedgerEntry)).one())
        with pytest.raises(LedgerIsAppendOnly):
            session.flush()
        session.rollback()
    assert [e.amount for e in _ledger(db, ws)] == [10]


def test_a_plan_change_is_a_ledger_row_naming_both_plans(
    db: Database, ws: WorkspaceFixture
) -> None:
    with db.session() as session:
        service.set_plan(
            session, ws.workspace_id, "standard", actor_user_id=ws.owner_id, reason="upgrade"
        )
    rows = _ledger(db, ws)
    assert [(r.kind, r.amount, r.actor_user_id) for r in rows] == [
        (LedgerKind.plan_change, 0, ws.owner_id)
    ]
    assert rows[0].description == "plan premium -> standard: upgrade"
    with db.session(readonly=True) as session:
        assert wallets.wallet_for(session, ws.workspace_id).plan_code == "standard"
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
