from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, defer, mapped_column

from socialpulse.accounts import models as _account_models  # noqa: F401  (accounts.id, posts.id)
from socialpulse.db import Base, str_enum, utcnow
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (users.id)


class InteractionKind(enum.StrEnum):
    comment = "comment"  # top-level comment on a post
    reply = "reply"  # reply inside a comment thread
    mention = "mention"
    direct_message = "direct_message"


class InteractionStatus(enum.StrEnum):
    unread = "unread"
    awaiting_approval = "awaiting_approval"  # a reply is drafted and waits for a human
    answered = "answered"
    ignored = "ignored"
    flagged = "flagged"


class Fan(Base):
    """One person on one platform, as seen by one workspace."""

    __tablename__ = "fans"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    handle: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    avatar_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    followers_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_interaction_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Lifetime counters; the superfan rule and both scores look at the window (see inbox.fans).
    interactions_count: Mapped[int] = mapped_column(default=0)
    positive_count: Mapped[int] = mapped_column(default=0)
    negative_count: Mapped[int] = mapped_column(default=0)
    is_superfan: Mapped[bool] = mapped_column(default=False)
    superfan_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    lifetime_value_score: Mapped[int] = mapped_column(Integer, default=0)  # 0..100
    sentiment_score: Mapped[float] = mapped_column(Float, default=0.0)
    average_priority: Mapped[float] = mapped_column(Float, default=0.0)
    scores_updated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The team's own: labels and a private note, edited on the fan's page.
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")


