"""The durable report build (job ``creators.build_report``): profile, posts, comments, media,
AI, aggregate, related, in that order.

Resumable: each step writes its output and the next step's name (on the creator's
``build_step`` and the job's progress) in one transaction, and work inside a long step commits
in batches that a rerun skips (comments fetched since the build began, images already stored,
texts already analysed). A job that crashed, lost its lease or was retried starts again at the
first step not done.

Failures: a platform that is down or slow is retried per step (``STEP_ATTEMPTS`` tries, with
the job engine's backoff); a platform call that would take the requesting workspace's daily
budget past its safety margin (80 %) or a platform quota that is used up defers the job to
the reset, costing no try. An unknown handle, a private account and a platform that cannot
serve reports (``CreatorSourceUnavailable``) end the build at once with a clear message on the
creator. Whatever fails, the stored report is replaced only by the aggregate step's single
transaction: a failed build leaves the previous report as it was.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.ai import service as ai_service
from socialpulse.config import get_settings
from socialpulse.creators import quality, report, search_index
from socialpulse.creators import service as creators_service
from socialpulse.creators.models import (
    BuildStep,
    Creator,
    CreatorComment,
    CreatorPost,
    CreatorReport,
    CreatorSearch,
    CreatorStatus,
    RelatedProfile,
    RelatedStatus,
)
from socialpulse.db import Database, utcnow
from socialpulse.kit.security import SecretBox
from socialpulse.media import service as media_service
from socialpulse.providers import base as pb
from socialpulse.providers.creators import CreatorSource, CreatorSourceUnavailable, creator_source
from socialpulse.providers.registry import MissingCredentialsError, get_provider
from socialpulse.webhooks import service as webhooks
from socialpulse.worker.jobs import JobContext, LeaseLost, RetryAt
from socialpulse.worker.models import Job

log = structlog.get_logger(__name__)

STEPS = creators_service.STEPS
STEP_ATTEMPTS = 3
# Enough for every step's tries plus a few reclaimed leases; each step is bounded on its own.
MAX_ATTEMPTS = STEP_ATTEMPTS * len(STEPS) + 4
AI_BATCH = 500
MEDIA_BATCH = 10
# Platforms whose creator source reads with the requesting workspace's connected account.
_ACCOUNT_PLATFORMS = frozenset({"youtube", "instagram", "tiktok"})


class BuildEnded(Exception):
    """The build ends now with this creator status and message (not retried)."""

    def __init__(self, status: CreatorStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- the source


def platform_credentials(
    session: Session, platform: str, workspace_id: int | None
) -> dict[str, Any]:
    """What the platform's creator source is built with: the instance's YouTube key, else the
    requesting workspace's connected account of that platform; nothing for the others."""
    settings = get_settings()
    if platform == "youtube" and settings.youtube_api_key is not None:
        return {"api_key": settings.youtube_api_key.get_secret_value()}
    if platform not in _ACCOUNT_PLATFORMS or workspace_id is None:
        return {}
    account = session.scalar(
        select(TrackedAccount)
        .where(
            TrackedAccount.workspace_id == workspace_id,
            TrackedAccount.platform == platform,
            TrackedAccount.active.is_(True),
            TrackedAccount.status == AccountStatus.ok,
            TrackedAccount.credentials_encrypted.is_not(None),
        )
        .order_by(TrackedAccount.id)
        .limit(1)
    )
    if account is None:
        return {}
    return accounts_service.credentials_of(account, SecretBox(settings.resolved_secret_key()))


def open_source(
    session: Session, creator: Creator, workspace_id: int | None, observer: pb.CallObserver | None
) -> CreatorSource:
    """The creator's platform source, or ``BuildEnded`` saying what would make it possible."""
    credentials = platform_credentials(session, creator.platform, workspace_id)
    if creator.platform == "instagram" and not credentials:
        raise BuildEnded(
            CreatorStatus.failed,
            "Instagram reports use Business Discovery through the workspace's connected "
            "Instagram professional account; connect one first",
        )
    try:
        return creator_source(creator.platform, credentials, observer)
    except CreatorSourceUnavailable as exc:
        raise BuildEnded(CreatorStatus.failed, str(exc)) from exc
    except MissingCredentialsError as exc:
        raise BuildEnded(CreatorStatus.failed, f"{exc}") from exc


