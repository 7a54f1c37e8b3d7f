"""The instance administrator's API: completeness scan and repair, and the related-profiles
crawl (stats, config, queue, manual trigger). Every route needs `InstanceAdmin`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from socialpulse.creators import completeness_repair, crawl
from socialpulse.creators.admin_schemas import (
    MAX_FILTER_LENGTH,
    CompletenessCheck,
    CrawlConfig,
    CrawlStats,
    QueueStatus,
    RepairRequest,
    RepairResult,
    ScanResult,
    TriggerResult,
)
from socialpulse.errors import error_responses
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import AppSettings, DbSession, InstanceAdmin, get_db

router = api_router(
    prefix="/api/v1/admin/repair", tags=["instance admin"], responses=error_responses(403)
)

PlatformParam = Annotated[
    str | None,
    Query(max_length=32, description="The platform; optional when the username is a URL."),
]
UsernamePath = Annotated[
    str, Path(max_length=512, description="The handle, or the profile URL (encoded).")
]
FilterParam = Annotated[
    str | None,
    Query(
        max_length=MAX_FILTER_LENGTH,
        description="RE2 regular expression searched in the handle (linear time).",
    ),
]


@router.get("/profile-completeness/scan", response_model=ScanResult)
def scan_completeness(
    session: DbSession,
    _: InstanceAdmin,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    username_filter: FilterParam = None,
) -> object:
    """Stored creators that miss a completeness criterion, with the criteria they miss."""
    return completeness_repair.scan(session, limit=limit, username_filter=username_filter)


@router.post(
    "/profile-completeness/repair", response_model=RepairResult, responses=error_responses(404)
)
def repair_completeness(body: RepairRequest, session: DbSession, _: InstanceAdmin) -> object:
    """Queue a new build for each incomplete creator (dry_run: only say which)."""
    return completeness_repair.repair(
        session, dry_run=body.dry_run, limit=body.limit, username_filter=body.username_filter
    )


@router.post(
    "/test/validate-completeness/{username}",
    response_model=CompletenessCheck,
    responses=error_responses(404),
)
def validate_completeness(
    username: UsernamePath,
    session: DbSession,
    _: InstanceAdmin,
    platform: PlatformParam = None,
) -> object:
    """One stored creator's completeness, criterion by criterion."""
    return completeness_repair.validate(session, username, platform)


@router.get("/discovery/stats", response_model=CrawlStats)
def discovery_stats(session: DbSession, settings: AppSettings, _: InstanceAdmin) -> object:
    """Related profiles per status, the crawl's builds against its limits."""
    return crawl.stats(session, settings)


@router.get("/discovery/config", response_model=CrawlConfig)
def discovery_config(settings: AppSettings, _: InstanceAdmin) -> object:
    """The crawl's limits (SOCIALPULSE_DISCOVERY_*)."""
    return crawl.config(settings)


@router.get("/discovery/queue-status", response_model=QueueStatus)
def discovery_queue(
    session: DbSession,
    _: InstanceAdmin,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> object:
    """The crawl's builds in flight and the related profiles due next."""
    return crawl.queue_status(session, limit=limit)


@router.post(
    "/discovery/manual-trigger/{username}",
    response_model=TriggerResult,
    responses=error_responses(404),
)
def discovery_trigger(
    username: UsernamePath,
    request: Request,
    settings: AppSettings,
    _: InstanceAdmin,
    platform: PlatformParam = None,
) -> object:
    """Crawl a stored creator's related profiles now, within the crawl's limits."""
    db = get_db(request)
    # No route transaction: the tick takes the write lock in transactions of its own.
    with db.session(readonly=True) as session:
        creator_id = completeness_repair.stored_creator(session, username, platform).id
    return crawl.trigger(db, settings, creator_id)