class Interaction(Base):
    """A comment, reply, mention or direct message, deduplicated by platform and external id."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "external_id"),
        Index("ix_interactions_ws_posted", "workspace_id", "posted_at"),
        # Covers the inbox analytics' grouped counts (index-only scans on PostgreSQL).
        Index(
            "ix_interactions_ws_posted_dims",
            "workspace_id",
            "posted_at",
            "status",
            "platform",
            "ai_sentiment",
        ),
        # first_response_us makes the median first response an index-only read.
        Index(
            "ix_interactions_ws_status_posted",
            "workspace_id",
            "status",
            "posted_at",
            "first_response_us",
        ),
        Index("ix_interactions_fan_posted", "fan_id", "posted_at"),
        Index("ix_interactions_post", "post_id"),
        # A page's replies (parent_id IN the page's ids). Without it SQLite walks the whole
        # workspace by ix_interactions_ws_posted, as if that were narrower.
        Index("ix_interactions_ws_parent", "workspace_id", "parent_id"),
        # The dashboard's open counts (status IN the open ones, not hidden, negative): counted
        # in the index alone instead of one table lookup per open interaction.
        Index(
            "ix_interactions_ws_status_hidden_sentiment",
            "workspace_id",
            "status",
            "hidden",
            "ai_sentiment",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None
    )
    fan_id: Mapped[int | None] = mapped_column(
        ForeignKey("fans.id", ondelete="SET NULL"), default=None
    )
    platform: Mapped[str] = mapped_column(String(32))
    kind: Mapped[InteractionKind] = mapped_column(str_enum(InteractionKind))
    external_id: Mapped[str] = mapped_column(String(255))
    # Threading: the platform's id of the parent, and our row once both are stored.
    parent_external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # Indexed like every foreign key: deleting a parent sets its replies' parent_id to NULL,
    # which without the index scans the whole table once per deleted row.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), default=None, index=True
    )
    author_external_id: Mapped[str] = mapped_column(String(255))
    author_handle: Mapped[str] = mapped_column(String(255))
    author_display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    like_count: Mapped[int | None] = mapped_column(default=None)
    posted_at: Mapped[dt.datetime] = mapped_column()
    ingested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Inbox workflow.
    status: Mapped[InteractionStatus] = mapped_column(
        str_enum(InteractionStatus), default=InteractionStatus.unread
    )
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(default=50)  # 0..100, higher first
    hidden: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # answered_at - posted_at in microseconds, NULL while unanswered. Never written by
    # application code: database triggers keep it (migration 0011), whatever writes answered_at.
    first_response_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Text analysis (socialpulse.ai), redone when the model version changes.
    ai_model_version: Mapped[str | None] = mapped_column(String(64), default=None)
    ai_sentiment: Mapped[str | None] = mapped_column(String(10), default=None)
    ai_sentiment_score: Mapped[float | None] = mapped_column(Float, default=None)
    ai_sentiment_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    ai_language: Mapped[str | None] = mapped_column(String(8), default=None)
    ai_intent: Mapped[str | None] = mapped_column(String(24), default=None)
    ai_intent_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    ai_toxic: Mapped[bool | None] = mapped_column(default=None)
    ai_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Which workflow acted on it, and why (the matched conditions, in words).
    matched_workflow_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflows.id", ondelete="SET NULL"), default=None, index=True
    )
    matched_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # A reply drafted for a human to approve (suggested by intent, or by a workflow template).
    suggested_reply: Mapped[str | None] = mapped_column(Text, default=None)
    suggested_reply_source: Mapped[str | None] = mapped_column(String(64), default=None)


# Columns no list shows (the API's InteractionRead, the dashboard's inbox and queue rows leave
# them out): decoding every row's evidence JSON was a third of an inbox page. Lists load with
# these options; one interaction shown on its own loads them, and a list that touches them
# raises instead of lazy-loading row by row.
NOT_IN_LISTS = (
    defer(Interaction.ai_evidence, raiseload=True),
    defer(Interaction.matched_reason, raiseload=True),
)


class InteractionHourlyCount(Base):
    """How many interactions were posted in one UTC hour, per (platform, status, sentiment).

    Read by the inbox analytics (``socialpulse.inbox.analytics``) instead of scanning every
    interaction of a period. Never written by application code: database triggers on
    ``interactions`` keep it exact (migration 0006: after insert, after delete, after an update
    of ``posted_at``, ``platform``, ``status``, ``ai_sentiment`` or ``workspace_id``), so Core
    bulk updates, raw SQL and foreign-key cascades are counted too. A group that falls to zero
    is deleted, so the table always equals ``GROUP BY`` over ``interactions``.

    ``hour`` is the posting time truncated to the UTC hour; ``sentiment`` is ``ai_sentiment``
    with ``""`` for "no AI analysis yet" (``NULL`` cannot be part of a primary key).

    Beware: on SQLite, ``op.batch_alter_table("interactions")`` rebuilds the table and thereby
    DROPS its triggers, silently freezing these counts. A migration that does so must recreate
    them afterwards with the helper of migration 0006::

        from alembic import context
        rollup = context.script.get_revision("0006").module
        rollup.create_triggers(op.get_bind())

    (``tests/inbox/test_hourly_counts.py`` fails at head when the triggers are missing.)
    """

    __tablename__ = "interaction_hourly_counts"
    # Clustered on the primary key: a period is one contiguous range of the table on SQLite.
    __table_args__ = {"sqlite_with_rowid": False}

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[dt.datetime] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[InteractionStatus] = mapped_column(str_enum(InteractionStatus), primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(10), primary_key=True)
    count: Mapped[int] = mapped_column()


class CommentPoll(Base):
    """Incremental polling state of one post's comments."""

    __tablename__ = "comment_polls"
    __table_args__ = (Index("ix_comment_polls_next", "next_poll_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    cursor: Mapped[str | None] = mapped_column(String(1024), default=None)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    next_poll_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    interactions_seen: Mapped[int] = mapped_column(default=0)
    last_new_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class WorkflowStatus(enum.StrEnum):
    active = "active"
    paused = "paused"


class WorkflowTrigger(enum.StrEnum):
    new_interaction = "new_interaction"
    unanswered_for = "unanswered_for"  # N hours after it was posted, still unread/awaiting


class Workflow(Base):
    """An automation rule: when (trigger) + if (conditions, all must hold) → do (actions)."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[WorkflowStatus] = mapped_column(
        str_enum(WorkflowStatus), default=WorkflowStatus.active
    )
    priority: Mapped[int] = mapped_column(default=100)  # lower runs first
    trigger: Mapped[WorkflowTrigger] = mapped_column(
        str_enum(WorkflowTrigger), default=WorkflowTrigger.new_interaction
    )
    trigger_hours: Mapped[float | None] = mapped_column(Float, default=None)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stop_processing: Mapped[bool] = mapped_column(default=True)
    triggered_count: Mapped[int] = mapped_column(default=0)
    auto_responded_count: Mapped[int] = mapped_column(default=0)
    flagged_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkflowMatch(Base):
    """A workflow acting on an interaction: what matched, and what was done."""

    __tablename__ = "workflow_matches"
    __table_args__ = (
        UniqueConstraint("workflow_id", "interaction_id"),
        Index("ix_workflow_matches_ws_matched", "workspace_id", "matched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    matched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    actions_applied: Mapped[list[str]] = mapped_column(JSON, default=list)
    auto_responded: Mapped[bool] = mapped_column(default=False)
    flagged: Mapped[bool] = mapped_column(default=False)


DEFAULT_AUTO_REPLY_DAILY_WARNING = 50


class InboxSettings(Base):
    """Per-workspace inbox thresholds (defaults are what our users specified)."""

    __tablename__ = "inbox_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    superfan_window_days: Mapped[int] = mapped_column(default=90)
    superfan_min_interactions: Mapped[int] = mapped_column(default=10)
    superfan_min_positive_ratio: Mapped[float] = mapped_column(Float, default=0.7)
    suggestion_min_confidence: Mapped[float] = mapped_column(Float, default=0.85)
    max_replies_per_tick: Mapped[int] = mapped_column(default=10)
    # The reply queue warns when one workflow's auto-reply template was queued more often than
    # this in a day: identical replies at volume are what platforms flag as spam.
    auto_reply_daily_warning: Mapped[int] = mapped_column(
        default=DEFAULT_AUTO_REPLY_DAILY_WARNING,
        server_default=str(DEFAULT_AUTO_REPLY_DAILY_WARNING),
    )


class AiLabelCorrection(Base):
    """A person's "wrong label" on an interaction's sentiment and/or intent, per workspace.

    The model's own labels stay on the interaction (its evidence explains them); a correction
    wins wherever a label is used: the inbox shows and filters by it and workflow conditions
    match it. A column left null keeps the model's label for that dimension."""

    __tablename__ = "ai_label_corrections"
    # One correction per interaction and workspace; the surrogate id lets an account's removal
    # delete these rows in batches like every other table that hangs off it.
    __table_args__ = (UniqueConstraint("workspace_id", "interaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    sentiment: Mapped[str | None] = mapped_column(String(10), default=None)
    intent: Mapped[str | None] = mapped_column(String(24), default=None)
    # What the model said when it was corrected (the model may relabel it later).
    model_sentiment: Mapped[str | None] = mapped_column(String(10), default=None)
    model_intent: Mapped[str | None] = mapped_column(String(24), default=None)
    corrected_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    corrected_by: Mapped[str] = mapped_column(String(100))  # user:ID | api_key:ID
    corrected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReplyLimit(Base):
    """Rate limits of one connected account's replies; overrides the platform defaults."""

    __tablename__ = "reply_limits"
    __table_args__ = (UniqueConstraint("workspace_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    max_per_hour: Mapped[int] = mapped_column()
    max_per_minute: Mapped[int] = mapped_column()
    min_interval_s: Mapped[float] = mapped_column(Float)
    jitter_min_s: Mapped[float] = mapped_column(Float)
    jitter_max_s: Mapped[float] = mapped_column(Float)


class ReplyStatus(enum.StrEnum):
    pending = "pending"
    processing = "processing"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


class ReplyQueueItem(Base):
    """One reply waiting to be sent at a human pace.

    `idempotency_key` is written before the platform call; a worker that finds an item in
    `processing` with `publish_started_at` set (it crashed mid-send) asks the platform whether
    the reply exists before it ever sends again.
    """

    __tablename__ = "reply_queue"
    __table_args__ = (
        Index("ix_reply_queue_status_scheduled", "status", "scheduled_for"),
        Index("ix_reply_queue_account_scheduled", "account_id", "scheduled_for"),
        Index("ix_reply_queue_ws_status", "workspace_id", "status"),
        Index(
            "ix_reply_queue_ws_platform_status",
            "workspace_id",
            "platform",
            "status",
            "scheduled_for",
        ),
        Index("ix_reply_queue_account_started", "account_id", "publish_started_at"),
        Index("ix_reply_queue_ws_batch", "workspace_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[ReplyStatus] = mapped_column(str_enum(ReplyStatus), default=ReplyStatus.pending)
    priority: Mapped[int] = mapped_column(default=50)
    batch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    scheduled_for: Mapped[dt.datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    publish_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    external_reply_id: Mapped[str | None] = mapped_column(String(255), default=None)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(100), default="user")  # user:ID|workflow:ID
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
