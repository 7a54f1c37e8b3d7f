"""Unlocks: a workspace's 30-day access to creators' full reports, bought with credits and
shared by its members.

An unlock is a ``CreatorAccess`` row (reason ``unlock``, ``expires_at`` = now + the rule's
``access_days``): the same row the report routes check, so there is one notion of access. Its
charge goes through the billing gate (``influencer_unlock``): the route holds the credits, this
module writes the access and settles the hold in the same transaction, so the charge commits
with the access or not at all.

Two members unlocking one creator at once are charged once: ``unlock`` locks the workspace's
wallet row (``billing.wallets.wallet_for(lock=True)``: FOR UPDATE on PostgreSQL; SQLite's
writer lock is already held by the unit of work) and only then re-reads the access, so the
second one sees the first one's committed row and releases its hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import wallets as billing_wallets
from socialpulse.billing.gate import CreditGate, Hold
from socialpulse.billing.models import LedgerEntry, LedgerKind
from socialpulse.creators import service as creators_service
from socialpulse.creators.models import Creator, CreatorAccess
from socialpulse.creators.schemas import (
    AccessState,
    EmailUnlockRead,
    UnlockedProfile,
    UnlockPage,
    UnlockRead,
)
from socialpulse.db import Database, utcnow
from socialpulse.errors import InsufficientCredits, NotFound

UNLOCK_ACTION = "influencer_unlock"
EMAIL_ACTION = "email_unlock"
POST_ACTION = "post_analytics"
# Used when the pricing rule names no access period.
DEFAULT_ACCESS_DAYS = 30


def _state(row: CreatorAccess | None, creator_id: int, now: dt.datetime) -> AccessState:
    if row is None:
        return AccessState(
            creator_id=creator_id,
            state="locked",
            reason=None,
            expires_at=None,
            remaining_seconds=None,
        )
    if row.expires_at is None:
        return AccessState(
            creator_id=creator_id,
            state="unlocked",
            reason=row.reason,
            expires_at=None,
            remaining_seconds=None,
        )
    remaining = int((row.expires_at - now).total_seconds())
    return AccessState(
        creator_id=creator_id,
        state="unlocked" if remaining > 0 else "expired",
        reason=row.reason,
        expires_at=row.expires_at,
        remaining_seconds=max(remaining, 0),
    )


def access_row(session: Session, workspace_id: int, creator_id: int) -> CreatorAccess | None:
    return session.scalar(
        select(CreatorAccess).where(
            CreatorAccess.workspace_id == workspace_id, CreatorAccess.creator_id == creator_id
        )
    )


def access_state(session: Session, workspace_id: int, creator_id: int) -> AccessState:
    """locked (never unlocked), unlocked (until ``expires_at``) or expired."""
    return _state(access_row(session, workspace_id, creator_id), creator_id, utcnow())


def access_states(
    session: Session, workspace_id: int, creator_ids: Iterable[int]
) -> dict[int, AccessState]:
    """``access_state`` of many creators in one query (a page of results)."""
    ids = list(dict.fromkeys(creator_ids))
    now = utcnow()
    rows = {
        row.creator_id: row
        for row in session.scalars(
            select(CreatorAccess).where(
                CreatorAccess.workspace_id == workspace_id, CreatorAccess.creator_id.in_(ids)
            )
        )
    }
    return {creator_id: _state(rows.get(creator_id), creator_id, now) for creator_id in ids}


def unexpired(
    workspace_id: int, now: dt.datetime | None = None
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """WHERE clauses of this workspace's access rows in force now."""
    now = now or utcnow()
    return (
        CreatorAccess.workspace_id == workspace_id,
        or_(CreatorAccess.expires_at.is_(None), CreatorAccess.expires_at > now),
    )


def count_unlocked(session: Session, workspace_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(CreatorAccess).where(*unexpired(workspace_id))
        )
        or 0
    )


def require_creator(session: Session, creator_id: int) -> Creator:
    creator = session.get(Creator, creator_id)
    if creator is None:
        raise NotFound(f"no creator {creator_id}")
    return creator


