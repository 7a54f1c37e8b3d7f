"""Campaigns: CRUD, their creators (fees), attached posts and costs, and the analysis.

Reads need any role; changes and the charged analysis need editor. Another workspace's
campaign answers 404 on every route. The analysis is charged (``campaign_analysis``) through
the credit gate.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from socialpulse.billing.gate import Credits
from socialpulse.creators import campaign_analysis as analysis_service
from socialpulse.creators import campaigns
from socialpulse.creators.campaigns_schemas import (
    CampaignAnalysis,
    CampaignCostIn,
    CampaignCostRead,
    CampaignCostUpdate,
    CampaignCreate,
    CampaignCreatorIn,
    CampaignCreatorUpdate,
    CampaignPage,
    CampaignPostsAdd,
    CampaignRead,
    CampaignUpdate,
)
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession, get_db
from socialpulse.workspaces.models import Role

router = api_router(
    prefix="/api/v1/campaigns", tags=["campaigns"], responses=error_responses(403, 404)
)

Offset = Annotated[int, Query(ge=0, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("", response_model=CampaignPage)
def list_campaigns(
    session: DbSession, subject: CurrentSubject, offset: Offset = 0, limit: Limit = 50
) -> CampaignPage:
    """The workspace's campaigns, latest start first, with their creators and cost totals."""
    return campaigns.list_campaigns(session, subject.workspace_id, offset=offset, limit=limit)


@router.post("", response_model=CampaignRead, status_code=201, responses=error_responses(409))
def create_campaign(
    body: CampaignCreate, session: DbSession, subject: CurrentSubject
) -> CampaignRead:
    """A campaign with (optionally) its creators and fees, attached posts and costs: all
    checked first (dates in order, creators and posts known, name free), written together."""
    subject.require(Role.editor)
    return campaigns.create_campaign(session, subject.workspace_id, body, user_id=subject.user_id)


@router.get("/{campaign_id}", response_model=CampaignRead)
def read_campaign(campaign_id: Id, session: DbSession, subject: CurrentSubject) -> CampaignRead:
    return campaigns.read_campaign(session, subject.workspace_id, campaign_id)


@router.patch("/{campaign_id}", response_model=CampaignRead, responses=error_responses(409))
def update_campaign(
    campaign_id: Id, body: CampaignUpdate, session: DbSession, subject: CurrentSubject
) -> CampaignRead:
    subject.require(Role.editor)
    return campaigns.update_campaign(session, subject.workspace_id, campaign_id, body)


@router.delete("/{campaign_id}", status_code=204)
def delete_campaign(campaign_id: Id, session: DbSession, subject: CurrentSubject) -> Response:
    subject.require(Role.editor)
    campaigns.delete_campaign(session, subject.workspace_id, campaign_id)
    return Response(status_code=204)


@router.post(
    "/{campaign_id}/creators",
    response_model=CampaignRead,
    status_code=201,
    responses=error_responses(409),
)
def add_creator(
    campaign_id: Id, body: CampaignCreatorIn, session: DbSession, subject: CurrentSubject
) -> CampaignRead:
    subject.require(Role.editor)
    return campaigns.add_creator(session, subject.workspace_id, campaign_id, body)


@router.patch("/{campaign_id}/creators/{creator_id}", response_model=CampaignRead)
def set_fee(
    campaign_id: Id,
    creator_id: Id,
    body: CampaignCreatorUpdate,
    session: DbSession,
    subject: CurrentSubject,
) -> CampaignRead:
    subject.require(Role.editor)
    return campaigns.set_fee(session, subject.workspace_id, campaign_id, creator_id, body.fee_cents)


@router.delete("/{campaign_id}/creators/{creator_id}", status_code=204)
def remove_creator(
    campaign_id: Id, creator_id: Id, session: DbSession, subject: CurrentSubject
) -> Response:
    """Take the creator out of the campaign, with the posts of its attached by hand."""
    subject.require(Role.editor)
    campaigns.remove_creator(session, subject.workspace_id, campaign_id, creator_id)
    return Response(status_code=204)


@router.post("/{campaign_id}/posts", response_model=CampaignRead)
def attach_posts(
    campaign_id: Id, body: CampaignPostsAdd, session: DbSession, subject: CurrentSubject
) -> CampaignRead:
    """Attach stored posts by hand: a creator with attached posts counts only those in the
    analysis, instead of every post within the campaign's dates."""
    subject.require(Role.editor)
    return campaigns.attach_posts(session, subject.workspace_id, campaign_id, body.post_ids)


@router.delete("/{campaign_id}/posts/{post_id}", status_code=204)
def detach_post(
    campaign_id: Id, post_id: Id, session: DbSession, subject: CurrentSubject
) -> Response:
    subject.require(Role.editor)
    campaigns.detach_post(session, subject.workspace_id, campaign_id, post_id)
    return Response(status_code=204)


@router.post("/{campaign_id}/costs", response_model=CampaignCostRead, status_code=201)
def add_cost(
    campaign_id: Id, body: CampaignCostIn, session: DbSession, subject: CurrentSubject
) -> CampaignCostRead:
    subject.require(Role.editor)
    return campaigns.add_cost(session, subject.workspace_id, campaign_id, body)


@router.patch("/{campaign_id}/costs/{cost_id}", response_model=CampaignCostRead)
def update_cost(
    campaign_id: Id,
    cost_id: Id,
    body: CampaignCostUpdate,
    session: DbSession,
    subject: CurrentSubject,
) -> CampaignCostRead:
    subject.require(Role.editor)
    return campaigns.update_cost(session, subject.workspace_id, campaign_id, cost_id, body)


@router.delete("/{campaign_id}/costs/{cost_id}", status_code=204)
def delete_cost(
    campaign_id: Id, cost_id: Id, session: DbSession, subject: CurrentSubject
) -> Response:
    subject.require(Role.editor)
    campaigns.delete_cost(session, subject.workspace_id, campaign_id, cost_id)
    return Response(status_code=204)


@router.get(
    "/{campaign_id}/analysis", response_model=CampaignAnalysis, responses=error_responses(402, 409)
)
def campaign_analysis(
    campaign_id: Id,
    request: Request,
    session: DbSession,
    subject: CurrentSubject,
    credits: Credits,
) -> CampaignAnalysis:
    """Reach (views, or followers as a stated estimate), engagement, comment sentiment and
    costs (per engagement, per 1,000 views) of the campaign's posts, in total and per creator.

    Charged ``campaign_analysis`` (402 with the price, the balance and the top-ups when short);
    a request retried with the same ``Idempotency-Key`` is answered again without a charge."""
    # Spending the team's credits is an editor's decision (as unlocks are); an unknown
    # campaign is a 404 before anything is reserved.
    subject.require(Role.editor)
    campaigns.get_campaign(session, subject.workspace_id, campaign_id)
    with credits.spend("campaign_analysis", reference=f"campaign:{campaign_id}") as hold:
        result = analysis_service.analysis(session, subject.workspace_id, campaign_id)
        if not hold.replayed:
            # The analysis writes nothing and a GET's transaction is read-only: the charge
            # commits in a unit of work of its own, once the analysis has succeeded.
            with get_db(request).session() as writer:
                hold.settle(writer)
        return result
