"""Removing an account: the request marks it and queues a durable job; the job deletes its data
in small batches with exact progress, resumes after a crash, and keeps the inbox's hourly
counts exact. Nothing new (fetch, poll, reply) starts for an account being removed."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update

import socialpulse.accounts.tasks  # noqa: F401  (registers the accounts job handlers)
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts import deletion
from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import (
    AccountSnapshot,
    AccountStatus,
    ContentItem,
    ContentMapping,
    FetchRun,
    FetchStatus,
    MappingMethod,
    Post,
    PostAnalysis,
    PostMetricSnapshot,
    TrackedAccount,
)
from socialpulse.db import Base, Database, utcnow
from socialpulse.inbox import polling
from socialpulse.inbox.models import (
    CommentPoll,
    Interaction,
    InteractionHourlyCount,
    InteractionKind,
    InteractionStatus,
    ReplyLimit,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
)
from socialpulse.inbox.replies import sender
from socialpulse.worker import jobs
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role

NOW = utcnow().replace(microsecond=0)
_serial = itertools.count(1)

# Everything an account owns, by table; the kept account's figures must not move.
OWNED: dict[str, type[Base]] = {
    "interactions": Interaction,
    "workflow_matches": WorkflowMatch,
    "reply_queue": ReplyQueueItem,
    "posts": Post,
    "post_metric_snapshots": PostMetricSnapshot,
    "post_analyses": PostAnalysis,
    "content_mappings": ContentMapping,
    "account_snapshots": AccountSnapshot,
    "fetch_runs": FetchRun,
    "comment_polls": CommentPoll,
    "reply_limits": ReplyLimit,
}


@dataclass
class World:
    ws: WorkspaceFixture
    doomed: int  # the account to remove
    kept: int  # another account of the same workspace
    rows: dict[str, int]  # rows the doomed account owns, per table


def build_account(db: Database, workspace_id: int, handle: str, *, comments: int) -> int:
    """An own account with posts (daily snapshots, analyses, a content mapping), comment
    threads (every other comment a reply to the one before), workflow matches, replies in
    every state, comment polls, fetch runs and reply limits."""
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=workspace_id,
            platform="simulated",
            external_id=f"ext-{handle}",
            handle=handle,
        )
        session.add(account)
        session.flush()
        account_id = account.id
        workflow_id = session.scalar(
            select(Workflow.id).where(Workflow.workspace_id == workspace_id)
        )
        if workflow_id is None:
            workflow = Workflow(workspace_id=workspace_id, name="thanks")
            session.add(workflow)
            session.flush()
            workflow_id = workflow.id
        item = ContentItem(workspace_id=workspace_id, title=f"video of {handle}")
        session.add(item)
        session.flush()
        post_ids = []
        for p in range(4):
            post = Post(
                workspace_id=workspace_id,
                account_id=account_id,
                external_id=f"{handle}-p{p}",
                posted_at=NOW - dt.timedelta(days=p + 1),
            )
            session.add(post)
            session.flush()
            post_ids.append(post.id)
            session.add(
                CommentPoll(workspace_id=workspace_id, account_id=account_id, post_id=post.id)
            )
            session.add(PostAnalysis(post_id=post.id, model_version="m1", analysis={}))
            for day in range(5):
                session.add(
                    PostMetricSnapshot(post_id=post.id, day=NOW.date() - dt.timedelta(days=day))
                )
        session.add(
            ContentMapping(
                workspace_id=workspace_id,
                content_item_id=item.id,
                post_id=post_ids[0],
                confidence=1.0,
                method=MappingMethod.manual,
            )
        )
        for day in range(3):
            session.add(
                AccountSnapshot(account_id=account_id, day=NOW.date() - dt.timedelta(days=day))
            )
        session.add(
            FetchRun(workspace_id=workspace_id, account_id=account_id, status=FetchStatus.completed)
        )
        session.add(
            ReplyLimit(
                workspace_id=workspace_id,
                account_id=account_id,
                max_per_hour=10,
                max_per_minute=2,
                min_interval_s=5,
                jitter_min_s=0,
                jitter_max_s=1,
            )
        )
        session.flush()
        parent: int | None = None
        sentiments = ("positive", "negative", None)
        statuses = list(InteractionStatus)
        for n in range(comments):
            reply = n % 2 == 1
            interaction_id = session.execute(
                insert(Interaction)
                .values(
                    workspace_id=workspace_id,
                    account_id=account_id,
                    post_id=post_ids[n % 4],
                    platform="simulated",
                    kind=InteractionKind.reply if reply else InteractionKind.comment,
                    external_id=f"{handle}-c{next(_serial)}",
                    parent_id=parent if reply else None,
                    author_external_id=f"fan-{n % 7}",
                    author_handle=f"fan{n % 7}",
                    text="great video",
                    posted_at=NOW - dt.timedelta(minutes=37 * n),
                    status=statuses[n % len(statuses)],
                    ai_sentiment=sentiments[n % 3],
                )
                .returning(Interaction.id)
            ).scalar_one()
            parent = interaction_id
            if n % 2 == 0:
                session.add(
                    WorkflowMatch(
                        workspace_id=workspace_id,
                        workflow_id=workflow_id,
                        interaction_id=interaction_id,
                        reason="said thanks",
                    )
                )
            if n % 5 == 0:
                state = (ReplyStatus.sent, ReplyStatus.failed, ReplyStatus.pending)[n % 3]
                session.add(
                    ReplyQueueItem(
                        workspace_id=workspace_id,
                        account_id=account_id,
                        interaction_id=interaction_id,
                        platform="simulated",
                        text="thank you!",
                        status=state,
                        scheduled_for=NOW + dt.timedelta(hours=1),
                        idempotency_key=f"{handle}-{next(_serial)}",
                    )
                )
        session.flush()
    return account_id


def owned_rows(db: Database, account_id: int) -> dict[str, int]:
    with db.session(readonly=True) as session:
        interactions = select(Interaction.id).where(Interaction.account_id == account_id)
        posts = select(Post.id).where(Post.account_id == account_id)
        wheres: dict[str, Any] = {
            "interactions": Interaction.account_id == account_id,
            "workflow_matches": WorkflowMatch.interaction_id.in_(interactions),
            "reply_queue": ReplyQueueItem.account_id == account_id,
            "posts": Post.account_id == account_id,
            "post_metric_snapshots": PostMetricSnapshot.post_id.in_(posts),
            "post_analyses": PostAnalysis.post_id.in_(posts),
            "content_mappings": ContentMapping.post_id.in_(posts),
            "account_snapshots": AccountSnapshot.account_id == account_id,
            "fetch_runs": FetchRun.account_id == account_id,
            "comment_polls": CommentPoll.account_id == account_id,
            "reply_limits": ReplyLimit.account_id == account_id,
        }
        return {
            name: session.scalar(select(func.count()).select_from(OWNED[name]).where(where)) or 0
            for name, where in wheres.items()
        }


def assert_hourly_counts_exact(db: Database) -> None:
    """The trigger-kept rollup equals a GROUP BY over interactions (hour cut here, not in SQL)."""
    with db.session(readonly=True) as session:
        rollup = {
            (r.workspace_id, r.hour, r.platform, r.status.value, r.sentiment): r.count
            for r in session.scalars(select(InteractionHourlyCount))
        }
        rows = session.execute(
            select(
                Interaction.workspace_id,
                Interaction.posted_at,
                Interaction.platform,
                Interaction.status,
                Interaction.ai_sentiment,
            )
        ).all()
    direct = Counter(
        (ws, at.replace(minute=0, second=0, microsecond=0), platform, status.value, ai or "")
        for ws, at, platform, status, ai in rows
    )
    assert rollup == dict(direct)


@pytest.fixture
def world(db: Database) -> World:
    ws = make_workspace(db, "removal-co")
    doomed = build_account(db, ws.workspace_id, "doomed", comments=240)
    kept = build_account(db, ws.workspace_id, "kept", comments=60)
    return World(ws, doomed, kept, owned_rows(db, doomed))


@pytest.fixture
def no_nudges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs wait for a worker (tests run memory:// Huey inline otherwise): the state between
    the request and the job is what users see meanwhile."""
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)


