"""Spending and crediting: reservations, charges, grants and plan changes.

Spending goes through a reservation: ``reserve`` locks the wallet row, checks what is
available (``usage``: the balance less credits held by other actions in progress; allowances
and free units less what this cycle's ledger and holds used) and holds the price for ten
minutes; ``settle`` turns the hold into a ledger row and changes the balance in the caller's
transaction; ``release`` gives it back. ``charge`` does both at once for actions whose whole
effect is a write in the same transaction. Every change of a balance goes through
``ledger.append_entry``, in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.billing import schemas
from socialpulse.billing.ledger import (
    append_entry,
    check_key,
    check_quantity,
    check_reference,
    whole_number,
)
from socialpulse.billing.models import (
    Funding,
    LedgerEntry,
    LedgerKind,
    Plan,
    Reservation,
    ReservationStatus,
    Wallet,
)
from socialpulse.billing.pricing import get_plan, get_rule, plan_of, topups_for
from socialpulse.billing.usage import quote_from, usage_in
from socialpulse.billing.wallets import cycle_of, wallet_for, workspace_of, zone_of
from socialpulse.config import get_settings
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from socialpulse.workspaces import service as workspace_service

RESERVATION_TTL = dt.timedelta(minutes=10)
GRANT_KINDS = frozenset(
    {LedgerKind.grant, LedgerKind.topup, LedgerKind.refund, LedgerKind.adjustment}
)


# --- spending -------------------------------------------------------------------------------


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
    quantity = check_quantity(quantity)
    reference = check_reference(reference)
    key = check_key(idempotency_key)
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
    workspace = workspace_of(session, workspace_id)
    start, end = cycle_of(wallet.cycle_anchor, zone_of(workspace), now)
    plan = plan_of(session, wallet)
    usage = usage_in(
        session,
        workspace_id,
        start,
        end,
        now,
        exclude_reservation=existing.id if existing is not None else None,
    )
    q = quote_from(wallet, plan, rule, quantity, usage)
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
        plan = plan_of(session, wallet)
        start, end = cycle_of(
            wallet.cycle_anchor, zone_of(workspace_of(session, wallet.workspace_id)), now
        )
        q = quote_from(
            wallet,
            plan,
            rule,
            reservation.units,
            usage_in(
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
    entry = append_entry(
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
    key = check_key(idempotency_key)
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
    credits = whole_number(credits, "credits", minimum=1, maximum=schemas.MAX_CREDITS)
    try:
        kind = LedgerKind(kind)
    except ValueError:
        raise InvalidInput(f"unknown ledger kind {kind!r}") from None
    if kind not in GRANT_KINDS:
        raise InvalidInput(f"credits cannot be added as {kind.value!r}")
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required (it is shown in the ledger)")
    key = check_key(idempotency_key)
    reference = check_reference(reference or "")
    wallet = wallet_for(session, workspace_id, lock=True)
    if key is not None:
        earlier = find_charge(session, workspace_id, key)
        if earlier is not None:
            return earlier
    return append_entry(
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
    append_entry(
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
