"""Typed responses of the analytics API (also what the CLI report prints)."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field

ENGAGEMENT_DEFINITION = "(likes + comments + shares) / followers, per post, averaged"


class SeriesMetric(enum.StrEnum):
    followers = "followers"
    following = "following"
    posts = "posts"
    engagement = "engagement"
    # Read from the daily account snapshots (totals over the tracked posts), not recomputed.
    total_likes = "total_likes"
    total_comments = "total_comments"
    total_shares = "total_shares"
    total_views = "total_views"
    engagement_rate = "engagement_rate"


class RankBy(enum.StrEnum):
    views = "views"
    likes = "likes"
    comments = "comments"
    engagement = "engagement"


class AccountBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    handle: str
    display_name: str
    is_own: bool


class Delta(BaseModel):
    """Change of a count between two daily snapshots. `absolute`/`percent` are null with a
    `reason` when no snapshot is old enough (or a count is missing): never estimated."""

    days: int = Field(description="The requested window: latest snapshot vs. one N days older.")
    from_day: dt.date | None = Field(description="Latest snapshot on or before latest day - N.")
    from_value: int | None
    to_day: dt.date | None = Field(description="The latest snapshot's day.")
    to_value: int | None
    absolute: int | None
    percent: float | None
    reason: str | None = None


class CountOverview(BaseModel):
    current: int | None = Field(description="The count at the last fetch.")
    deltas: list[Delta]


class EngagementSummary(BaseModel):
    definition: str = ENGAGEMENT_DEFINITION
    days: int
    rate: float | None = Field(description="A fraction: 0.05 means 5 %.")
    posts_averaged: int
    posts_without_rate: int = Field(
        description="Posts in the window without a rate (no follower count when captured)."
    )
    reason: str | None = None


class FollowerTrend(BaseModel):
    method: str = "least-squares slope of daily follower snapshots"
    slope_per_day: float | None = Field(description="Followers gained (lost) per day.")
    n: int = Field(description="Snapshots the fit used.")
    since_day: dt.date | None
    until_day: dt.date | None
    reason: str | None = None


class Overview(BaseModel):
    account: AccountBrief
    timezone: str
    as_of: dt.date | None = Field(description="Day of the latest snapshot.")
    followers: CountOverview
    following: CountOverview
    posts: CountOverview
    engagement: EngagementSummary
    follower_trend: FollowerTrend
    posts_last_7_days: int
    posts_last_30_days: int


class SeriesPoint(BaseModel):
    day: dt.date
    value: int | float
    samples: int | None = Field(
        default=None, description="Posts averaged (engagement only); null for snapshot counts."
    )


class Timeseries(BaseModel):
    account_id: int
    metric: SeriesMetric
    description: str
    since_day: dt.date
    until_day: dt.date
    points: list[SeriesPoint] = Field(description="Days without data are absent, not zero.")


class AccountSnapshotRead(BaseModel):
    """One daily snapshot of an account. Totals are over the account's tracked posts with
    their latest metrics that day; null is "unknown" (no post reported the metric, or the
    snapshot was taken before these columns existed)."""

    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    followers_count: int | None
    following_count: int | None
    posts_count: int | None
    total_likes: int | None
    total_comments: int | None
    total_shares: int | None
    total_views: int | None
    engagement_rate: float | None = Field(
        description=f"{ENGAGEMENT_DEFINITION} over the tracked posts; a fraction (0.05 = 5 %)."
    )
    captured_at: dt.datetime


class AccountSnapshots(BaseModel):
    account_id: int
    since_day: dt.date
    until_day: dt.date
    snapshots: list[AccountSnapshotRead] = Field(
        description="Oldest first; days without a snapshot are absent."
    )


class PostRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    external_id: str
    url: str | None
    caption: str
    media_type: str
    posted_at: dt.datetime
    hashtags: list[str]
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    engagement_rate: float | None


class TopPosts(BaseModel):
    account_id: int
    by: RankBy
    since: dt.datetime
    until: dt.datetime
    posts: list[PostRow]


class MetricValues(BaseModel):
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None


class GrowthPoint(BaseModel):
    day: dt.date
    metrics: MetricValues
    previous_day: dt.date | None = Field(description="The snapshot the change is measured from.")
    days_since_previous: int | None
    change: MetricValues | None = Field(description="Null for the first snapshot.")


class PostGrowth(BaseModel):
    post: PostRow
    points: list[GrowthPoint]


class Baseline(enum.StrEnum):
    snapshot = "snapshot"
    published_after_start = "published_after_start"


class PostGain(BaseModel):
    post: PostRow
    baseline: Baseline = Field(
        description="snapshot: the latest snapshot on or before start_day; "
        "published_after_start: the post did not exist yet, so it starts from zero."
    )
    start_day: dt.date | None
    end_day: dt.date
    start: MetricValues
    end: MetricValues
    change: MetricValues


class GrowthBetween(BaseModel):
    account_id: int
    start_day: dt.date
    end_day: dt.date
    by: RankBy
    posts: list[PostGain]
    posts_without_baseline: int = Field(
        description="Posts published before start_day with no snapshot that old: left out."
    )


class HashtagStats(BaseModel):
    hashtag: str
    posts: int
    engagement_rate: float | None
    engagement_samples: int
    avg_views: float | None
    views_samples: int


class HashtagPerformance(BaseModel):
    account_id: int
    days: int
    min_posts: int
    engagement_definition: str = ENGAGEMENT_DEFINITION
    posts_considered: int
    hashtags: list[HashtagStats]
    hashtags_below_min_posts: int


class SlotSource(enum.StrEnum):
    history = "history"  # the account's own posts decided
    defaults = "defaults"  # the platform's published best hours decided
    blend = "blend"  # some top slots from history, some from defaults


class TimeCell(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday.")
    weekday_name: str
    hour: int = Field(ge=0, le=23)
    samples: int = Field(description="Posts published in this weekday and hour.")
    engagement_rate: float | None = Field(
        description="Observed average engagement rate of those posts (null: none had a rate)."
    )
    score: float = Field(
        default=0.0,
        description="Expected engagement of a post in this hour relative to the account's "
        "median post (1.0 = a typical post), smoothed; the platform default where the cell "
        "has too few posts.",
    )
    confidence: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the score that rests on the account's own posts (0: default).",
    )
    source: SlotSource = SlotSource.defaults


class BestSlot(BaseModel):
    """A concrete time to post: the start of a top weekday x hour cell."""

    at: dt.datetime = Field(description="When to post, with the zone's UTC offset.")
    timezone: str
    weekday: int = Field(ge=0, le=6)
    weekday_name: str
    hour: int = Field(ge=0, le=23)
    rank: int = Field(ge=1, description="The cell's rank among the top slots.")
    score: float
    confidence: float = Field(ge=0, le=1)
    source: SlotSource


class VolumeBucket(BaseModel):
    posts_per_week_min: int
    posts_per_week_max: int | None = Field(description="Null: no upper bound.")
    weeks: int = Field(description="Weeks of history with a weekly volume in this range.")
    engagement_per_post: float | None = Field(
        description="Median over those weeks of the average relative engagement per post "
        "(1.0 = the account's median post)."
    )


class FrequencySuggestion(BaseModel):
    current_per_week: float = Field(description="Posts per week over the weeks considered.")
    suggested_min: int
    suggested_max: int
    source: SlotSource = Field(description="history or defaults.")
    default_min: int
    default_max: int
    by_volume: list[VolumeBucket]
    reason: str


class BestTimes(BaseModel):
    account_id: int
    platform: str = ""
    timezone: str
    days: int
    min_samples: int
    engagement_definition: str = ENGAGEMENT_DEFINITION
    posts_considered: int = Field(description="Posts with an engagement rate in the window.")
    cells: list[TimeCell] = Field(description="All 168 weekday x hour cells, Monday 00 first.")
    top: list[TimeCell] = Field(
        description="Up to 3 best observed cells with at least min_samples posts (raw averages)."
    )
    method: str = ""
    sample_size: int = Field(default=0, description="Posts the smoothed scores are built from.")
    min_posts: int = Field(default=0, description="Below this many posts: platform defaults.")
    confidence: float = Field(default=0.0, ge=0, le=1)
    confidence_level: str = Field(default="low", description="low, medium or high.")
    source: SlotSource = SlotSource.defaults
    grid: list[list[float]] = Field(
        default_factory=list, description="7 x 24 scores: grid[weekday][hour], Monday first."
    )
    top_slots: list[TimeCell] = Field(
        default_factory=list, description="The best cells by score, best first."
    )
    next_slot: BestSlot | None = None
    frequency: FrequencySuggestion | None = None
    defaults_source: str = Field(default="", description="Where the platform defaults come from.")


class CompareRow(BaseModel):
    account: AccountBrief
    followers: int | None
    follower_delta_30d: Delta
    posts_30d: int
    engagement_rate_30d: float | None
    avg_views_30d: float | None


class Comparison(BaseModel):
    days: int
    engagement_definition: str = ENGAGEMENT_DEFINITION
    rows: list[CompareRow]