def _job(db: Database, job_id: int) -> Job:
    with db.session(readonly=True) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_delete_answers_202_with_a_job_and_the_account_shows_deleting_meanwhile(
    db: Database, client: TestClient, world: World, no_nudges: None
) -> None:
    headers = world.ws.headers()
    answer = client.delete(f"/api/v1/accounts/{world.doomed}", headers=headers)
    assert answer.status_code == 202
    job = answer.json()
    assert (job["kind"], job["status"]) == ("accounts.delete_account", "pending")

    shown = client.get(f"/api/v1/accounts/{world.doomed}", headers=headers).json()
    assert (shown["status"], shown["active"]) == ("deleting", False)
    listed = {a["id"]: a["status"] for a in client.get("/api/v1/accounts", headers=headers).json()}
    assert listed == {world.doomed: "deleting", world.kept: "ok"}
    # Asking again follows the same job.
    again = client.delete(f"/api/v1/accounts/{world.doomed}", headers=headers)
    assert (again.status_code, again.json()["id"]) == (202, job["id"])
    # Nothing new starts for it.
    fetch = client.post(f"/api/v1/accounts/{world.doomed}/fetch", headers=headers)
    assert fetch.status_code == 409
    patch = client.patch(f"/api/v1/accounts/{world.doomed}", json={"active": True}, headers=headers)
    assert patch.status_code == 409
    assert accounts_service.schedule_daily_fetches(db, now=NOW.replace(hour=23)) == 1  # kept only
    with db.session(readonly=True) as session:
        waiting = session.scalars(
            select(ReplyQueueItem.status).where(ReplyQueueItem.account_id == world.doomed)
        ).all()
    assert ReplyStatus.pending not in waiting and ReplyStatus.cancelled in waiting
    # The data is all still there until the job runs.
    assert owned_rows(db, world.doomed) == world.rows

    jobs.drain(db)
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()
    assert done["status"] == "completed"
    total = sum(world.rows.values()) + 1
    assert (done["result"]["deleted"], done["result"]["total"]) == (total, total)
    assert client.get(f"/api/v1/accounts/{world.doomed}", headers=headers).status_code == 404
    assert set(owned_rows(db, world.doomed).values()) == {0}
    assert owned_rows(db, world.kept)["interactions"] == 60
    assert_hourly_counts_exact(db)


