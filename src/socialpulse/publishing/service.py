"""Posts: create (draft or scheduled), edit, schedule, cancel, reschedule, skip or edit one
occurrence of a series, retry a failed delivery, uploads; the reads (one post, the list,
occurrences, the queue, the calendar) live in ``publishing.reading`` and are re-exported here.

Every read and write is the workspace's own (``workspaces.tenancy``): another workspace's post
or delivery is a 404. Services flush, the edge commits; a refused request raises before
anything is written (validation collects every problem first, ``publishing.validation``). The
workspace data version is bumped by the session hook of ``workspaces.versions`` for every row
written here (each table has a ``workspace_id``).

``_emit`` is the one call site of outbound webhooks (``post.scheduled``, ``post.published``,
``post.failed``), joining the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.config import Settings
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, PayloadTooLarge
from socialpulse.media import service as media_service
from socialpulse.publishing import series, validation
from socialpulse.publishing.models import (
    Delivery,
    DeliveryStatus,
    OccurrenceOverride,
    OverrideAction,
    Post,
    PostMedia,
    PostStatus,
    PostTarget,
    Upload,
)
from socialpulse.publishing.reading import calendar as calendar
from socialpulse.publishing.reading import get_post as get_post
from socialpulse.publishing.reading import list_occurrences as list_occurrences
from socialpulse.publishing.reading import list_posts as list_posts
from socialpulse.publishing.reading import queue as queue
from socialpulse.publishing.reading import read_post as read_post
from socialpulse.publishing.recurrence import describe_interval, get_zone
from socialpulse.publishing.schemas import (
    DeliveryRead,
    MediaIn,
    OccurrenceEdit,
    OccurrenceSkip,
    PostCreate,
    PostRead,
    PostUpdate,
    RecurrenceIn,
    RescheduleIn,
    TargetIn,
    UploadRead,
)
from socialpulse.publishing.validation import Problems, TargetContent
from socialpulse.webhooks import service as webhooks_service
from socialpulse.workspaces.models import Workspace
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

EDITABLE = (PostStatus.draft, PostStatus.scheduled, PostStatus.failed, PostStatus.missed)


class PostBeingPublished(Conflict):
    code = "post_being_published"


class PostNotEditable(Conflict):
    code = "post_not_editable"


def _emit(session: Session, workspace_id: int, event_type: str, data: dict[str, Any]) -> None:
    """Outbound webhooks' one call site (``post.scheduled``, ``post.published``,
    ``post.failed``): the deliveries join the caller's transaction, so a rolled-back change
    announces nothing."""
    log.info("publishing.event", workspace_id=workspace_id, event_type=event_type)
    webhooks_service.emit_event(session, workspace_id, event_type, data)


# --------------------------------------------------------------------------- rows


def _workspace_zone(session: Session, workspace_id: int) -> str:
    return session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"


def _not_publishing(session: Session, post_id: int) -> None:
    busy = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.post_id == post_id, Delivery.status == DeliveryStatus.publishing)
    )
    if busy:
        raise PostBeingPublished(
            "the post is being published right now; try again in a minute",
        )


# --------------------------------------------------------------------------- checks


def _validate(
    session: Session,
    workspace_id: int,
    *,
    post: Post,
    targets: Sequence[TargetIn],
    media: Sequence[MediaIn],
    recurrence: RecurrenceIn | None,
    scheduled_at: dt.datetime | None,
    schedule: bool,
    now: dt.datetime,
    keep_time: bool = False,
) -> tuple[ZoneInfo, dt.datetime | None, Any, dict[int, TrackedAccount], dict[int, Upload]]:
    """Check everything (every problem collected, one 422), and resolve the times."""
    problems = Problems()
    zone = validation.check_zone(problems, post.zone)
    start = validation.as_utc(scheduled_at, zone) if scheduled_at is not None else None
    if recurrence is not None and recurrence.cron is not None and start is None and schedule:
        start = now  # a cron series with no start begins now
    if schedule and start is None:
        problems.add(["scheduled_at"], "a time is needed to schedule the post")
    if schedule and start is not None and not keep_time:
        validation.check_not_past(problems, ["scheduled_at"], start, now, zone)
    rule = None
    if recurrence is not None:
        rule = validation.build_recurrence(
            problems,
            cron=recurrence.cron,
            every=recurrence.every,
            until=recurrence.until,
            count=recurrence.count,
            zone=zone,
            start=start,
        )
    accounts = validation.load_accounts(
        session, workspace_id, problems, [target.account_id for target in targets]
    )
    uploads = validation.load_uploads(
        session, workspace_id, problems, [item.media_id for item in media]
    )
    if schedule:
        if not targets:
            problems.add(["targets"], "choose at least one account to publish to")
        attached = [uploads[item.media_id] for item in media if item.media_id in uploads]
        for index, target in enumerate(targets):
            account = accounts.get(target.account_id)
            if account is None:
                continue
            content = TargetContent(
                index=index,
                account_id=account.id,
                text=series.compose_text(
                    target.text if target.text is not None else post.text, post.hashtags
                ),
                title=target.title if target.title is not None else post.title,
            )
            rules = (
                validation.rules_for(account)
                if validation.publish_problem(account) is None
                else None
            )
            validation.check_target(
                problems, account, content, attached, visibility=post.visibility, rules=rules
            )
    else:
        for index, target in enumerate(targets):
            account = accounts.get(target.account_id)
            if account is not None and (problem := validation.publish_problem(account)):
                problems.add(["targets", index, "account_id"], problem)
    problems.raise_if_any()
    return zone, start, rule, accounts, uploads


def _apply_recurrence(post: Post, rule: Any) -> None:
    post.cron = rule.cron if rule is not None else None
    post.interval_s = rule.interval_s if rule is not None else None
    post.ends_at = rule.ends_at if rule is not None else None
    post.max_count = rule.max_count if rule is not None else None


def _write_targets(session: Session, post: Post, targets: Sequence[TargetIn]) -> None:
    for old in session.scalars(select(PostTarget).where(PostTarget.post_id == post.id)):
        session.delete(old)
    session.flush()
    for target in targets:
        session.add(
            PostTarget(
                workspace_id=post.workspace_id,
                post_id=post.id,
                account_id=target.account_id,
                text_override=target.text,
                title_override=target.title,
                options=dict(target.options),
            )
        )


def _write_media(session: Session, post: Post, media: Sequence[MediaIn]) -> None:
    for old in session.scalars(select(PostMedia).where(PostMedia.post_id == post.id)):
        session.delete(old)
    session.flush()
    for position, item in enumerate(media):
        session.add(
            PostMedia(
                workspace_id=post.workspace_id,
                post_id=post.id,
                upload_id=item.media_id,
                position=position,
                alt_text=item.alt_text,
            )
        )


def _targets_in(session: Session, post_id: int) -> list[TargetIn]:
    return [
        TargetIn(
            account_id=row.account_id,
            text=row.text_override,
            title=row.title_override,
            options=row.options,
        )
        for row in session.scalars(
            select(PostTarget).where(PostTarget.post_id == post_id).order_by(PostTarget.id)
        )
    ]


def _media_in(session: Session, post_id: int) -> list[MediaIn]:
    return [
        MediaIn(media_id=row.upload_id, alt_text=row.alt_text)
        for row in session.scalars(
            select(PostMedia).where(PostMedia.post_id == post_id).order_by(PostMedia.position)
        )
    ]


def _recurrence_in(post: Post) -> RecurrenceIn | None:
    if post.cron is not None:
        return RecurrenceIn(cron=post.cron, until=post.ends_at, count=post.max_count)
    if post.interval_s is not None:
        return RecurrenceIn(
            every=describe_interval(post.interval_s), until=post.ends_at, count=post.max_count
        )
    return None


def _event(post: Post, **extra: Any) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "status": str(post.status),
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
        **extra,
    }


def _start_series(session: Session, post: Post, now: dt.datetime) -> None:
    post.status = PostStatus.scheduled
    post.materialised_until = None
    post.series_done = False
    session.flush()
    series.materialise(session, post, now)
    series.refresh_status(session, post)
    _emit(session, post.workspace_id, "post.scheduled", _event(post))


# --------------------------------------------------------------------------- writes


def create_post(
    session: Session, subject: Subject, body: PostCreate, *, now: dt.datetime | None = None
) -> PostRead:
    """A draft, or a scheduled post (checked in full first) with its first deliveries."""
    now = now or utcnow()
    post = Post(
        workspace_id=subject.workspace_id,
        text=body.text,
        hashtags=list(body.hashtags),
        title=body.title,
        language=body.language,
        visibility=body.visibility,
        content_warning=body.content_warning,
        zone=body.zone or _workspace_zone(session, subject.workspace_id),
        status=PostStatus.draft,
        created_by=subject.actor,
    )
    _, start, rule, _, _ = _validate(
        session,
        subject.workspace_id,
        post=post,
        targets=body.targets,
        media=body.media,
        recurrence=body.recurrence,
        scheduled_at=body.scheduled_at,
        schedule=not body.draft,
        now=now,
    )
    post.scheduled_at = start
    _apply_recurrence(post, rule)
    session.add(post)
    session.flush()
    _write_targets(session, post, body.targets)
    _write_media(session, post, body.media)
    session.flush()
    if not body.draft:
        _start_series(session, post, now)
    log.info("publishing.post.created", post_id=post.id, status=str(post.status))
    return read_post(session, subject, post.id)


def update_post(
    session: Session,
    subject: Subject,
    post_id: int,
    body: PostUpdate,
    *,
    now: dt.datetime | None = None,
) -> PostRead:
    """Change a post before it is published; deliveries not yet started are made again from
    the new content and time (a scheduled post is checked in full again)."""
    now = now or utcnow()
    post = get_post(session, subject, post_id)
    if post.status not in EDITABLE:
        raise PostNotEditable(f"a {post.status} post cannot be edited")
    _not_publishing(session, post.id)
    given = body.model_fields_set
    for name in ("text", "title", "language", "visibility", "content_warning", "zone"):
        if name in given:
            value = getattr(body, name)
            if name in ("text", "zone") and value is None:
                raise InvalidInput(f"{name} cannot be null")
            setattr(post, name, value)
    if "hashtags" in given:
        post.hashtags = list(body.hashtags or [])
    targets = body.targets if "targets" in given and body.targets is not None else None
    media = body.media if "media" in given and body.media is not None else None
    recurrence = body.recurrence if "recurrence" in given else _recurrence_in(post)
    timing_changed = bool({"scheduled_at", "recurrence", "zone", "targets"} & given)
    scheduled_at = body.scheduled_at if "scheduled_at" in given else None
    schedule = post.status != PostStatus.draft
    _, start, rule, _, _ = _validate(
        session,
        subject.workspace_id,
        post=post,
        targets=targets if targets is not None else _targets_in(session, post.id),
        media=media if media is not None else _media_in(session, post.id),
        recurrence=recurrence,
        scheduled_at=scheduled_at if scheduled_at is not None else post.scheduled_at,
        schedule=schedule,
        now=now,
        keep_time=scheduled_at is None,
    )
    post.scheduled_at = start
    _apply_recurrence(post, rule)
    if targets is not None:
        series.drop_unstarted(session, post.id)
        _write_targets(session, post, targets)
    if media is not None:
        _write_media(session, post, media)
    session.flush()
    if schedule and timing_changed:
        series.drop_unstarted(session, post.id)
        _start_series(session, post, now)
    log.info("publishing.post.updated", post_id=post.id, fields=sorted(given))
    return read_post(session, subject, post.id)


def schedule_post(
    session: Session, subject: Subject, post_id: int, *, now: dt.datetime | None = None
) -> PostRead:
    """A draft becomes scheduled, after the full checks."""
    now = now or utcnow()
    post = get_post(session, subject, post_id)
    if post.status != PostStatus.draft:
        raise PostNotEditable(f"only a draft can be scheduled; this post is {post.status}")
    _validate(
        session,
        subject.workspace_id,
        post=post,
        targets=_targets_in(session, post.id),
        media=_media_in(session, post.id),
        recurrence=_recurrence_in(post),
        scheduled_at=post.scheduled_at,
        schedule=True,
        now=now,
    )
    if post.scheduled_at is None:  # a cron series without a start begins now
        post.scheduled_at = now
    _start_series(session, post, now)
    return read_post(session, subject, post.id)


def cancel_post(session: Session, subject: Subject, post_id: int) -> PostRead:
    """Nothing more of the post is published; what is being published now finishes."""
    post = get_post(session, subject, post_id)
    if post.status in (PostStatus.published, PostStatus.cancelled):
        raise PostNotEditable(f"a {post.status} post cannot be cancelled")
    for delivery in session.scalars(
        select(Delivery).where(
            Delivery.post_id == post.id, Delivery.status == DeliveryStatus.scheduled
        )
    ):
        delivery.status = DeliveryStatus.cancelled
    post.status = PostStatus.cancelled
    session.flush()
    log.info("publishing.post.cancelled", post_id=post.id)
    return read_post(session, subject, post.id)


def reschedule_post(
    session: Session,
    subject: Subject,
    post_id: int,
    body: RescheduleIn,
    *,
    now: dt.datetime | None = None,
) -> PostRead:
    """Move the post (or the start of its series) to a new time, even after it failed, was
    missed or cancelled; deliveries that never reached a platform are made again."""
    now = now or utcnow()
    post = get_post(session, subject, post_id)
    if post.status == PostStatus.published and not post.recurring:
        raise PostNotEditable("a published post cannot be rescheduled")
    _not_publishing(session, post.id)
    if body.zone is not None:
        post.zone = body.zone
    draft = post.status == PostStatus.draft
    _, start, rule, _, _ = _validate(
        session,
        subject.workspace_id,
        post=post,
        targets=_targets_in(session, post.id),
        media=_media_in(session, post.id),
        recurrence=_recurrence_in(post),
        scheduled_at=body.scheduled_at,
        schedule=not draft,
        now=now,
    )
    post.scheduled_at = start
    _apply_recurrence(post, rule)
    if not draft:
        series.drop_unstarted(session, post.id)
        _start_series(session, post, now)
    log.info("publishing.post.rescheduled", post_id=post.id, scheduled_at=str(start))
    return read_post(session, subject, post.id)


def delete_post(session: Session, subject: Subject, post_id: int) -> None:
    """Remove the post and its history here (what was published stays on the platforms)."""
    post = get_post(session, subject, post_id)
    _not_publishing(session, post.id)
    session.delete(post)
    session.flush()


def _occurrence(post: Post, at: dt.datetime) -> dt.datetime:
    """``at`` when it is one of the series' occurrences, else a 422 naming the nearest."""
    if not post.recurring or post.scheduled_at is None:
        raise InvalidInput("only a recurring post has occurrences; reschedule this one instead")
    at = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    at = at.astimezone(dt.UTC)
    found = series.planned(
        post, after=at - dt.timedelta(microseconds=1), until=at + dt.timedelta(days=366), limit=1
    )
    if not found or found[0].at != at:
        nearest = f"; the next one is {found[0].at.isoformat()}" if found else ""
        raise InvalidInput(
            f"{at.isoformat()} is not an occurrence of this series{nearest}",
            details=[{"loc": ["body", "occurrence_at"], "msg": "not an occurrence"}],
        )
    return at


