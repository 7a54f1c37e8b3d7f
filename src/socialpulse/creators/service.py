"""Creator reports: find or create the shared creator, record what a workspace asked for, queue
the build, and read the stored report with the workspace's access.

Creator data (``creators``, their posts, comments, reports) is shared by the instance: one row
per platform + handle whichever workspace asked. What a workspace searched (``creator_searches``)
and which full reports it may read (``creator_access``) are its own; every read and write of
those is filtered by the caller's workspace id here, and nowhere else.

Access: the preview (``CreatorPreview``) needs none; the five sections, the posts list, post
analytics and the export need an unexpired ``CreatorAccess`` row of the caller's workspace.
Searching a creator requests its build and shows the preview; since #14 it grants nothing:
access is an unlock (``creators.unlocks``: credits, 30 days, shared by the team). A workspace
whose unlock ended gets ``AccessExpired`` (403 ``access_expired``) with the re-unlock price and
its balance; one that never unlocked gets ``CreatorAccessRequired`` with the price.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.billing import usage as billing_usage
from socialpulse.config import get_settings
from socialpulse.creators import report
from socialpulse.creators.models import (
    BuildStep,
    Creator,
    CreatorAccess,
    CreatorComment,
    CreatorPost,
    CreatorReport,
    CreatorSearch,
    CreatorStatus,
)
from socialpulse.creators.schemas import (
    BuildStatus,
    Completeness,
    CreatorPreview,
    CreatorReportRead,
    PostAnalytics,
    PostItem,
    PostPage,
    ReportSections,
)
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput, NotFound, PermissionDenied, ServiceUnavailable
from socialpulse.kit.upsert import upsert
from socialpulse.media import service as media_service
from socialpulse.media.models import MediaObject, MediaStatus
from socialpulse.providers import registry
from socialpulse.worker.jobs import enqueue_job
from socialpulse.worker.models import Job, JobStatus

BUILD_JOB = "creators.build_report"
# Every step of a build, in order (done excluded): progress is the index of the running one.
STEPS: tuple[BuildStep, ...] = tuple(step for step in BuildStep if step is not BuildStep.done)
# How many posts a report needs for each completeness criterion that counts posts.
MIN_POSTS = 12
# A handle the platform said does not exist (or is private) is asked again after this long.
RECHECK_MISSING = dt.timedelta(hours=1)
# YouTube channel ids are case-sensitive; every other handle we read is not.
_YOUTUBE_CHANNEL_ID = re.compile(r"^UC[\w-]{22}$")


class CreatorNotFound(NotFound):
    code = "creator_not_found"


class CreatorPrivate(InvalidInput):
    code = "creator_private"


class CreatorReportFailed(ServiceUnavailable):
    code = "creator_report_failed"


class CreatorAccessRequired(PermissionDenied):
    code = "creator_access_required"


class AccessExpired(PermissionDenied):
    code = "access_expired"


# The pricing rule of an unlock (billing's catalogue); the unlock itself is creators.unlocks.
UNLOCK_ACTION = "influencer_unlock"


# --------------------------------------------------------------------------- targets


def normalise_handle(platform: str, handle: str) -> str:
    handle = handle.strip().lstrip("@").strip()
    if platform == "youtube" and _YOUTUBE_CHANNEL_ID.match(handle):
        return handle
    return handle.lower()


def parse_target(text: str, platform: str | None) -> tuple[str, str]:
    """(platform, normalised handle) for a handle or a profile URL; ``InvalidInput`` for an
    unknown platform, a URL we do not recognise or a platform without creator reports."""
    info, handle = accounts_service.resolve_ref(text, platform)
    if not info.supports(registry.Capability.CREATOR_DISCOVERY):
        raise InvalidInput(f"creator reports are not available for {info.display_name}")
    handle = normalise_handle(info.name, handle)
    if not handle:
        raise InvalidInput("give a handle or a profile URL")
    return info.name, handle


# --------------------------------------------------------------------------- requests


def touch(creator: Creator) -> None:
    """Every change to a creator's stored data bumps its version (the report cache's key)."""
    creator.data_version = (creator.data_version or 0) + 1


def find_creator(session: Session, platform: str, handle: str) -> Creator | None:
    return session.scalar(
        select(Creator).where(Creator.platform == platform, Creator.handle == handle)
    )


def get_creator(session: Session, creator_id: int) -> Creator:
    creator = session.get(Creator, creator_id)
    if creator is None:
        raise NotFound(f"no creator {creator_id}")
    return creator


def _report_row(session: Session, creator_id: int) -> CreatorReport | None:
    return session.scalar(select(CreatorReport).where(CreatorReport.creator_id == creator_id))


def refresh_age() -> dt.timedelta:
    return dt.timedelta(days=get_settings().creator_refresh_days)


def is_stale(computed_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) - computed_at > refresh_age()


def grant_access(
    session: Session,
    workspace_id: int,
    creator_id: int,
    *,
    reason: str = "requested",
    user_id: int | None = None,
) -> None:
    """The workspace may read the creator's full report (kept as it is when already granted)."""
    upsert(
        session,
        CreatorAccess.__table__,  # type: ignore[arg-type]
        [
            {
                "workspace_id": workspace_id,
                "creator_id": creator_id,
                "reason": reason,
                "granted_at": utcnow(),
                "granted_by_user_id": user_id,
            }
        ],
        conflict=["workspace_id", "creator_id"],
        update=[],
    )


