"""Payment provider events as received: the record that makes fulfilment idempotent.

One row per provider event id (unique with the provider): a webhook Stripe delivers again, or
that an attacker replays with its valid signature, finds its row and changes nothing. A row
whose workspace is unknown is kept (``ignored``, workspace_id NULL) so an operator can see that
money arrived for nobody; badly signed requests are never stored (only logged): anyone can
send those.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.db import Base, str_enum, utcnow
from socialpulse.workspaces import models as _workspaces  # noqa: F401  (the FK's table)


class PaymentEventStatus(enum.StrEnum):
    fulfilled = "fulfilled"  # credits granted or the plan changed, with its ledger row
    ignored = "ignored"  # nothing to do: an unknown workspace, an event type we do not use
    rejected = "rejected"  # verified, but refused: e.g. a downgrade below the members' seats


class PaymentEvent(Base):
    __tablename__ = "payment_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_payment_events_workspace_received", "workspace_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    # NULL when the event names no workspace of this instance; a deleted workspace's events
    # stay as the record of what was paid.
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[PaymentEventStatus] = mapped_column(str_enum(PaymentEventStatus))
    message: Mapped[str] = mapped_column(Text, default="")
    # The provider's object the event is about (cs_..., sub_..., in_...).
    object_id: Mapped[str | None] = mapped_column(String(255), default=None)
    amount_cents: Mapped[int | None] = mapped_column(default=None)
    currency: Mapped[str | None] = mapped_column(String(8), default=None)
    credits: Mapped[int | None] = mapped_column(default=None)
    plan_code: Mapped[str | None] = mapped_column(String(32), default=None)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


__all__ = ["PaymentEvent", "PaymentEventStatus"]
