"""ROI of the workspace's social media over the last N days (``GET /api/v1/analytics/roi``),
its settings (currency and value per unit) and the costs the team records by hand.

    roi_percentage = (estimated value - total cost) / total cost x 100

* Estimated value: count x value per unit for likes, comments, shares, followers gained,
  clicks and impressions; each line rounded half up to the cent, the total is the sum of the
  lines. Counts: the own accounts' posts published in the period (as in the overview; clicks
  and impressions only where the platform provides them), follower growth over the period, and
  the posts in the period of the campaigns counted below (their likes, comments and shares).
* Costs, in the ROI currency's cents: AI generation (``ai.service.ai_costs_cents`` over the
  period), recorded costs (``workspace_costs``) incurred in the period by category, and
  campaigns running in the period (their creators' fees in full and their other costs incurred
  in it; a cost without a date counts with its campaign). Amounts in another currency are not
  converted: they are left out and listed in ``excluded_costs`` (a campaign in another currency
  is left out entirely, its engagement too, so it cannot inflate the ratio).
* ``campaign=<id>``: only that campaign: its posts' engagement (``creators.campaign_analysis``),
  its fees and costs, and the recorded costs tagged with it. AI costs and follower growth are
  not attributable to one campaign and count as zero there (said in ``notes``).
* Costs are not split by platform: with ``platform=``, the value is that platform's and the
  costs stay whole (said in ``notes``).
* No cost: ``roi_percentage`` is null with the reason.

Not cached: campaign posts are data the instance shares (creators), whose refreshes do not
move the workspace's data version, so a cached ROI could outlive them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from socialpulse.ai import service as ai_service
from socialpulse.analytics import service as analytics_service
from socialpulse.creators import campaign_analysis
from socialpulse.creators import campaigns as creator_campaigns
from socialpulse.creators.models import Campaign, CampaignCost, CampaignCreator
from socialpulse.insights import service
from socialpulse.insights.models import VALUE_METRICS, CostCategory, RoiSettings, WorkspaceCost
from socialpulse.insights.schemas import (
    CostCreate,
    CostPage,
    CostRead,
    ExcludedCost,
    Money,
    Period,
    Roi,
    RoiCosts,
    RoiSettingsRead,
    RoiSettingsUpdate,
    ValueLine,
)
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

DEFAULT_CURRENCY = "USD"
MILLICENTS_PER_UNIT = 100_000  # 1 currency unit = 100 cents = 100,000 millicents
# Defaults, in currency units per unit of the metric: placeholders of the order of what paid
# media costs (a 5.00 CPM, a 0.50 click), for a team to replace with its own figures.
DEFAULT_VALUES: dict[str, Decimal] = {
    "likes": Decimal("0.10"),
    "comments": Decimal("0.50"),
    "shares": Decimal("1.00"),
    "followers": Decimal("1.00"),
    "clicks": Decimal("0.50"),
    "impressions": Decimal("0.005"),
}
# API field per metric (the breakdown names metrics in the plural, as counts are).
FIELDS = {
    "likes": "value_per_like",
    "comments": "value_per_comment",
    "shares": "value_per_share",
    "followers": "value_per_follower",
    "clicks": "value_per_click",
    "impressions": "value_per_impression",
}
_CENT = Decimal(1)


# --------------------------------------------------------------------------- money


def amount(cents: int) -> str:
    """12345 -> '123.45' (two decimals, as the ROI currencies are cents-based)."""
    return f"{Decimal(cents).scaleb(-2):f}"


def money(cents: int, currency: str) -> Money:
    return Money(cents=cents, amount=amount(cents), currency=currency)


def _unit_value(millicents: int) -> Decimal:
    return Decimal(millicents) / MILLICENTS_PER_UNIT


def _millicents(value: Decimal) -> int:
    return int(value * MILLICENTS_PER_UNIT)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Values:
    currency: str
    millicents: dict[str, int]
    is_default: bool
    updated_at: dt.datetime | None


def values(session: Session, subject: Subject) -> Values:
    row = session.get(RoiSettings, subject.workspace_id)
    if row is None:
        return Values(
            DEFAULT_CURRENCY,
            {metric: _millicents(value) for metric, value in DEFAULT_VALUES.items()},
            True,
            None,
        )
    return Values(
        row.currency,
        {metric: getattr(row, f"value_per_{metric}_millicents") for metric in VALUE_METRICS},
        False,
        row.updated_at,
    )


def _settings_read(found: Values) -> RoiSettingsRead:
    return RoiSettingsRead(
        currency=found.currency,
        **{FIELDS[metric]: _unit_value(found.millicents[metric]) for metric in VALUE_METRICS},
        is_default=found.is_default,
        updated_at=found.updated_at,
    )


def get_settings(session: Session, subject: Subject) -> RoiSettingsRead:
    return _settings_read(values(session, subject))


def update_settings(session: Session, subject: Subject, body: RoiSettingsUpdate) -> RoiSettingsRead:
    """Save the fields given; the first save starts from the defaults."""
    current = values(session, subject)
    row = session.get(RoiSettings, subject.workspace_id)
    if row is None:
        row = RoiSettings(workspace_id=subject.workspace_id, currency=current.currency)
        for metric in VALUE_METRICS:
            setattr(row, f"value_per_{metric}_millicents", current.millicents[metric])
        session.add(row)
    if body.currency is not None:
        row.currency = body.currency
    for metric in VALUE_METRICS:
        given: Decimal | None = getattr(body, FIELDS[metric])
        if given is not None:
            setattr(row, f"value_per_{metric}_millicents", _millicents(given))
    row.updated_by_user_id = subject.user_id
    session.flush()
    return get_settings(session, subject)


# --------------------------------------------------------------------------- recorded costs


def _cost_read(cost: WorkspaceCost) -> CostRead:
    return CostRead(
        id=cost.id,
        category=cost.category,
        label=cost.label,
        amount_cents=cost.amount_cents,
        amount=amount(cost.amount_cents),
        currency=cost.currency,
        incurred_on=cost.incurred_on,
        campaign_id=cost.campaign_id,
        created_at=cost.created_at,
    )


def add_cost(session: Session, subject: Subject, body: CostCreate) -> CostRead:
    if body.campaign_id is not None:
        # Another workspace's campaign does not exist for this one: 404, nothing written.
        creator_campaigns.get_campaign(session, subject.workspace_id, body.campaign_id)
    cost = WorkspaceCost(
        workspace_id=subject.workspace_id,
        category=body.category,
        label=body.label,
        amount_cents=body.amount_cents,
        currency=body.currency or values(session, subject).currency,
        incurred_on=body.incurred_on,
        campaign_id=body.campaign_id,
        created_by_user_id=subject.user_id,
    )
    session.add(cost)
    session.flush()
    return _cost_read(cost)


def list_costs(
    session: Session,
    subject: Subject,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    category: CostCategory | None = None,
    offset: int = 0,
    limit: int = 50,
) -> CostPage:
    """The workspace's recorded costs, latest first."""
    stmt = scoped(select(WorkspaceCost), subject)
    if since is not None:
        stmt = stmt.where(WorkspaceCost.incurred_on >= since)
    if until is not None:
        stmt = stmt.where(WorkspaceCost.incurred_on <= until)
    if category is not None:
        stmt = stmt.where(WorkspaceCost.category == category)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(WorkspaceCost.incurred_on.desc(), WorkspaceCost.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return CostPage(
        items=[_cost_read(row) for row in rows], total=total, offset=offset, limit=limit
    )


def delete_cost(session: Session, subject: Subject, cost_id: int) -> None:
    session.delete(get_scoped(session, WorkspaceCost, cost_id, subject))
    session.flush()


# --------------------------------------------------------------------------- ROI


@dataclass
class _Tally:
    """What the ROI adds up before it is rendered."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VALUE_METRICS, 0))
    cents: dict[str, int] = field(
        default_factory=lambda: {
            "ai_generation": 0,
            "tools": 0,
            "ads": 0,
            "other": 0,
            "campaigns": 0,
        }
    )
    excluded: list[ExcludedCost] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _campaigns(
    session: Session, subject: Subject, span: Period, campaign_id: int | None
) -> list[Campaign]:
    if campaign_id is not None:
        return [creator_campaigns.get_campaign(session, subject.workspace_id, campaign_id)]
    return list(
        session.scalars(
            scoped(select(Campaign), subject)
            .where(Campaign.starts_on <= span.end, Campaign.ends_on >= span.start)
            .order_by(Campaign.starts_on, Campaign.id)
        )
    )


def _campaign_costs(session: Session, campaign: Campaign, span: Period) -> int:
    """Its creators' fees when it runs in the period, plus its other costs incurred in the
    period (a cost without a date counts when the campaign runs in the period)."""
    runs = campaign.starts_on <= span.end and campaign.ends_on >= span.start
    fees = (
        session.scalar(
            select(func.coalesce(func.sum(CampaignCreator.fee_cents), 0)).where(
                CampaignCreator.campaign_id == campaign.id
            )
        )
        if runs
        else 0
    )
    dated = CampaignCost.incurred_on.between(span.start, span.end)
    when = or_(dated, CampaignCost.incurred_on.is_(None)) if runs else dated
    costs = session.scalar(
        select(func.coalesce(func.sum(CampaignCost.amount_cents), 0)).where(
            CampaignCost.campaign_id == campaign.id, when
        )
    )
    return int(fees or 0) + int(costs or 0)


def _add_campaign(
    session: Session,
    subject: Subject,
    tally: _Tally,
    campaign: Campaign,
    span: Period,
    platform: str | None,
    currency: str,
) -> None:
    cost = _campaign_costs(session, campaign, span)
    if campaign.currency != currency:
        tally.excluded.append(
            ExcludedCost(
                what=f"campaign {campaign.name!r}",
                amount=money(cost, campaign.currency),
                reason=f"in {campaign.currency}, not the ROI currency {currency} (not "
                "converted); its engagement is left out too",
            )
        )
        return
    tally.cents["campaigns"] += cost
    result = campaign_analysis.analysis(session, subject.workspace_id, campaign.id)
    platform_of = {creator.creator_id: creator.platform for creator in result.creators}
    for post in result.posts:
        if not span.starts_at <= post.posted_at < span.ends_at:
            continue
        if platform is not None and platform_of.get(post.creator_id) != platform:
            continue
        tally.counts["likes"] += post.likes or 0
        tally.counts["comments"] += post.comments or 0
        tally.counts["shares"] += post.shares or 0


def _add_recorded(
    session: Session,
    subject: Subject,
    tally: _Tally,
    span: Period,
    campaign_id: int | None,
    currency: str,
) -> None:
    stmt = scoped(select(WorkspaceCost), subject).where(
        WorkspaceCost.incurred_on.between(span.start, span.end)
    )
    if campaign_id is not None:
        stmt = stmt.where(WorkspaceCost.campaign_id == campaign_id)
    for cost in session.scalars(stmt.order_by(WorkspaceCost.incurred_on, WorkspaceCost.id)):
        if cost.currency != currency:
            tally.excluded.append(
                ExcludedCost(
                    what=f"{cost.category.value} cost {cost.label!r} of "
                    f"{cost.incurred_on.isoformat()}",
                    amount=money(cost.amount_cents, cost.currency),
                    reason=f"in {cost.currency}, not the ROI currency {currency} (not converted)",
                )
            )
            continue
        tally.cents[cost.category.value] += cost.amount_cents


def _add_own(
    session: Session, subject: Subject, tally: _Tally, span: Period, platform: str | None
) -> None:
    accounts = service.own_accounts(session, subject, platform)
    posts = service.posts_in(session, subject, accounts, span)
    for metric in ("likes", "comments", "shares", "clicks", "impressions"):
        tally.counts[metric] += service.known_sum(posts, metric) or 0
    growth = service.follower_growth(session, subject, accounts, span.days)
    tally.counts["followers"] += growth.total_growth
    for metric in ("clicks", "impressions"):
        provided = sorted({post.platform for post in posts if getattr(post, metric) is not None})
        tally.notes.append(
            f"{metric}: counted from {', '.join(provided)}"
            if provided
            else f"{metric}: no post in the period has them (its platforms do not provide "
            "them), counted as 0"
        )
    unknown = [row.handle for row in growth.accounts if row.growth is None]
    if unknown:
        tally.notes.append(
            f"followers: growth unknown for {', '.join(unknown)} (history too short), not counted"
        )


def _round_cents(millicents: int) -> int:
    return int((Decimal(millicents) / 1000).quantize(_CENT, rounding=ROUND_HALF_UP))


def _lines(tally: _Tally, found: Values) -> list[ValueLine]:
    return [
        ValueLine(
            metric=metric,
            count=tally.counts[metric],
            value_per_unit=_unit_value(found.millicents[metric]),
            value=money(
                _round_cents(tally.counts[metric] * found.millicents[metric]), found.currency
            ),
        )
        for metric in VALUE_METRICS
    ]


def _percentage(value_cents: int, cost_cents: int) -> float:
    ratio = Decimal(value_cents - cost_cents) / Decimal(cost_cents) * 100
    return float(ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _formula(lines: Sequence[ValueLine], costs: RoiCosts, roi: float | None, currency: str) -> str:
    value_cents = sum(line.value.cents for line in lines)
    terms = " + ".join(f"{line.count} {line.metric} x {line.value_per_unit}" for line in lines)
    values_ = " + ".join(line.value.amount for line in lines)
    cost_terms = (
        f"AI generation {costs.ai_generation.amount} + tools {costs.tools.amount} + ads "
        f"{costs.ads.amount} + other {costs.other.amount} + campaigns {costs.campaigns.amount}"
    )
    value = amount(value_cents)
    total = costs.total.amount
    roi_text = (
        f"ROI = ({value} - {total}) / {total} x 100 = {roi:.2f} %"
        if roi is not None
        else "ROI = (estimated value - total cost) / total cost x 100: not defined, the total "
        "cost is 0"
    )
    return (
        f"Estimated value = {terms} = {values_} = {value} {currency}. "
        f"Total cost = {cost_terms} = {total} {currency}. {roi_text}."
    )


def roi(
    session: Session,
    subject: Subject,
    *,
    days: int = 30,
    platform: str | None = None,
    campaign_id: int | None = None,
    now: dt.datetime | None = None,
) -> Roi:
    service.check_days(days)
    platform = service.check_platform(platform)
    zone = analytics_service.workspace_zone(session, subject)
    span = service.period(zone, days, now)
    found = values(session, subject)
    currency = found.currency
    tally = _Tally()
    campaigns = _campaigns(session, subject, span, campaign_id)  # 404 for another workspace's
    if campaign_id is None:
        _add_own(session, subject, tally, span, platform)
        # Part E of issue #15 adds ai_costs_cents (the ai_usage table); merged before this.
        tally.cents["ai_generation"] = ai_service.ai_costs_cents(
            session, subject.workspace_id, span.starts_at, span.ends_at
        )
    else:
        tally.notes.append(
            "campaign: only its posts' engagement and its costs (fees, its other costs and the "
            "recorded costs tagged with it); AI costs and follower growth are not attributable "
            "to one campaign and count as 0"
        )
    for campaign in campaigns:
        _add_campaign(session, subject, tally, campaign, span, platform, currency)
    _add_recorded(session, subject, tally, span, campaign_id, currency)
    if platform is not None:
        tally.notes.append(
            f"platform: the value is {platform}'s; costs are not split by platform and count "
            "in full"
        )
    total_cents = sum(tally.cents.values())
    costs = RoiCosts(
        **{name: money(cents, currency) for name, cents in tally.cents.items()},
        total=money(total_cents, currency),
    )
    lines = _lines(tally, found)
    value_cents = sum(line.value.cents for line in lines)
    percentage = _percentage(value_cents, total_cents) if total_cents else None
    return Roi(
        period=span,
        platform=platform,
        campaign_id=campaign_id,
        currency=currency,
        costs=costs,
        estimated_value=money(value_cents, currency),
        roi_percentage=percentage,
        roi_reason=None
        if total_cents
        else "no costs in the period: ROI is not defined without a cost (record tool or ad "
        "costs, campaign fees, or AI usage)",
        engagement_value_breakdown=lines,
        formula=_formula(lines, costs, percentage, currency),
        settings_are_default=found.is_default,
        excluded_costs=tally.excluded,
        notes=tally.notes,
    )
