"""Creator data: public platform data shared by every workspace of the instance (one row per
platform + account, refreshed in place), and what each workspace did with it (private).

Shared: ``creators``, ``creator_posts``, ``creator_comments``, ``creator_reports``,
``related_profiles``. Private to a workspace: ``creator_access`` (which full reports it may
read, and until when: its unlocks), ``creator_searches`` (what it looked up),
``saved_searches`` (its named discovery searches), its saved creator lists and its campaigns
(at the end of this module)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
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
from socialpulse.media.models import SHARED
from socialpulse.worker import models as _worker_models  # noqa: F401  (jobs.id)
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (workspaces.id)


class CreatorStatus(enum.StrEnum):
    pending = "pending"  # found (searched, related, seeded) but no report built yet
    building = "building"  # a build job runs; the previous report (if any) still serves
    ready = "ready"  # a report exists (see completeness for how complete)
    failed = "failed"  # the last build failed; status_message says why; old report kept
    not_found = "not_found"  # the platform says there is no such account
    private = "private"  # the account exists but its content is not public


class BuildStep(enum.StrEnum):
    """A report build's steps, in order; a resumed build starts at the first one not done."""

    profile = "profile"
    posts = "posts"
    comments = "comments"
    media = "media"
    ai = "ai"
    aggregate = "aggregate"
    related = "related"
    done = "done"


class Creator(Base):
    """A public account on a platform, as the platform shows it."""

    __tablename__ = "creators"
    __table_args__ = (
        UniqueConstraint("platform", "handle"),
        Index("ix_creators_platform_external", "platform", "external_id"),
        Index("ix_creators_followers", "followers_count"),
        # Discovery filters and sorts every analysed creator (see creators/discovery.py): two
        # covering indexes, one led by the follower count, one by category and language, let a
        # page's count and sort read no table row; the single ones serve their sort's order.
        Index(
            "ix_creators_discovery_followers",
            "followers_count",
            "refreshed_at",
            "engagement_rate",
            "audience_quality",
            "category",
            "language",
            "platform",
        ),
        Index(
            "ix_creators_discovery_category",
            "category",
            "language",
            "refreshed_at",
            "followers_count",
            "engagement_rate",
            "audience_quality",
            "platform",
        ),
        Index("ix_creators_engagement_rate", "engagement_rate"),
        Index("ix_creators_audience_quality", "audience_quality"),
        Index("ix_creators_refreshed_at", "refreshed_at"),
        SHARED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    # Normalised as the provider normalises a handle (lower case; Mastodon with its instance).
    handle: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    profile_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    avatar_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    avatar_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_objects.id", ondelete="SET NULL"), default=None, index=True
    )
    followers_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    following_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    posts_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    verified: Mapped[bool] = mapped_column(default=False)
    # A contact address the creator published in their own profile (never guessed).
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    # Profile-level AI: the creator's primary category and language from all posts.
    category: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    profile_ai_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    engagement_rate: Mapped[float | None] = mapped_column(Float, default=None)
    audience_quality: Mapped[int | None] = mapped_column(default=None)

    status: Mapped[CreatorStatus] = mapped_column(
        str_enum(CreatorStatus), default=CreatorStatus.pending
    )
    status_message: Mapped[str | None] = mapped_column(Text, default=None)
    build_step: Mapped[BuildStep | None] = mapped_column(str_enum(BuildStep), default=None)
    build_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None, index=True
    )
    # Bumped by every change to this creator's stored data; the report cache key holds it.
    data_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # How this creator came to be known: search, related, seed, demo.
    origin: Mapped[str] = mapped_column(String(32), default="search")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class CreatorPost(Base):
    """A creator's post with its metrics at the last refresh and its caption's AI."""

    __tablename__ = "creator_posts"
    __table_args__ = (
        UniqueConstraint("creator_id", "external_id"),
        Index("ix_creator_posts_creator_posted", "creator_id", "posted_at"),
        SHARED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    caption: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[dt.datetime]
    media_type: Mapped[str] = mapped_column(String(32), default="other")
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    views: Mapped[int | None] = mapped_column(BigInteger, default=None)
    likes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    comments: Mapped[int | None] = mapped_column(BigInteger, default=None)
    shares: Mapped[int | None] = mapped_column(BigInteger, default=None)
    saves: Mapped[int | None] = mapped_column(BigInteger, default=None)
    thumbnail_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    thumbnail_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_objects.id", ondelete="SET NULL"), default=None, index=True
    )
    ai_category: Mapped[str | None] = mapped_column(String(64), default=None)
    ai_sentiment: Mapped[str | None] = mapped_column(String(16), default=None)
    ai_sentiment_score: Mapped[float | None] = mapped_column(Float, default=None)
    ai_language: Mapped[str | None] = mapped_column(String(16), default=None)
    ai_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    comments_fetched_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class CommentQuality(enum.StrEnum):
    ok = "ok"
    bot_like = "bot_like"
    generic = "generic"
    emoji_only = "emoji_only"
    spam = "spam"


