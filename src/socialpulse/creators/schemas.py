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