def has_access(session: Session, workspace_id: int, creator_id: int) -> bool:
    now = utcnow()
    found = session.scalar(
        select(CreatorAccess.id).where(
            CreatorAccess.workspace_id == workspace_id,
            CreatorAccess.creator_id == creator_id,
            or_(CreatorAccess.expires_at.is_(None), CreatorAccess.expires_at > now),
        )
    )
    return found is not None


# A workspace's repeated search of one creator within this window is one search in its history:
# the same request polled (the API's 202 loop, a dashboard reload) must not write each time.
SEARCH_REPEAT_WINDOW = dt.timedelta(hours=1)


def repeated_request(
    session: Session, *, platform: str, handle: str, workspace_id: int
) -> int | None:
    """The creator's id when requesting it again would write nothing: the workspace searched it
    within SEARCH_REPEAT_WINDOW and no build is due. A read, so the request can be answered
    without the write lock (and from the cache)."""
    creator = find_creator(session, platform, normalise_handle(platform, handle))
    if creator is None:
        return None
    recent = session.scalar(
        select(CreatorSearch.id)
        .where(
            CreatorSearch.workspace_id == workspace_id,
            CreatorSearch.creator_id == creator.id,
            CreatorSearch.searched_at > utcnow() - SEARCH_REPEAT_WINDOW,
        )
        .limit(1)
    )
    if recent is None or _needs_build(session, creator):
        return None
    return creator.id


def request_report(
    session: Session,
    *,
    platform: str,
    handle: str,
    workspace_id: int | None,
    user_id: int | None,
    origin: str = "search",
    sample: Mapping[str, int] | None = None,
) -> Creator:
    """Find or create the shared creator, record the workspace's search, and queue a build
    when there is no report or it is older than the refresh age. Grants no access: an unlock
    does."""
    handle = normalise_handle(platform, handle)
    creator = find_creator(session, platform, handle)
    if creator is None:
        # Two first searches at once: the loser's insert does nothing, both read the winner.
        upsert(
            session,
            Creator.__table__,  # type: ignore[arg-type]
            [{"platform": platform, "handle": handle, "origin": origin, "data_version": 1}],
            conflict=["platform", "handle"],
            update=[],
        )
        creator = find_creator(session, platform, handle)
        assert creator is not None
    if workspace_id is not None:
        session.add(
            CreatorSearch(
                workspace_id=workspace_id,
                creator_id=creator.id,
                query=handle[:512],
                platform=platform,
                user_id=user_id,
            )
        )
    if _needs_build(session, creator):
        queue_build(session, creator, origin=origin, workspace_id=workspace_id, sample=sample)
    session.flush()
    return creator


