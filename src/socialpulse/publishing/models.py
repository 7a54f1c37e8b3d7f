"""Publishing: posts, their media and target accounts, occurrence overrides of a recurring
series, and deliveries.

A **delivery** is the unit of exactly-once: one row per (target account, occurrence of the
post). Its lease (``kit.leases``: status ``publishing``, ``locked_by``, ``lease_expires_at``)
says which worker publishes it; ``publish_started_at`` is committed before the platform call,
so a worker that finds it set asks the platform first (``PostPublisher.find_post``).
``occurrence_at`` is the series' planned time of the occurrence and never changes once the row
exists (an edited occurrence moves ``scheduled_for``, not its identity), hence the unique
``(target_id, occurrence_at)``.

A recurring series is materialised a horizon ahead only (``materialised_until``), so an endless
series never creates unbounded rows; the next deliveries are made when one is delivered or by
the sweep.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.accounts import models as _account_models  # noqa: F401  (accounts.id)
from socialpulse.db import Base, str_enum, utcnow
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (workspaces.id)


class PostStatus(enum.StrEnum):
    """The post as a whole, summarised from its deliveries (``service.refresh_status``)."""

    draft = "draft"
    scheduled = "scheduled"
    publishing = "publishing"
    published = "published"
    failed = "failed"
    cancelled = "cancelled"
    missed = "missed"


class DeliveryStatus(enum.StrEnum):
    scheduled = "scheduled"  # waiting for its time (or its next retry, ``next_attempt_at``)
    publishing = "publishing"  # claimed by a worker under a lease
    published = "published"
    failed = "failed"  # gave up: ``last_error`` says why (the platform's message)
    cancelled = "cancelled"
    missed = "missed"  # too late after downtime (SOCIALPULSE_PUBLISH_MAX_LATENESS_MINUTES)
    skipped = "skipped"  # the occurrence was skipped


class OverrideAction(enum.StrEnum):
    skip = "skip"
    edit = "edit"


class Post(Base):
    """What to publish, when (``scheduled_at`` in UTC, read in ``zone``), and how often."""

    __tablename__ = "publishing_posts"
    __table_args__ = (
        Index("ix_publishing_posts_ws_status", "workspace_id", "status"),
        Index("ix_publishing_posts_ws_scheduled", "workspace_id", "scheduled_at"),
        CheckConstraint(
            "interval_s IS NULL OR interval_s >= 60", name="interval_at_least_a_minute"
        ),
        CheckConstraint("max_count IS NULL OR max_count >= 1", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str | None] = mapped_column(String(300), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    visibility: Mapped[str | None] = mapped_column(String(32), default=None)
    content_warning: Mapped[str | None] = mapped_column(String(500), default=None)
    status: Mapped[PostStatus] = mapped_column(str_enum(PostStatus), default=PostStatus.draft)
    zone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA name
    # The (first) publication time; a cron series starts its search here.
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cron: Mapped[str | None] = mapped_column(String(120), default=None)
    interval_s: Mapped[int | None] = mapped_column(BigInteger, default=None)
    ends_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    max_count: Mapped[int | None] = mapped_column(default=None)
    # The latest occurrence time deliveries exist for (recurring series only).
    materialised_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    series_done: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(100), default="user")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def recurring(self) -> bool:
        return self.cron is not None or self.interval_s is not None


class PostMedia(Base):
    """A stored upload attached to a post, in order, with its alt text."""

    __tablename__ = "publishing_post_media"
    __table_args__ = (UniqueConstraint("post_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("publishing_posts.id", ondelete="CASCADE"))
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("publishing_uploads.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    alt_text: Mapped[str] = mapped_column(Text, default="")


class Upload(Base):
    """A file the workspace uploaded for its posts (``media.uploads`` stores and probes it):
    content-addressed ``key`` in the media store and the facts read from the content."""

    __tablename__ = "publishing_uploads"
    __table_args__ = (UniqueConstraint("workspace_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255), default="")
    mime_type: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # image | video
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    created_by: Mapped[str] = mapped_column(String(100), default="user")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PostTarget(Base):
    """One account the post goes to, with its platform variant (text, title, options)."""

    __tablename__ = "publishing_targets"
    __table_args__ = (UniqueConstraint("post_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("publishing_posts.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    text_override: Mapped[str | None] = mapped_column(Text, default=None)
    title_override: Mapped[str | None] = mapped_column(String(300), default=None)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OccurrenceOverride(Base):
    """One occurrence of a recurring series skipped, or edited (its text and/or its time)."""

    __tablename__ = "publishing_overrides"
    __table_args__ = (UniqueConstraint("post_id", "occurrence_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("publishing_posts.id", ondelete="CASCADE"))
    occurrence_at: Mapped[dt.datetime] = mapped_column()
    action: Mapped[OverrideAction] = mapped_column(str_enum(OverrideAction))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One publication of one occurrence to one account: claimed under a lease, published
    exactly once (see the module docstring)."""

    __tablename__ = "publishing_deliveries"
    __table_args__ = (
        UniqueConstraint("target_id", "occurrence_at"),
        # The sweep and the queue: what is due or whose worker died, in time order.
        Index("ix_publishing_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_publishing_deliveries_status_lease", "status", "lease_expires_at"),
        Index("ix_publishing_deliveries_ws_status", "workspace_id", "status", "scheduled_for"),
        Index("ix_publishing_deliveries_post_scheduled", "post_id", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("publishing_posts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("publishing_targets.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    occurrence_at: Mapped[dt.datetime] = mapped_column()
    scheduled_for: Mapped[dt.datetime] = mapped_column()
    # When the next try is due: ``scheduled_for`` at first, later a retry's backoff.
    next_attempt_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.scheduled
    )
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    # The text of an edited occurrence (else the post's, or the target's variant).
    text_override: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    publish_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
