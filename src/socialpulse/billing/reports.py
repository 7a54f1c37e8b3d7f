"""Read-only views of a workspace's credits: the ledger (paged, filtered, searched), usage per
cycle, spending per month, the wallet summary, and the instance's totals. They write nothing
(safe in a GET's read transaction); every query names the workspace it reads."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import schemas
from socialpulse.billing import usage as billing_usage
from socialpulse.billing import wallets as billing_wallets
from socialpulse.billing.models import (
    Funding,
    LedgerEntry,
    LedgerKind,
    Reservation,
    ReservationStatus,
    Wallet,
)
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput

MAX_SEARCH_LENGTH = 200


def _page(
    session: Session, stmt: Select[LedgerEntry], page: int, page_size: int
) -> schemas.LedgerPage:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(
        stmt.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return schemas.LedgerPage(
        items=[schemas.LedgerEntryRead.model_validate(row) for row in rows],
        total=int(total or 0),
        page=page,
        page_size=page_size,
    )


def transactions(
    session: Session,
    workspace_id: int,
    *,
    page: int = 1,
    page_size: int = 50,
    kind: LedgerKind | None = None,
    action: str | None = None,
    actor_user_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> schemas.LedgerPage:
    """The workspace's ledger, newest first; `since` inclusive, `until` exclusive."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("'to' must be after 'from'")
    stmt = select(LedgerEntry).where(LedgerEntry.workspace_id == workspace_id)
    if kind is not None:
        stmt = stmt.where(LedgerEntry.kind == kind)
    if action is not None:
        stmt = stmt.where(LedgerEntry.action == action)
    if actor_user_id is not None:
        stmt = stmt.where(LedgerEntry.actor_user_id == actor_user_id)
    if since is not None:
        stmt = stmt.where(LedgerEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(LedgerEntry.created_at < until)
    return _page(session, stmt, page, page_size)


def _like(text: str) -> str:
    # The user's text is matched literally: % and _ are escaped, not wildcards.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_transactions(
    session: Session, workspace_id: int, q: str, *, page: int = 1, page_size: int = 50
) -> schemas.LedgerPage:
    """Ledger rows whose reference, description or action contains `q` (any case)."""
    q = q.strip()
    if not q:
        raise InvalidInput("give some text to search for (q)")
    if len(q) > MAX_SEARCH_LENGTH:
        raise InvalidInput(f"the search text is at most {MAX_SEARCH_LENGTH} characters")
    pattern = _like(q)
    stmt = select(LedgerEntry).where(
        LedgerEntry.workspace_id == workspace_id,
        or_(
            func.lower(LedgerEntry.reference).like(pattern, escape="\\"),
            func.lower(LedgerEntry.description).like(pattern, escape="\\"),
            func.lower(func.coalesce(LedgerEntry.action, "")).like(pattern, escape="\\"),
        ),
    )
    return _page(session, stmt, page, page_size)


def monthly_usage(
    session: Session, workspace_id: int, now: dt.datetime | None = None
) -> schemas.MonthlyUsage:
    """This billing cycle's actions: units by what paid for them, credits spent and added."""
    start, end = billing_wallets.cycle_bounds(session, workspace_id, now)
    rows = session.execute(
        select(
            LedgerEntry.action,
            LedgerEntry.funding,
            func.coalesce(func.sum(LedgerEntry.units), 0),
            func.coalesce(func.sum(LedgerEntry.amount), 0),
        )
        .where(
            LedgerEntry.workspace_id == workspace_id,
            LedgerEntry.kind == LedgerKind.charge,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .group_by(LedgerEntry.action, LedgerEntry.funding)
    )
    by_action: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for action, funding, units, amount in rows:
        entry = by_action[action or ""]
        entry["units"] += int(units)
        entry["credits"] += -int(amount)
        entry[f"{funding.value}_units"] += int(units)
    added = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.workspace_id == workspace_id,
            LedgerEntry.amount > 0,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
    )
    actions = [
        schemas.ActionUsage(
            action=action,
            units=v["units"],
            credits=v["credits"],
            free_units=v["free_units"],
            allowance_units=v["allowance_units"],
            credit_units=v["credits_units"],
        )
        for action, v in sorted(by_action.items())
    ]
    return schemas.MonthlyUsage(
        cycle_start=start,
        cycle_end=end,
        actions=actions,
        credits_spent=sum(a.credits for a in actions),
        credits_added=int(added or 0),
    )