def _needs_build(session: Session, creator: Creator) -> bool:
    row = _report_row(session, creator.id)
    if row is not None:
        return is_stale(row.computed_at)
    if creator.status in (CreatorStatus.not_found, CreatorStatus.private):
        finished = session.scalar(select(Job.finished_at).where(Job.id == creator.build_job_id))
        return finished is None or utcnow() - finished > RECHECK_MISSING
    return True


def running_build(session: Session, creator_id: int) -> Job | None:
    return session.scalar(
        select(Job).where(
            Job.dedupe_key == _dedupe_key(creator_id),
            Job.status.in_((JobStatus.pending, JobStatus.running)),
        )
    )


def _dedupe_key(creator_id: int) -> str:
    return f"{BUILD_JOB}:{creator_id}"


def queue_build(
    session: Session,
    creator: Creator,
    *,
    origin: str,
    workspace_id: int | None = None,
    sample: Mapping[str, int] | None = None,
) -> Job | None:
    """Queue the durable build (one per creator at a time); None when one is already queued or
    running. ``workspace_id``: whose platform credentials and API budget the build uses.
    ``sample``: smaller ``posts`` / ``comments_per_post`` than the settings (the demo's)."""
    if running_build(session, creator.id) is not None:
        return None
    job = enqueue_job(
        session,
        BUILD_JOB,
        {"creator_id": creator.id, **(sample or {})},
        workspace_id=workspace_id,
        dedupe_key=_dedupe_key(creator.id),
    )
    creator.status = CreatorStatus.building
    creator.status_message = None
    creator.build_step = None
    creator.build_job_id = job.id
    if creator.origin != origin and _report_row(session, creator.id) is None:
        creator.origin = origin
    touch(creator)
    session.flush()
    return job


def refresh(session: Session, creator_id: int, workspace_id: int) -> Job | None:
    """A refresh asked for by a workspace with access (the dashboard's button)."""
    creator = get_creator(session, creator_id)
    require_access(session, workspace_id, creator_id)
    return queue_build(session, creator, origin="refresh", workspace_id=workspace_id)


def refresh_due(session: Session, creator_id: int) -> bool:
    """A stored report is older than the refresh age and no build is queued for it."""
    row = _report_row(session, creator_id)
    return (
        row is not None and is_stale(row.computed_at) and running_build(session, creator_id) is None
    )


def refresh_if_stale(session: Session, creator_id: int, workspace_id: int | None) -> Job | None:
    """Queue a background refresh of a report older than the refresh age."""
    creator = get_creator(session, creator_id)
    row = _report_row(session, creator_id)
    if row is None or not is_stale(row.computed_at):
        return None
    return queue_build(session, creator, origin="refresh", workspace_id=workspace_id)


# --------------------------------------------------------------------------- completeness


def check_completeness(session: Session, creator_id: int) -> Completeness:
    """The issue's definition: followers > 0 and posts > 0, a biography, at least 12 posts
    stored, at least 12 posts with AI (category, sentiment and language computed: a caption in
    which no category was found counts as analysed), profile-level AI done, at least 12 posts
    with a stored thumbnail. Demographics are optional and age is not a criterion."""
    creator = get_creator(session, creator_id)
    posts = CreatorPost.creator_id == creator_id
    stored = session.scalar(select(func.count()).where(posts)) or 0
    with_ai = (
        session.scalar(
            select(func.count()).where(
                posts,
                CreatorPost.ai_at.is_not(None),
                CreatorPost.ai_sentiment.is_not(None),
                CreatorPost.ai_language.is_not(None),
            )
        )
        or 0
    )
    with_thumbnail = (
        session.scalar(
            select(func.count())
            .select_from(CreatorPost)
            .join(MediaObject, MediaObject.id == CreatorPost.thumbnail_media_id)
            .where(posts, MediaObject.status == MediaStatus.stored)
        )
        or 0
    )
    criteria = {
        "followers_and_posts": (creator.followers_count or 0) > 0
        and max(creator.posts_count or 0, stored) > 0,
        "biography": bool((creator.bio or "").strip()),
        "posts_stored": stored >= MIN_POSTS,
        "posts_with_ai": with_ai >= MIN_POSTS,
        "profile_ai": creator.profile_ai_at is not None,
        "posts_with_thumbnails": with_thumbnail >= MIN_POSTS,
    }
    missing = [name for name, met in criteria.items() if not met]
    return Completeness(criteria=criteria, complete=not missing, missing=missing)


