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


class TimeCell(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday.")
    weekday_name: str
    hour: int = Field(ge=0, le=23)
    samples: int
    engagement_rate: float | None


class BestTimes(BaseModel):
    account_id: int
    timezone: str
    days: int
    min_samples: int
    engagement_definition: str = ENGAGEMENT_DEFINITION
    posts_considered: int
    cells: list[TimeCell] = Field(description="All 168 weekday x hour cells, Monday 00 first.")
    top: list[TimeCell] = Field(description="Up to 3 best cells with at least min_samples.")


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