def _month_key(value: dt.datetime, zone: dt.tzinfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m")


def spending(
    session: Session, workspace_id: int, months: int = 6, now: dt.datetime | None = None
) -> schemas.Spending:
    """Credits spent and added per calendar month in the workspace's zone, the last `months`
    months (the current one included), oldest first; months without activity show 0."""
    if not 1 <= months <= 36:
        raise InvalidInput("months must be between 1 and 36")
    now = now or utcnow()
    zone = billing_wallets.workspace_zone(session, workspace_id)
    local = now.astimezone(zone)
    keys: list[str] = []
    year, month = local.year, local.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    keys.reverse()
    first = dt.datetime(int(keys[0][:4]), int(keys[0][5:]), 1, tzinfo=zone)
    rows = session.execute(
        select(LedgerEntry.created_at, LedgerEntry.amount, LedgerEntry.units, LedgerEntry.kind)
        .where(
            LedgerEntry.workspace_id == workspace_id,
            LedgerEntry.created_at >= first.astimezone(dt.UTC),
        )
        .order_by(LedgerEntry.created_at)
    )
    spent: dict[str, int] = defaultdict(int)
    added: dict[str, int] = defaultdict(int)
    units: dict[str, int] = defaultdict(int)
    for created_at, amount, n, kind in rows:
        key = _month_key(created_at, zone)
        if amount < 0:
            spent[key] += -amount
        elif amount > 0:
            added[key] += amount
        if kind == LedgerKind.charge:
            units[key] += n
    return schemas.Spending(
        months=[
            schemas.SpendingMonth(
                month=key, credits_spent=spent[key], credits_added=added[key], units=units[key]
            )
            for key in keys
        ]
    )


def wallet_summary(session: Session, workspace_id: int) -> schemas.WalletSummary:
    wallet = billing_wallets.wallet_for(session, workspace_id)
    plan = billing_pricing.get_plan(session, wallet.plan_code)
    held = session.scalar(
        select(func.count()).where(
            Reservation.workspace_id == workspace_id,
            Reservation.status == ReservationStatus.held,
            Reservation.expires_at > utcnow(),
        )
    )
    return schemas.WalletSummary(
        plan=schemas.PlanRead.model_validate(plan),
        balance=billing_usage.balance(session, workspace_id),
        allowances=billing_usage.allowances(session, workspace_id),
        cycle_anchor=wallet.cycle_anchor,
        seats=plan.seats,
        topups=billing_pricing.topups_for(session, plan),
        held_reservations=int(held or 0),
    )


def dashboard(session: Session, workspace_id: int) -> schemas.CreditsDashboard:
    return schemas.CreditsDashboard(
        summary=wallet_summary(session, workspace_id),
        usage=monthly_usage(session, workspace_id),
        recent=transactions(session, workspace_id, page=1, page_size=10).items,
    )


def pricing(session: Session, workspace_id: int) -> schemas.Pricing:
    plan = billing_pricing.get_plan(
        session, billing_wallets.wallet_for(session, workspace_id).plan_code
    )
    return schemas.Pricing(
        rules=[
            schemas.PricingRuleRead.model_validate(r) for r in billing_pricing.list_rules(session)
        ],
        plans=[schemas.PlanRead.model_validate(p) for p in billing_pricing.list_plans(session)],
        topups=billing_pricing.topups_for(session, plan),
    )


def calculate(
    session: Session, workspace_id: int, items: list[schemas.CalculateItem]
) -> schemas.Calculation:
    """Each item quoted on its own against the wallet as it is now."""
    if not items:
        raise InvalidInput("give at least one {action, quantity}")
    quotes = [billing_usage.quote(session, workspace_id, i.action, i.quantity) for i in items]
    return schemas.Calculation(
        items=quotes,
        total_credits=sum(q.credits for q in quotes),
        can_perform_all=all(q.can_perform for q in quotes),
    )


def system_stats(session: Session) -> schemas.SystemStats:
    """The instance's totals (instance administrator): wallets per plan, ledger per kind, and
    the wallets whose balance differs from their ledger's sum (0 unless something is wrong)."""
    now = utcnow()
    wallets, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Wallet.balance), 0))
    ).one()
    held_count, held_credits = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    case((Reservation.funding == Funding.credits, Reservation.credits), else_=0)
                ),
                0,
            ),
        ).where(Reservation.status == ReservationStatus.held, Reservation.expires_at > now)
    ).one()
    plans = [
        schemas.PlanCount(plan=code, workspaces=int(n))
        for code, n in session.execute(
            select(Wallet.plan_code, func.count())
            .group_by(Wallet.plan_code)
            .order_by(Wallet.plan_code)
        )
    ]
    kinds = [
        schemas.KindTotal(kind=kind, entries=int(n), credits=int(amount))
        for kind, n, amount in session.execute(
            select(LedgerEntry.kind, func.count(), func.coalesce(func.sum(LedgerEntry.amount), 0))
            .group_by(LedgerEntry.kind)
            .order_by(LedgerEntry.kind)
        )
    ]
    sums = (
        select(
            LedgerEntry.workspace_id.label("workspace_id"),
            func.sum(LedgerEntry.amount).label("total"),
        )
        .group_by(LedgerEntry.workspace_id)
        .subquery()
    )
    mismatches = session.scalar(
        select(func.count())
        .select_from(Wallet)
        .join(sums, sums.c.workspace_id == Wallet.workspace_id, isouter=True)
        .where(func.coalesce(sums.c.total, 0) != Wallet.balance)
    )
    return schemas.SystemStats(
        wallets=int(wallets),
        total_balance=int(total),
        held_credits=int(held_credits),
        held_reservations=int(held_count),
        plans=plans,
        ledger=kinds,
        ledger_mismatches=int(mismatches or 0),
    )