def access_days(session: Session) -> int:
    return billing_pricing.get_rule(session, UNLOCK_ACTION).access_days or DEFAULT_ACCESS_DAYS


def _unlock_read(
    session: Session,
    creator: Creator,
    workspace_id: int,
    *,
    entry: LedgerEntry | None,
    granted_by: int | None,
) -> UnlockRead:
    return UnlockRead(
        creator=creators_service.preview(session, creator),
        access=access_state(session, workspace_id, creator.id),
        charged=entry is not None,
        credits=-entry.amount if entry is not None else 0,
        funding=str(entry.funding) if entry is not None else None,
        ledger_entry_id=entry.id if entry is not None else None,
        granted_by_user_id=granted_by,
    )


def unlock(
    session: Session, *, workspace_id: int, creator_id: int, actor_user_id: int | None, hold: Hold
) -> UnlockRead:
    """Grant the workspace ``access_days`` of the creator's full report and settle ``hold`` in
    this transaction; charge nothing (the hold is left to be released) when it already has
    unexpired access. Locks the wallet first, so of two members unlocking one creator at once
    the second sees the first one's access."""
    creator = require_creator(session, creator_id)
    billing_wallets.wallet_for(session, workspace_id, lock=True)
    row = access_row(session, workspace_id, creator_id)
    now = utcnow()
    if row is not None and (row.expires_at is None or row.expires_at > now):
        return _unlock_read(
            session, creator, workspace_id, entry=None, granted_by=row.granted_by_user_id
        )
    expires = now + dt.timedelta(days=access_days(session))
    if row is None:
        row = CreatorAccess(workspace_id=workspace_id, creator_id=creator_id)
        session.add(row)
    # An expired row is renewed in place: one row per workspace and creator.
    row.reason = "unlock"
    row.granted_at = now
    row.expires_at = expires
    row.granted_by_user_id = actor_user_id
    session.flush()
    entry = hold.settle(session)
    return _unlock_read(session, creator, workspace_id, entry=entry, granted_by=actor_user_id)


def unlock_via_gate(
    db: Database,
    credits: CreditGate,
    *,
    workspace_id: int,
    creator_id: int,
    actor_user_id: int | None,
) -> UnlockRead:
    """The unlock as the API does it: hold the price through the gate (402 when short), then
    ``unlock`` in a unit of work that commits the access with the charge."""
    with db.session(readonly=True) as session:
        creator = require_creator(session, creator_id)
        state = access_state(session, workspace_id, creator_id)
        if state.state == "unlocked" and credits.idempotency_key is None:
            row = access_row(session, workspace_id, creator_id)
            return _unlock_read(
                session,
                creator,
                workspace_id,
                entry=None,
                granted_by=row.granted_by_user_id if row else None,
            )
    reference = f"creator:{creator_id}"
    try:
        with credits.spend(UNLOCK_ACTION, reference=reference) as hold:
            with db.session() as session:
                if hold.replayed:
                    entry = session.get(LedgerEntry, hold.entry_id)
                    creator = require_creator(session, creator_id)
                    return _unlock_read(
                        session, creator, workspace_id, entry=entry, granted_by=actor_user_id
                    )
                return unlock(
                    session,
                    workspace_id=workspace_id,
                    creator_id=creator_id,
                    actor_user_id=actor_user_id,
                    hold=hold,
                )
    except InsufficientCredits:
        # Short only because another member's unlock of this creator held credits meanwhile:
        # that unlock is ours too, and free.
        with db.session(readonly=True) as session:
            if access_state(session, workspace_id, creator_id).state == "unlocked":
                row = access_row(session, workspace_id, creator_id)
                return _unlock_read(
                    session,
                    require_creator(session, creator_id),
                    workspace_id,
                    entry=None,
                    granted_by=row.granted_by_user_id if row else None,
                )
        raise