# --------------------------------------------------------------------------- DTOs kept


def _profile_json(profile: pb.Profile) -> dict[str, Any]:
    return {
        "platform": str(profile.platform),
        "external_id": profile.external_id,
        "handle": profile.handle,
        "display_name": profile.display_name,
        "bio": profile.bio,
        "avatar_url": profile.avatar_url,
        "profile_url": profile.profile_url,
        "followers_count": profile.followers_count,
        "following_count": profile.following_count,
        "posts_count": profile.posts_count,
        "verified": profile.verified,
        "raw": profile.raw,
    }


def _profile_from(data: dict[str, Any]) -> pb.Profile:
    return pb.Profile(**{**data, "platform": pb.Platform(data["platform"])})


def _post_dto(post: CreatorPost, creator: Creator) -> pb.Post:
    try:
        media_type = pb.MediaType(post.media_type)
    except ValueError:
        media_type = pb.MediaType.OTHER
    return pb.Post(
        platform=pb.Platform(creator.platform),
        external_id=post.external_id,
        account_external_id=creator.external_id or "",
        url=post.url,
        caption=post.caption,
        posted_at=post.posted_at,
        media_type=media_type,
        hashtags=tuple(post.hashtags or ()),
        mentions=tuple(post.mentions or ()),
        thumbnail_url=post.thumbnail_url,
        metrics=pb.PostMetrics(post.views, post.likes, post.comments, post.shares, post.saves),
    )


# --------------------------------------------------------------------------- the run


@dataclass
class Build:
    ctx: JobContext
    creator_id: int
    progress: dict[str, Any]
    observer: BudgetObserver | None
    source: CreatorSource | None = None

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def started_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.progress["started_at"])

    def platform_source(self, session: Session, creator: Creator) -> CreatorSource:
        if self.source is None:
            self.source = open_source(session, creator, self.ctx.workspace_id, self.observer)
        return self.source

    def save(self, session: Session, creator: Creator, step: BuildStep | None = None) -> None:
        """Commit-side bookkeeping of a unit of work: usage, the creator's version, progress."""
        if step is not None:
            self.progress["step"] = step.value
            creator.build_step = step
        if self.observer is not None:
            self.observer.flush(session)
        creators_service.touch(creator)
        self.ctx.report_progress(session, dict(self.progress))


def run_build(ctx: JobContext) -> dict[str, Any]:
    """The job: resume at the first step not done, run the rest, record the outcome."""
    creator_id = int(ctx.payload["creator_id"])
    build = _start(ctx, creator_id)
    if build is None:
        return {"outcome": "gone"}
    step = BuildStep(build.progress["step"])
    try:
        while step is not BuildStep.done:
            _run_step(build, step)
            step = BuildStep(build.progress["step"])
    except BuildEnded as ended:
        _end(build, ended.status, ended.message)
        return {"outcome": ended.status.value, "message": ended.message}
    return {"outcome": "ready"}


def _start(ctx: JobContext, creator_id: int) -> Build | None:
    observer = BudgetObserver(ctx.db, ctx.workspace_id) if ctx.workspace_id is not None else None
    with ctx.db.session() as session:
        creator = session.get(Creator, creator_id)
        if creator is None:
            return None
        previous = session.scalar(select(Job.result).where(Job.id == ctx.job_id))
        if previous and previous.get("creator_id") == creator_id and previous.get("step"):
            progress = dict(previous)  # a rerun of this job: resume
        else:
            progress = {
                "creator_id": creator_id,
                "step": STEPS[0].value,
                "started_at": utcnow().isoformat(),
                "failures": {},
            }
        build = Build(ctx, creator_id, progress, observer)
        creator.status = CreatorStatus.building
        creator.build_job_id = ctx.job_id
        build.save(session, creator, BuildStep(progress["step"]))
    return build


