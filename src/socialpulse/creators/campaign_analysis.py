"""Campaign analysis: what a campaign got for its money (reach, engagement, comment
sentiment, costs per result), in total and per creator.

Its posts are, per creator: the posts attached by hand when the creator has any (the team
picked them), else every post the creator published within the campaign's dates
(``starts_on`` 00:00 to the day after ``ends_on`` 00:00, in the workspace's time zone). It
reads only public post metrics and comments (shared data): it needs no unlock of the creators.
Its shape (``CampaignAnalysis``) is what ROI in insights reuses. It writes nothing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.creators import campaigns, report
from socialpulse.creators.campaigns_schemas import (
    CampaignAnalysis,
    CampaignCreatorFigures,
    CampaignPostFigures,
    CostFigures,
    EngagementFigures,
    ReachFigures,
)
from socialpulse.creators.models import (
    Campaign,
    CampaignCreator,
    CampaignPost,
    Creator,
    CreatorComment,
    CreatorPost,
)
from socialpulse.db import utcnow
from socialpulse.workspaces.models import Workspace

RATE_DEFINITION = (
    "(likes + comments + shares + saves) summed over the campaign's posts / the creator's "
    "followers summed over the same posts (hidden counters as 0; posts of creators whose "
    "follower count is hidden or 0 are left out)"
)
REACH_METHOD = (
    "views where the platform shows them (measured); for a post without a view count, its "
    "creator's current follower count (an estimate of potential reach, not a measurement)"
)


@dataclass(frozen=True, slots=True)
class _Post:
    id: int
    creator_id: int
    url: str | None
    posted_at: dt.datetime
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    attached: bool

    @property
    def interactions(self) -> int:
        return sum(v or 0 for v in (self.likes, self.comments, self.shares, self.saves))


def window(starts_on: dt.date, ends_on: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[starts_on 00:00, the day after ends_on 00:00) in the zone, as UTC datetimes."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(starts_on, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _cents(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _ratio(part: float, whole: float, scale: float = 1.0) -> float | None:
    return part / whole * scale if whole else None


def _reach(posts: Sequence[_Post], followers: dict[int, int | None]) -> ReachFigures:
    measured = [p.views for p in posts if p.views is not None]
    estimated = [
        followers[p.creator_id]
        for p in posts
        if p.views is None and followers[p.creator_id] is not None
    ]
    measured_views = sum(v for v in measured if v is not None)
    estimate = sum(f for f in estimated if f is not None)
    return ReachFigures(
        total=measured_views + estimate,
        measured_views=measured_views,
        measured_posts=len(measured),
        estimated=estimate,
        estimated_posts=len(estimated),
        unknown_posts=len(posts) - len(measured) - len(estimated),
        is_estimate=bool(estimated),
        method=REACH_METHOD,
    )


def _engagement(posts: Sequence[_Post], followers: dict[int, int | None]) -> EngagementFigures:
    def total(name: str) -> int:
        return sum(getattr(p, name) or 0 for p in posts)

    rated = [p for p in posts if followers[p.creator_id]]
    rate_base = sum(followers[p.creator_id] or 0 for p in rated)
    viewed = [p for p in posts if p.views is not None]
    views = sum(p.views or 0 for p in viewed)
    rate = _ratio(sum(p.interactions for p in rated), rate_base)
    per_view = _ratio(sum(p.interactions for p in viewed), views)
    return EngagementFigures(
        likes=total("likes"),
        comments=total("comments"),
        shares=total("shares"),
        saves=total("saves"),
        total=sum(p.interactions for p in posts),
        rate=round(rate, 6) if rate is not None else None,
        rate_definition=RATE_DEFINITION,
        per_view=round(per_view, 6) if per_view is not None else None,
    )


def _load_posts(
    session: Session, campaign: Campaign, start: dt.datetime, end: dt.datetime
) -> tuple[list[_Post], set[int]]:
    """The campaign's posts and the creators whose posts were picked by hand."""
    columns = (
        CreatorPost.id,
        CreatorPost.creator_id,
        CreatorPost.url,
        CreatorPost.posted_at,
        CreatorPost.views,
        CreatorPost.likes,
        CreatorPost.comments,
        CreatorPost.shares,
        CreatorPost.saves,
    )
    members = campaigns.member_ids(session, campaign.id)
    attached_rows = session.execute(
        select(*columns)
        .join(CampaignPost, CampaignPost.creator_post_id == CreatorPost.id)
        .where(CampaignPost.campaign_id == campaign.id, CreatorPost.creator_id.in_(members))
    ).all()
    picked = {row.creator_id for row in attached_rows}
    by_dates = members - picked
    dated_rows = (
        session.execute(
            select(*columns).where(
                CreatorPost.creator_id.in_(by_dates),
                CreatorPost.posted_at >= start,
                CreatorPost.posted_at < end,
            )
        ).all()
        if by_dates
        else []
    )
    posts = [_Post(*row, attached=True) for row in attached_rows]
    posts += [_Post(*row, attached=False) for row in dated_rows]
    posts.sort(key=lambda p: (p.posted_at, p.id), reverse=True)
    return posts, picked


