"""Wallets, the append-only ledger, quotes, and spending credits.

How an action is paid: its free units this cycle first (``free_per_month``), then the plan's
monthly allowance it draws on (``allowance``), then top-up credits from the balance. A
quantity is paid from one source: the first that covers all of it.

Spending goes through a reservation: ``reserve`` locks the wallet row, checks what is
available (the balance less credits held by other actions in progress; allowances and free
units less what this cycle's ledger and holds used) and holds the price for ten minutes;
``settle`` turns the hold into a ledger row and changes the balance in the caller's
transaction; ``release`` gives it back. ``charge`` does both at once for actions whose whole
effect is a write in the same transaction. Every change of a balance appends its ledger row
in the same transaction; the ledger is also the usage counter (no separate counter to drift).

Cycles are monthly anniversaries of the wallet's ``cycle_anchor`` in the workspace's time zone
(day clipped to the month's length: an anchor on the 31st renews on 30 April, 28/29 February).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.billing import schemas
from socialpulse.billing.models import (
    Allowance,
    Funding,
    LedgerEntry,
    LedgerKind,
    Plan,
    PricingRule,
    Reservation,
    ReservationStatus,
    TopupPackage,
    Wallet,
)
from socialpulse.config import get_settings
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Workspace

RESERVATION_TTL = dt.timedelta(minutes=10)
MAX_KEY_LENGTH = 200
MAX_REFERENCE_LENGTH = 200
GRANT_KINDS = frozenset(
    {LedgerKind.grant, LedgerKind.topup, LedgerKind.refund, LedgerKind.adjustment}
)


# --- input checks ---------------------------------------------------------------------------


def _whole_number(value: object, what: str, *, minimum: int, maximum: int) -> int:
    # bool is an int subclass: True credits are a bug in the caller, not one credit.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number, got {value!r}")
    if value < minimum or value > maximum:
        raise InvalidInput(f"{what} must be between {minimum:,} and {maximum:,}, got {value:,}")
    return value


def _check_quantity(quantity: object) -> int:
    return _whole_number(quantity, "quantity", minimum=1, maximum=schemas.MAX_QUANTITY)


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters")
    return key


def _check_reference(reference: str) -> str:
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidInput(f"a reference is at most {MAX_REFERENCE_LENGTH} characters")
    return reference


# --- catalogue ------------------------------------------------------------------------------


def get_plan(session: Session, code: str) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        known = ", ".join(p.code for p in list_plans(session))
        raise NotFound(f"unknown plan {code!r}; known: {known}")
    return plan


def list_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.sort_order, Plan.id)))


def get_rule(session: Session, action: str) -> PricingRule:
    rule = session.scalar(select(PricingRule).where(PricingRule.action == action))
    if rule is None:
        known = ", ".join(r.action for r in list_rules(session))
        raise InvalidInput(f"unknown action {action!r}; known: {known}")
    return rule


def list_rules(session: Session) -> list[PricingRule]:
    return list(session.scalars(select(PricingRule).order_by(PricingRule.action)))


def list_topups(session: Session, *, active_only: bool = True) -> list[TopupPackage]:
    stmt = select(TopupPackage).order_by(TopupPackage.credits)
    if active_only:
        stmt = stmt.where(TopupPackage.active.is_(True))
    return list(session.scalars(stmt))


def discounted_price(price_cents: int, plan: Plan) -> int:
    """A top-up's price for a workspace on `plan` (Premium pays 20 % less), in whole cents."""
    return (price_cents * (100 - plan.topup_discount_pct) + 50) // 100


def topups_for(session: Session, plan: Plan) -> list[schemas.TopupRead]:
    return [
        schemas.TopupRead(
            code=p.code,
            credits=p.credits,
            price_cents=p.price_cents,
            discounted_price_cents=discounted_price(p.price_cents, plan),
        )
        for p in list_topups(session)
    ]


def update_plan(session: Session, code: str, changes: schemas.PlanUpdate) -> Plan:
    """The instance administrator's edit; only the fields set in `changes` change."""
    plan = get_plan(session, code)
    for name in changes.model_fields_set:
        value = getattr(changes, name)
        if value is None and name != "stripe_price_id":
            raise InvalidInput(f"{name} cannot be null")
        setattr(plan, name, value)
    plan.updated_at = utcnow()
    session.flush()
    return plan