# --------------------------------------------------------------------------- reads


def image_url(session: Session, media_id: int | None) -> str:
    media = session.get(MediaObject, media_id) if media_id is not None else None
    return media_service.image_url(media, "small")


def preview(session: Session, creator: Creator) -> CreatorPreview:
    return CreatorPreview(
        id=creator.id,
        platform=creator.platform,
        handle=creator.handle,
        display_name=creator.display_name,
        avatar=image_url(session, creator.avatar_media_id),
        profile_url=creator.profile_url,
        followers_count=creator.followers_count,
        following_count=creator.following_count,
        posts_count=creator.posts_count,
        verified=creator.verified,
        category=creator.category,
        language=creator.language,
        engagement_rate=creator.engagement_rate,
        audience_quality=creator.audience_quality,
        status=creator.status,
        status_message=creator.status_message,
        refreshed_at=creator.refreshed_at,
    )


def access_of(session: Session, workspace_id: int, creator_id: int) -> Literal["full", "preview"]:
    return "full" if has_access(session, workspace_id, creator_id) else "preview"


def require_access(session: Session, workspace_id: int, creator_id: int) -> None:
    """Nothing when the workspace may read the full report; else a 403 with what an unlock
    costs it now: ``access_expired`` (with when it ended) or ``creator_access_required``."""
    if has_access(session, workspace_id, creator_id):
        return
    ended = session.scalar(
        select(CreatorAccess.expires_at).where(
            CreatorAccess.workspace_id == workspace_id, CreatorAccess.creator_id == creator_id
        )
    )
    quote = billing_usage.quote(session, workspace_id, UNLOCK_ACTION)
    details = {
        "creator_id": creator_id,
        "action": UNLOCK_ACTION,
        "price": quote.price,
        "credits_now": quote.credits,
        "funding": str(quote.funding),
        "balance": quote.balance,
        "allowance_remaining": quote.allowance_remaining,
        "can_unlock": quote.can_perform,
        "access_days": quote.access_days,
        "unlock": "POST /api/v1/discovery/unlock-profile",
    }
    if ended is not None:
        raise AccessExpired(
            f"this workspace's access to the creator's full report ended on "
            f"{ended:%Y-%m-%d %H:%M} UTC; unlock it again for {quote.price} credits "
            f"(balance {quote.balance})",
            details={**details, "expired_at": ended.isoformat()},
        )
    raise CreatorAccessRequired(
        f"this workspace has not unlocked the creator's full report; unlock it for "
        f"{quote.price} credits (balance {quote.balance})",
        details=details,
    )


def has_report(session: Session, creator_id: int) -> bool:
    return _report_row(session, creator_id) is not None


def build_status(session: Session, creator: Creator) -> BuildStatus:
    step = creator.build_step
    done = STEPS.index(step) if step in STEPS else (len(STEPS) if step is BuildStep.done else 0)
    return BuildStatus(
        creator_id=creator.id,
        job_id=creator.build_job_id,
        status=creator.status,
        step=step,
        progress=round(done / len(STEPS), 4),
        message=creator.status_message,
    )


