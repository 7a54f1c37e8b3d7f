"""Campaigns: creators (with their fees), their posts and other costs, and the analysis of
what the campaign got for its money.

A campaign is the workspace's own (every read and write filters by its id: another
workspace's campaign is a 404). Its posts are, per creator: the posts attached by hand when
the creator has any (the team picked them), else every post the creator published within the
campaign's dates (``starts_on`` 00:00 to the day after ``ends_on`` 00:00, in the workspace's
time zone). ``analysis`` reads only public post metrics and comments (shared data): it needs no
unlock of the creators. Its shape (``CampaignAnalysis``) is what ROI in publishing reuses.

Services flush, the edge commits; a refused request (bad dates, an unknown creator or post, a
duplicate name) raises before anything is added, so it writes nothing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from socialpulse.creators import lists, report
from socialpulse.creators.campaigns_schemas import (
    CampaignAnalysis,
    CampaignCostIn,
    CampaignCostRead,
    CampaignCostUpdate,
    CampaignCreate,
    CampaignCreatorFigures,
    CampaignCreatorIn,
    CampaignCreatorRead,
    CampaignPage,
    CampaignPostFigures,
    CampaignRead,
    CampaignSummary,
    CampaignUpdate,
    CostFigures,
    EngagementFigures,
    ReachFigures,
)
from socialpulse.creators.models import (
    Campaign,
    CampaignCost,
    CampaignCreator,
    CampaignPost,
    Creator,
    CreatorComment,
    CreatorPost,
)
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, NotFound
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


class CampaignNameTaken(Conflict):
    code = "campaign_name_taken"


# --------------------------------------------------------------------------- rows


def get_campaign(session: Session, workspace_id: int, campaign_id: int) -> Campaign:
    """The workspace's campaign, or 404 (another workspace's does not exist for it)."""
    found = session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, Campaign.workspace_id == workspace_id)
    )
    if found is None:
        raise NotFound(f"no campaign {campaign_id} in this workspace")
    return found


def _check_dates(starts_on: dt.date, ends_on: dt.date) -> None:
    if ends_on < starts_on:
        raise InvalidInput(
            f"ends_on ({ends_on.isoformat()}) is before starts_on ({starts_on.isoformat()})",
            details=[{"loc": ["body", "ends_on"], "msg": "before starts_on"}],
        )


def _name_free(session: Session, workspace_id: int, name: str, but: int | None = None) -> None:
    # Checked first for a clear message; the unique constraint still decides a race.
    query = select(Campaign.id).where(Campaign.workspace_id == workspace_id, Campaign.name == name)
    if but is not None:
        query = query.where(Campaign.id != but)
    if session.scalar(query) is not None:
        raise _taken(name)


def _taken(name: str) -> CampaignNameTaken:
    return CampaignNameTaken(f"this workspace already has a campaign named {name!r}")


def _member_ids(session: Session, campaign_id: int) -> set[int]:
    return set(
        session.scalars(
            select(CampaignCreator.creator_id).where(CampaignCreator.campaign_id == campaign_id)
        )
    )


def _check_posts(session: Session, post_ids: Sequence[int], members: set[int]) -> list[int]:
    """The post ids once each; 404 for posts that do not exist, 422 for a post whose creator
    is not in the campaign (add the creator first)."""
    wanted = list(dict.fromkeys(post_ids))
    # A Result has keys() (its column names): dict(result) would misread it as a mapping.
    owners = {
        post_id: creator_id
        for post_id, creator_id in session.execute(
            select(CreatorPost.id, CreatorPost.creator_id).where(CreatorPost.id.in_(wanted))
        )
    }
    missing = [post_id for post_id in wanted if post_id not in owners]
    if missing:
        raise NotFound(
            f"no stored creator post {', '.join(map(str, missing))}",
            details={"missing_post_ids": missing},
        )
    outside = [post_id for post_id in wanted if owners[post_id] not in members]
    if outside:
        raise InvalidInput(
            f"the creator of post {', '.join(map(str, outside))} is not in this campaign; "
            "add the creator first",
            details={"post_ids": outside},
        )
    return wanted


def _check_new_creators(members: Iterable[CampaignCreatorIn]) -> None:
    seen: set[int] = set()
    for member in members:
        if member.creator_id in seen:
            raise InvalidInput(f"creator {member.creator_id} is given twice")
        seen.add(member.creator_id)


def _add_cost(campaign_id: int, cost: CampaignCostIn) -> CampaignCost:
    return CampaignCost(
        campaign_id=campaign_id,
        label=cost.label,
        amount_cents=cost.amount_cents,
        incurred_on=cost.incurred_on,
    )


# --------------------------------------------------------------------------- reads


def _totals(session: Session, campaign_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """campaign id -> (creators, fees, other costs)."""
    found: dict[int, list[int]] = {campaign_id: [0, 0, 0] for campaign_id in campaign_ids}
    if not campaign_ids:
        return {}
    for campaign_id, count, fees in session.execute(
        select(
            CampaignCreator.campaign_id,
            func.count(),
            func.coalesce(func.sum(CampaignCreator.fee_cents), 0),
        )
        .where(CampaignCreator.campaign_id.in_(campaign_ids))
        .group_by(CampaignCreator.campaign_id)
    ):
        found[campaign_id][0], found[campaign_id][1] = int(count), int(fees)
    for campaign_id, costs in session.execute(
        select(CampaignCost.campaign_id, func.coalesce(func.sum(CampaignCost.amount_cents), 0))
        .where(CampaignCost.campaign_id.in_(campaign_ids))
        .group_by(CampaignCost.campaign_id)
    ):
        found[campaign_id][2] = int(costs)
    return {key: (value[0], value[1], value[2]) for key, value in found.items()}


def _summary(row: Campaign, totals: tuple[int, int, int]) -> CampaignSummary:
    creators, fees, costs = totals
    return CampaignSummary(
        id=row.id,
        name=row.name,
        description=row.description,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        status=row.status,
        currency=row.currency,
        budget_cents=row.budget_cents,
        creators_count=creators,
        fees_cents=fees,
        other_costs_cents=costs,
        total_cost_cents=fees + costs,
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def summary(session: Session, workspace_id: int, campaign_id: int) -> CampaignSummary:
    row = get_campaign(session, workspace_id, campaign_id)
    return _summary(row, _totals(session, [row.id])[row.id])


def read_campaign(session: Session, workspace_id: int, campaign_id: int) -> CampaignRead:
    row = get_campaign(session, workspace_id, campaign_id)
    members = session.execute(
        select(CampaignCreator, Creator)
        .join(Creator, Creator.id == CampaignCreator.creator_id)
        .where(CampaignCreator.campaign_id == row.id)
        .order_by(CampaignCreator.added_at, CampaignCreator.id)
    )
    costs = session.scalars(
        select(CampaignCost)
        .where(CampaignCost.campaign_id == row.id)
        .order_by(CampaignCost.incurred_on, CampaignCost.id)
    )
    attached = session.scalars(
        select(CampaignPost.creator_post_id)
        .where(CampaignPost.campaign_id == row.id)
        .order_by(CampaignPost.creator_post_id)
    )
    base = _summary(row, _totals(session, [row.id])[row.id])
    return CampaignRead(
        **base.model_dump(),
        creators=[
            CampaignCreatorRead(
                creator_id=creator.id,
                platform=creator.platform,
                handle=creator.handle,
                display_name=creator.display_name,
                followers_count=creator.followers_count,
                fee_cents=member.fee_cents,
                added_at=member.added_at,
            )
            for member, creator in members
        ],
        attached_post_ids=list(attached),
        costs=[
            CampaignCostRead(
                id=cost.id,
                label=cost.label,
                amount_cents=cost.amount_cents,
                incurred_on=cost.incurred_on,
                created_at=cost.created_at,
            )
            for cost in costs
        ],
    )


def list_campaigns(
    session: Session, workspace_id: int, *, offset: int = 0, limit: int = 50
) -> CampaignPage:
    """The workspace's campaigns, latest start first."""
    where = Campaign.workspace_id == workspace_id
    total = session.scalar(select(func.count()).select_from(Campaign).where(where)) or 0
    rows = list(
        session.scalars(
            select(Campaign)
            .where(where)
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    totals = _totals(session, [row.id for row in rows])
    return CampaignPage(
        items=[_summary(row, totals[row.id]) for row in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


# --------------------------------------------------------------------------- writes


def create_campaign(
    session: Session, workspace_id: int, body: CampaignCreate, *, user_id: int | None
) -> CampaignRead:
    """A campaign with its creators, attached posts and costs, all checked before any write."""
    _check_dates(body.starts_on, body.ends_on)
    _name_free(session, workspace_id, body.name)
    _check_new_creators(body.creators)
    lists.existing_creators(session, [member.creator_id for member in body.creators])
    members = {member.creator_id for member in body.creators}
    post_ids = _check_posts(session, body.post_ids, members)
    row = Campaign(
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        budget_cents=body.budget_cents,
        currency=body.currency,
        status=body.status,
        created_by_user_id=user_id,
    )
    session.add(row)
    lists.flush_unique(session, _taken(body.name))
    session.add_all(
        CampaignCreator(campaign_id=row.id, creator_id=m.creator_id, fee_cents=m.fee_cents)
        for m in body.creators
    )
    session.add_all(CampaignPost(campaign_id=row.id, creator_post_id=p) for p in post_ids)
    session.add_all(_add_cost(row.id, cost) for cost in body.costs)
    session.flush()
    return read_campaign(session, workspace_id, row.id)


def update_campaign(
    session: Session, workspace_id: int, campaign_id: int, body: CampaignUpdate
) -> CampaignRead:
    """Change the fields given (``budget_cents: null`` clears the budget)."""
    row = get_campaign(session, workspace_id, campaign_id)
    given = body.model_fields_set
    starts_on = body.starts_on if body.starts_on is not None else row.starts_on
    ends_on = body.ends_on if body.ends_on is not None else row.ends_on
    _check_dates(starts_on, ends_on)
    if body.name is not None and body.name != row.name:
        _name_free(session, workspace_id, body.name, but=row.id)
        row.name = body.name
    if body.description is not None:
        row.description = body.description
    row.starts_on, row.ends_on = starts_on, ends_on
    if "budget_cents" in given:
        row.budget_cents = body.budget_cents
    if body.currency is not None:
        row.currency = body.currency
    if body.status is not None:
        row.status = body.status
    row.updated_at = utcnow()
    lists.flush_unique(session, _taken(row.name))
    return read_campaign(session, workspace_id, row.id)


def delete_campaign(session: Session, workspace_id: int, campaign_id: int) -> None:
    row = get_campaign(session, workspace_id, campaign_id)
    # Core DELETEs of the children: the ORM would load each row to delete it.
    for child in (CampaignPost, CampaignCreator, CampaignCost):
        session.execute(delete(child).where(child.campaign_id == row.id))
    session.delete(row)
    session.flush()


def _touch(row: Campaign) -> None:
    row.updated_at = utcnow()


def add_creator(
    session: Session, workspace_id: int, campaign_id: int, body: CampaignCreatorIn
) -> CampaignRead:
    row = get_campaign(session, workspace_id, campaign_id)
    lists.existing_creators(session, [body.creator_id])
    if body.creator_id in _member_ids(session, row.id):
        raise Conflict(
            f"creator {body.creator_id} is in this campaign already; change its fee instead"
        )
    session.add(
        CampaignCreator(campaign_id=row.id, creator_id=body.creator_id, fee_cents=body.fee_cents)
    )
    _touch(row)
    lists.flush_unique(session, Conflict(f"creator {body.creator_id} is in this campaign already"))
    return read_campaign(session, workspace_id, row.id)


def _member(session: Session, campaign_id: int, creator_id: int) -> CampaignCreator:
    found = session.scalar(
        select(CampaignCreator).where(
            CampaignCreator.campaign_id == campaign_id, CampaignCreator.creator_id == creator_id
        )
    )
    if found is None:
        raise NotFound(f"creator {creator_id} is not in campaign {campaign_id}")
    return found


def set_fee(
    session: Session, workspace_id: int, campaign_id: int, creator_id: int, fee_cents: int
) -> CampaignRead:
    row = get_campaign(session, workspace_id, campaign_id)
    _member(session, row.id, creator_id).fee_cents = fee_cents
    _touch(row)
    session.flush()
    return read_campaign(session, workspace_id, row.id)


def remove_creator(session: Session, workspace_id: int, campaign_id: int, creator_id: int) -> None:
    """Take the creator out, with the posts of its attached by hand."""
    row = get_campaign(session, workspace_id, campaign_id)
    member = _member(session, row.id, creator_id)
    its_posts = select(CreatorPost.id).where(CreatorPost.creator_id == creator_id)
    session.execute(
        delete(CampaignPost).where(
            CampaignPost.campaign_id == row.id, CampaignPost.creator_post_id.in_(its_posts)
        )
    )
    session.delete(member)
    _touch(row)
    session.flush()


def attach_posts(
    session: Session, workspace_id: int, campaign_id: int, post_ids: Sequence[int]
) -> CampaignRead:
    """Attach posts by hand (ones attached already stay as they are): from then on their
    creator counts its attached posts only, not every post within the dates."""
    row = get_campaign(session, workspace_id, campaign_id)
    wanted = _check_posts(session, post_ids, _member_ids(session, row.id))
    present = set(
        session.scalars(
            select(CampaignPost.creator_post_id).where(
                CampaignPost.campaign_id == row.id, CampaignPost.creator_post_id.in_(wanted)
            )
        )
    )
    session.add_all(
        CampaignPost(campaign_id=row.id, creator_post_id=post_id)
        for post_id in wanted
        if post_id not in present
    )
    _touch(row)
    session.flush()
    return read_campaign(session, workspace_id, row.id)


def detach_post(session: Session, workspace_id: int, campaign_id: int, post_id: int) -> None:
    row = get_campaign(session, workspace_id, campaign_id)
    found = session.scalar(
        select(CampaignPost).where(
            CampaignPost.campaign_id == row.id, CampaignPost.creator_post_id == post_id
        )
    )
    if found is None:
        raise NotFound(f"post {post_id} is not attached to campaign {campaign_id}")
    session.delete(found)
    _touch(row)
    session.flush()


def add_cost(
    session: Session, workspace_id: int, campaign_id: int, body: CampaignCostIn
) -> CampaignCostRead:
    row = get_campaign(session, workspace_id, campaign_id)
    cost = _add_cost(row.id, body)
    session.add(cost)
    _touch(row)
    session.flush()
    return _cost_read(cost)


def _cost(session: Session, campaign_id: int, cost_id: int) -> CampaignCost:
    found = session.scalar(
        select(CampaignCost).where(
            CampaignCost.id == cost_id, CampaignCost.campaign_id == campaign_id
        )
    )
    if found is None:
        raise NotFound(f"no cost {cost_id} in campaign {campaign_id}")
    return found


def _cost_read(cost: CampaignCost) -> CampaignCostRead:
    return CampaignCostRead(
        id=cost.id,
        label=cost.label,
        amount_cents=cost.amount_cents,
        incurred_on=cost.incurred_on,
        created_at=cost.created_at,
    )


def update_cost(
    session: Session, workspace_id: int, campaign_id: int, cost_id: int, body: CampaignCostUpdate
) -> CampaignCostRead:
    """Change the fields given (``incurred_on: null`` clears the date)."""
    row = get_campaign(session, workspace_id, campaign_id)
    cost = _cost(session, row.id, cost_id)
    if body.label is not None:
        cost.label = body.label
    if body.amount_cents is not None:
        cost.amount_cents = body.amount_cents
    if "incurred_on" in body.model_fields_set:
        cost.incurred_on = body.incurred_on
    _touch(row)
    session.flush()
    return _cost_read(cost)


def delete_cost(session: Session, workspace_id: int, campaign_id: int, cost_id: int) -> None:
    row = get_campaign(session, workspace_id, campaign_id)
    session.delete(_cost(session, row.id, cost_id))
    _touch(row)
    session.flush()


# --------------------------------------------------------------------------- analysis


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
    members = _member_ids(session, campaign.id)
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
    row = get_campaign(session, workspace_id, campaign_id)
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

    base = _summary(row, _totals(session, [row.id])[row.id])
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