def _occurrence_deliveries(session: Session, post_id: int, at: dt.datetime) -> list[Delivery]:
    rows = list(
        session.scalars(
            select(Delivery).where(Delivery.post_id == post_id, Delivery.occurrence_at == at)
        )
    )
    if any(row.status not in (DeliveryStatus.scheduled, DeliveryStatus.skipped) for row in rows):
        raise PostNotEditable("this occurrence is being published or was already published")
    return rows


def _override(session: Session, post: Post, at: dt.datetime) -> OccurrenceOverride:
    row = session.scalar(
        select(OccurrenceOverride).where(
            OccurrenceOverride.post_id == post.id, OccurrenceOverride.occurrence_at == at
        )
    )
    if row is None:
        row = OccurrenceOverride(
            workspace_id=post.workspace_id,
            post_id=post.id,
            occurrence_at=at,
            action=OverrideAction.skip,
        )
        session.add(row)
    return row


def skip_occurrence(
    session: Session, subject: Subject, post_id: int, body: OccurrenceSkip
) -> PostRead:
    """This occurrence of the series is not published (the others are)."""
    post = get_post(session, subject, post_id)
    at = _occurrence(post, body.occurrence_at)
    deliveries = _occurrence_deliveries(session, post.id, at)
    row = _override(session, post, at)
    row.action, row.text, row.scheduled_for = OverrideAction.skip, None, None
    for delivery in deliveries:
        delivery.status = DeliveryStatus.skipped
    session.flush()
    series.refresh_status(session, post)
    return read_post(session, subject, post.id)


