"""Credits and billing tables.

Shared by the instance (edited by its administrator): ``plans``, ``pricing_rules``,
``topup_packages``. Private to a workspace: ``wallets`` (one per workspace: its plan, its
top-up balance, its billing cycle), ``credit_ledger`` (append-only: every change of a balance
and every priced action, with who and why) and ``credit_reservations`` (credits held for an
action in progress, charged when it succeeds and released otherwise).

The ledger is the counter: an allowance used this cycle is the sum of the ``units`` of this
cycle's ledger rows funded by it; there is no separate usage counter to drift from it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    event,
    func,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from socialpulse.db import Base, str_enum, utcnow
from socialpulse.media.models import SHARED
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (workspaces.id)


class Allowance(enum.StrEnum):
    """A plan's monthly allowances, each used before top-up credits by the actions it names."""

    profiles = "profiles"
    emails = "emails"
    posts = "posts"


class LedgerKind(enum.StrEnum):
    charge = "charge"  # a priced action (amount <= 0)
    grant = "grant"  # credits given by the instance operator
    topup = "topup"  # credits bought (payments)
    refund = "refund"
    plan_change = "plan_change"  # amount 0: the plan and its allowances changed
    adjustment = "adjustment"


class Funding(enum.StrEnum):
    free = "free"  # one of the action's free units this month
    allowance = "allowance"  # the plan's monthly allowance
    credits = "credits"  # top-up credits from the balance
    none = "none"  # rows that fund no action (grants, top-ups, plan changes)


class ReservationStatus(enum.StrEnum):
    held = "held"
    charged = "charged"
    released = "released"


class Plan(Base):
    """A subscription plan: its price, seats and monthly allowances."""

    __tablename__ = "plans"
    __table_args__ = SHARED

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(default=0)  # per month
    seats: Mapped[int] = mapped_column(default=1)
    profiles_per_month: Mapped[int] = mapped_column(default=0)
    emails_per_month: Mapped[int] = mapped_column(default=0)
    posts_per_month: Mapped[int] = mapped_column(default=0)
    topup_discount_pct: Mapped[int] = mapped_column(default=0)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    def allowance_of(self, allowance: Allowance | str) -> int:
        return int(getattr(self, f"{Allowance(allowance).value}_per_month"))


class PricingRule(Base):
    """What one action costs in credits, which allowance pays for it first, and how many of
    it each workspace gets free per month."""

    __tablename__ = "pricing_rules"
    __table_args__ = SHARED

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(64), unique=True)
    credits: Mapped[int] = mapped_column()
    free_per_month: Mapped[int] = mapped_column(default=0)
    allowance: Mapped[Allowance | None] = mapped_column(
        str_enum(Allowance, length=16), default=None
    )
    # How long what the action bought stays available (an unlock's access), if it expires.
    access_days: Mapped[int | None] = mapped_column(default=None)
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class TopupPackage(Base):
    """Credits sold in one payment; the plan's topup_discount_pct applies at checkout."""

    __tablename__ = "topup_packages"
    __table_args__ = SHARED

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    credits: Mapped[int] = mapped_column()
    price_cents: Mapped[int] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)


class Wallet(Base):
    """A workspace's plan, top-up balance and billing cycle. ``balance`` is a cache of the
    ledger's sum, changed only in the transaction that appends the ledger row."""

    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True
    )
    plan_code: Mapped[str] = mapped_column(String(32))
    balance: Mapped[int] = mapped_column(default=0)
    # The subscription's start: cycles are its monthly anniversaries in the workspace's zone.
    cycle_anchor: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    # The payment provider's ids (payments sets them).
    payment_customer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    payment_subscription_id: Mapped[str | None] = mapped_column(String(255), default=None)


class LedgerEntry(Base):
    """One immutable row per change of a wallet or priced action (append-only: the ORM
    refuses to update or delete one; see the listeners below)."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        Index("ix_credit_ledger_workspace_created", "workspace_id", "created_at"),
        Index(
            "ix_credit_ledger_workspace_cycle_allowance", "workspace_id", "cycle_start", "allowance"
        ),
        Index("ix_credit_ledger_workspace_action_cycle", "workspace_id", "action", "cycle_start"),
        # A retried request or a replayed payment event finds its first row by key.
        Index(
            "uq_credit_ledger_workspace_idempotency",
            "workspace_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[LedgerKind] = mapped_column(str_enum(LedgerKind, length=16))
    action: Mapped[str | None] = mapped_column(String(64), default=None)
    amount: Mapped[int] = mapped_column()  # signed credits; 0 when free or allowance-funded
    balance_after: Mapped[int] = mapped_column()
    funding: Mapped[Funding] = mapped_column(str_enum(Funding, length=16), default=Funding.none)
    allowance: Mapped[Allowance | None] = mapped_column(
        str_enum(Allowance, length=16), default=None
    )
    units: Mapped[int] = mapped_column(default=0)
    cycle_start: Mapped[dt.date] = mapped_column()
    reference: Mapped[str] = mapped_column(String(200), default="")
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    # A call made with an API key has no user: the key is who spent (kept if the key is revoked).
    actor_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None, index=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str] = mapped_column(String(500), default="")


class Reservation(Base):
    """Credits (or allowance, or free units) held for an action in progress. A held,
    unexpired reservation counts against what is available; an expired one counts nothing
    and is released by the periodic sweep."""

    __tablename__ = "credit_reservations"
    __table_args__ = (
        Index(
            "uq_credit_reservations_workspace_idempotency",
            "workspace_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_credit_reservations_workspace_status", "workspace_id", "status"),
        Index("ix_credit_reservations_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(default=0)
    funding: Mapped[Funding] = mapped_column(str_enum(Funding, length=16))
    allowance: Mapped[Allowance | None] = mapped_column(
        str_enum(Allowance, length=16), default=None
    )
    units: Mapped[int] = mapped_column(default=1)
    reference: Mapped[str] = mapped_column(String(200), default="")
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    # A call made with an API key has no user: the key is who spent (kept if the key is revoked).
    actor_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None, index=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[ReservationStatus] = mapped_column(
        str_enum(ReservationStatus, length=16), default=ReservationStatus.held
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("credit_ledger.id", ondelete="SET NULL"), default=None, index=True
    )
    released_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class LedgerIsAppendOnly(RuntimeError):
    """A bug: code tried to change or delete a ledger row."""


def _refuse_change(mapper: Mapper[Any], connection: Any, target: LedgerEntry) -> None:
    raise LedgerIsAppendOnly(
        f"credit_ledger row {target.id} is append-only: add a correcting row instead"
    )


event.listen(LedgerEntry, "before_update", _refuse_change)
event.listen(LedgerEntry, "before_delete", _refuse_change)