def raise_for_missing_report(creator: Creator) -> None:
    """The API error for a creator without a report that is not being built."""
    message = creator.status_message or f"no report for {creator.handle} on {creator.platform}"
    if creator.status is CreatorStatus.not_found:
        raise CreatorNotFound(message)
    if creator.status is CreatorStatus.private:
        raise CreatorPrivate(message)
    if creator.status is CreatorStatus.failed:
        raise CreatorReportFailed(message)


def report_for(session: Session, creator_id: int, workspace_id: int) -> CreatorReportRead:
    """The stored report as this workspace may read it: every section with access, the
    preview alone without."""
    creator = get_creator(session, creator_id)
    row = _report_row(session, creator_id)
    access = access_of(session, workspace_id, creator_id)
    now = utcnow()
    sections = (
        ReportSections.model_validate(row.sections)
        if row is not None and access == "full" and row.sections
        else None
    )
    return CreatorReportRead(
        creator=preview(session, creator),
        access=access,
        sections=sections,
        completeness=Completeness.model_validate(row.completeness)
        if row is not None and row.completeness
        else None,
        computed_at=row.computed_at if row is not None else None,
        age_seconds=round((now - row.computed_at).total_seconds(), 1) if row is not None else None,
        stale=row is not None and is_stale(row.computed_at, now),
        status=creator.status,
        status_message=creator.status_message,
        build_step=creator.build_step,
        job_id=creator.build_job_id,
    )


def _post_items(session: Session, creator: Creator, posts: list[CreatorPost]) -> list[PostItem]:
    ids = [post.id for post in posts]
    comments: dict[int, list[report.CommentRow]] = {post_id: [] for post_id in ids}
    for row in report.comment_rows(
        session, CreatorComment.post_id.in_(ids), CreatorComment.by_creator.is_(False)
    ):
        comments[row.post_id].append(row)
    return [
        report.post_item(
            report.post_row(post, image_url(session, post.thumbnail_media_id)),
            creator.followers_count,
            comments[post.id],
        )
        for post in posts
    ]


def list_posts(
    session: Session, creator_id: int, workspace_id: int, *, offset: int = 0, limit: int = 20
) -> PostPage:
    """The creator's stored posts, newest first, with their AI and comment sentiment."""
    creator = get_creator(session, creator_id)
    require_access(session, workspace_id, creator_id)
    where = CreatorPost.creator_id == creator_id
    total = session.scalar(select(func.count()).where(where)) or 0
    posts = list(
        session.scalars(
            select(CreatorPost)
            .where(where)
            .order_by(CreatorPost.posted_at.desc(), CreatorPost.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return PostPage(
        items=_post_items(session, creator, posts), total=total, offset=offset, limit=limit
    )


def find_post_by_url(session: Session, url: str) -> CreatorPost | None:
    url = url.strip()
    variants = {url, url.rstrip("/"), url.rstrip("/") + "/"}
    return session.scalar(
        select(CreatorPost).where(CreatorPost.url.in_(variants)).order_by(CreatorPost.id).limit(1)
    )


def post_analytics(
    session: Session, post: CreatorPost, workspace_id: int, *, paid: bool = False
) -> PostAnalytics:
    """One stored post's analytics: with access to its creator, or ``paid`` for this post
    (``post_analytics``, charged by the route)."""
    creator = get_creator(session, post.creator_id)
    if not paid:
        require_access(session, workspace_id, creator.id)
    return PostAnalytics(
        creator=preview(session, creator), post=_post_items(session, creator, [post])[0]
    )


def creator_for_post_url(url: str) -> tuple[str, str] | None:
    """(platform, handle) of the profile a post URL sits under, where its form says so."""
    try:
        return parse_target(url, None)
    except InvalidInput:
        return None


def export_rows(read: CreatorReportRead) -> list[tuple[str, str | int | float | bool]]:
    """The report flattened to (field path, value) pairs, for the CSV export (null as "")."""
    rows: list[tuple[str, str | int | float | bool]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)
        else:
            rows.append((prefix, "" if value is None else value))

    walk("", read.model_dump(mode="json"))
    return rows