def _end(build: Build, status: CreatorStatus, message: str) -> None:
    with build.db.session() as session:
        creator = session.get(Creator, build.creator_id)
        if creator is None:
            return
        has_report = creators_service.has_report(session, creator.id)
        # A report that was just written stays "ready": only the related step can fail after it.
        keep_ready = has_report and build.progress["step"] == BuildStep.related.value
        creator.status = CreatorStatus.ready if keep_ready else status
        creator.status_message = message
        creator.build_step = None
        if build.observer is not None:
            build.observer.flush(session)
        creators_service.touch(creator)
        build.ctx.finish(session, {"outcome": status.value, "message": message})
    log.info("creators.build.ended", creator_id=build.creator_id, status=status.value)


def _run_step(build: Build, step: BuildStep) -> None:
    try:
        STEP_FUNCTIONS[step](build)
    except (BuildEnded, LeaseLost):
        raise
    except pb.NotFoundError as exc:
        raise BuildEnded(CreatorStatus.not_found, _not_found_message(build, exc)) from exc
    except (pb.BudgetDeferredError, pb.QuotaExhaustedError) as exc:
        _defer(build, exc)
    except (pb.PermanentError, pb.AuthError) as exc:
        private = isinstance(exc, pb.PermanentError) and "private" in str(exc).lower()
        status = CreatorStatus.private if private else CreatorStatus.failed
        raise BuildEnded(status, f"{_platform_name(build)}: {exc}") from exc
    except Exception as exc:  # a platform that is down, or a bug: retried per step, bounded
        _retry_step(build, step, exc)


def _platform_name(build: Build) -> str:
    with build.db.session(readonly=True) as session:
        creator = session.get(Creator, build.creator_id)
        platform = creator.platform if creator is not None else "the platform"
    try:
        return get_provider(platform).display_name
    except ValueError:
        return platform


def _not_found_message(build: Build, exc: Exception) -> str:
    with build.db.session(readonly=True) as session:
        creator = session.get(Creator, build.creator_id)
        handle = creator.handle if creator is not None else "?"
    return f"{_platform_name(build)} has no account {handle!r} ({exc})"


def _defer(build: Build, exc: pb.BudgetDeferredError | pb.QuotaExhaustedError) -> None:
    wait = exc.retry_after or 3600.0
    message = f"waiting for the {_platform_name(build)} API budget: {exc}"
    with build.db.session() as session:
        creator = session.get(Creator, build.creator_id)
        if creator is not None:
            creator.status_message = message
            build.save(session, creator)
    raise RetryAt(message, at=utcnow() + dt.timedelta(seconds=wait), counts_attempt=False) from exc


def _retry_step(build: Build, step: BuildStep, exc: Exception) -> None:
    failures: dict[str, int] = build.progress.setdefault("failures", {})
    failures[step.value] = failures.get(step.value, 0) + 1
    message = f"{_platform_name(build)}: the {step.value} step failed ({type(exc).__name__}: {exc})"
    log.warning(
        "creators.build.step_failed", creator_id=build.creator_id, step=step.value, error=str(exc)
    )
    if failures[step.value] >= STEP_ATTEMPTS or build.ctx.attempt >= MAX_ATTEMPTS:
        raise BuildEnded(
            CreatorStatus.failed, f"{message}; gave up after {failures[step.value]} tries"
        ) from exc
    with build.db.session() as session:
        creator = session.get(Creator, build.creator_id)
        if creator is not None:
            creator.status_message = f"{message}; retrying"
            build.save(session, creator)
    retry_after = getattr(exc, "retry_after", None) or 0.0
    raise RetryAt(message, at=utcnow() + dt.timedelta(seconds=retry_after)) from exc


def _creator(session: Session, build: Build) -> Creator:
    creator = session.get(Creator, build.creator_id)
    if creator is None:
        raise BuildEnded(CreatorStatus.failed, "the creator was deleted during the build")
    return creator


# --------------------------------------------------------------------------- steps