def edit_occurrence(
    session: Session,
    subject: Subject,
    post_id: int,
    body: OccurrenceEdit,
    *,
    now: dt.datetime | None = None,
) -> PostRead:
    """One occurrence gets its own text and/or time (checked like the post's)."""
    now = now or utcnow()
    post = get_post(session, subject, post_id)
    at = _occurrence(post, body.occurrence_at)
    deliveries = _occurrence_deliveries(session, post.id, at)
    problems = Problems()
    zone = get_zone(post.zone)
    when = validation.as_utc(body.scheduled_at, zone) if body.scheduled_at is not None else None
    if when is not None:
        validation.check_not_past(problems, ["scheduled_at"], when, now, zone)
    if body.text is not None:
        targets = _targets_in(session, post.id)
        accounts = validation.load_accounts(
            session, post.workspace_id, problems, [t.account_id for t in targets]
        )
        media = _media_in(session, post.id)
        uploads = validation.load_uploads(
            session, post.workspace_id, problems, [m.media_id for m in media]
        )
        attached = [uploads[m.media_id] for m in media if m.media_id in uploads]
        for index, target in enumerate(targets):
            account = accounts.get(target.account_id)
            if account is None or validation.publish_problem(account) is not None:
                continue
            validation.check_target(
                problems,
                account,
                TargetContent(
                    index,
                    account.id,
                    series.compose_text(body.text, post.hashtags),
                    target.title if target.title is not None else post.title,
                ),
                attached,
                visibility=post.visibility,
                rules=validation.rules_for(account),
            )
    problems.raise_if_any("the occurrence")
    row = _override(session, post, at)
    row.action = OverrideAction.edit
    row.text = body.text if body.text is not None else row.text
    row.scheduled_for = when if when is not None else row.scheduled_for
    for delivery in deliveries:
        delivery.status = DeliveryStatus.scheduled
        delivery.text_override = row.text
        if row.scheduled_for is not None and delivery.scheduled_for != row.scheduled_for:
            delivery.scheduled_for = delivery.next_attempt_at = row.scheduled_for
            session.flush()
            series.enqueue(session, delivery)
    session.flush()
    series.refresh_status(session, post)
    return read_post(session, subject, post.id)


