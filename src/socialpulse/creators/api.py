"""Creator report routes: search (request + read), the stored report, posts, post analytics by
URL, refresh and export.

A report being built for the first time answers 202 with ``BuildStatus`` (job id, step,
progress); a stored report answers 200 at once, from the response cache keyed by the creator's
data version and what the caller may see of it, with its age; a stale one (older than
``SOCIALPULSE_CREATOR_REFRESH_DAYS``) is served the same and refreshed in the background.

Searching and refreshing write (the search history, the build job) in a unit of work of their
own: a GET's request transaction is read-only. Searching shows the preview; the full report,
posts and export need an unlock (``/api/v1/discovery/unlock-profile``).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.billing.gate import Credits
from socialpulse.creators import service, unlocks
from socialpulse.creators.exports import csv_cell as _csv_cell
from socialpulse.creators.models import CreatorPost
from socialpulse.creators.schemas import (
    BuildStatus,
    CreatorReportRead,
    PostAnalytics,
    PostAnalyzeRequest,
    PostPage,
)
from socialpulse.errors import InvalidInput, NotFound, error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import (
    AppSettings,
    CachedReads,
    CurrentSubject,
    DbSession,
    ReportCache,
    get_db,
)
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

router = api_router(prefix="/api/v1", tags=["creators"], responses=error_responses(403, 404, 503))

_BUILDING: dict[int | str, dict[str, Any]] = {
    202: {"model": BuildStatus, "description": "Being built; poll again."}
}


def _building(session: Session, creator_id: int) -> JSONResponse:
    creator = service.get_creator(session, creator_id)
    body = service.build_status(session, creator)
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


def _serve(session: Session, cache: ReportCache, subject: Subject, creator_id: int) -> object:
    """The stored report (cached), 202 while a first one is built, or the creator's error."""
    creator = service.get_creator(session, creator_id)
    if not service.has_report(session, creator_id):
        service.raise_for_missing_report(creator)
        return _building(session, creator_id)
    access = service.access_of(session, subject.workspace_id, creator_id)
    return cache.respond_shared(
        CreatorReportRead,
        lambda: service.report_for(session, creator_id, subject.workspace_id),
        scope=f"creator{creator_id}:{access}",
        version=creator.data_version,
    )


def _see_writes(session: Session) -> None:
    # The request's read transaction may have begun (SQLite: its snapshot) before our own
    # unit of work committed: end it, so what follows reads that work.
    session.rollback()


@router.get(
    "/search/creator/{username:path}",
    response_model=CreatorReportRead,
    responses=_BUILDING,
)
def search_creator(
    username: Annotated[str, Path(max_length=500, description="A handle or a profile URL.")],
    request: Request,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    settings: AppSettings,
    platform: Annotated[str | None, Query(max_length=32)] = None,
) -> object:
    """Request a creator's report and return it: at once when stored (refreshed in the
    background when older than the refresh age), else 202 with the build's progress."""
    name, handle = service.parse_target(username, platform)
    db = get_db(request)
    if name == "simulated" and not accounts_service.simulated_allowed(
        db, subject, settings.simulated_platform
    ):
        raise InvalidInput("the simulated platform is only available in the demo workspaces")
    creator_id = service.repeated_request(
        session, platform=name, handle=handle, workspace_id=subject.workspace_id
    )
    if creator_id is None:
        with db.session() as writer:
            creator_id = service.request_report(
                writer,
                platform=name,
                handle=handle,
                workspace_id=subject.workspace_id,
                user_id=subject.user_id,
            ).id
        _see_writes(session)
    return _serve(session, cache, subject, creator_id)


@router.get("/creators/{creator_id}/report", response_model=CreatorReportRead, responses=_BUILDING)
def creator_report(
    creator_id: Id,
    request: Request,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
) -> object:
    """The stored report: every section with access, the preview without."""
    service.get_creator(session, creator_id)
    if service.refresh_due(session, creator_id):
        with get_db(request).session() as writer:
            service.refresh_if_stale(writer, creator_id, subject.workspace_id)
        _see_writes(session)
    return _serve(session, cache, subject, creator_id)


@router.get("/creators/{creator_id}/posts", response_model=PostPage)
def creator_posts(
    creator_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PostPage:
    """The creator's stored posts, newest first, with caption AI and comment sentiment."""
    return service.list_posts(session, creator_id, subject.workspace_id, offset=offset, limit=limit)


@router.post(
    "/creators/posts/analyze",
    response_model=PostAnalytics,
    responses={**_BUILDING, **error_responses(402)},
)
def analyze_post(
    body: PostAnalyzeRequest, request: Request, subject: CurrentSubject, credits: Credits
) -> object:
    """Analytics of one post by its URL, from the stored report of its creator: free when the
    workspace unlocked the creator (or paid for this post before), else ``post_analytics``
    credits (editor role). A post not stored yet whose URL names its creator queues that
    creator's report (202, free)."""
    db = get_db(request)
    # Units of work of their own (no request transaction): the gate writes in its own, and
    # SQLite has one writer.
    with db.session(readonly=True) as reader:
        post = service.find_post_by_url(reader, body.url)
        post_id = post.id if post is not None else None
        if post is not None and (
            service.has_access(reader, subject.workspace_id, post.creator_id)
            or unlocks.post_paid(reader, subject.workspace_id, post.id)
        ):
            return service.post_analytics(reader, post, subject.workspace_id, paid=True)
    if post_id is not None:
        subject.require(Role.editor)
        with credits.spend(unlocks.POST_ACTION, reference=f"post:{post_id}") as hold:
            with db.session() as writer:
                stored = writer.get(CreatorPost, post_id)
                assert stored is not None
                result = service.post_analytics(writer, stored, subject.workspace_id, paid=True)
                hold.settle(writer)
        return result
    target = service.creator_for_post_url(body.url)
    if target is None:
        raise NotFound(
            "this post is in no stored report and its URL does not name its creator; "
            "search the creator first"
        )
    with db.session() as writer:
        creator = service.request_report(
            writer,
            platform=target[0],
            handle=target[1],
            workspace_id=subject.workspace_id,
            user_id=subject.user_id,
        )
        status = service.build_status(writer, creator)
    return JSONResponse(status.model_dump(mode="json"), status_code=202)


@router.post("/creators/{creator_id}/refresh", response_model=BuildStatus, status_code=202)
def refresh_creator(creator_id: Id, session: DbSession, subject: CurrentSubject) -> BuildStatus:
    """Rebuild the report now (the previous one serves meanwhile)."""
    subject.require(Role.editor)
    service.refresh(session, creator_id, subject.workspace_id)
    return service.build_status(session, service.get_creator(session, creator_id))


@router.get(
    "/creators/{creator_id}/export.{fmt}",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_report(
    creator_id: Id,
    fmt: Literal["csv", "json"],
    session: DbSession,
    subject: CurrentSubject,
) -> Response:
    """The full report as a download: JSON as the API serves it, or CSV (field, value)."""
    service.require_access(session, subject.workspace_id, creator_id)
    read = service.report_for(session, creator_id, subject.workspace_id)
    if read.sections is None:
        raise NotFound("this creator has no report yet")
    filename = f"creator-{read.creator.platform}-{creator_id}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "json":
        return Response(read.model_dump_json(), media_type="application/json", headers=headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["field", "value"])
    for field, value in service.export_rows(read):
        writer.writerow([field, _csv_cell(value)])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
