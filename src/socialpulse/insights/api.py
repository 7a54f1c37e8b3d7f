"""Workspace analytics overview and ROI routes (thin: the figures and their definitions live in
``insights.service`` and ``insights.roi``).

Reads need any role; recording costs and changing the ROI values need editor (they change what
every member's ROI says). Another workspace's cost or campaign answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query, Response

from socialpulse.errors import error_responses
from socialpulse.insights import roi, service
from socialpulse.insights.models import CostCategory
from socialpulse.insights.schemas import (
    CostCreate,
    CostPage,
    CostRead,
    Roi,
    RoiSettingsRead,
    RoiSettingsUpdate,
    WorkspaceOverview,
)
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CachedReads, CurrentSubject, DbSession
from socialpulse.workspaces.models import Role

router = api_router(
    prefix="/api/v1/analytics", tags=["workspace analytics"], responses=error_responses(422)
)

Days = Annotated[
    int,
    Query(
        ge=1,
        le=service.MAX_DAYS,
        description="The last N days in the workspace's time zone, today included (1 to 365).",
    ),
]
PlatformFilter = Annotated[
    str | None,
    Query(max_length=32, description="Only this platform's accounts (e.g. instagram)."),
]


@router.get("/overview", response_model=WorkspaceOverview)
def overview(
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Days = 30,
    platform: PlatformFilter = None,
    top: Annotated[int, Query(ge=1, le=50, description="How many top posts.")] = service.TOP_POSTS,
) -> object:
    """Posts, engagement (impressions and reach where platforms provide them), follower growth,
    inbox sentiment, top posts, and breakdowns by platform, day and content type, over the
    workspace's own accounts. Definitions are in the response."""
    name = service.check_platform(platform)  # 422 before any cache lookup
    # Cached by the workspace's data version: posts, snapshots, accounts and interactions are
    # all the workspace's own data, so any write to them moves the key.
    return cache.respond(
        WorkspaceOverview,
        lambda: service.overview(session, subject, days=days, platform=name, top=top),
    )


@router.get("/roi", response_model=Roi, responses=error_responses(404))
def read_roi(
    session: DbSession,
    subject: CurrentSubject,
    days: Days = 30,
    platform: PlatformFilter = None,
    campaign: Annotated[Id | None, Query(description="Only this campaign.")] = None,
) -> Roi:
    """Costs (AI generation, recorded tools/ads/other, campaigns), the estimated value of the
    engagement at the workspace's values per unit, ROI % and the formula with its numbers.
    Not cached: campaign posts are shared creator data whose refreshes the workspace's data
    version does not see."""
    return roi.roi(session, subject, days=days, platform=platform, campaign_id=campaign)


@router.get("/roi/settings", response_model=RoiSettingsRead)
def read_roi_settings(session: DbSession, subject: CurrentSubject) -> RoiSettingsRead:
    """The ROI currency and value per unit (the defaults until the workspace saves its own)."""
    return roi.get_settings(session, subject)


@router.put("/roi/settings", response_model=RoiSettingsRead, responses=error_responses(403))
def update_roi_settings(
    body: RoiSettingsUpdate, session: DbSession, subject: CurrentSubject
) -> RoiSettingsRead:
    """Change the fields given: values 0 to 1000 per unit with at most 5 decimals, currency an
    ISO 4217 code."""
    subject.require(Role.editor)
    return roi.update_settings(session, subject, body)


@router.get("/costs", response_model=CostPage)
def list_costs(
    session: DbSession,
    subject: CurrentSubject,
    since: Annotated[dt.date | None, Query(description="Incurred on or after.")] = None,
    until: Annotated[dt.date | None, Query(description="Incurred on or before.")] = None,
    category: CostCategory | None = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CostPage:
    """The costs the team recorded, latest first."""
    return roi.list_costs(
        session, subject, since=since, until=until, category=category, offset=offset, limit=limit
    )


@router.post(
    "/costs", response_model=CostRead, status_code=201, responses=error_responses(403, 404)
)
def add_cost(body: CostCreate, session: DbSession, subject: CurrentSubject) -> CostRead:
    """Record a cost (tools, ads or other) on the day it was incurred, optionally tagged with
    one of the workspace's campaigns."""
    subject.require(Role.editor)
    return roi.add_cost(session, subject, body)


@router.delete("/costs/{workspace_cost_id}", status_code=204, responses=error_responses(403, 404))
def delete_cost(workspace_cost_id: Id, session: DbSession, subject: CurrentSubject) -> Response:
    subject.require(Role.editor)
    roi.delete_cost(session, subject, workspace_cost_id)
    return Response(status_code=204)
