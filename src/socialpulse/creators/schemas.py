"""Every request and response schema of the creators domain.

The report's five sections (``ReportSections``) are what ``CreatorReport.sections`` stores as
JSON, what the API serves and what the dashboard renders: one definition for all three. Rates
are fractions (0.034 = 3.4 %); counts are integers; a value the stored data cannot give is
``None``, never a guess.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from socialpulse.billing.schemas import Allowances, Balance
from socialpulse.creators.models import BuildStep, CreatorStatus

Access = Literal["full", "preview"]


class Share(BaseModel):
    """One label of a distribution: how many and what fraction of the whole."""

    label: str
    count: int
    share: float = Field(description="count / sample size, 0..1.")


class SentimentBreakdown(BaseModel):
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    positive_share: float | None = None
    neutral_share: float | None = None
    negative_share: float | None = None
    average_score: float | None = Field(
        default=None, description="Mean AI sentiment score (-1 negative .. +1 positive)."
    )
    sample_size: int = 0


class CreatorPreview(BaseModel):
    """What anyone may see of a creator (no access needed)."""

    id: int
    platform: str
    handle: str
    display_name: str
    avatar: str = Field(description="URL of the stored profile picture or a placeholder.")
    profile_url: str | None
    followers_count: int | None
    following_count: int | None
    posts_count: int | None
    verified: bool
    category: str | None
    language: str | None
    engagement_rate: float | None
    audience_quality: int | None
    status: CreatorStatus
    status_message: str | None
    refreshed_at: dt.datetime | None


class OverviewSection(BaseModel):
    handle: str
    display_name: str
    platform: str
    bio: str
    profile_url: str | None
    avatar: str
    followers_count: int | None
    following_count: int | None
    posts_count: int | None
    verified: bool
    engagement_rate: float | None
    engagement_rate_definition: str
    follower_tier: str = Field(description="e.g. '10k-100k'.")
    tier_median_engagement_rate: float | None = Field(
        description="Median engagement rate of the creators in our database in the same tier."
    )
    tier_sample_size: int = Field(description="How many creators that median is taken over.")
    primary_category: str | None
    category_confidence: float | None
    language: str | None
    posts_per_week: float | None = Field(description="Posting frequency over the posts stored.")
    posts_analysed: int
    comments_analysed: int
    computed_at: dt.datetime


class CommentQualityShares(BaseModel):
    """Shares of sampled fan comments (the creator's own replies excluded) per quality class;
    the rules are in ``socialpulse.creators.quality``."""

    ok: float = 0.0
    bot_like: float = 0.0
    generic: float = 0.0
    emoji_only: float = 0.0
    spam: float = 0.0
    sample_size: int = 0


class AudienceSection(BaseModel):
    """What public comments can tell about the audience; never invented demographics."""

    commenter_languages: list[Share]
    commenters: int = Field(description="Distinct commenters in the sample.")
    repeat_commenter_share: float | None = Field(
        description="Share of distinct commenters who commented on two or more posts."
    )
    comment_quality: CommentQualityShares
    audience_quality_score: int | None = Field(description="1..100, see the formula.")
    audience_quality_formula: str
    demographics_available: bool = False
    demographics_note: str


class EngagementPoint(BaseModel):
    post_id: int
    posted_at: dt.datetime
    engagement_rate: float | None


class Consistency(BaseModel):
    metric: Literal["views", "likes"] | None = Field(
        description="Views where the platform shows them, else likes."
    )
    median: float | None
    iqr: float | None = Field(description="Inter-quartile range (Q3 - Q1) of the metric.")
    iqr_to_median: float | None = Field(
        description="IQR / median: lower is more consistent (0 = every post alike)."
    )
    sample_size: int


class EngagementSection(BaseModel):
    avg_likes: float | None
    median_likes: float | None
    avg_comments: float | None
    median_comments: float | None
    avg_views: float | None
    median_views: float | None
    engagement_rate: float | None
    engagement_rate_definition: str
    over_time: list[EngagementPoint] = Field(description="Per post, oldest first.")
    consistency: Consistency
    comment_sentiment: SentimentBreakdown
    reply_rate: float | None = Field(
        description=(
            "Share of sampled top-level fan comments the creator replied to, where replies are "
            "visible; null when none were sampled."
        )
    )
    replies_visible: bool


class HashtagStat(BaseModel):
    tag: str
    posts: int
    avg_engagement_rate: float | None
    avg_likes: float | None


class TimeSlot(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday.")
    hour: int = Field(ge=0, le=23)
    posts: int
    avg_engagement_rate: float | None


class ContentSection(BaseModel):
    categories: list[Share]
    languages: list[Share]
    top_hashtags: list[HashtagStat]
    best_times: list[TimeSlot] = Field(
        description="Every weekday x hour slot with posts, best average engagement first."
    )
    best_times_timezone: str = "UTC"
    content_quality_score: int | None = Field(description="1..100, see the formula.")
    content_quality_formula: str


class PostItem(BaseModel):
    id: int
    external_id: str
    url: str | None
    caption: str
    posted_at: dt.datetime
    media_type: str
    thumbnail: str = Field(description="URL of the stored thumbnail or a placeholder.")
    hashtags: list[str]
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    engagement_rate: float | None
    ai_category: str | None
    ai_sentiment: str | None
    ai_sentiment_score: float | None
    ai_language: str | None
    comments_sentiment: SentimentBreakdown = Field(
        description="The sampled comments of this post (the creator's own excluded)."
    )


class ReportSections(BaseModel):
    overview: OverviewSection
    audience: AudienceSection
    engagement: EngagementSection
    content: ContentSection
    posts: list[PostItem]


class Completeness(BaseModel):
    criteria: dict[str, bool]
    complete: bool
    missing: list[str]


class CreatorReportRead(BaseModel):
    creator: CreatorPreview
    access: Access
    sections: ReportSections | None = Field(
        description="Null without access (preview) or while no report was built yet."
    )
    completeness: Completeness | None
    computed_at: dt.datetime | None
    age_seconds: float | None = Field(description="Seconds since the report was computed.")
    stale: bool = Field(description="Older than the refresh age; a refresh is queued.")
    status: CreatorStatus
    status_message: str | None
    build_step: BuildStep | None
    job_id: int | None


class BuildStatus(BaseModel):
    """The 202 body while a report is being built."""

    creator_id: int
    job_id: int | None
    status: CreatorStatus
    step: BuildStep | None
    progress: float = Field(ge=0, le=1, description="Steps done / steps, 0..1.")
    message: str | None = None


class PostPage(BaseModel):
    items: list[PostItem]
    total: int
    offset: int
    limit: int


class PostAnalyzeRequest(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="A post's URL on its platform.")


class PostAnalytics(BaseModel):
    creator: CreatorPreview
    post: PostItem


# --------------------------------------------------------------------------- discovery (#14)

AccessStatus = Literal["locked", "unlocked", "expired"]
SortBy = Literal[
    "relevance", "followers", "engagement_rate", "audience_quality", "recent", "handle"
]
_TEXT = Field(default=None, max_length=200)


class AccessState(BaseModel):
    """Whether this workspace may read a creator's full report, and until when."""

    creator_id: int
    state: AccessStatus
    reason: str | None = Field(description="unlock, requested (#13), demo; null when locked.")
    expires_at: dt.datetime | None
    remaining_seconds: int | None = Field(description="Until expiry; null without an end.")


class DiscoveryCriteria(BaseModel):
    """What ``GET /discovery/browse`` filters by (the query string) and ``POST
    /discovery/search-advanced`` (the body, with lists): every criterion optional, all AND."""

    query: str | None = Field(
        default=None,
        max_length=200,
        description="Words searched in handle, name, biography, captions and hashtags "
        "(every word must match, as a prefix); punctuation and operators are ignored.",
    )
    platforms: list[str] = Field(default_factory=list, max_length=20)
    categories: list[str] = Field(default_factory=list, max_length=20)
    languages: list[str] = Field(default_factory=list, max_length=20)
    hashtags: list[str] = Field(
        default_factory=list, max_length=10, description="Each must appear in the creator's text."
    )
    followers_min: int | None = Field(default=None, ge=0, le=2**62)
    followers_max: int | None = Field(default=None, ge=0, le=2**62)
    engagement_rate_min: float | None = Field(default=None, ge=0, le=100)
    engagement_rate_max: float | None = Field(default=None, ge=0, le=100)
    audience_quality_min: int | None = Field(default=None, ge=0, le=100)
    audience_quality_max: int | None = Field(default=None, ge=0, le=100)
    verified: bool | None = None
    has_contact_email: bool | None = None
    unlocked: bool | None = Field(
        default=None, description="true: only creators this workspace has unlocked; false: none."
    )
    sort_by: SortBy | None = Field(
        default=None, description="Default: relevance with a query, else followers."
    )


class AdvancedSearchRequest(DiscoveryCriteria):
    page: int = Field(default=1, ge=1, le=500)
    page_size: int = Field(default=20, ge=1, le=100)
    save_as: str | None = Field(
        default=None, min_length=1, max_length=120, description="Also save the criteria by name."
    )


class UnlockedDetails(BaseModel):
    """What an unlocked creator's row adds to the preview."""

    bio: str
    posts_per_week: float | None
    top_hashtags: list[str]
    has_contact_email: bool


class DiscoveryItem(BaseModel):
    creator: CreatorPreview
    access: AccessState
    relevance: float | None = Field(
        description="Full-text rank (higher is better); null without a query."
    )
    details: UnlockedDetails | None = Field(
        description="Only for creators this workspace unlocked."
    )


class ChargeInfo(BaseModel):
    """What a priced read cost: funded by the free monthly units, the allowance or credits."""

    action: str
    credits: int
    funding: str
    replayed: bool = False


class DiscoveryPage(BaseModel):
    items: list[DiscoveryItem]
    total: int
    page: int
    page_size: int
    pages: int
    charge: ChargeInfo | None = Field(description="Null when free (page 1 of a browse).")
    saved_search_id: int | None = None


class CategoryCount(BaseModel):
    category: str
    creators: int
    unlocked: int = Field(description="Of them, unlocked by this workspace.")


class CategoryList(BaseModel):
    items: list[CategoryCount]
    uncategorised: int
    total: int


class SimilarItem(BaseModel):
    creator: CreatorPreview
    access: AccessState
    score: float = Field(description="Higher is more alike.")
    reasons: list[str] = Field(description="e.g. same category, same language, shared hashtags.")


class SimilarList(BaseModel):
    creator_id: int
    items: list[SimilarItem]


class SavedSearchCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    criteria: DiscoveryCriteria


class SavedSearchRead(BaseModel):
    id: int
    name: str
    criteria: DiscoveryCriteria
    created_by_user_id: int | None
    created_at: dt.datetime
    last_run_at: dt.datetime | None


class UnlockRequest(BaseModel):
    creator_id: int = Field(ge=1, le=2**31 - 1)


class UnlockRead(BaseModel):
    creator: CreatorPreview
    access: AccessState
    charged: bool = Field(description="False when the workspace already had access (no charge).")
    credits: int = Field(description="Top-up credits taken (0 when free or from the allowance).")
    funding: str | None = Field(description="allowance, credits, free; null when not charged.")
    ledger_entry_id: int | None
    granted_by_user_id: int | None


class UnlockedProfile(BaseModel):
    creator: CreatorPreview
    access: AccessState
    granted_at: dt.datetime
    granted_by_user_id: int | None


class UnlockPage(BaseModel):
    items: list[UnlockedProfile]
    total: int
    page: int
    page_size: int


class EmailUnlockRead(BaseModel):
    creator_id: int
    contact_email: str
    charged: bool
    credits: int


class DiscoveryTotals(BaseModel):
    analysed_creators: int
    unlocked: int
    expiring_within_7_days: int
    expired: int
    saved_searches: int


class DiscoveryDashboard(BaseModel):
    totals: DiscoveryTotals
    recent_unlocks: list[UnlockedProfile]
    unlocks_by_member: dict[str, int] = Field(description="User id (or 'unknown') -> unlocks.")
    balance: Balance = Field(description="Top-up credits (billing).")
    allowances: Allowances = Field(description="This cycle's allowances and free units.")
    suggestions: list[SimilarItem]


class DiscoveryPrice(BaseModel):
    action: str
    credits: int
    free_per_month: int
    free_remaining: int | None
    allowance: str | None
    allowance_remaining: int | None
    access_days: int | None
    description: str
    can_perform: bool
    funding: str = Field(description="What would pay for one now: free, allowance or credits.")
    charge_now: int = Field(description="Credits one would take from the balance now.")


class DiscoveryPricing(BaseModel):
    balance: int
    items: list[DiscoveryPrice]