def analysis(
    session: Session, workspace_id: int, campaign_id: int, *, now: dt.datetime | None = None
) -> CampaignAnalysis:
    """Reach, engagement, comment sentiment and costs of the campaign's posts, in total and
    per creator. Reads public metrics only; charges nothing (the route charges)."""
    row = campaigns.get_campaign(session, workspace_id, campaign_id)
    timezone = session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id))
    timezone = timezone or "UTC"
    start, end = window(row.starts_on, row.ends_on, timezone)
    posts, picked = _load_posts(session, row, start, end)
    members = list(
        session.execute(
            select(CampaignCreator.fee_cents, Creator)
            .join(Creator, Creator.id == CampaignCreator.creator_id)
            .where(CampaignCreator.campaign_id == row.id)
            .order_by(CampaignCreator.added_at, CampaignCreator.id)
        )
    )
    followers = {creator.id: creator.followers_count for _, creator in members}
    fan_comments = (
        report.comment_rows(
            session,
            CreatorComment.post_id.in_([p.id for p in posts]),
            CreatorComment.by_creator.is_(False),
        )
        if posts
        else []
    )
    posts_of: dict[int, list[_Post]] = defaultdict(list)
    for post in posts:
        posts_of[post.creator_id].append(post)
    comments_of: dict[int, list[report.CommentRow]] = defaultdict(list)
    creator_of_post = {p.id: p.creator_id for p in posts}
    for comment in fan_comments:
        comments_of[creator_of_post[comment.post_id]].append(comment)

    base = campaigns.summarise(session, row)
    engagement = _engagement(posts, followers)
    reach = _reach(posts, followers)
    total_cost = base.total_cost_cents
    creators = []
    for fee, creator in members:
        own = posts_of[creator.id]
        own_engagement = _engagement(own, followers)
        creators.append(
            CampaignCreatorFigures(
                creator_id=creator.id,
                platform=creator.platform,
                handle=creator.handle,
                display_name=creator.display_name,
                followers_count=creator.followers_count,
                fee_cents=fee,
                post_selection="attached" if creator.id in picked else "dates",
                posts=len(own),
                reach=_reach(own, followers),
                engagement=own_engagement,
                comment_sentiment=report.sentiment_breakdown(comments_of[creator.id]),
                cost_per_engagement_cents=_cents(_ratio(fee, own_engagement.total)),
            )
        )
    return CampaignAnalysis(
        campaign=base,
        timezone=timezone,
        window_start=start,
        window_end=end,
        posts_count=len(posts),
        creators_count=len(members),
        reach=reach,
        engagement=engagement,
        comment_sentiment=report.sentiment_breakdown(fan_comments),
        costs=CostFigures(
            currency=row.currency,
            fees_cents=base.fees_cents,
            other_costs_cents=base.other_costs_cents,
            total_cents=total_cost,
            budget_cents=row.budget_cents,
            budget_remaining_cents=row.budget_cents - total_cost
            if row.budget_cents is not None
            else None,
            cost_per_engagement_cents=_cents(_ratio(total_cost, engagement.total)),
            cost_per_thousand_views_cents=_cents(_ratio(total_cost, reach.measured_views, 1000.0)),
            cost_per_thousand_reach_cents=_cents(_ratio(total_cost, reach.total, 1000.0)),
        ),
        creators=creators,
        posts=[
            CampaignPostFigures(
                id=p.id,
                creator_id=p.creator_id,
                url=p.url,
                posted_at=p.posted_at,
                attached=p.attached,
                views=p.views,
                likes=p.likes,
                comments=p.comments,
                shares=p.shares,
                saves=p.saves,
                engagement=p.interactions,
                reach=p.views if p.views is not None else followers[p.creator_id],
                reach_estimated=p.views is None and followers[p.creator_id] is not None,
            )
            for p in posts
        ],
        computed_at=now or utcnow(),
    )
