"""Reading posts: one post with its targets, media and deliveries, the list, a series' next
occurrences, the queue of waiting and failed deliveries, and the calendar's entries.

Every read is the workspace's own (``workspaces.tenancy``): another workspace's post is a 404.
Split from ``service`` (the writes), which re-exports these for its callers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import utcnow
from socialpulse.publishing import series
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
from socialpulse.publishing.recurrence import describe_interval, get_zone
from socialpulse.publishing.schemas import (
    CalendarEntry,
    DeliveryRead,
    MediaRead,
    OccurrenceRead,
    PostPage,
    PostRead,
    PostSummary,
    QueueItem,
    QueuePage,
    RecurrenceRead,
    TargetRead,
)
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)


def get_post(session: Session, subject: Subject, post_id: int) -> Post:
    """The workspace's post, or 404."""
    return get_scoped(session, Post, post_id, subject)


def _local(at: dt.datetime | None, zone: str) -> str | None:
    if at is None:
        return None
    try:
        return at.astimezone(get_zone(zone)).isoformat()
    except ValueError:
        return at.isoformat()


def read_post(session: Session, subject: Subject, post_id: int) -> PostRead:
    post = get_post(session, subject, post_id)
    targets = [
        TargetRead(
            id=target.id,
            account_id=target.account_id,
            platform=platform,
            handle=handle,
            text=target.text_override,
            title=target.title_override,
            options=target.options,
        )
        for target, platform, handle in session.execute(
            select(PostTarget, TrackedAccount.platform, TrackedAccount.handle)
            .join(TrackedAccount, TrackedAccount.id == PostTarget.account_id)
            .where(PostTarget.post_id == post.id)
            .order_by(PostTarget.id)
        )
    ]
    media = [
        MediaRead(
            media_id=upload.id,
            position=link.position,
            alt_text=link.alt_text,
            mime_type=upload.mime_type,
            kind=upload.kind,
            size_bytes=upload.size_bytes,
            width=upload.width,
            height=upload.height,
            duration_s=upload.duration_s,
        )
        for link, upload in session.execute(
            select(PostMedia, Upload)
            .join(Upload, Upload.id == PostMedia.upload_id)
            .where(PostMedia.post_id == post.id)
            .order_by(PostMedia.position)
        )
    ]
    deliveries = [
        DeliveryRead.model_validate(row, from_attributes=True)
        for row in session.scalars(
            select(Delivery)
            .where(Delivery.post_id == post.id)
            .order_by(Delivery.occurrence_at.desc(), Delivery.id)
            .limit(100)
        )
    ]
    recurrence = None
    if post.recurring:
        recurrence = RecurrenceRead(
            cron=post.cron,
            every=describe_interval(post.interval_s) if post.interval_s else None,
            interval_s=post.interval_s,
            until=post.ends_at,
            count=post.max_count,
        )
    return PostRead(
        id=post.id,
        status=post.status,
        text=post.text,
        hashtags=list(post.hashtags or []),
        title=post.title,
        language=post.language,
        visibility=post.visibility,
        content_warning=post.content_warning,
        zone=post.zone,
        scheduled_at=post.scheduled_at,
        scheduled_at_local=_local(post.scheduled_at, post.zone),
        recurrence=recurrence,
        targets=targets,
        media=media,
        deliveries=deliveries,
        created_by=post.created_by,
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


def list_posts(
    session: Session,
    subject: Subject,
    *,
    status: PostStatus | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> PostPage:
    """The workspace's posts by time (drafts without one last), newest first."""
    query = scoped(select(Post), subject)
    if status is not None:
        query = query.where(Post.status == status)
    if since is not None:
        query = query.where(Post.scheduled_at >= since)
    if until is not None:
        query = query.where(Post.scheduled_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(
            query.order_by(Post.scheduled_at.desc().nulls_last(), Post.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    counts = {
        post_id: int(count)
        for post_id, count in session.execute(
            select(PostTarget.post_id, func.count())
            .where(PostTarget.post_id.in_([row.id for row in rows]))
            .group_by(PostTarget.post_id)
        )
    }
    items = [
        PostSummary(
            id=row.id,
            status=row.status,
            text=row.text,
            zone=row.zone,
            scheduled_at=row.scheduled_at,
            recurring=row.recurring,
            targets=counts.get(row.id, 0),
            created_at=row.created_at,
        )
        for row in rows
    ]
    return PostPage(items=items, total=total, offset=offset, limit=limit)


def list_occurrences(
    session: Session,
    subject: Subject,
    post_id: int,
    *,
    limit: int = 20,
    now: dt.datetime | None = None,
) -> list[OccurrenceRead]:
    """The series' next occurrences (from now), with their skips and edits."""
    now = now or utcnow()
    post = get_post(session, subject, post_id)
    overrides = {
        row.occurrence_at: row
        for row in session.scalars(
            select(OccurrenceOverride).where(OccurrenceOverride.post_id == post.id)
        )
    }
    found = series.planned(
        post,
        after=now - dt.timedelta(microseconds=1),
        until=dt.datetime.max.replace(tzinfo=dt.UTC),
        limit=limit,
    )
    result = []
    for occurrence in found:
        override = overrides.get(occurrence.at)
        when = (override.scheduled_for if override else None) or occurrence.at
        result.append(
            OccurrenceRead(
                occurrence_at=occurrence.at,
                scheduled_for=when,
                local_time=_local(when, post.zone) or "",
                skipped=override is not None and override.action == OverrideAction.skip,
                edited=override is not None and override.action == OverrideAction.edit,
                text=override.text if override else None,
            )
        )
    return result


def queue(
    session: Session,
    subject: Subject,
    *,
    statuses: Sequence[DeliveryStatus] = (DeliveryStatus.scheduled, DeliveryStatus.failed),
    offset: int = 0,
    limit: int = 50,
) -> QueuePage:
    """Deliveries waiting (scheduled, publishing) or failed, the soonest first."""
    query = (
        scoped(select(Delivery, TrackedAccount.handle, Post.text), subject)
        .join(TrackedAccount, TrackedAccount.id == Delivery.account_id)
        .join(Post, Post.id == Delivery.post_id)
        .where(Delivery.status.in_(list(statuses)))
    )
    total = (
        session.scalar(
            scoped(select(func.count()).select_from(Delivery), subject).where(
                Delivery.status.in_(list(statuses))
            )
        )
        or 0
    )
    rows = session.execute(
        query.order_by(Delivery.next_attempt_at, Delivery.id).offset(offset).limit(limit)
    )
    items = [
        QueueItem(
            **DeliveryRead.model_validate(delivery, from_attributes=True).model_dump(),
            handle=handle,
            text=delivery.text_override or text,
        )
        for delivery, handle, text in rows
    ]
    return QueuePage(items=items, total=total, offset=offset, limit=limit)


# --------------------------------------------------------------------------- calendar

# The status a calendar entry shows when its accounts' deliveries differ: what needs attention
# first (a failure hides behind nothing), then what is still to happen.
_CALENDAR_RANK = [
    DeliveryStatus.failed,
    DeliveryStatus.missed,
    DeliveryStatus.publishing,
    DeliveryStatus.scheduled,
    DeliveryStatus.published,
    DeliveryStatus.cancelled,
    DeliveryStatus.skipped,
]
CALENDAR_LIMIT = 2000


def calendar(
    session: Session,
    subject: Subject,
    *,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime | None = None,
) -> list[CalendarEntry]:
    """What the workspace publishes in [since, until): each occurrence's deliveries together,
    the planned occurrences of series beyond their materialised deliveries, and drafts that
    have a time. At most ``CALENDAR_LIMIT`` entries (a month view holds far fewer)."""
    now = now or utcnow()
    grouped: dict[tuple[int, dt.datetime], list[tuple[Delivery, str, Post]]] = {}
    rows = session.execute(
        scoped(select(Delivery, TrackedAccount.handle, Post), subject)
        .join(TrackedAccount, TrackedAccount.id == Delivery.account_id)
        .join(Post, Post.id == Delivery.post_id)
        .where(Delivery.scheduled_for >= since, Delivery.scheduled_for < until)
        .order_by(Delivery.scheduled_for, Delivery.id)
        .limit(CALENDAR_LIMIT)
    )
    for delivery, handle, post in rows:
        grouped.setdefault((post.id, delivery.occurrence_at), []).append((delivery, handle, post))
    entries = []
    for (post_id, occurrence_at), found in grouped.items():
        statuses = {delivery.status for delivery, _, _ in found}
        status = next(s for s in _CALENDAR_RANK if s in statuses)
        post = found[0][2]
        failed = [d.last_error for d, _, _ in found if d.status == status and d.last_error]
        urls = [d.url for d, _, _ in found if d.url]
        entries.append(
            CalendarEntry(
                post_id=post_id,
                occurrence_at=occurrence_at,
                start=min(d.scheduled_for for d, _, _ in found),
                status=str(status),
                text=found[0][0].text_override or post.text,
                handles=sorted({handle for _, handle, _ in found}),
                platforms=sorted({d.platform for d, _, _ in found}),
                recurring=post.recurring,
                error=failed[0] if failed else None,
                url=urls[0] if urls else None,
            )
        )
    entries.extend(_planned_entries(session, subject, grouped, since, until, now))
    drafts = session.scalars(
        scoped(select(Post), subject)
        .where(Post.status == PostStatus.draft)
        .where(Post.scheduled_at >= since, Post.scheduled_at < until)
        .limit(CALENDAR_LIMIT)
    )
    for draft in drafts:
        assert draft.scheduled_at is not None
        entries.append(
            CalendarEntry(
                post_id=draft.id,
                occurrence_at=None,
                start=draft.scheduled_at,
                status="draft",
                text=draft.text,
                handles=[],
                platforms=[],
                recurring=draft.recurring,
            )
        )
    entries.sort(key=lambda entry: (entry.start, entry.post_id))
    return entries[:CALENDAR_LIMIT]


def _planned_entries(
    session: Session,
    subject: Subject,
    known: dict[tuple[int, dt.datetime], Any],
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
) -> list[CalendarEntry]:
    """Occurrences of scheduled series after their materialised deliveries (a series is
    materialised only a horizon ahead), with their skips and edited times."""
    start = max(since, now)
    if start >= until:
        return []
    series_posts = list(
        session.scalars(
            scoped(select(Post), subject)
            .where(Post.status.in_([PostStatus.scheduled, PostStatus.failed]))
            .where((Post.cron.is_not(None)) | (Post.interval_s.is_not(None)))
            .where(Post.scheduled_at < until)
        )
    )
    if not series_posts:
        return []
    accounts: dict[int, list[tuple[str, str]]] = {}
    for post_id, handle, account_platform in session.execute(
        select(PostTarget.post_id, TrackedAccount.handle, TrackedAccount.platform)
        .join(TrackedAccount, TrackedAccount.id == PostTarget.account_id)
        .where(PostTarget.post_id.in_([post.id for post in series_posts]))
    ):
        accounts.setdefault(post_id, []).append((handle, account_platform))
    overrides = {
        (row.post_id, row.occurrence_at): row
        for row in session.scalars(
            select(OccurrenceOverride).where(
                OccurrenceOverride.post_id.in_([post.id for post in series_posts])
            )
        )
    }
    entries = []
    for post in series_posts:
        for occurrence in series.planned(
            post, after=start - dt.timedelta(microseconds=1), until=until, limit=CALENDAR_LIMIT
        ):
            if occurrence.at >= until or (post.id, occurrence.at) in known:
                continue
            override = overrides.get((post.id, occurrence.at))
            if override is not None and override.action == OverrideAction.skip:
                continue
            targets = accounts.get(post.id, [])
            entries.append(
                CalendarEntry(
                    post_id=post.id,
                    occurrence_at=occurrence.at,
                    start=(override.scheduled_for if override else None) or occurrence.at,
                    status="planned",
                    text=(override.text if override else None) or post.text,
                    handles=sorted({handle for handle, _ in targets}),
                    platforms=sorted({name for _, name in targets}),
                    recurring=True,
                )
            )
    return entries
