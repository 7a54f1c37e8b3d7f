"""Inbox analytics routes (thin: the figures and their definitions live in inbox.analytics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from socialpulse.inbox import analytics
from socialpulse.inbox.schemas import (
    InboxOverview,
    ResponseQueue,
    Timeline,
    WorkflowActivityReport,
)
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CachedReads, CurrentSubject, DbSession

router = api_router(prefix="/api/v1", tags=["inbox analytics"])

Days = Annotated[
    int,
    Query(
        ge=analytics.MIN_DAYS,
        le=analytics.MAX_DAYS,
        description="the last N calendar days in the workspace's time zone, today included",
    ),
]


@router.get("/inbox/analytics/overview", response_model=InboxOverview)
def inbox_overview(
    session: DbSession, subject: CurrentSubject, cache: CachedReads, days: Days = 30
) -> object:
    """Volume by status, platform and sentiment; response rate (answered / all interactions of
    the period) and median first response time (answered_at - posted_at, minutes)."""
    return cache.respond(InboxOverview, lambda: analytics.overview(session, subject, days))


@router.get("/inbox/analytics/workflows", response_model=WorkflowActivityReport)
def inbox_workflows(
    session: DbSession, subject: CurrentSubject, cache: CachedReads, days: Days = 30
) -> object:
    """Every workflow with the matches it made in the period (triggered, auto-responded,
    flagged), counted from its match history."""
    return cache.respond(
        WorkflowActivityReport, lambda: analytics.workflow_activity(session, subject, days)
    )


@router.get("/inbox/analytics/response-queue", response_model=ResponseQueue)
def inbox_response_queue(session: DbSession, subject: CurrentSubject, cache: CachedReads) -> object:
    """The reply queue by status, overall and per platform, with the next pending send."""
    return cache.respond(ResponseQueue, lambda: analytics.response_queue(session, subject))


@router.get("/inbox/analytics/timeline", response_model=Timeline)
def inbox_timeline(
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Days = 30,
    by_sentiment: bool = False,
) -> object:
    """Interactions per day of the period, every day present (zero when none)."""
    return cache.respond(
        Timeline, lambda: analytics.timeline(session, subject, days, by_sentiment=by_sentiment)
    )
