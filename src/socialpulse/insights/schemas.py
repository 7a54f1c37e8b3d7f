"""Requests and responses of the workspace overview and ROI (``/api/v1/analytics/...``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from socialpulse.alerts.schemas import AlertRead
from socialpulse.insights.models import CostCategory
from socialpulse.kit.params import DB_BIGINT_MAX, Id

ENGAGEMENT_DEFINITION = (
    "engagement = likes + comments + shares. A post's engagement rate is engagement / "
    "impressions where the platform provides impressions, else engagement / the account's "
    "followers when the metrics were captured; the overview's rate is the mean over posts that "
    "have one (a fraction: 0.05 is 5 %)."
)
SENTIMENT_DEFINITION = (
    "(positive - negative) / (positive + negative + neutral) over the classified comments, "
    "replies, mentions and messages received in the period: -1 all negative, 0 balanced or "
    "all neutral, 1 all positive; null when none is classified."
)
ROI_DEFINITION = (
    "roi_percentage = (estimated value - total cost) / total cost x 100; estimated value = the "
    "sum over likes, comments, shares, followers gained, clicks and impressions of count x "
    "value per unit, each line rounded to the cent."
)

Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 code in capitals, e.g. USD.", examples=["USD"]),
]
UnitValue = Annotated[
    Decimal,
    Field(
        ge=0,
        le=1000,
        decimal_places=5,
        description="Value of one unit in the ROI currency: 0 to 1000, at most 5 decimals "
        "(0.005 per impression is a 5.00 CPM).",
    ),
]


# --------------------------------------------------------------------------- overview


class Period(BaseModel):
    days: int
    start: dt.date = Field(description="First day, in the workspace's time zone.")
    end: dt.date = Field(description="Last day (today), in the workspace's time zone.")
    timezone: str
    starts_at: dt.datetime = Field(description="start 00:00 local, as UTC.")
    ends_at: dt.datetime = Field(description="The day after end 00:00 local, as UTC (exclusive).")


class PostTotals(BaseModel):
    total: int
    avg_per_day: float = Field(description="total / days, rounded to 2 decimals.")


class EngagementTotals(BaseModel):
    likes: int
    comments: int
    shares: int
    saves: int | None = Field(description="Null: no post in the period reports saves.")
    clicks: int | None = Field(description="Null: no platform in the period reports clicks.")
    impressions: int | None = Field(description="Null: no platform in the period reports them.")
    reach: int | None = Field(description="Null: no platform in the period reports it.")
    engagement: int = Field(description="likes + comments + shares.")
    engagement_rate: float | None
    posts_rated_by_impressions: int
    posts_rated_by_followers: int
    posts_without_rate: int
    definition: str = ENGAGEMENT_DEFINITION


class MetricAvailability(BaseModel):
    """Which platforms' posts in the period carry an owner-only metric: null elsewhere means
    "not provided", and it is left out of the totals rather than counted as zero."""

    metric: str
    provided_by: list[str]
    not_provided_by: list[str]


class AccountGrowth(BaseModel):
    account_id: int
    platform: str
    handle: str
    growth: int | None
    reason: str | None = None


class FollowerGrowth(BaseModel):
    total_growth: int = Field(description="Sum over the accounts whose growth is known.")
    by_platform: dict[str, int]
    accounts: list[AccountGrowth]
    definition: str = (
        "followers at the latest daily snapshot minus followers at the latest snapshot on or "
        "before the day before the period (analytics' follower delta); null with a reason when "
        "the history is too short"
    )


class SentimentScore(BaseModel):
    overall_score: float | None
    positive_count: int
    negative_count: int
    neutral_count: int
    unclassified_count: int
    definition: str = SENTIMENT_DEFINITION


class TopPost(BaseModel):
    post_id: int
    account_id: int
    platform: str
    handle: str
    url: str | None
    text: str = Field(description="The caption, cut to 140 characters.")
    posted_at: dt.datetime
    media_type: str
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    impressions: int | None
    reach: int | None
    clicks: int | None
    engagement: int
    engagement_rate: float | None


class PlatformRow(BaseModel):
    platform: str
    accounts: int
    posts: int
    engagement: int
    engagement_rate: float | None
    impressions: int | None
    reach: int | None
    followers: int | None = Field(description="Sum of the accounts' current follower counts.")
    growth: int | None = Field(description="Follower growth over the period (known accounts).")


class DayRow(BaseModel):
    day: dt.date
    posts: int
    likes: int
    comments: int
    shares: int
    engagement: int


class ContentRow(BaseModel):
    media_type: str
    posts: int
    avg_engagement: float
    avg_engagement_rate: float | None
    rated_posts: int


class WorkspaceOverview(BaseModel):
    period: Period
    platform: str | None = Field(description="The platform filter, if any.")
    accounts: int = Field(description="The workspace's own tracked accounts included.")
    total_posts: PostTotals
    total_engagement: EngagementTotals
    metrics_provided: list[MetricAvailability]
    follower_growth: FollowerGrowth
    sentiment_score: SentimentScore
    top_performing_posts: list[TopPost]
    platform_breakdown: list[PlatformRow]
    engagement_by_day: list[DayRow] = Field(
        description="Every day of the period, zeros filled: the posts published that day (local "
        "day) with their latest metrics."
    )
    content_performance: list[ContentRow]
    open_alerts: list[AlertRead] = Field(
        default_factory=list,
        description="Performance alerts nobody has acknowledged yet, newest first (any tracked "
        "account of the workspace, on the platform filter's platform when one is set).",
    )


# --------------------------------------------------------------------------- ROI settings


class RoiSettingsRead(BaseModel):
    currency: str
    value_per_like: Decimal
    value_per_comment: Decimal
    value_per_share: Decimal
    value_per_follower: Decimal
    value_per_click: Decimal
    value_per_impression: Decimal
    is_default: bool = Field(description="True until the workspace saves its own values.")
    updated_at: dt.datetime | None


class RoiSettingsUpdate(BaseModel):
    """The fields given change; the others keep their current (or default) value."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency | None = None
    value_per_like: UnitValue | None = None
    value_per_comment: UnitValue | None = None
    value_per_share: UnitValue | None = None
    value_per_follower: UnitValue | None = None
    value_per_click: UnitValue | None = None
    value_per_impression: UnitValue | None = None


