from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.db import Base, str_enum, utcnow
from socialpulse.worker import models as _worker_models  # noqa: F401  (jobs.id)
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (workspaces.id)


class AccountStatus(enum.StrEnum):
    ok = "ok"
    needs_reconnect = "needs_reconnect"  # credentials rejected: the user must reconnect
    not_found = "not_found"  # the platform says the account no longer exists
    error = "error"  # the last fetch failed for another reason (see status_message)
    # Removal requested: a background job deletes its data; nothing new starts for it.
    deleting = "deleting"


class TrackedAccount(Base):
    """An account on a platform that a workspace follows: its own, or a competitor's."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    handle: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    profile_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    followers_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    following_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    posts_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    verified: Mapped[bool] = mapped_column(default=False)
    is_own: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus), default=AccountStatus.ok)
    status_message: Mapped[str | None] = mapped_column(Text, default=None)
    # Platform credentials (tokens, API keys), encrypted with the app secret (SecretBox).
    credentials_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_fetched_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Post(Base):
    """A post with its latest metrics; the history lives in PostMetricSnapshot."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        Index("ix_posts_account_posted", "account_id", "posted_at"),
        Index("ix_posts_ai_model_version", "ai_model_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    caption: Mapped[str] = mapped_column(Text, default="")
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    media_type: Mapped[str] = mapped_column(String(24), default="other")
    duration_seconds: Mapped[int | None] = mapped_column(default=None)
    posted_at: Mapped[dt.datetime] = mapped_column()
    thumbnail_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    views: Mapped[int | None] = mapped_column(BigInteger, default=None)
    likes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    comments: Mapped[int | None] = mapped_column(BigInteger, default=None)
    shares: Mapped[int | None] = mapped_column(BigInteger, default=None)
    saves: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Owner-only insights (see providers.base.PostMetrics): NULL where the platform does not
    # report them, which the workspace overview shows as "not provided", never as zero.
    impressions: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reach: Mapped[int | None] = mapped_column(BigInteger, default=None)
    clicks: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # (likes + comments + shares) / followers when the metrics were captured; see analytics.
    engagement_rate: Mapped[float | None] = mapped_column(Float, default=None)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    metrics_updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Text analysis of the caption (socialpulse.ai), redone when the model version changes.
    ai_model_version: Mapped[str | None] = mapped_column(String(64), default=None)
    ai_analysed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    ai_category: Mapped[str | None] = mapped_column(String(40), default=None)
    ai_category_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    ai_sentiment: Mapped[str | None] = mapped_column(String(10), default=None)
    ai_sentiment_score: Mapped[float | None] = mapped_column(Float, default=None)
    ai_sentiment_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    ai_language: Mapped[str | None] = mapped_column(String(8), default=None)
    ai_language_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    ai_intent: Mapped[str | None] = mapped_column(String(24), default=None)
    ai_toxic: Mapped[bool | None] = mapped_column(default=None)


class PostAnalysis(Base):
    """The full analysis of a post's caption (every label with its evidence), kept apart from
    `posts` so analytics scans stay narrow."""

    __tablename__ = "post_analyses"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON)
    analysed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AccountSnapshot(Base):
    """One row per account per day: the counts as they were that day."""

    __tablename__ = "account_snapshots"
    __table_args__ = (UniqueConstraint("account_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    followers_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    following_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    posts_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Totals over the account's tracked posts (their latest metrics when the snapshot was
    # taken), so account-level trends are read, not recomputed. NULL is "unknown": no tracked
    # post reported the metric (or the snapshot predates these columns, migration 0027).
    total_likes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    total_comments: Mapped[int | None] = mapped_column(BigInteger, default=None)
    total_shares: Mapped[int | None] = mapped_column(BigInteger, default=None)
    total_views: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The analytics definition (accounts.ingest.engagement_rate per post, averaged over the
    # tracked posts that have one): (likes + comments + shares) / followers. NULL without one.
    engagement_rate: Mapped[float | None] = mapped_column(Float, default=None)
    captured_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PostMetricSnapshot(Base):
    """A post's metrics on one day (the last capture of that day wins)."""

    __tablename__ = "post_metric_snapshots"
    __table_args__ = (UniqueConstraint("post_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    views: Mapped[int | None] = mapped_column(BigInteger, default=None)
    likes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    comments: Mapped[int | None] = mapped_column(BigInteger, default=None)
    shares: Mapped[int | None] = mapped_column(BigInteger, default=None)
    saves: Mapped[int | None] = mapped_column(BigInteger, default=None)
    impressions: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reach: Mapped[int | None] = mapped_column(BigInteger, default=None)
    clicks: Mapped[int | None] = mapped_column(BigInteger, default=None)
    captured_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FetchStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    deferred = "deferred"  # would have crossed the API budget: runs in the next window


class FetchRun(Base):
    """What one fetch of one account did, as users see it in the fetch history."""

    __tablename__ = "fetch_runs"
    __table_args__ = (Index("ix_fetch_runs_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None, index=True
    )
    trigger: Mapped[str] = mapped_column(String(16), default="manual")  # schedule|manual|cli
    status: Mapped[FetchStatus] = mapped_column(str_enum(FetchStatus), default=FetchStatus.pending)
    posts_seen: Mapped[int] = mapped_column(default=0)
    posts_new: Mapped[int] = mapped_column(default=0)
    snapshots_written: Mapped[int] = mapped_column(default=0)
    api_calls: Mapped[int] = mapped_column(default=0)
    quota_units: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Set on the run queued after a budget deferral: the platform whose budget it waits for.
    # Raising that budget makes the run due at once instead of at the next quota day.
    budget_platform: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ApiUsage(Base):
    """Calls to one platform by one workspace on one quota day (the platform's own reset)."""

    __tablename__ = "api_usage"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    requests: Mapped[int] = mapped_column(default=0)
    successes: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    total_latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    quota_units: Mapped[int] = mapped_column(default=0)
    deferred: Mapped[int] = mapped_column(default=0)

    @property
    def average_latency_ms(self) -> float:
        return self.total_latency_ms / self.requests if self.requests else 0.0


class ApiUsageEndpoint(Base):
    """Calls to one endpoint of a platform (``youtube.videos.list``) by one workspace on one
    quota day: the breakdown of the `ApiUsage` totals, written in the same transaction."""

    __tablename__ = "api_usage_endpoints"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "day", "endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    endpoint: Mapped[str] = mapped_column(String(100))
    requests: Mapped[int] = mapped_column(default=0)
    quota_units: Mapped[int] = mapped_column(default=0)


class ApiBudget(Base):
    """A workspace's daily quota for a platform. Work stops at `safety_margin` of it."""

    __tablename__ = "api_budgets"
    __table_args__ = (UniqueConstraint("workspace_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    daily_units: Mapped[int] = mapped_column()
    safety_margin: Mapped[float] = mapped_column(Float, default=0.8)


class ContentItem(Base):
    """A piece of the workspace's own content (a video, an article) that posts can map to."""

    __tablename__ = "content_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MappingMethod(enum.StrEnum):
    manual = "manual"
    url_id = "url_id"
    caption_match = "caption_match"


class ContentMapping(Base):
    __tablename__ = "content_mappings"
    __table_args__ = (UniqueConstraint("content_item_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    content_item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    method: Mapped[MappingMethod] = mapped_column(str_enum(MappingMethod))
    confirmed: Mapped[bool] = mapped_column(default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
