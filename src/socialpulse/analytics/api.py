"""Analytics routes: read-only views over one account, or a comparison of several."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from socialpulse.accounts.service import get_account
from socialpulse.analytics import export, growth, service
from socialpulse.analytics.schemas import (
    AccountSnapshots,
    BestTimes,
    Comparison,
    GrowthBetween,
    HashtagPerformance,
    Overview,
    PostGrowth,
    RankBy,
    SeriesMetric,
    Timeseries,
    TopPosts,
)
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput, error_responses
from socialpulse.kit.params import DB_INT_MAX, Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CachedReads, CurrentSubject, DbSession, get_db

router = api_router(prefix="/api/v1", tags=["analytics"], responses=error_responses(404))

Days = Annotated[int, Query(ge=1, le=730, description="Window in days, ending now.")]


@router.get("/accounts/{account_id}/overview", response_model=Overview)
def overview(
    account_id: Id, session: DbSession, subject: CurrentSubject, cache: CachedReads
) -> object:
    """Counts with 7/30/90-day deltas (null with a reason when history is too short),
    30-day engagement rate with its definition, follower trend, posting volume."""
    return cache.respond(Overview, lambda: service.overview(session, subject, account_id))


@router.get("/accounts/{account_id}/timeseries", response_model=Timeseries)
def timeseries(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    metric: SeriesMetric = SeriesMetric.followers,
    days: Days = 30,
) -> object:
    return cache.respond(
        Timeseries, lambda: service.timeseries(session, subject, account_id, metric, days)
    )


@router.get("/accounts/{account_id}/snapshots", response_model=AccountSnapshots)
def snapshots(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Days = 30,
) -> object:
    """The daily snapshots of the last `days` days: followers, following, posts, and the totals
    over the tracked posts (likes, comments, shares, views) with their engagement rate."""
    return cache.respond(
        AccountSnapshots, lambda: service.snapshots(session, subject, account_id, days)
    )


@router.get("/accounts/{account_id}/top-posts", response_model=TopPosts)
def top_posts(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    by: RankBy = RankBy.engagement,
    days: Days = 30,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> object:
    """Posts published in the last `days` days, best first."""

    def compute() -> TopPosts:
        now = utcnow()
        return service.top_posts(
            session,
            subject,
            account_id,
            by=by,
            since=now - dt.timedelta(days=days),
            until=now,
            limit=limit,
        )

    return cache.respond(TopPosts, compute)


@router.get("/accounts/{account_id}/posts/{post_id}/growth", response_model=PostGrowth)
def post_growth(
    account_id: Id, post_id: Id, session: DbSession, subject: CurrentSubject, cache: CachedReads
) -> object:
    """A post's daily metric history with the change since the previous snapshot."""
    return cache.respond(
        PostGrowth, lambda: growth.post_growth(session, subject, account_id, post_id)
    )


@router.get("/accounts/{account_id}/growth", response_model=GrowthBetween)
def growth_between(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    start_day: Annotated[
        dt.date | None, Query(description="Default: 7 days before end_day.")
    ] = None,
    end_day: Annotated[dt.date | None, Query(description="Default: today.")] = None,
    by: RankBy = RankBy.views,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> object:
    """Top gainers: per post, the metrics gained between two snapshot days."""
    return cache.respond(
        GrowthBetween,
        lambda: growth.growth_between(
            session, subject, account_id, start_day, end_day, by=by, limit=limit
        ),
    )


@router.get("/accounts/{account_id}/hashtags", response_model=HashtagPerformance)
def hashtags(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Days = 90,
    min_posts: Annotated[int, Query(ge=1, le=1000)] = 3,
) -> object:
    return cache.respond(
        HashtagPerformance,
        lambda: service.hashtag_performance(
            session, subject, account_id, days=days, min_posts=min_posts
        ),
    )


Zone = Annotated[
    str | None,
    Query(
        max_length=64,
        description="IANA time zone of the grid and the slots (default: the workspace's); "
        "an unknown zone is a 422.",
    ),
]


@router.get("/accounts/{account_id}/best-times", response_model=BestTimes)
def best_times(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Days = 90,
    min_samples: Annotated[int, Query(ge=1, le=1000)] = 3,
    zone: Zone = None,
) -> object:
    """Weekday x hour heatmap in the workspace's time zone, with smoothed scores."""
    service.resolve_zone(zone)  # 422 before any cache lookup
    return cache.respond(
        BestTimes,
        lambda: service.best_times(
            session, subject, account_id, days=days, min_samples=min_samples, zone=zone
        ),
    )


@router.get("/analytics/best-times", response_model=BestTimes)
def best_times_for_account(
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    account_id: Annotated[int, Query(ge=1, le=DB_INT_MAX)],
    zone: Zone = None,
    days: Annotated[int, Query(ge=7, le=730, description="History window in days.")] = 180,
) -> object:
    """When to post: a 7 x 24 grid of engagement relative to the account's median post
    (smoothed; platform defaults where history is thin), top slots, the next slot at least
    15 minutes ahead, a posts-per-week suggestion, sample size, confidence and `source`
    (history, defaults or blend)."""
    service.resolve_zone(zone)
    return cache.respond(
        BestTimes,
        lambda: service.best_times(session, subject, account_id, zone=zone, days=days),
    )


def _filename(platform: str, handle: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{platform}-{handle}").strip("._") or "account"
    return f"{safe}-posts.csv"


@router.get(
    "/accounts/{account_id}/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per post per day."}},
)
def export_csv(
    account_id: Id, request: Request, session: DbSession, subject: CurrentSubject
) -> StreamingResponse:
    """Every post with every metric snapshot, streamed as CSV."""
    account = get_account(session, subject, account_id)  # 404 before the stream starts
    filename = _filename(account.platform, account.handle)
    db = get_db(request)

    def chunks() -> Iterator[str]:
        # Its own read-only unit of work: the request's session ends before the body streams.
        with db.session(readonly=True) as stream_session:
            yield from export.export_posts_csv(stream_session, subject, account_id)

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _parse_ids(raw: str | None) -> list[int] | None:
    if raw is None or not raw.strip():
        return None
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("account_ids must be comma-separated integers, e.g. 1,2") from None
    if any(not 1 <= account_id <= DB_INT_MAX for account_id in ids):
        raise InvalidInput(f"account_ids must be ids between 1 and {DB_INT_MAX}")
    return list(dict.fromkeys(ids))


@router.get("/analytics/compare", response_model=Comparison)
def compare(
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    account_ids: Annotated[
        str | None, Query(description="Comma-separated account ids; all accounts if omitted.")
    ] = None,
) -> object:
    """Accounts side by side: followers, 30-day growth, posts, engagement, views."""
    ids = _parse_ids(account_ids)  # 422 for a malformed list, before any cache lookup
    return cache.respond(Comparison, lambda: service.compare(session, subject, ids))
