"""Campaigns: their rows and the reads and writes of their creators (with their fees),
attached posts and other costs. What a campaign got for its money is
``creators.campaign_analysis``.

A campaign is the workspace's own (every read and write filters by its id: another
workspace's campaign is a 404). Services flush, the edge commits; a refused request (bad
dates, an unknown creator or post, a duplicate name) raises before anything is added, so it
writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from socialpulse.creators import lists
from socialpulse.creators.campaigns_schemas import (
    CampaignCostIn,
    CampaignCostRead,
    CampaignCostUpdate,
    CampaignCreate,
    CampaignCreatorIn,
    CampaignCreatorRead,
    CampaignPage,
    CampaignRead,
    CampaignSummary,
    CampaignUpdate,
)
from socialpulse.creators.models import (
    Campaign,
    CampaignCost,
    CampaignCreator,
    CampaignPost,
    Creator,
    CreatorPost,
)
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, NotFound


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


def member_ids(session: Session, campaign_id: int) -> set[int]:
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


def summarise(session: Session, row: Campaign) -> CampaignSummary:
    """The campaign's summary with its creators and cost totals, for a row already read."""
    return _summary(row, _totals(session, [row.id])[row.id])


def summary(session: Session, workspace_id: int, campaign_id: int) -> CampaignSummary:
    return summarise(session, get_campaign(session, workspace_id, campaign_id))


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
    base = summarise(session, row)
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
    if body.creator_id in member_ids(session, row.id):
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
    wanted = _check_posts(session, post_ids, member_ids(session, row.id))
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