def test_the_job_deletes_in_small_batches_and_resumes_after_a_crash(
    db: Database, world: World, no_nudges: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept_before = owned_rows(db, world.kept)
    monkeypatch.setattr(deletion, "DELETE_BATCH_ROWS", 50)
    with db.session() as session:
        job_id = accounts_service.delete_account(session, world.ws.subject, world.doomed).id

    reported: list[dict[str, Any]] = []
    real_report = jobs.JobContext.report_progress

    def crash_on_fifth(ctx: jobs.JobContext, session: Any, progress: dict[str, Any]) -> None:
        real_report(ctx, session, progress)
        reported.append(progress)
        if len(reported) == 5:
            raise RuntimeError("worker killed")  # this batch's transaction rolls back

    monkeypatch.setattr(jobs.JobContext, "report_progress", crash_on_fifth)
    assert jobs.run_job(db, job_id) == JobStatus.pending  # failed attempt, to be retried
    crashed = _job(db, job_id)
    committed = crashed.result
    assert committed is not None and committed == reported[3]  # the last committed batch
    # The progress that committed counts exactly the rows that are gone (the first report is
    # the count, three batches committed before the crash).
    remaining = sum(owned_rows(db, world.doomed).values())
    assert 100 < committed["deleted"] == sum(world.rows.values()) - remaining
    # Each transaction deleted at most one batch.
    deltas = [b["deleted"] - a["deleted"] for a, b in itertools.pairwise(reported)]
    assert max(deltas) <= 50

    monkeypatch.setattr(jobs.JobContext, "report_progress", real_report)
    with db.session() as session:  # the retry's backoff has passed
        session.execute(update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    assert jobs.run_job(db, job_id) == JobStatus.completed
    result = _job(db, job_id).result
    total = sum(world.rows.values()) + 1
    assert result is not None and (result["deleted"], result["total"]) == (total, total)
    with db.session(readonly=True) as session:
        assert session.get(TrackedAccount, world.doomed) is None
    assert owned_rows(db, world.kept) == kept_before
    assert_hourly_counts_exact(db)


def test_deletion_waits_for_a_reply_being_sent(db: Database, world: World, no_nudges: None) -> None:
    with db.session() as session:
        item_id = session.scalar(
            select(ReplyQueueItem.id).where(ReplyQueueItem.account_id == world.doomed).limit(1)
        )
        session.execute(
            update(ReplyQueueItem)
            .where(ReplyQueueItem.id == item_id)
            .values(
                status=ReplyStatus.processing,
                locked_by="sender",
                lease_expires_at=utcnow() + dt.timedelta(minutes=2),
            )
        )
        job_id = accounts_service.delete_account(session, world.ws.subject, world.doomed).id
    assert jobs.run_job(db, job_id) == JobStatus.pending
    waiting = _job(db, job_id)
    assert waiting.attempts == 0  # a wait, not a failed try
    assert waiting.last_error is not None and "being sent" in waiting.last_error
    assert owned_rows(db, world.doomed) == world.rows

    with db.session() as session:  # the send finished
        session.execute(
            update(ReplyQueueItem)
            .where(ReplyQueueItem.id == item_id)
            .values(status=ReplyStatus.sent, locked_by=None, lease_expires_at=None)
        )
        session.execute(update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    assert jobs.run_job(db, job_id) == JobStatus.completed
    assert set(owned_rows(db, world.doomed).values()) == {0}


def test_work_queued_before_the_removal_starts_nothing(
    db: Database, world: World, no_nudges: None
) -> None:
    with db.session() as session:
        account = session.get(TrackedAccount, world.doomed)
        assert account is not None
        run_id = accounts_service.queue_fetch(session, account, "manual").id
        session.execute(
            update(ReplyQueueItem)
            .where(ReplyQueueItem.account_id == world.doomed)
            .values(status=ReplyStatus.pending, scheduled_for=NOW - dt.timedelta(minutes=1))
        )
        accounts_service.delete_account(session, world.ws.subject, world.doomed)
        # A reply queued after the removal (the inbox still lists the interaction meanwhile).
        session.execute(
            update(ReplyQueueItem)
            .where(ReplyQueueItem.account_id == world.doomed)
            .values(status=ReplyStatus.pending)
        )

    def no_platform(*_args: Any) -> Any:
        raise AssertionError("no platform call for an account being removed")

    run = accounts_service.run_fetch(db, run_id, box=None, source_factory=no_platform)  # type: ignore[arg-type]
    assert (run.status, run.error) == (FetchStatus.failed, "the account was removed")
    outcome = sender.tick(db, now=NOW, publisher_factory=no_platform, sleep=lambda _s: None)
    with db.session(readonly=True) as session:
        statuses = set(
            session.scalars(
                select(ReplyQueueItem.status).where(ReplyQueueItem.account_id == world.doomed)
            )
        )
        account = session.get(TrackedAccount, world.doomed)
        assert account is not None and account.status == AccountStatus.deleting
    assert statuses == {ReplyStatus.pending}, outcome
    later = utcnow() + dt.timedelta(hours=1)
    assert polling.schedule_polls(db, now=later) == _kept_polls(db, world)


def _kept_polls(db: Database, world: World) -> int:
    with db.session(readonly=True) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(CommentPoll)
                .where(CommentPoll.account_id == world.kept)
            )
            or 0
        )


def test_viewers_cannot_remove_and_other_workspaces_get_404(
    db: Database, client: TestClient, world: World
) -> None:
    viewer = client.delete(
        f"/api/v1/accounts/{world.doomed}", headers=world.ws.headers(Role.viewer)
    )
    assert viewer.status_code == 403
    other = make_workspace(db, "elsewhere")
    assert (
        client.delete(f"/api/v1/accounts/{world.doomed}", headers=other.headers()).status_code
        == 404
    )
    assert owned_rows(db, world.doomed) == world.rows


def test_the_dashboard_remove_button_queues_the_deletion(
    db: Database, client: TestClient, world: World, no_nudges: None
) -> None:
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token
    client.post(
        "/login",
        data={"email": world.ws.owner_email, "password": PASSWORD, "csrf_token": token[1]},
    )
    detail = client.get(f"/accounts/{world.doomed}")
    assert f'href="/accounts/{world.doomed}/delete"' in detail.text  # to the confirmation
    page = client.get(f"/accounts/{world.doomed}/delete")
    assert f'action="/accounts/{world.doomed}/delete"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    answer = client.post(
        f"/accounts/{world.doomed}/delete", data={"csrf_token": csrf[1]}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/accounts")
    listing = client.get("/accounts").text
    assert "Removing @doomed" in listing
    assert f'data-testid="removal-{world.doomed}"' in listing  # its row shows the progress
    jobs.drain(db)
    assert "@doomed" not in client.get("/accounts").text