def retry_delivery(
    session: Session, subject: Subject, delivery_id: int, *, now: dt.datetime | None = None
) -> DeliveryRead:
    """A failed or missed delivery is tried again now (3 attempts more). One that may have
    reached the platform (``publish_started_at`` kept) is looked for there first."""
    now = now or utcnow()
    delivery = get_scoped(session, Delivery, delivery_id, subject)
    if delivery.status not in (DeliveryStatus.failed, DeliveryStatus.missed):
        raise Conflict(
            f"only a failed or missed delivery can be retried; this one is {delivery.status}"
        )
    post = session.get(Post, delivery.post_id)
    assert post is not None
    if post.status == PostStatus.cancelled:
        raise Conflict("the post was cancelled; reschedule it instead")
    delivery.status = DeliveryStatus.scheduled
    delivery.attempts = 0
    delivery.next_attempt_at = now
    session.flush()
    series.enqueue(session, delivery)
    series.refresh_status(session, post)
    log.info("publishing.delivery.retry", delivery_id=delivery.id)
    return DeliveryRead.model_validate(delivery, from_attributes=True)


# --------------------------------------------------------------------------- uploads


def save_upload(
    session: Session,
    subject: Subject,
    data: bytes,
    filename: str,
    *,
    settings: Settings | None = None,
) -> UploadRead:
    """Store a file for posts (``media.uploads``: probed from its content); the same file twice
    is the same upload."""
    try:
        facts = media_service.store_upload(data, settings=settings)
    except media_service.UploadRefused as exc:
        if exc.too_large:
            raise PayloadTooLarge(str(exc)) from exc
        raise InvalidInput(str(exc), details=[{"loc": ["body", "file"], "msg": str(exc)}]) from exc
    row = session.scalar(scoped(select(Upload), subject).where(Upload.sha256 == facts.sha256))
    if row is None:
        row = Upload(
            workspace_id=subject.workspace_id,
            sha256=facts.sha256,
            key=facts.key,
            filename=(filename or "")[:255],
            mime_type=facts.mime_type,
            kind=facts.kind,
            size_bytes=facts.size_bytes,
            width=facts.width,
            height=facts.height,
            duration_s=facts.duration_s,
            created_by=subject.actor,
        )
        session.add(row)
        session.flush()
        log.info("publishing.media.stored", upload_id=row.id, mime=facts.mime_type)
    return UploadRead.model_validate(row, from_attributes=True)