def step_profile(build: Build) -> None:
    with build.db.session() as session:
        creator = _creator(session, build)
        profile = build.platform_source(session, creator).creator_profile(creator.handle)
        creator.external_id = profile.external_id
        creator.display_name = profile.display_name
        creator.bio = profile.bio
        creator.profile_url = profile.profile_url
        creator.avatar_url = profile.avatar_url
        creator.followers_count = profile.followers_count
        creator.following_count = profile.following_count
        creator.posts_count = profile.posts_count
        creator.verified = profile.verified
        build.progress["profile"] = _profile_json(profile)
        build.save(session, creator, BuildStep.posts)


def _sample(build: Build, key: str, configured: int) -> int:
    """The job's own sample size when it names one (the demo builds smaller samples), never more
    than the instance's setting."""
    wanted = build.ctx.payload.get(key)
    return min(int(wanted), configured) if isinstance(wanted, int) and wanted > 0 else configured


def step_posts(build: Build) -> None:
    limit = _sample(build, "posts", get_settings().creator_posts)
    with build.db.session() as session:
        creator = _creator(session, build)
        profile = _profile_from(build.progress["profile"])
        posts = build.platform_source(session, creator).creator_posts(profile, limit)
        stored = {
            p.external_id: p
            for p in session.scalars(
                select(CreatorPost).where(CreatorPost.creator_id == creator.id)
            )
        }
        for post in posts:
            row = stored.get(post.external_id)
            if row is None:
                row = CreatorPost(creator_id=creator.id, external_id=post.external_id)
                session.add(row)
            row.url = post.url
            row.caption = post.caption
            row.posted_at = post.posted_at
            row.media_type = str(post.media_type)
            row.hashtags = list(post.hashtags)
            row.mentions = list(post.mentions)
            row.views = post.metrics.views
            row.likes = post.metrics.likes
            row.comments = post.metrics.comments
            row.shares = post.metrics.shares
            row.saves = post.metrics.saves
            if row.thumbnail_url != post.thumbnail_url:
                row.thumbnail_url = post.thumbnail_url
                row.thumbnail_media_id = None
        if posts:  # the report covers the recent window only: older posts leave it
            current = [post.external_id for post in posts]
            session.execute(
                delete(CreatorPost).where(
                    CreatorPost.creator_id == creator.id, CreatorPost.external_id.not_in(current)
                )
            )
        build.save(session, creator, BuildStep.comments)


def step_comments(build: Build) -> None:
    limit = _sample(build, "comments_per_post", get_settings().creator_comments_per_post)
    started = build.started_at
    with build.db.session(readonly=True) as session:
        post_ids = list(
            session.scalars(
                select(CreatorPost.id)
                .where(CreatorPost.creator_id == build.creator_id)
                .order_by(CreatorPost.posted_at.desc())
            )
        )
    for post_id in post_ids if limit else []:
        with build.db.session() as session:
            creator = _creator(session, build)
            post = session.get(CreatorPost, post_id)
            if post is None or (post.comments_fetched_at and post.comments_fetched_at >= started):
                continue  # fetched before a crash of this same build
            source = build.platform_source(session, creator)
            comments = source.creator_comments(_post_dto(post, creator), limit)
            _store_comments(session, creator, post, comments)
            post.comments_fetched_at = utcnow()
            build.save(session, creator)
    with build.db.session() as session:
        build.save(session, _creator(session, build), BuildStep.media)


def _store_comments(
    session: Session, creator: Creator, post: CreatorPost, comments: Sequence[pb.Comment]
) -> None:
    existing = {
        c.external_id: c
        for c in session.scalars(select(CreatorComment).where(CreatorComment.post_id == post.id))
    }
    own_handle = creator.handle.lower()
    for comment in comments:
        row = existing.get(comment.external_id)
        if row is None:
            row = CreatorComment(
                post_id=post.id,
                creator_id=creator.id,
                external_id=comment.external_id,
                author_external_id=comment.author_external_id,
            )
            session.add(row)
            existing[comment.external_id] = row
        row.parent_external_id = comment.parent_external_id
        row.author_handle = comment.author_handle
        if row.text != comment.text:
            row.text = comment.text
            row.ai_at = None  # edited: analyse again
        row.posted_at = comment.posted_at
        row.like_count = comment.like_count
        row.by_creator = bool(
            (creator.external_id and comment.author_external_id == creator.external_id)
            or comment.author_handle.lstrip("@").lower() == own_handle
        )


