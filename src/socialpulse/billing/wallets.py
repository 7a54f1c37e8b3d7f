"""Wallets and billing cycles.

Cycles are monthly anniversaries of the wallet's ``cycle_anchor`` in the workspace's time zone
(day clipped to the month's length: an anchor on the 31st renews on 30 April, 28/29 February).
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.billing.models import Wallet
from socialpulse.config import get_settings
from socialpulse.db import utcnow
from socialpulse.errors import NotFound
from socialpulse.workspaces.models import Workspace


def workspace_of(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found")
    return workspace


def _new_wallet(session: Session, workspace_id: int) -> Wallet:
    workspace = workspace_of(session, workspace_id)
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


def zone_of(workspace: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def workspace_zone(session: Session, workspace_id: int) -> ZoneInfo:
    """The workspace's time zone (cycles and months are counted in it)."""
    return zone_of(workspace_of(session, workspace_id))


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
    return cycle_of(
        wallet.cycle_anchor, zone_of(workspace_of(session, workspace_id)), now or utcnow()
    )


def cycle_date(start: dt.datetime, workspace: Workspace) -> dt.date:
    return start.astimezone(zone_of(workspace)).date()
