"""Delivery on time, exactly once: the job at the post's time, the sweep after downtime,
retries honouring Retry-After, and a worker killed mid-publish that never posts twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from factories import WorkspaceFixture
from publishing_support import PLATFORM, PlatformDouble
from socialpulse.accounts.budget import quota_day
from socialpulse.accounts.models import AccountStatus, ApiUsage, TrackedAccount
from socialpulse.db import Database
from socialpulse.providers import base as pb
from socialpulse.providers.publishing import PublishedPost
from socialpulse.publishing import delivery, service
from socialpulse.publishing.models import Delivery, DeliveryStatus, Post, PostStatus
from socialpulse.publishing.schemas import PostCreate, TargetIn
from socialpulse.worker.jobs import run_job
from socialpulse.worker.models import Job

ROOT = Path(__file__).resolve().parents[2]


def schedule(
    db: Database, ws: WorkspaceFixture, account: int, when: dt.datetime, text: str = "Hello!"
) -> int:
    """A post scheduled for ``when``; returns its one delivery's id."""
    with db.session() as session:
        body = PostCreate(text=text, scheduled_at=when, targets=[TargetIn(account_id=account)])
        post = service.create_post(session, ws.subject, body)
        return post.deliveries[0].id


def row(db: Database, delivery_id: int) -> Delivery:
    with db.session() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found


def post_status(db: Database, delivery_id: int) -> PostStatus:
    with db.session() as session:
        post = session.get(Post, row(db, delivery_id).post_id)
        assert post is not None
        return post.status


def factory(publisher: Any) -> Any:
    return lambda account, observer: publisher


def transient(message: str, *, status: int | None = 503, retry_after: float | None = None) -> Any:
    return pb.TransientError(
        message, platform=PLATFORM, endpoint="posts", status_code=status, retry_after=retry_after
    )


# --- on time ---------------------------------------------------------------------------------


