"""The report build: every step on the simulated platform, resumption, retries, deferral and
the bad-input outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from creator_builds import CountingSource, creator, request, run_due, unlock
from factories import WorkspaceFixture
from socialpulse.accounts import budget
from socialpulse.creators import service as creators_service
from socialpulse.creators.models import (
    BuildStep,
    CreatorComment,
    CreatorPost,
    CreatorReport,
    CreatorStatus,
    RelatedProfile,
    RelatedStatus,
)
from socialpulse.db import Database, utcnow
from socialpulse.media.models import MediaObject, MediaStatus
from socialpulse.providers import base as pb
from socialpulse.worker import jobs
from socialpulse.worker.models import Job, JobStatus

pytestmark = pytest.mark.usefixtures("manual_jobs")


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.session(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_build_runs_every_step_and_stores_a_complete_report(
    db: Database, ws: WorkspaceFixture
) -> None:
    creator_id = request(db, ws, "Alice_Cooks")
    assert creator(db, creator_id).status is CreatorStatus.building
    run_due(db)

    built = creator(db, creator_id)
    assert built.handle == "alice_cooks"
    assert built.status is CreatorStatus.ready, built.status_message
    assert built.build_step is BuildStep.done
    assert built.followers_count and built.bio and built.profile_ai_at is not None
    posts = CreatorPost.creator_id == creator_id
    assert _count(db, CreatorPost, posts) >= 12
    assert _count(db, CreatorPost, posts, CreatorPost.ai_at.is_(None)) == 0
    assert _count(db, CreatorComment, CreatorComment.creator_id == creator_id) > 0
    assert _count(db, CreatorComment, CreatorComment.ai_at.is_(None)) == 0
    assert _count(db, CreatorComment, CreatorComment.quality.is_(None)) == 0
    with db.session(readonly=True) as session:
        thumbnails = session.scalar(
            select(func.count())
            .select_from(CreatorPost)
            .join(MediaObject, MediaObject.id == CreatorPost.thumbnail_media_id)
            .where(posts, MediaObject.status == MediaStatus.stored)
        )
        assert thumbnails and thumbnails >= 12
        stored = session.scalar(select(CreatorReport).where(CreatorReport.creator_id == creator_id))
        assert stored is not None
        assert set(stored.sections) == {"overview", "audience", "engagement", "content", "posts"}
        assert len(stored.sections["posts"]) >= 12
        assert stored.complete, stored.completeness
        assert stored.data_version <= built.data_version
    unlock(db, ws, creator_id)
    with db.session(readonly=True) as session:
        report = creators_service.report_for(session, creator_id, ws.workspace_id)
    assert report.access == "full" and report.sections is not None
    first = report.sections.posts[0]
    assert first.ai_sentiment and first.ai_language and first.thumbnail.startswith("/media/")
    assert report.sections.audience.audience_quality_score is not None
    related = _count(
        db,
        RelatedProfile,
        RelatedProfile.creator_id == creator_id,
        RelatedProfile.status == RelatedStatus.pending,
    )
    assert related >= 8
    with db.session(readonly=True) as session:
        job = session.get(Job, built.build_job_id)
        assert job is not None and job.status is JobStatus.completed


class Crash(BaseException):
    """The worker process dying mid-step: nothing after it runs, the job stays claimed."""


def test_a_crashed_build_resumes_at_the_step_it_was_in(
    db: Database,
    ws: WorkspaceFixture,
    small_builds: Any,
    wrap_source: Callable[[Callable[[Any], Any]], None],
) -> None:
    calls: list[str] = []
    crash_after = {"comments": 3}
    wrap_source(lambda source: CountingSource(source, calls, crash_after, Crash))
    creator_id = request(db, ws, "bob")
    with pytest.raises(Crash):
        run_due(db)
    assert creator(db, creator_id).build_step is BuildStep.comments
    fetched = _count(
        db,
        CreatorPost,
        CreatorPost.creator_id == creator_id,
        CreatorPost.comments_fetched_at.is_not(None),
    )
    assert fetched == 3
    # The lease runs out; the reaper puts the job back and another worker runs it.
    jobs.reap_expired_leases(db, now=utcnow() + dt.timedelta(hours=1))
    crash_after.clear()
    calls.clear()
    run_due(db)

    assert creator(db, creator_id).status is CreatorStatus.ready
    assert "profile" not in calls and "posts" not in calls
    assert calls.count("comments") == 15 - 3


def test_a_failing_step_is_retried_then_fails_keeping_the_previous_report(
    db: Database,
    ws: WorkspaceFixture,
    small_builds: Any,
    wrap_source: Callable[[Callable[[Any], Any]], None],
) -> None:
    creator_id = request(db, ws, "carol")
    run_due(db)
    unlock(db, ws, creator_id)
    with db.session(readonly=True) as session:
        before = session.scalar(select(CreatorReport).where(CreatorReport.creator_id == creator_id))
        assert before is not None
        sections, computed_at = before.sections, before.computed_at

    down = pb.TransientError("simulated is down", platform="simulated", endpoint="posts")
    wrap_source(lambda source: CountingSource(source, [], {}, None, fail={"posts": down}))
    with db.session() as session:
        job = creators_service.refresh(session, creator_id, ws.workspace_id)
        assert job is not None
    run_due(db)
    assert creator(db, creator_id).status is CreatorStatus.building
    assert "retrying" in (creator(db, creator_id).status_message or "")
    run_due(db)
    run_due(db)

    failed = creator(db, creator_id)
    assert failed.status is CreatorStatus.failed
    assert "posts step failed" in (failed.status_message or "")
    assert "gave up after 3 tries" in (failed.status_message or "")
    with db.session(readonly=True) as session:
        after = session.scalar(select(CreatorReport).where(CreatorReport.creator_id == creator_id))
        assert after is not None
        assert after.sections == sections and after.computed_at == computed_at
        read = creators_service.report_for(session, creator_id, ws.workspace_id)
    assert read.sections is not None and read.status is CreatorStatus.failed


def test_a_build_past_the_budget_margin_is_deferred_not_failed(
    db: Database, ws: WorkspaceFixture, small_builds: Any
) -> None:
    with db.session() as session:
        budget.set_budget(session, ws.workspace_id, "simulated", 10, 0.8)
    creator_id = request(db, ws, "dave")
    before = utcnow()
    run_due(db)

    deferred = creator(db, creator_id)
    assert deferred.status is CreatorStatus.building
    assert "waiting for the Simulated API budget" in (deferred.status_message or "")
    with db.session(readonly=True) as session:
        job = session.get(Job, deferred.build_job_id)
        assert job is not None
        assert job.status is JobStatus.pending and job.attempts == 0
        # Deferred to the next quota day (a fixed "a minute from now" failed near midnight).
        next_day = before + dt.timedelta(
            seconds=budget.seconds_until_next_quota_day("simulated", before)
        )
        assert job.run_after >= next_day - dt.timedelta(seconds=1)
        assert "would pass the 80% safety margin" in (job.last_error or "")
    assert deferred.build_step is BuildStep.comments  # what was done stays done

    with db.session() as session:
        budget.set_budget(session, ws.workspace_id, "simulated", 100_000, 0.8)
    run_due(db)
    assert creator(db, creator_id).status is CreatorStatus.ready


def test_an_unknown_handle_ends_as_not_found_with_a_message(
    db: Database, ws: WorkspaceFixture
) -> None:
    creator_id = request(db, ws, "missing_person")
    run_due(db)
    missing = creator(db, creator_id)
    assert missing.status is CreatorStatus.not_found
    assert "has no account 'missing_person'" in (missing.status_message or "")
    with db.session(readonly=True) as session, pytest.raises(creators_service.CreatorNotFound):
        creators_service.raise_for_missing_report(session.get(creators_service.Creator, creator_id))


def test_a_private_account_ends_as_private(
    db: Database, ws: WorkspaceFixture, wrap_source: Callable[[Callable[[Any], Any]], None]
) -> None:
    private = pb.PermanentError("this account is private", platform="simulated", endpoint="p")
    wrap_source(lambda source: CountingSource(source, [], {}, None, fail={"profile": private}))
    creator_id = request(db, ws, "erin")
    run_due(db)
    found = creator(db, creator_id)
    assert found.status is CreatorStatus.private
    assert "this account is private" in (found.status_message or "")


def test_instagram_without_a_connected_account_says_so(db: Database, ws: WorkspaceFixture) -> None:
    creator_id = request(db, ws, "brand", platform="instagram")
    run_due(db)
    found = creator(db, creator_id)
    assert found.status is CreatorStatus.failed
    assert "connected Instagram professional account" in (found.status_message or "")


def test_a_platform_without_a_creator_source_fails_with_its_reason(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialpulse.creators import pipeline
    from socialpulse.providers.creators import CreatorSourceUnavailable

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise CreatorSourceUnavailable(
            "tiktok", "not available for TikTok without Research API access"
        )

    monkeypatch.setattr(pipeline, "creator_source", unavailable)
    creator_id = request(db, ws, "dancer", platform="tiktok")
    run_due(db)
    found = creator(db, creator_id)
    assert found.status is CreatorStatus.failed
    assert found.status_message == "not available for TikTok without Research API access"


def test_a_second_request_while_building_queues_no_second_build(
    db: Database, ws: WorkspaceFixture, other_ws: WorkspaceFixture
) -> None:
    first = request(db, ws, "frank")
    second = request(db, other_ws, "@FRANK")
    assert first == second
    assert _count(db, Job, Job.kind == creators_service.BUILD_JOB) == 1