class CreatorComment(Base):
    """A sampled public comment on a creator's post, with its AI."""

    __tablename__ = "creator_comments"
    __table_args__ = (
        UniqueConstraint("post_id", "external_id"),
        Index("ix_creator_comments_creator_author", "creator_id", "author_external_id"),
        SHARED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("creator_posts.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    parent_external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    author_external_id: Mapped[str] = mapped_column(String(255))
    author_handle: Mapped[str] = mapped_column(String(255), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[dt.datetime]
    like_count: Mapped[int | None] = mapped_column(default=None)
    # Written by the creator (a reply to a fan): feeds the reply rate.
    by_creator: Mapped[bool] = mapped_column(default=False)
    quality: Mapped[CommentQuality | None] = mapped_column(str_enum(CommentQuality), default=None)
    ai_sentiment: Mapped[str | None] = mapped_column(String(16), default=None)
    ai_sentiment_score: Mapped[float | None] = mapped_column(Float, default=None)
    ai_language: Mapped[str | None] = mapped_column(String(16), default=None)
    ai_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class CreatorReport(Base):
    """The computed report (five sections) of a creator's stored data, one per creator,
    replaced whole by each successful build: a failed build leaves the previous one."""

    __tablename__ = "creator_reports"
    __table_args__ = (SHARED,)

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), unique=True
    )
    # The creator's data_version the report was computed from.
    data_version: Mapped[int] = mapped_column(BigInteger, default=0)
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completeness: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    complete: Mapped[bool] = mapped_column(default=False, index=True)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    compute_ms: Mapped[float | None] = mapped_column(Float, default=None)


class RelatedStatus(enum.StrEnum):
    pending = "pending"  # waiting for the crawl's limits
    queued = "queued"  # a build was queued for it
    skipped = "skipped"  # below the follower floor, already complete, or not supported
    done = "done"
    failed = "failed"  # failed after the crawl's retries


class RelatedProfile(Base):
    """A profile a creator's report pointed at (mentions, collaborators, featured channels,
    follows, simulated neighbours): the background crawl's queue."""

    __tablename__ = "related_profiles"
    __table_args__ = (
        UniqueConstraint("creator_id", "platform", "handle"),
        Index("ix_related_profiles_status", "status", "next_attempt_at"),
        SHARED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(255))
    relation: Mapped[str] = mapped_column(String(32))  # mention, collaborator, featured, ...
    followers_hint: Mapped[int | None] = mapped_column(BigInteger, default=None)
    related_creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("creators.id", ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[RelatedStatus] = mapped_column(
        str_enum(RelatedStatus), default=RelatedStatus.pending
    )
    status_message: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    queued_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    discovered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CreatorAccess(Base):
    """A workspace may read a creator's full report (its preview needs nothing) while a row
    grants it and has not expired. Issue #13 grants it to the workspace that requested the
    report; credits and unlocks (#14) grant it for 30 days."""

    __tablename__ = "creator_access"
    __table_args__ = (UniqueConstraint("workspace_id", "creator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    creator_id: Mapped[int] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(32), default="requested")
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    granted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )


class CreatorSearch(Base):
    """What a workspace looked up: its own history, never shown to another workspace."""

    __tablename__ = "creator_searches"
    __table_args__ = (Index("ix_creator_searches_workspace_at", "workspace_id", "searched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("creators.id", ondelete="SET NULL"), default=None, index=True
    )
    query: Mapped[str] = mapped_column(String(512))
    platform: Mapped[str] = mapped_column(String(32))
    searched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )


class SavedSearch(Base):
    """A workspace's named discovery search (the criteria of ``POST /discovery/search-advanced``),
    private to it: shared by its members, never shown to another workspace."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class CrawlLaunch(Base):
    """One build the related-profiles crawl queued: the ledger its limits are counted from
    (in flight: ``finished_at`` unset; per hour and per day: ``queued_at``). Rows older than
    two days are pruned by the crawl itself."""

    __tablename__ = "crawl_launches"
    __table_args__ = (
        Index("ix_crawl_launches_open", "finished_at"),
        SHARED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("creators.id", ondelete="SET NULL"), default=None, index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None, index=True
    )
    queued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # done, skipped or retry (see crawl.py); None while in flight.
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)


# =========================================================================== lists and campaigns
# Issue #14 part D: a workspace's saved creator lists and its campaigns (creators, their posts,
# fees and other costs). Private to the workspace: the parents carry ``workspace_id`` (deleted
# with it); the children reach it through their parent's primary key.


class CreatorList(Base):
    """A saved list of creators (a shortlist, a roster), named uniquely in its workspace."""

    __tablename__ = "creator_lists"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CreatorListItem(Base):
    """A creator on a list (once per list), with the team's note."""

    __tablename__ = "creator_list_items"
    __table_args__ = (UniqueConstraint("list_id", "creator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("creator_lists.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    added_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    completed = "completed"
    archived = "archived"


class Campaign(Base):
    """A campaign: creators paid (or not) to post between two dates, in the workspace's zone."""

    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        # The service refuses these with a clear 422 first; the database keeps them true.
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("budget_cents IS NULL OR budget_cents >= 0", name="budget_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Inclusive calendar days in the workspace's time zone.
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    # Money in the smallest unit of ``currency`` (ISO 4217), never floats.
    budget_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus), default=CampaignStatus.draft
    )
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignCreator(Base):
    """A creator taking part in a campaign, with the fee agreed (campaign currency)."""

    __tablename__ = "campaign_creators"
    __table_args__ = (
        UniqueConstraint("campaign_id", "creator_id"),
        CheckConstraint("fee_cents >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CampaignPost(Base):
    """A post attached to a campaign by hand: a creator with attached posts counts those
    only; one without counts every post it published within the campaign's dates."""

    __tablename__ = "campaign_posts"
    __table_args__ = (UniqueConstraint("campaign_id", "creator_post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    creator_post_id: Mapped[int] = mapped_column(
        ForeignKey("creator_posts.id", ondelete="CASCADE"), index=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CampaignCost(Base):
    """A cost of a campaign besides the creators' fees (production, ads, shipping)."""

    __tablename__ = "campaign_costs"
    __table_args__ = (CheckConstraint("amount_cents >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    incurred_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
