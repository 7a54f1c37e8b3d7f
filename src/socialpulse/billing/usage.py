"""What a workspace used and holds this cycle, and what follows from it: quotes, the balance
and the allowances it is shown.

How an action is paid: its free units this cycle first (``free_per_month``), then the plan's
monthly allowance it draws on (``allowance``), then top-up credits from the balance. A
quantity is paid from one source: the first that covers all of it. What is available is the
balance less credits held by other actions in progress; allowances and free units less what
this cycle's ledger and holds used (the ledger and the holds are the counters).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.billing import schemas
from socialpulse.billing.ledger import check_quantity
from socialpulse.billing.models import (
    Allowance,
    Funding,
    LedgerEntry,
    Plan,
    PricingRule,
    Reservation,
    ReservationStatus,
    Wallet,
)
from socialpulse.billing.pricing import get_rule, list_rules, plan_of
from socialpulse.billing.wallets import cycle_of, wallet_for, workspace_of, zone_of
from socialpulse.db import utcnow


@dataclass
class Usage:
    free_used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    free_held: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allowance_used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allowance_held: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    credits_held: int = 0
    holds: int = 0


def usage_in(
    session: Session,
    workspace_id: int,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    exclude_reservation: int | None = None,
) -> Usage:
    """What [start, end) used (its ledger rows) and what is held now (unexpired holds);
    ``exclude_reservation`` leaves out the hold being priced again."""
    usage = Usage()
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


def quote_from(
    wallet: Wallet,
    plan: Plan,
    rule: PricingRule,
    quantity: int,
    usage: Usage,
) -> schemas.Quote:
    """The quote for `quantity` of `rule` given `usage`: the pure part of ``quote``."""
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


def quote(session: Session, workspace_id: int, action: str, quantity: int = 1) -> schemas.Quote:
    """What `action` × `quantity` would cost the workspace now and what would pay for it.
    Writes nothing (safe in a read transaction)."""
    quantity = check_quantity(quantity)
    rule = get_rule(session, action)
    wallet = wallet_for(session, workspace_id)
    now = utcnow()
    start, end = cycle_of(wallet.cycle_anchor, zone_of(workspace_of(session, workspace_id)), now)
    return quote_from(
        wallet,
        plan_of(session, wallet),
        rule,
        quantity,
        usage_in(session, workspace_id, start, end, now),
    )


# --- reads ----------------------------------------------------------------------------------


def allowances(session: Session, workspace_id: int) -> schemas.Allowances:
    wallet = wallet_for(session, workspace_id)
    workspace = workspace_of(session, workspace_id)
    plan = plan_of(session, wallet)
    now = utcnow()
    start, end = cycle_of(wallet.cycle_anchor, zone_of(workspace), now)
    usage = usage_in(session, workspace_id, start, end, now)
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
    start, end = cycle_of(wallet.cycle_anchor, zone_of(workspace_of(session, workspace_id)), now)
    usage = usage_in(session, workspace_id, start, end, now)
    return schemas.Balance(
        workspace_id=workspace_id,
        plan=wallet.plan_code,
        balance=wallet.balance,
        held=usage.credits_held,
        available=wallet.balance - usage.credits_held,
        cycle_start=start,
        cycle_end=end,
    )