def test_each_delivery_has_a_job_at_its_exact_time(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    with db.session() as session:
        jobs = list(session.scalars(select(Job).where(Job.kind == "publishing.publish_delivery")))
    assert [(job.payload, job.run_after) for job in jobs] == [({"delivery_id": delivery_id}, soon)]


def test_the_job_publishes_the_post_at_its_time_through_the_registry(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon, "Launch day")
    with db.session() as session:
        job_id = session.scalar(select(Job.id).where(Job.kind == "publishing.publish_delivery"))
    assert job_id is not None
    with time_machine.travel(soon - dt.timedelta(seconds=5), tick=False):
        run_job(db, job_id)
    assert platform.calls == []  # not before its time
    with time_machine.travel(soon + dt.timedelta(seconds=1), tick=False):
        run_job(db, job_id)
    assert platform.calls == ["Launch day"]
    published = row(db, delivery_id)
    assert published.status == DeliveryStatus.published
    assert (published.external_id, published.url) == ("post-1", f"https://{PLATFORM}.invalid/p/1")
    assert published.published_at is not None
    assert post_status(db, delivery_id) == PostStatus.published


def test_a_delivery_is_claimed_by_one_worker_only(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    first = delivery.publish_delivery(
        db, delivery_id, now=soon, publisher_factory=factory(platform)
    )
    again = delivery.publish_delivery(
        db, delivery_id, now=soon, publisher_factory=factory(platform)
    )
    assert (first, again) == ("published", "not_claimed")
    assert len(platform.calls) == 1


def test_a_cancelled_post_is_not_published(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    with db.session() as session:
        service.cancel_post(session, ws.subject, row(db, delivery_id).post_id)
    outcome = delivery.publish_delivery(
        db, delivery_id, now=soon, publisher_factory=factory(platform)
    )
    assert outcome == "not_claimed" and platform.calls == []
    assert row(db, delivery_id).status == DeliveryStatus.cancelled


# --- after downtime: the sweep ----------------------------------------------------------------


def test_the_sweep_publishes_a_post_10_minutes_late_and_marks_one_2_hours_late_missed(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    late = schedule(db, ws, account, soon + dt.timedelta(minutes=110), "Ten minutes late")
    too_late = schedule(db, ws, account, soon, "Two hours late")
    result = delivery.sweep(
        db, now=soon + dt.timedelta(hours=2), publisher_factory=factory(platform)
    )
    assert result.outcomes == {"published": 1, "missed": 1}
    assert platform.calls == ["Ten minutes late"]
    assert row(db, late).status == DeliveryStatus.published
    missed = row(db, too_late)
    assert missed.status == DeliveryStatus.missed
    assert "found 120 minutes late" in (missed.last_error or "")
    assert "SOCIALPULSE_PUBLISH_MAX_LATENESS_MINUTES" in (missed.last_error or "")
    assert post_status(db, too_late) == PostStatus.missed


def test_a_missed_delivery_can_be_retried_and_is_published(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    delivery.sweep(db, now=soon + dt.timedelta(hours=3), publisher_factory=factory(platform))
    assert row(db, delivery_id).status == DeliveryStatus.missed
    later = soon + dt.timedelta(hours=3, minutes=1)
    with db.session() as session:
        service.retry_delivery(session, ws.subject, delivery_id, now=later)
    outcome = delivery.publish_delivery(
        db, delivery_id, now=later, publisher_factory=factory(platform)
    )
    assert outcome == "published" and len(platform.calls) == 1


# --- retries ---------------------------------------------------------------------------------


def test_retry_after_is_honoured_then_the_post_goes_out(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    platform.errors = [transient("slow down", status=429, retry_after=300)]
    outcome = delivery.publish_delivery(
        db, delivery_id, now=soon, publisher_factory=factory(platform)
    )
    assert outcome == "retried"
    waiting = row(db, delivery_id)
    assert waiting.status == DeliveryStatus.scheduled and waiting.attempts == 1
    assert 300 <= (waiting.next_attempt_at - soon).total_seconds() < 305
    assert waiting.publish_started_at is None  # a 429 never reached the write path
    assert (
        delivery.publish_delivery(
            db,
            delivery_id,
            now=soon + dt.timedelta(seconds=200),
            publisher_factory=factory(platform),
        )
        == "not_claimed"
    )  # not before the platform said
    outcome = delivery.publish_delivery(
        db, delivery_id, now=waiting.next_attempt_at, publisher_factory=factory(platform)
    )
    assert outcome == "published" and len(platform.calls) == 2
    assert row(db, delivery_id).attempts == 2


def test_a_retry_waits_the_backoff_when_retry_after_is_shorter(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    platform.errors = [transient("slow down", status=429, retry_after=30)]
    delivery.publish_delivery(db, delivery_id, now=soon, publisher_factory=factory(platform))
    wait = (row(db, delivery_id).next_attempt_at - soon).total_seconds()
    assert 60 <= wait < 65


def test_three_failed_attempts_fail_the_delivery_with_the_platforms_message(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    platform.errors = [transient("503 Service Unavailable: ShortNet is down") for _ in range(3)]
    now = soon
    outcomes = []
    for _ in range(4):
        outcomes.append(
            delivery.publish_delivery(db, delivery_id, now=now, publisher_factory=factory(platform))
        )
        now = row(db, delivery_id).next_attempt_at
    assert outcomes == ["retried", "retried", "retried", "failed"]
    assert len(platform.calls) == 3
    failed = row(db, delivery_id)
    assert failed.status == DeliveryStatus.failed
    assert failed.last_error == "503 Service Unavailable: ShortNet is down"
    assert post_status(db, delivery_id) == PostStatus.failed


def test_refused_credentials_fail_at_once_and_ask_for_a_reconnect(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    platform.errors = [pb.AuthError("token revoked", platform=PLATFORM, endpoint="posts")]
    outcome = delivery.publish_delivery(
        db, delivery_id, now=soon, publisher_factory=factory(platform)
    )
    assert outcome == "failed"
    assert "reconnect" in (row(db, delivery_id).last_error or "")
    with db.session() as session:
        owner = session.get(TrackedAccount, account)
        assert owner is not None and owner.status == AccountStatus.needs_reconnect


def test_an_exhausted_quota_waits_for_the_reset_without_using_an_attempt(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    platform.errors = [
        pb.QuotaExhaustedError(
            "daily upload limit", platform=PLATFORM, endpoint="posts", retry_after=7200
        )
    ]
    outcome = delivery.publish_delivery(
        db, delivery_id, now=soon, publisher_factory=factory(platform)
    )
    assert outcome == "deferred"
    waiting = row(db, delivery_id)
    assert waiting.attempts == 0 and waiting.publish_started_at is None
    assert 7200 <= (waiting.next_attempt_at - soon).total_seconds() < 7205


def test_the_platforms_quota_units_are_charged_to_the_budget(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    platform.quota_units = 1600
    delivery.publish_delivery(db, delivery_id, now=soon, publisher_factory=factory(platform))
    with db.session() as session:
        used = session.scalar(
            select(ApiUsage.quota_units).where(
                ApiUsage.workspace_id == ws.workspace_id,
                ApiUsage.platform == PLATFORM,
                ApiUsage.day == quota_day(PLATFORM),
            )
        )
    assert used == 1600


# --- crash recovery ----------------------------------------------------------------------------


def crashed_mid_publish(db: Database, delivery_id: int, at: dt.datetime) -> None:
    """What a worker killed right after committing publish_started_at leaves behind."""
    with db.session() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        found.status = DeliveryStatus.publishing
        found.locked_by = "dead-worker"
        found.lease_expires_at = at + dt.timedelta(minutes=1)
        found.publish_started_at = at
        found.attempts = 1


def test_a_crashed_publish_that_reached_the_platform_is_marked_published_not_reposted(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon, "Once only")
    crashed_mid_publish(db, delivery_id, soon)
    platform.posts.append(("own-1", "Once only", soon))
    assert (
        delivery.publish_delivery(
            db,
            delivery_id,
            now=soon + dt.timedelta(seconds=30),
            publisher_factory=factory(platform),
        )
        == "not_claimed"
    )  # the lease is still held
    outcome = delivery.publish_delivery(
        db, delivery_id, now=soon + dt.timedelta(minutes=5), publisher_factory=factory(platform)
    )
    assert outcome == "recovered" and platform.calls == []
    assert row(db, delivery_id).external_id == "post-1"


def test_a_crashed_publish_that_cannot_be_checked_fails_instead_of_posting_twice(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, platform: PlatformDouble
) -> None:
    delivery_id = schedule(db, ws, account, soon)
    crashed_mid_publish(db, delivery_id, soon)
    platform.cannot_confirm = True
    delivery.publish_delivery(
        db, delivery_id, now=soon + dt.timedelta(minutes=5), publisher_factory=factory(platform)
    )
    failed = row(db, delivery_id)
    assert failed.status == DeliveryStatus.failed and platform.calls == []
    assert delivery.CANNOT_CONFIRM in (failed.last_error or "")


_KILLABLE = """
import datetime as dt, json, os, time
from pathlib import Path
from socialpulse.db import init_database
from socialpulse.publishing import delivery
from socialpulse.providers.publishing import PublishedPost

state = Path({state!r})

class FilePlatform:
    def publish_post(self, account, draft):
        if {crash_before!r}:
            (state / "marker").write_text(str(os.getpid()))
            time.sleep(600)
        with (state / "calls").open("a") as f:
            f.write(draft.text + "\\n")
        (state / "posts.json").write_text(json.dumps([[account.external_id, draft.text]]))
        (state / "marker").write_text(str(os.getpid()))
        time.sleep(600)  # killed here: after the platform call, before the outcome is saved
        return PublishedPost("never")
    def find_post(self, account, draft, *, since):
        raise AssertionError("the first attempt has nothing to look for")

delivery.publish_delivery(
    init_database({url!r}), {delivery_id}, now=dt.datetime.fromisoformat({now!r}),
    publisher_factory=lambda a, o: FilePlatform(), lease_s=1,
)
"""


class FilePlatform:
    """The same platform the killed worker saw, read from its files."""

    def __init__(self, state: Path) -> None:
        self.state = state

    def publish_post(self, account: Any, draft: Any) -> PublishedPost:
        with (self.state / "calls").open("a") as handle:
            handle.write(draft.text + "\n")
        return PublishedPost("second-post")

    def find_post(self, account: Any, draft: Any, *, since: dt.datetime) -> Any:
        path = self.state / "posts.json"
        made = json.loads(path.read_text()) if path.exists() else []
        found = [account.external_id, draft.text] in made
        return PublishedPost("first-post", "https://x.invalid/first") if found else None


def _kill_during_publish(
    db: Database, state: Path, delivery_id: int, now: dt.datetime, crash_before: bool
) -> None:
    code = _KILLABLE.format(
        state=str(state),
        url=db.url,
        now=now.isoformat(),
        delivery_id=delivery_id,
        crash_before=crash_before,
    )
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'tests'}{os.pathsep}{ROOT / 'src'}"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (state / "marker").exists():
        assert proc.poll() is None, "worker exited before reaching the crash point"
        assert time.monotonic() < deadline, "worker never reached the crash point"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _calls(state: Path) -> list[str]:
    path = state / "calls"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_a_worker_killed_after_the_platform_call_never_posts_twice(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, tmp_path: Path
) -> None:
    delivery_id = schedule(db, ws, account, soon, "Exactly once")
    _kill_during_publish(db, tmp_path, delivery_id, soon, crash_before=False)
    assert _calls(tmp_path) == ["Exactly once"]
    stuck = row(db, delivery_id)
    assert stuck.status == DeliveryStatus.publishing and stuck.publish_started_at is not None

    platform = FilePlatform(tmp_path)
    later = soon + dt.timedelta(minutes=2)  # the dead worker's lease has expired
    result = delivery.sweep(db, now=later, publisher_factory=factory(platform))
    assert result.outcomes == {"recovered": 1}
    assert _calls(tmp_path) == ["Exactly once"]  # no second post
    done = row(db, delivery_id)
    assert (done.status, done.external_id) == (DeliveryStatus.published, "first-post")
    delivery.sweep(db, now=later + dt.timedelta(minutes=5), publisher_factory=factory(platform))
    assert _calls(tmp_path) == ["Exactly once"]


@pytest.mark.slow
def test_a_worker_killed_before_the_platform_call_posts_exactly_once(
    db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime, tmp_path: Path
) -> None:
    delivery_id = schedule(db, ws, account, soon, "Exactly once")
    _kill_during_publish(db, tmp_path, delivery_id, soon, crash_before=True)
    assert _calls(tmp_path) == []
    assert row(db, delivery_id).publish_started_at is not None

    platform = FilePlatform(tmp_path)
    later = soon + dt.timedelta(minutes=2)
    assert delivery.sweep(db, now=later, publisher_factory=factory(platform)).outcomes == {
        "published": 1
    }
    delivery.sweep(db, now=later + dt.timedelta(minutes=5), publisher_factory=factory(platform))
    assert _calls(tmp_path) == ["Exactly once"]
    assert row(db, delivery_id).external_id == "second-post"
