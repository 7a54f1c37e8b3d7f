"""`/api/v1/publishing/*`: posts (create, read, edit, schedule, cancel, reschedule, delete),
occurrences of a series (list, skip, edit), deliveries (retry), the queue, media uploads and
the CSV import.

Reads need any role; writes need editor. Another workspace's post or delivery answers 404.
Refused input is a 422 listing every problem (``details``: location and message each), found
when the post is scheduled, never at publish time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Query, Request, Response, UploadFile

from socialpulse.ai.llm import chat_model
from socialpulse.config import Settings
from socialpulse.errors import InvalidInput, PayloadTooLarge, error_responses
from socialpulse.kit.params import Id, UtcDatetime
from socialpulse.kit.routing import api_router
from socialpulse.media import service as media_service
from socialpulse.publishing import bulk, generate, service
from socialpulse.publishing.generate import Generated
from socialpulse.publishing.models import DeliveryStatus, PostStatus
from socialpulse.publishing.schemas import (
    BulkReport,
    DeliveryRead,
    GenerateIn,
    OccurrenceEdit,
    OccurrenceRead,
    OccurrenceSkip,
    PostCreate,
    PostPage,
    PostRead,
    PostUpdate,
    QueuePage,
    RescheduleIn,
    UploadRead,
)
from socialpulse.workspaces.deps import AppSettings, CurrentSubject, DbSession
from socialpulse.workspaces.models import Role

router = api_router(
    prefix="/api/v1/publishing", tags=["publishing"], responses=error_responses(401, 403, 404)
)

MEDIA_PATH = "/api/v1/publishing/media"
BULK_PATH = "/api/v1/publishing/posts/bulk"
_MULTIPART_OVERHEAD = 64 * 1024

Offset = Annotated[int, Query(ge=0, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=200)]


def body_limits(settings: Settings) -> dict[str, int]:
    """Request body limits of the routes that take files (the app's size middleware)."""
    upload = media_service.max_upload_bytes(settings) + _MULTIPART_OVERHEAD
    return {
        MEDIA_PATH: max(settings.max_body_bytes, upload),
        BULK_PATH: max(settings.max_body_bytes, bulk.MAX_BYTES + _MULTIPART_OVERHEAD),
    }


@router.get("/posts", response_model=PostPage)
def list_posts(
    session: DbSession,
    subject: CurrentSubject,
    status: PostStatus | None = None,
    since: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    until: Annotated[UtcDatetime | None, Query(alias="to")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PostPage:
    """The workspace's posts, latest time first (``from``/``to`` filter by scheduled time)."""
    return service.list_posts(
        session, subject, status=status, since=since, until=until, offset=offset, limit=limit
    )


@router.post(
    "/posts/generate",
    response_model=Generated,
    status_code=201,
    responses=error_responses(409, 422, 502, 503),
)
def generate_post(
    body: GenerateIn, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> Generated:
    """Generate and schedule: the configured language model drafts the post from `brief` for
    each account's platform, within its limits; it is scheduled at `scheduled_at` or the first
    account's next best slot (409 without a model; 422 when a check refuses it)."""
    subject.require(Role.editor)
    return generate.generate_and_schedule(session, subject, body, model=chat_model(settings))


@router.post("/posts", response_model=PostRead, status_code=201, responses=error_responses(422))
def create_post(body: PostCreate, session: DbSession, subject: CurrentSubject) -> PostRead:
    """A draft (``draft: true``) or a scheduled post: checked in full first (zone, time,
    recurrence, accounts, each platform's rules), 422 with every problem."""
    subject.require(Role.editor)
    return service.create_post(session, subject, body)


async def _csv_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("send the CSV as the multipart field 'file'")
        data = await upload.read(bulk.MAX_BYTES + 1)
    else:
        data = await request.body()
    if len(data) > bulk.MAX_BYTES:
        raise PayloadTooLarge(f"the CSV is larger than {bulk.MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("the CSV is empty; send it as the body or the multipart field 'file'")
    return data


@router.post(
    "/posts/bulk",
    response_model=BulkReport,
    status_code=201,
    responses=error_responses(413, 422),
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    },
)
def import_posts(
    data: Annotated[bytes, Depends(_csv_body)],
    response: Response,
    session: DbSession,
    subject: CurrentSubject,
    dry_run: bool = False,
) -> BulkReport:
    """Posts from a CSV (the body, or a multipart ``file``): every row checked, then all
    created or none (422 with the row-by-row report). ``dry_run=true`` reports only."""
    subject.require(Role.editor)
    report = bulk.import_posts(session, subject, data, dry_run=dry_run)
    if dry_run:
        response.status_code = 200
    return report


@router.get("/posts/{publishing_post_id}", response_model=PostRead)
def read_post(publishing_post_id: Id, session: DbSession, subject: CurrentSubject) -> PostRead:
    return service.read_post(session, subject, publishing_post_id)


@router.patch(
    "/posts/{publishing_post_id}", response_model=PostRead, responses=error_responses(409, 422)
)
def update_post(
    publishing_post_id: Id, body: PostUpdate, session: DbSession, subject: CurrentSubject
) -> PostRead:
    """Edit a post before it is published (409 while it is being published)."""
    subject.require(Role.editor)
    return service.update_post(session, subject, publishing_post_id, body)


@router.delete("/posts/{publishing_post_id}", status_code=204, responses=error_responses(409))
def delete_post(publishing_post_id: Id, session: DbSession, subject: CurrentSubject) -> Response:
    subject.require(Role.editor)
    service.delete_post(session, subject, publishing_post_id)
    return Response(status_code=204)


@router.post(
    "/posts/{publishing_post_id}/schedule",
    response_model=PostRead,
    responses=error_responses(409, 422),
)
def schedule_post(publishing_post_id: Id, session: DbSession, subject: CurrentSubject) -> PostRead:
    """A draft is checked in full and scheduled."""
    subject.require(Role.editor)
    return service.schedule_post(session, subject, publishing_post_id)


@router.post(
    "/posts/{publishing_post_id}/cancel", response_model=PostRead, responses=error_responses(409)
)
def cancel_post(publishing_post_id: Id, session: DbSession, subject: CurrentSubject) -> PostRead:
    subject.require(Role.editor)
    return service.cancel_post(session, subject, publishing_post_id)


@router.post(
    "/posts/{publishing_post_id}/reschedule",
    response_model=PostRead,
    responses=error_responses(409, 422),
)
def reschedule_post(
    publishing_post_id: Id, body: RescheduleIn, session: DbSession, subject: CurrentSubject
) -> PostRead:
    subject.require(Role.editor)
    return service.reschedule_post(session, subject, publishing_post_id, body)


@router.get("/posts/{publishing_post_id}/occurrences", response_model=list[OccurrenceRead])
def list_occurrences(
    publishing_post_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[OccurrenceRead]:
    """The series' next occurrences, with skips and edits."""
    return service.list_occurrences(session, subject, publishing_post_id, limit=limit)


@router.post(
    "/posts/{publishing_post_id}/occurrences/skip",
    response_model=PostRead,
    responses=error_responses(409, 422),
)
def skip_occurrence(
    publishing_post_id: Id, body: OccurrenceSkip, session: DbSession, subject: CurrentSubject
) -> PostRead:
    subject.require(Role.editor)
    return service.skip_occurrence(session, subject, publishing_post_id, body)


@router.post(
    "/posts/{publishing_post_id}/occurrences/edit",
    response_model=PostRead,
    responses=error_responses(409, 422),
)
def edit_occurrence(
    publishing_post_id: Id, body: OccurrenceEdit, session: DbSession, subject: CurrentSubject
) -> PostRead:
    subject.require(Role.editor)
    return service.edit_occurrence(session, subject, publishing_post_id, body)


@router.post(
    "/deliveries/{delivery_id}/retry", response_model=DeliveryRead, responses=error_responses(409)
)
def retry_delivery(delivery_id: Id, session: DbSession, subject: CurrentSubject) -> DeliveryRead:
    """Try a failed or missed delivery again now."""
    subject.require(Role.editor)
    return service.retry_delivery(session, subject, delivery_id)


@router.get("/queue", response_model=QueuePage)
def queue(
    session: DbSession,
    subject: CurrentSubject,
    status: Annotated[list[DeliveryStatus] | None, Query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> QueuePage:
    """Deliveries waiting and failed (``status`` to choose), the soonest first."""
    statuses = status or [DeliveryStatus.scheduled, DeliveryStatus.failed]
    return service.queue(session, subject, statuses=statuses, offset=offset, limit=limit)


@router.post(
    "/media", response_model=UploadRead, status_code=201, responses=error_responses(413, 422)
)
def upload_media(
    file: Annotated[
        UploadFile, File(description="An image (JPEG, PNG, WebP, GIF) or a video (MP4, MOV).")
    ],
    session: DbSession,
    subject: CurrentSubject,
    settings: AppSettings,
) -> UploadRead:
    """Store a file for posts; its type, size, dimensions and duration are read from its
    content (never its name). Each platform's limits are checked when it is attached."""
    subject.require(Role.editor)
    limit = media_service.max_upload_bytes(settings)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"the file is larger than the {limit // (1024 * 1024)} MB uploads may have "
            "(SOCIALPULSE_MAX_UPLOAD_MB)"
        )
    return service.save_upload(session, subject, data, file.filename or "", settings=settings)
