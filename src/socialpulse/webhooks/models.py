"""Outbound webhooks: a workspace's subscriptions (a URL, the event types it wants, its signing
secret) and the delivery log (one row per event per subscription, with its attempts).

A delivery row is the truth about an event's fate: the durable job that sends it only claims
the row under a lease (``kit.leases``: status ``sending``, ``locked_by``, ``lease_expires_at``)
and writes the outcome through that lease, so two workers never send one attempt twice and a
worker that died mid-request leaves a row another worker can take over.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.db import Base, str_enum, utcnow
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (users.id)


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    sending = "sending"  # claimed by a worker, the request is under way
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # out of attempts, or refused for good (410 Gone, egress policy)


class WebhookSubscription(Base):
    """A URL of the workspace that receives the events it subscribed to, signed with its own
    secret (Standard Webhooks: ``whsec_`` + base64 of 32 random bytes, stored encrypted)."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_workspace", "workspace_id", "enabled"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(255), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # SecretBox ciphertext of the "whsec_..." string; the plaintext is shown once.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # After a rotation the old secret signs too (a second signature) until it expires, so a
    # receiver can switch secrets without dropping a delivery.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Start of the current run of failed attempts (none since a success); auto-disable reads it.
    failing_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class WebhookDelivery(Base):
    """One event for one subscription: the signed payload and what happened to it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The delivery log: newest first, per workspace, optionally by status.
        Index("ix_webhook_deliveries_ws_id", "workspace_id", "id"),
        Index("ix_webhook_deliveries_ws_status_id", "workspace_id", "status", "id"),
        Index("ix_webhook_deliveries_subscription_id", "subscription_id", "id"),
        # The sweep: rows whose attempt is due or whose worker died.
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    # The Standard Webhooks message id ("msg_..."): the same on every attempt and on a replay,
    # so a receiver can deduplicate.
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, length=16), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # The start of the receiver's answer (bounded: RESPONSE_EXCERPT_CHARS), for debugging.
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int | None] = mapped_column(default=None)
    replay_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