# --------------------------------------------------------------------------- costs


class CostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CostCategory
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    amount_cents: int = Field(ge=0, le=DB_BIGINT_MAX, description="Integer cents.")
    currency: Currency | None = Field(
        default=None, description="Default: the workspace's ROI currency."
    )
    incurred_on: dt.date
    campaign_id: Id | None = Field(default=None, description="One of the workspace's campaigns.")


class CostRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category: CostCategory
    label: str
    amount_cents: int
    amount: str = Field(description="amount_cents as a decimal, e.g. 12.50.")
    currency: str
    incurred_on: dt.date
    campaign_id: int | None
    created_at: dt.datetime


class CostPage(BaseModel):
    items: list[CostRead]
    total: int
    offset: int
    limit: int


# --------------------------------------------------------------------------- ROI


class Money(BaseModel):
    cents: int
    amount: str = Field(description="cents as a decimal with 2 places, e.g. 12.50.")
    currency: str


class RoiCosts(BaseModel):
    ai_generation: Money
    tools: Money
    ads: Money
    other: Money
    campaigns: Money = Field(
        description="Fees of the campaigns running in the period and their costs incurred in "
        "it (a cost without a date counts when its campaign runs in the period)."
    )
    total: Money


class ValueLine(BaseModel):
    metric: str
    count: int
    value_per_unit: Decimal
    value: Money


class ExcludedCost(BaseModel):
    what: str
    amount: Money
    reason: str


class Roi(BaseModel):
    period: Period
    platform: str | None
    campaign_id: int | None
    currency: str
    costs: RoiCosts
    estimated_value: Money
    roi_percentage: float | None
    roi_reason: str | None = Field(description="Why roi_percentage is null.")
    engagement_value_breakdown: list[ValueLine]
    formula: str = Field(description="The computation with its numbers, for the page to show.")
    definition: str = ROI_DEFINITION
    settings_are_default: bool
    excluded_costs: list[ExcludedCost]
    notes: list[str]
