"""Request and response schemas of campaigns and their analysis (issue #14 part D).

Money is integer cents of the campaign's currency; derived costs (per engagement, per 1,000
views) are cents as decimals, rounded to 0.01. Rates are fractions (0.034 = 3.4 %). A figure
the stored data cannot give is ``None``, never a guess; an estimate says it is one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from socialpulse.creators.models import CampaignStatus
from socialpulse.creators.schemas import SentimentBreakdown
from socialpulse.kit.params import DB_BIGINT_MAX, Id

CampaignName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 code, e.g. USD, EUR."),
]
Cents = Annotated[
    int, Field(ge=0, le=DB_BIGINT_MAX, description="Smallest unit of the campaign's currency.")
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=5_000)]
PostSelection = Literal["attached", "dates"]


class CampaignCreatorIn(BaseModel):
    creator_id: Id
    fee_cents: Cents = 0


class CampaignCreatorUpdate(BaseModel):
    fee_cents: Cents


class CampaignCostIn(BaseModel):
    label: Label
    amount_cents: Cents
    incurred_on: dt.date | None = None


class CampaignCostUpdate(BaseModel):
    label: Label | None = None
    amount_cents: Cents | None = None
    incurred_on: dt.date | None = None


class CampaignPostsAdd(BaseModel):
    post_ids: list[Id] = Field(
        min_length=1,
        max_length=500,
        description="Stored creator posts; each one's creator must be in the campaign.",
    )


class CampaignCreate(BaseModel):
    name: CampaignName = Field(description="Unique in the workspace.")
    description: Description = ""
    starts_on: dt.date = Field(description="First day, in the workspace's time zone.")
    ends_on: dt.date = Field(description="Last day (inclusive), not before starts_on.")
    budget_cents: Cents | None = None
    currency: Currency = "USD"
    status: CampaignStatus = CampaignStatus.draft
    creators: list[CampaignCreatorIn] = Field(default_factory=list, max_length=500)
    post_ids: list[Id] = Field(default_factory=list, max_length=500)
    costs: list[CampaignCostIn] = Field(default_factory=list, max_length=200)


class CampaignUpdate(BaseModel):
    name: CampaignName | None = None
    description: Description | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    budget_cents: Cents | None = None
    currency: Currency | None = None
    status: CampaignStatus | None = None


class CampaignCreatorRead(BaseModel):
    creator_id: int
    platform: str
    handle: str
    display_name: str
    followers_count: int | None
    fee_cents: int
    added_at: dt.datetime


class CampaignCostRead(BaseModel):
    id: int
    label: str
    amount_cents: int
    incurred_on: dt.date | None
    created_at: dt.datetime


class CampaignSummary(BaseModel):
    id: int
    name: str
    description: str
    starts_on: dt.date
    ends_on: dt.date
    status: CampaignStatus
    currency: str
    budget_cents: int | None
    creators_count: int
    fees_cents: int = Field(description="Sum of the creators' fees.")
    other_costs_cents: int = Field(description="Sum of the cost lines.")
    total_cost_cents: int
    created_by_user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignRead(CampaignSummary):
    creators: list[CampaignCreatorRead]
    attached_post_ids: list[int]
    costs: list[CampaignCostRead]


class CampaignPage(BaseModel):
    items: list[CampaignSummary]
    total: int
    offset: int
    limit: int


# --------------------------------------------------------------------------- analysis


class ReachFigures(BaseModel):
    total: int = Field(description="measured_views + estimated.")
    measured_views: int = Field(description="Sum of views of the posts whose platform shows them.")
    measured_posts: int
    estimated: int = Field(
        description="For posts without a view count: the creator's followers, per post."
    )
    estimated_posts: int
    unknown_posts: int = Field(description="Posts with neither views nor a follower count.")
    is_estimate: bool = Field(description="True when any part of the total is estimated.")
    method: str


class EngagementFigures(BaseModel):
    likes: int
    comments: int
    shares: int
    saves: int
    total: int = Field(description="likes + comments + shares + saves (hidden counters as 0).")
    rate: float | None = Field(
        description="Interactions / followers summed over the posts of creators with a known "
        "follower count; null when none."
    )
    rate_definition: str
    per_view: float | None = Field(
        description="Interactions of the posts with a view count / their views; null without."
    )


class CostFigures(BaseModel):
    currency: str
    fees_cents: int
    other_costs_cents: int
    total_cents: int
    budget_cents: int | None
    budget_remaining_cents: int | None = Field(description="budget - total; negative: over.")
    cost_per_engagement_cents: float | None
    cost_per_thousand_views_cents: float | None = Field(
        description="total / measured views x 1,000 (CPM on measured views only)."
    )
    cost_per_thousand_reach_cents: float | None = Field(
        description="total / reach x 1,000; an estimate when the reach is."
    )


class CampaignCreatorFigures(BaseModel):
    creator_id: int
    platform: str
    handle: str
    display_name: str
    followers_count: int | None
    fee_cents: int
    post_selection: PostSelection = Field(
        description="attached: the posts attached by hand; dates: every post it published "
        "within the campaign's dates."
    )
    posts: int
    reach: ReachFigures
    engagement: EngagementFigures
    comment_sentiment: SentimentBreakdown
    cost_per_engagement_cents: float | None = Field(description="Its fee / its engagement.")


class CampaignPostFigures(BaseModel):
    id: int
    creator_id: int
    url: str | None
    posted_at: dt.datetime
    attached: bool
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    engagement: int
    reach: int | None
    reach_estimated: bool


class CampaignAnalysis(BaseModel):
    """A campaign's results: what ROI (publishing) reuses."""

    campaign: CampaignSummary
    timezone: str
    window_start: dt.datetime = Field(description="starts_on 00:00 in the workspace's zone.")
    window_end: dt.datetime = Field(description="The day after ends_on 00:00 (exclusive).")
    posts_count: int
    creators_count: int
    reach: ReachFigures
    engagement: EngagementFigures
    comment_sentiment: SentimentBreakdown = Field(
        description="AI sentiment of the sampled fan comments on the campaign's posts."
    )
    costs: CostFigures
    creators: list[CampaignCreatorFigures]
    posts: list[CampaignPostFigures] = Field(description="Newest first.")
    computed_at: dt.datetime