def step_media(build: Build) -> None:
    with build.db.session() as session:
        creator = _creator(session, build)
        if creator.avatar_url:
            creator.avatar_media_id = media_service.store_image(session, creator.avatar_url).id
        build.save(session, creator)
    while True:
        with build.db.session() as session:
            creator = _creator(session, build)
            posts = list(
                session.scalars(
                    select(CreatorPost)
                    .where(
                        CreatorPost.creator_id == creator.id,
                        CreatorPost.thumbnail_url.is_not(None),
                        CreatorPost.thumbnail_media_id.is_(None),
                    )
                    .order_by(CreatorPost.id)
                    .limit(MEDIA_BATCH)
                )
            )
            for post in posts:
                assert post.thumbnail_url is not None
                post.thumbnail_media_id = media_service.store_image(session, post.thumbnail_url).id
            build.save(session, creator, None if posts else BuildStep.ai)
        if not posts:
            return


def step_ai(build: Build) -> None:
    """Captions and comments through the AI domain, in batches; comment quality by the rules
    of ``creators.quality``; then the profile-level AI (primary category and language)."""
    _analyse(build, CreatorPost, CreatorPost.caption)
    _analyse(build, CreatorComment, CreatorComment.text)
    with build.db.session() as session:
        creator = _creator(session, build)
        comments = list(
            session.execute(
                select(
                    CreatorComment.id,
                    CreatorComment.text,
                    CreatorComment.author_external_id,
                    CreatorComment.post_id,
                    CreatorComment.quality,
                ).where(CreatorComment.creator_id == creator.id)
            )
        )
        classes = quality.classify(
            [quality.CommentSample(c.text, c.author_external_id, c.post_id) for c in comments]
        )
        changed = [
            {"id": c.id, "quality": cls}
            for c, cls in zip(comments, classes, strict=True)
            if c.quality != cls
        ]
        if changed:
            session.execute(update(CreatorComment), changed)
        rows = session.execute(
            select(CreatorPost.ai_category, CreatorPost.ai_language).where(
                CreatorPost.creator_id == creator.id, CreatorPost.ai_at.is_not(None)
            )
        ).all()
        categories = Counter(r.ai_category for r in rows if r.ai_category)
        languages = Counter(r.ai_language for r in rows if r.ai_language and r.ai_language != "und")
        if categories:
            label, count = categories.most_common(1)[0]
            creator.category, creator.category_confidence = label, round(count / len(rows), 4)
        else:
            creator.category = creator.category_confidence = None
        creator.language = languages.most_common(1)[0][0] if languages else None
        creator.profile_ai_at = utcnow()
        build.save(session, creator, BuildStep.aggregate)


def _analyse(build: Build, model: type[CreatorPost] | type[CreatorComment], text: Any) -> None:
    while True:
        with build.db.session(readonly=True) as session:
            batch = session.execute(
                select(model.id, text)
                .where(model.creator_id == build.creator_id, model.ai_at.is_(None))
                .order_by(model.id)
                .limit(AI_BATCH)
            ).all()
        if not batch:
            return
        results = ai_service.analyze_texts([value or "" for _, value in batch])
        now = utcnow()
        values = [
            {
                "id": row_id,
                "ai_sentiment": result.sentiment.label,
                "ai_sentiment_score": round(result.sentiment.score, 4),
                "ai_language": result.language.code,
                "ai_at": now,
                **({"ai_category": result.category.label} if model is CreatorPost else {}),
            }
            for (row_id, _), result in zip(batch, results, strict=True)
        ]
        with build.db.session() as session:
            session.execute(update(model), values)
            build.save(session, _creator(session, build))