def update_rule(session: Session, action: str, changes: schemas.PricingRuleUpdate) -> PricingRule:
    rule = get_rule(session, action)
    for name in changes.model_fields_set:
        value = getattr(changes, name)
        if value is None and name not in ("allowance", "access_days"):
            raise InvalidInput(f"{name} cannot be null")
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    session.flush()
    return rule


# --- wallets and cycles ---------------------------------------------------------------------


def _workspace(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found")
    return workspace


def _new_wallet(session: Session, workspace_id: int) -> Wallet:
    workspace = _workspace(session, workspace_id)
    now = utcnow()
    # A workspace's subscription starts with the workspace: its first cycle is its first month.
    return Wallet(
        workspace_id=workspace_id,
        plan_code=get_settings().default_plan,
        balance=0,
        cycle_anchor=workspace.created_at or now,
        created_at=now,
        updated_at=now,
    )


def wallet_for(session: Session, workspace_id: int, *, lock: bool = False) -> Wallet:
    """The workspace's wallet, created on first use on the default plan
    (SOCIALPULSE_DEFAULT_PLAN). ``lock=True`` locks its row until commit (PostgreSQL
    ``FOR UPDATE``; SQLite writers are serialised by their BEGIN IMMEDIATE): every change of a
    balance, allowance or hold takes this lock first, so concurrent spenders queue here."""
    stmt = select(Wallet).where(Wallet.workspace_id == workspace_id)
    if lock:
        stmt = stmt.with_for_update()
    wallet = session.scalar(stmt.execution_options(populate_existing=True))
    if wallet is not None:
        return wallet
    if session.info.get("readonly"):
        # A read unit of work cannot write (SQLite would refuse): it sees the wallet the
        # workspace would get, unsaved.
        return _new_wallet(session, workspace_id)
    candidate = _new_wallet(session, workspace_id)
    try:
        with session.begin_nested():
            session.add(candidate)
    except IntegrityError:
        # Created by a concurrent request between our read and our insert: use theirs.
        pass
    wallet = session.scalar(stmt.execution_options(populate_existing=True))
    if wallet is None:  # pragma: no cover - the unique row exists after either branch
        raise RuntimeError(f"wallet of workspace {workspace_id} vanished")
    return wallet


def _zone(workspace: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def workspace_zone(session: Session, workspace_id: int) -> ZoneInfo:
    """The workspace's time zone (cycles and months are counted in it)."""
    return _zone(_workspace(session, workspace_id))


def _add_months(local: dt.datetime, months: int, day: int) -> dt.datetime:
    years, month0 = divmod(local.month - 1 + months, 12)
    year = local.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return local.replace(year=year, month=month0 + 1, day=min(day, last))


def cycle_of(
    anchor: dt.datetime, zone: ZoneInfo, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The cycle containing `now`: monthly anniversaries of `anchor`'s wall time in `zone`."""
    start_local = anchor.astimezone(zone).replace(tzinfo=None)
    now_local = now.astimezone(zone).replace(tzinfo=None)
    day = start_local.day
    months = (now_local.year - start_local.year) * 12 + (now_local.month - start_local.month)
    months = max(months, 0)
    begin = _add_months(start_local, months, day)
    if begin > now_local and months > 0:
        months -= 1
        begin = _add_months(start_local, months, day)
    end = _add_months(start_local, months + 1, day)
    return (
        begin.replace(tzinfo=zone).astimezone(dt.UTC),
        end.replace(tzinfo=zone).astimezone(dt.UTC),
    )


def cycle_bounds(
    session: Session, workspace_id: int, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the workspace's billing cycle at `now` (aware UTC datetimes)."""
    wallet = wallet_for(session, workspace_id)
    return cycle_of(wallet.cycle_anchor, _zone(_workspace(session, workspace_id)), now or utcnow())


def _cycle_date(start: dt.datetime, workspace: Workspace) -> dt.date:
    return start.astimezone(_zone(workspace)).date()


# --- usage: the ledger and the holds are the counters -----------------------------------------


@dataclass
class _Usage:
    free_used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    free_held: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allowance_used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allowance_held: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    credits_held: int = 0
    holds: int = 0


def _usage(
    session: Session,
    workspace_id: int,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    exclude_reservation: int | None = None,
) -> _Usage:
    usage = _Usage()
    spent = session.execute(
        select(
            LedgerEntry.funding,
            LedgerEntry.allowance,
            LedgerEntry.action,
            func.coalesce(func.sum(LedgerEntry.units), 0),
        )
        .where(
            LedgerEntry.workspace_id == workspace_id,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            LedgerEntry.funding.in_([Funding.free, Funding.allowance]),
        )
        .group_by(LedgerEntry.funding, LedgerEntry.allowance, LedgerEntry.action)
    )
    for funding, allowance, action, units in spent:
        if funding == Funding.free and action is not None:
            usage.free_used[action] += int(units)
        elif funding == Funding.allowance and allowance is not None:
            usage.allowance_used[allowance.value] += int(units)
    holds = select(
        Reservation.funding,
        Reservation.allowance,
        Reservation.action,
        func.coalesce(func.sum(Reservation.units), 0),
        func.coalesce(func.sum(Reservation.credits), 0),
        func.count(),
    ).where(
        Reservation.workspace_id == workspace_id,
        Reservation.status == ReservationStatus.held,
        # An expired hold counts nothing: the action it held for is presumed dead.
        Reservation.expires_at > now,
    )
    if exclude_reservation is not None:
        holds = holds.where(Reservation.id != exclude_reservation)
    for funding, allowance, action, units, credits, count in session.execute(
        holds.group_by(Reservation.funding, Reservation.allowance, Reservation.action)
    ):
        usage.holds += int(count)
        if funding == Funding.free:
            usage.free_held[action] += int(units)
        elif funding == Funding.allowance and allowance is not None:
            usage.allowance_held[allowance.value] += int(units)
        elif funding == Funding.credits:
            usage.credits_held += int(credits)
    return usage


def _quote(
    wallet: Wallet,
    plan: Plan,
    rule: PricingRule,
    quantity: int,
    usage: _Usage,
) -> schemas.Quote:
    price = rule.credits * quantity
    free_remaining = max(
        0, rule.free_per_month - usage.free_used[rule.action] - usage.free_held[rule.action]
    )
    allowance_remaining: int | None = None
    if rule.allowance is not None:
        key = rule.allowance.value
        allowance_remaining = max(
            0,
            plan.allowance_of(rule.allowance)
            - usage.allowance_used[key]
            - usage.allowance_held[key],
        )
    available = wallet.balance - usage.credits_held
    credits = 0
    reason: str | None = None
    if not rule.active:
        funding, reason = Funding.none, f"the action {rule.action!r} is not offered right now"
    elif free_remaining >= quantity:
        funding = Funding.free
    elif allowance_remaining is not None and allowance_remaining >= quantity:
        funding = Funding.allowance
    else:
        funding, credits = Funding.credits, price
        if available < price:
            reason = (
                f"{rule.action} costs {price:,} credits and the balance is {wallet.balance:,}"
                + (f" ({available:,} available)" if available != wallet.balance else "")
            )
    return schemas.Quote(
        action=rule.action,
        quantity=quantity,
        credits=credits,
        funding=funding,
        price=price,
        free_remaining=free_remaining,
        allowance=rule.allowance,
        allowance_remaining=allowance_remaining,
        balance=wallet.balance,
        available=available,
        can_perform=reason is None,
        reason=reason,
        access_days=rule.access_days,
    )


def _plan_of(session: Session, wallet: Wallet) -> Plan:
    return get_plan(session, wallet.plan_code)


def quote(session: Session, workspace_id: int, action: str, quantity: int = 1) -> schemas.Quote:
    """What `action` × `quantity` would cost the workspace now and what would pay for it.
    Writes nothing (safe in a read transaction)."""
    quantity = _check_quantity(quantity)
    rule = get_rule(session, action)
    wallet = wallet_for(session, workspace_id)
    now = utcnow()
    start, end = cycle_of(wallet.cycle_anchor, _zone(_workspace(session, workspace_id)), now)
    return _quote(
        wallet,
        _plan_of(session, wallet),
        rule,
        quantity,
        _usage(session, workspace_id, start, end, now),
    )


def _insufficient(session: Session, plan: Plan, q: schemas.Quote) -> InsufficientCredits:
    topups = [
        {"code": t.code, "credits": t.credits, "price_cents": t.discounted_price_cents}
        for t in topups_for(session, plan)
    ]
    return InsufficientCredits(
        f"not enough credits: {q.reason}; buy a top-up or upgrade the plan",
        details={
            "action": q.action,
            "quantity": q.quantity,
            "price": q.price,
            "balance": q.balance,
            "available": q.available,
            "allowance": q.allowance.value if q.allowance else None,
            "allowance_remaining": q.allowance_remaining,
            "free_remaining": q.free_remaining,
            "topups": topups,
        },
    )


# --- spending -------------------------------------------------------------------------------


def find_charge(session: Session, workspace_id: int, idempotency_key: str) -> LedgerEntry | None:
    """The ledger row an earlier request with this key wrote, if any (a retried request)."""
    return session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.workspace_id == workspace_id,
            LedgerEntry.idempotency_key == idempotency_key,
        )
    )


def _same_request(
    action: str, reference: str, *, got_action: str | None, got_reference: str
) -> bool:
    return got_action == action and got_reference == reference


def key_reused(key: str, action: str | None, reference: str) -> Conflict:
    return Conflict(
        f"the Idempotency-Key {key!r} was already used for another request "
        f"({action or 'no action'} on {reference or 'nothing'}); send a new key",
        details={"idempotency_key": key, "action": action, "reference": reference},
    )


def reserve(
    session: Session,
    workspace_id: int,
    action: str,
    *,
    quantity: int = 1,
    reference: str,
    actor_user_id: int | None,
    idempotency_key: str | None = None,
    actor_api_key_id: int | None = None,
) -> Reservation:
    """Hold the price of `action` for ten minutes, or raise InsufficientCredits (402).

    With a key: the reservation of an earlier request with the same key and action is returned
    when it was charged (its ``ledger_entry_id`` is set); one still held by a request in
    progress is a 409; a released one is held again. The same key for another action or
    reference is a 409."""
    quantity = _check_quantity(quantity)
    reference = _check_reference(reference)
    key = _check_key(idempotency_key)
    rule = get_rule(session, action)
    wallet = wallet_for(session, workspace_id, lock=True)
    now = utcnow()
    existing: Reservation | None = None
    if key is not None:
        existing = session.scalar(
            select(Reservation)
            .where(Reservation.workspace_id == workspace_id, Reservation.idempotency_key == key)
            .execution_options(populate_existing=True)
        )
        if existing is not None:
            if not _same_request(
                action, reference, got_action=existing.action, got_reference=existing.reference
            ):
                raise key_reused(key, existing.action, existing.reference)
            if existing.status == ReservationStatus.charged:
                return existing
            if existing.status == ReservationStatus.held and existing.expires_at > now:
                raise Conflict(
                    f"a request with the Idempotency-Key {key!r} is still in progress; "
                    "retry when it has finished",
                    details={"idempotency_key": key, "reservation_id": existing.id},
                )
        else:
            earlier = find_charge(session, workspace_id, key)
            if earlier is not None:
                raise key_reused(key, earlier.action, earlier.reference)
    workspace = _workspace(session, workspace_id)
    start, end = cycle_of(wallet.cycle_anchor, _zone(workspace), now)
    plan = _plan_of(session, wallet)
    usage = _usage(
        session,
        workspace_id,
        start,
        end,
        now,
        exclude_reservation=existing.id if existing is not None else None,
    )
    q = _quote(wallet, plan, rule, quantity, usage)
    if not rule.active:
        raise Conflict(q.reason or "this action is not offered")
    if not q.can_perform:
        raise _insufficient(session, plan, q)
    reservation = existing or Reservation(workspace_id=workspace_id, idempotency_key=key)
    reservation.action = action
    reservation.credits = q.credits
    reservation.funding = q.funding
    reservation.allowance = rule.allowance if q.funding == Funding.allowance else None
    reservation.units = quantity
    reservation.reference = reference
    reservation.actor_user_id = actor_user_id
    reservation.actor_api_key_id = actor_api_key_id
    reservation.status = ReservationStatus.held
    reservation.created_at = now
    reservation.expires_at = now + RESERVATION_TTL
    reservation.ledger_entry_id = None
    reservation.released_reason = None
    if existing is None:
        session.add(reservation)
    session.flush()
    return reservation


def _append(
    session: Session,
    wallet: Wallet,
    *,
    kind: LedgerKind,
    amount: int,
    now: dt.datetime,
    action: str | None = None,
    funding: Funding = Funding.none,
    allowance: Allowance | None = None,
    units: int = 0,
    reference: str = "",
    actor_user_id: int | None = None,
    idempotency_key: str | None = None,
    description: str = "",
    actor_api_key_id: int | None = None,
) -> LedgerEntry:
    """The one place a balance changes: the wallet and its ledger row, in one flush."""
    if wallet.balance + amount < 0:
        raise InvalidInput(
            f"the balance cannot go below 0 (it is {wallet.balance:,}, the change {amount:,})"
        )
    workspace = _workspace(session, wallet.workspace_id)
    start, _ = cycle_of(wallet.cycle_anchor, _zone(workspace), now)
    wallet.balance += amount
    wallet.updated_at = now
    entry = LedgerEntry(
        workspace_id=wallet.workspace_id,
        created_at=now,
        kind=kind,
        action=action,
        amount=amount,
        balance_after=wallet.balance,
        funding=funding,
        allowance=allowance,
        units=units,
        cycle_start=_cycle_date(start, workspace),
        reference=reference,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        idempotency_key=idempotency_key,
        description=description[:500],
    )
    session.add(entry)
    session.flush()
    return entry


def _locked_reservation(session: Session, reservation_id: int) -> tuple[Reservation, Wallet]:
    found = session.get(Reservation, reservation_id)
    if found is None:
        raise NotFound(f"reservation {reservation_id} not found")
    # Wallet first, then the reservation re-read under its lock: a concurrent settle or
    # release of the same reservation finished before we look at its status.
    wallet = wallet_for(session, found.workspace_id, lock=True)
    reservation = session.scalar(
        select(Reservation)
        .where(Reservation.id == reservation_id)
        .execution_options(populate_existing=True)
    )
    assert reservation is not None
    return reservation, wallet


def settle(session: Session, reservation_id: int) -> LedgerEntry:
    """Charge a held reservation: its ledger row and the balance change, in the caller's
    transaction (commit it with the action's own writes). Settling a charged reservation
    again returns its ledger row; a released one is a 409. An expired hold no longer counted:
    it is charged only if what it needs is still there (else released and 402)."""
    reservation, wallet = _locked_reservation(session, reservation_id)
    if reservation.status == ReservationStatus.charged:
        entry = session.get(LedgerEntry, reservation.ledger_entry_id)
        if entry is None:  # pragma: no cover - charged reservations keep their row
            raise NotFound(f"the ledger row of reservation {reservation_id} is gone")
        return entry
    if reservation.status == ReservationStatus.released:
        raise Conflict(
            f"reservation {reservation_id} was released ({reservation.released_reason}); "
            "nothing was charged: reserve again"
        )
    now = utcnow()
    rule = get_rule(session, reservation.action)
    if reservation.expires_at <= now:
        plan = _plan_of(session, wallet)
        start, end = cycle_of(
            wallet.cycle_anchor, _zone(_workspace(session, wallet.workspace_id)), now
        )
        q = _quote(
            wallet,
            plan,
            rule,
            reservation.units,
            _usage(
                session, wallet.workspace_id, start, end, now, exclude_reservation=reservation.id
            ),
        )
        if not q.can_perform:
            reservation.status = ReservationStatus.released
            reservation.released_reason = "expired, and no longer covered"
            session.flush()
            raise _insufficient(session, plan, q)
        reservation.funding = q.funding
        reservation.credits = q.credits
        reservation.allowance = rule.allowance if q.funding == Funding.allowance else None
    entry = _append(
        session,
        wallet,
        kind=LedgerKind.charge,
        amount=-reservation.credits,
        now=now,
        action=reservation.action,
        funding=reservation.funding,
        allowance=reservation.allowance,
        units=reservation.units,
        reference=reservation.reference,
        actor_user_id=reservation.actor_user_id,
        actor_api_key_id=reservation.actor_api_key_id,
        idempotency_key=reservation.idempotency_key,
        description=rule.description,
    )
    reservation.status = ReservationStatus.charged
    reservation.ledger_entry_id = entry.id
    session.flush()
    return entry


def reservation_status(session: Session, reservation_id: int) -> ReservationStatus | None:
    return session.scalar(select(Reservation.status).where(Reservation.id == reservation_id))


def release(session: Session, reservation_id: int, reason: str) -> None:
    """Give a held reservation back (the action failed or was abandoned); nothing is
    charged. Releasing a released one does nothing; a charged one is a 409 (refund it)."""
    reservation, _wallet = _locked_reservation(session, reservation_id)
    if reservation.status == ReservationStatus.released:
        return
    if reservation.status == ReservationStatus.charged:
        raise Conflict(f"reservation {reservation_id} was already charged; refund it instead")
    reservation.status = ReservationStatus.released
    reservation.released_reason = (reason or "released")[:200]
    session.flush()


def charge(
    session: Session,
    workspace_id: int,
    action: str,
    *,
    quantity: int = 1,
    reference: str,
    actor_user_id: int | None,
    idempotency_key: str | None = None,
    actor_api_key_id: int | None = None,
) -> LedgerEntry:
    """Reserve and settle in one transaction, for actions whose whole effect is a write in
    this same transaction. A retried call with the same key returns the first charge."""
    key = _check_key(idempotency_key)
    if key is not None:
        earlier = find_charge(session, workspace_id, key)
        if earlier is not None:
            if not _same_request(
                action, reference, got_action=earlier.action, got_reference=earlier.reference
            ):
                raise key_reused(key, earlier.action, earlier.reference)
            return earlier
    reservation = reserve(
        session,
        workspace_id,
        action,
        quantity=quantity,
        reference=reference,
        actor_user_id=actor_user_id,
        idempotency_key=key,
        actor_api_key_id=actor_api_key_id,
    )
    return settle(session, reservation.id)


def release_expired(session: Session, now: dt.datetime | None = None, *, limit: int = 1000) -> int:
    """Release held reservations past their expiry (the periodic sweep); says how many.
    They already count nothing; releasing them keeps the held list honest."""
    now = now or utcnow()
    ids = list(
        session.scalars(
            select(Reservation.id)
            .where(Reservation.status == ReservationStatus.held, Reservation.expires_at <= now)
            .order_by(Reservation.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    result = session.execute(
        update(Reservation)
        .where(Reservation.id.in_(ids), Reservation.status == ReservationStatus.held)
        .values(status=ReservationStatus.released, released_reason="expired")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- crediting and plans --------------------------------------------------------------------


def grant_credits(
    session: Session,
    workspace_id: int,
    credits: int,
    *,
    kind: LedgerKind | str = LedgerKind.grant,
    reason: str,
    actor_user_id: int | None = None,
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Add top-up credits with their ledger row. ``credits`` is a whole number > 0 (422
    otherwise). With a key, a second call returns the first row and adds nothing (a replayed
    payment event)."""
    credits = _whole_number(credits, "credits", minimum=1, maximum=schemas.MAX_CREDITS)
    try:
        kind = LedgerKind(kind)
    except ValueError:
        raise InvalidInput(f"unknown ledger kind {kind!r}") from None
    if kind not in GRANT_KINDS:
        raise InvalidInput(f"credits cannot be added as {kind.value!r}")
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required (it is shown in the ledger)")
    key = _check_key(idempotency_key)
    reference = _check_reference(reference or "")
    wallet = wallet_for(session, workspace_id, lock=True)
    if key is not None:
        earlier = find_charge(session, workspace_id, key)
        if earlier is not None:
            return earlier
    return _append(
        session,
        wallet,
        kind=kind,
        amount=credits,
        now=utcnow(),
        reference=reference,
        actor_user_id=actor_user_id,
        idempotency_key=key,
        description=reason.strip(),
    )


def set_plan(
    session: Session,
    workspace_id: int,
    plan_code: str,
    *,
    actor_user_id: int | None = None,
    reason: str,
    restart_cycle: bool = True,
) -> Wallet:
    """Move the workspace to another plan, with a ``plan_change`` ledger row (amount 0).
    Refused (409, with the reason) when the plan has fewer seats than the workspace uses
    (members plus pending invitations) and the operator set no seat limit of their own.
    ``restart_cycle``: allowances start afresh from now (a new subscription)."""
    plan = get_plan(session, plan_code)
    if not plan.active:
        raise InvalidInput(f"plan {plan_code!r} is not offered")
    # Wallet before workspace: the same order as every charge (whose commit bumps the
    # workspace's data version), so the two never wait for each other's lock.
    wallet = wallet_for(session, workspace_id, lock=True)
    workspace, usage = workspace_service.locked_seat_usage(session, workspace_id)
    if workspace.seat_limit is None and usage.used > plan.seats:
        raise Conflict(
            f"the {plan.name} plan has {plan.seats} seats but this workspace uses {usage.used} "
            f"({usage.members} members, {usage.pending_invitations} pending invitations); "
            "remove members or revoke invitations first",
            details={
                "plan": plan.code,
                "seats": plan.seats,
                "members": usage.members,
                "pending_invitations": usage.pending_invitations,
            },
        )
    previous = wallet.plan_code
    now = utcnow()
    wallet.plan_code = plan.code
    if restart_cycle:
        wallet.cycle_anchor = now
    _append(
        session,
        wallet,
        kind=LedgerKind.plan_change,
        amount=0,
        now=now,
        reference=f"plan:{plan.code}",
        actor_user_id=actor_user_id,
        description=f"plan {previous} -> {plan.code}: {reason.strip() or 'changed'}",
    )
    return wallet


def plan_seats(session: Session, workspace_id: int) -> int | None:
    """The seats of the workspace's plan (the seat limit when the operator set none)."""
    code = session.scalar(select(Wallet.plan_code).where(Wallet.workspace_id == workspace_id))
    plan = session.scalar(
        select(Plan.seats).where(Plan.code == (code or get_settings().default_plan))
    )
    return plan


# --- reads ----------------------------------------------------------------------------------


def allowances(session: Session, workspace_id: int) -> schemas.Allowances:
    wallet = wallet_for(session, workspace_id)
    workspace = _workspace(session, workspace_id)
    plan = _plan_of(session, wallet)
    now = utcnow()
    start, end = cycle_of(wallet.cycle_anchor, _zone(workspace), now)
    usage = _usage(session, workspace_id, start, end, now)
    rows = []
    for allowance in Allowance:
        included = plan.allowance_of(allowance)
        used = usage.allowance_used[allowance.value]
        held = usage.allowance_held[allowance.value]
        rows.append(
            schemas.AllowanceUsage(
                allowance=allowance,
                included=included,
                used=used,
                held=held,
                remaining=max(0, included - used - held),
            )
        )
    free = [
        schemas.FreeUsage(
            action=rule.action,
            included=rule.free_per_month,
            used=usage.free_used[rule.action],
            remaining=max(
                0,
                rule.free_per_month - usage.free_used[rule.action] - usage.free_held[rule.action],
            ),
        )
        for rule in list_rules(session)
        if rule.free_per_month > 0
    ]
    return schemas.Allowances(
        plan=plan.code,
        cycle_start=start,
        cycle_end=end,
        timezone=workspace.timezone,
        allowances=rows,
        free=free,
    )


def balance(session: Session, workspace_id: int) -> schemas.Balance:
    wallet = wallet_for(session, workspace_id)
    now = utcnow()
    start, end = cycle_of(wallet.cycle_anchor, _zone(_workspace(session, workspace_id)), now)
    usage = _usage(session, workspace_id, start, end, now)
    return schemas.Balance(
        workspace_id=workspace_id,
        plan=wallet.plan_code,
        balance=wallet.balance,
        held=usage.credits_held,
        available=wallet.balance - usage.credits_held,
        cycle_start=start,
        cycle_end=end,
    )


def ledger_sum(session: Session, workspace_id: int) -> int:
    """The sum of the workspace's ledger amounts: always equal to its wallet's balance."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.workspace_id == workspace_id
        )
    )
    return int(total or 0)