def _earlier_charge(
    session: Session, workspace_id: int, action: str, reference: str
) -> LedgerEntry | None:
    """The workspace's charge for this action on this reference, if it paid before."""
    return session.scalar(
        select(LedgerEntry)
        .where(
            LedgerEntry.workspace_id == workspace_id,
            LedgerEntry.kind == LedgerKind.charge,
            LedgerEntry.action == action,
            LedgerEntry.reference == reference,
        )
        .order_by(LedgerEntry.id)
        .limit(1)
    )


def unlock_email_via_gate(
    db: Database,
    credits: CreditGate,
    *,
    workspace_id: int,
    creator_id: int,
    actor_user_id: int | None,
) -> EmailUnlockRead:
    """The creator's published contact e-mail: ``email_unlock`` once per workspace (the ledger
    row is the record of it); 404 and no charge when it published none."""
    reference = f"creator:{creator_id}:email"
    with db.session(readonly=True) as session:
        creator = require_creator(session, creator_id)
        email = (creator.contact_email or "").strip()
        if not email:
            raise NotFound("this creator published no contact e-mail")
        if _earlier_charge(session, workspace_id, EMAIL_ACTION, reference) is not None:
            return EmailUnlockRead(
                creator_id=creator_id, contact_email=email, charged=False, credits=0
            )
    with credits.spend(EMAIL_ACTION, reference=reference) as hold:
        with db.session() as session:
            billing_wallets.wallet_for(session, workspace_id, lock=True)
            if not hold.replayed and _earlier_charge(
                session, workspace_id, EMAIL_ACTION, reference
            ):
                # Another member paid for it while we held: free (our hold is released).
                return EmailUnlockRead(
                    creator_id=creator_id, contact_email=email, charged=False, credits=0
                )
            entry = hold.settle(session)
            return EmailUnlockRead(
                creator_id=creator_id,
                contact_email=email,
                charged=not hold.replayed,
                credits=-entry.amount,
            )


@dataclass(frozen=True)
class ContactEmail:
    """What a workspace may know of a creator's contact e-mail: whether one was published,
    and the address once the workspace paid ``email_unlock`` for it."""

    published: bool
    address: str | None


def contact_email(session: Session, workspace_id: int, creator_id: int) -> ContactEmail:
    creator = require_creator(session, creator_id)
    email = (creator.contact_email or "").strip()
    if not email:
        return ContactEmail(published=False, address=None)
    paid = _earlier_charge(session, workspace_id, EMAIL_ACTION, f"creator:{creator_id}:email")
    return ContactEmail(published=True, address=email if paid is not None else None)


def post_paid(session: Session, workspace_id: int, post_id: int) -> bool:
    """The workspace paid ``post_analytics`` for this post before (it stays readable)."""
    return _earlier_charge(session, workspace_id, POST_ACTION, f"post:{post_id}") is not None


def list_unlocked(
    session: Session,
    workspace_id: int,
    *,
    include_expired: bool = False,
    page: int = 1,
    page_size: int = 20,
) -> UnlockPage:
    """The workspace's unlocked creators (every member's), soonest to expire first; with
    ``include_expired`` the expired ones too (after the unexpired)."""
    now = utcnow()
    where = [CreatorAccess.workspace_id == workspace_id]
    if not include_expired:
        where.extend(unexpired(workspace_id, now)[1:])
    total = session.scalar(select(func.count()).select_from(CreatorAccess).where(*where)) or 0
    expired_last = case(
        (CreatorAccess.expires_at.is_(None), 1), (CreatorAccess.expires_at > now, 0), else_=2
    )
    rows = session.execute(
        select(CreatorAccess, Creator)
        .join(Creator, Creator.id == CreatorAccess.creator_id)
        .where(*where)
        .order_by(expired_last, CreatorAccess.expires_at, CreatorAccess.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return UnlockPage(
        items=[
            UnlockedProfile(
                creator=creators_service.preview(session, creator),
                access=_state(row, creator.id, now),
                granted_at=row.granted_at,
                granted_by_user_id=row.granted_by_user_id,
            )
            for row, creator in rows
        ],
        total=total,
        page=page,
        page_size=page_size,
    )