def step_aggregate(build: Build) -> None:
    """The report, computed from the stored rows and written with the creator's figures in one
    transaction: until it commits, the previous report is what every reader gets."""
    with build.db.session() as session:
        creator = _creator(session, build)
        began = time.perf_counter()
        now = utcnow()
        inputs = report.load_inputs(
            session, creator, lambda media_id: creators_service.image_url(session, media_id)
        )
        sections = report.compute_sections(inputs, now=now)
        creator.engagement_rate = sections.overview.engagement_rate
        creator.audience_quality = sections.audience.audience_quality_score
        session.flush()
        completeness = creators_service.check_completeness(session, creator.id)
        row = session.scalar(select(CreatorReport).where(CreatorReport.creator_id == creator.id))
        if row is None:
            row = CreatorReport(creator_id=creator.id)
            session.add(row)
        creator.status = CreatorStatus.ready
        creator.status_message = None
        creator.refreshed_at = now
        build.save(session, creator, BuildStep.related)
        row.sections = sections.model_dump(mode="json")
        row.completeness = completeness.model_dump(mode="json")
        row.complete = completeness.complete
        row.computed_at = now
        row.data_version = creator.data_version
        row.compute_ms = round((time.perf_counter() - began) * 1000, 2)
        # Discovery finds the creator by what this build stored, from the same commit on.
        search_index.refresh(session, creator)
        _emit_report_ready(session, build, creator, row)


def _asking_workspaces(session: Session, build: Build) -> list[int]:
    """The workspaces waiting for this build: the one that queued it, and every workspace that
    searched the creator since (their search found the build running and queued nothing).
    A crawl build nobody searched for has none: reports are shared data, and a workspace
    that did not ask is not told."""
    asking = {build.ctx.workspace_id} if build.ctx.workspace_id is not None else set()
    if build.ctx.queued_at is not None:
        asking.update(
            session.scalars(
                select(CreatorSearch.workspace_id).where(
                    CreatorSearch.creator_id == build.creator_id,
                    CreatorSearch.searched_at >= build.ctx.queued_at,
                )
            )
        )
    return sorted(asking)


def _emit_report_ready(
    session: Session, build: Build, creator: Creator, row: CreatorReport
) -> None:
    """``creator.report_ready`` in the transaction that writes the report: once per build (a
    rerun resumes after this step)."""
    data = {
        "creator_id": creator.id,
        "platform": creator.platform,
        "handle": creator.handle,
        "display_name": creator.display_name,
        "computed_at": row.computed_at.isoformat(),
        "complete": row.complete,
    }
    for workspace_id in _asking_workspaces(session, build):
        webhooks.emit_event(session, workspace_id, "creator.report_ready", data)


def step_related(build: Build) -> None:
    with build.db.session() as session:
        creator = _creator(session, build)
        posts = list(
            session.scalars(select(CreatorPost).where(CreatorPost.creator_id == creator.id))
        )
        profile = _profile_from(build.progress["profile"])
        source = build.platform_source(session, creator)
        handles = source.related_handles(profile, [_post_dto(p, creator) for p in posts])
        known = {
            (r.platform, r.handle)
            for r in session.scalars(
                select(RelatedProfile).where(RelatedProfile.creator_id == creator.id)
            )
        }
        for related in handles:
            platform = str(related.platform)
            handle = creators_service.normalise_handle(platform, related.handle)
            if (platform, handle) in known or (platform, handle) == (
                creator.platform,
                creator.handle,
            ):
                continue
            known.add((platform, handle))
            other = creators_service.find_creator(session, platform, handle)
            session.add(
                RelatedProfile(
                    creator_id=creator.id,
                    platform=platform,
                    handle=handle,
                    relation=related.relation,
                    followers_hint=related.followers_hint,
                    related_creator_id=other.id if other is not None else None,
                    status=RelatedStatus.pending,
                )
            )
        creator.build_step = BuildStep.done
        build.progress["step"] = BuildStep.done.value
        if build.observer is not None:
            build.observer.flush(session)
        creators_service.touch(creator)
        build.ctx.finish(session, {"outcome": "ready", "creator_id": creator.id})


STEP_FUNCTIONS: dict[BuildStep, Callable[[Build], None]] = {
    BuildStep.profile: step_profile,
    BuildStep.posts: step_posts,
    BuildStep.comments: step_comments,
    BuildStep.media: step_media,
    BuildStep.ai: step_ai,
    BuildStep.aggregate: step_aggregate,
    BuildStep.related: step_related,
}
