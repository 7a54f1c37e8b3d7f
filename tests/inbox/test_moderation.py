"""The job `inbox.hide_interaction`: hide the comment on the platform, record it on the
interaction, never twice; auth errors ask for a reconnect, transient ones retry."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import respx

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox import moderation
from socialpulse.inbox.models import Interaction, InteractionKind, InteractionStatus
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.publishing import DryRunPublisher
from socialpulse.worker.jobs import enqueue_job
from socialpulse.worker.models import Job, JobStatus

BOX = SecretBox(TEST_SECRET_KEY)
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
YT_MODERATE = "https://www.googleapis.com/youtube/v3/comments/setModerationStatus"


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "hide-co")


def make_account(
    db: Database, ws: WorkspaceFixture, platform: str = "youtube", credentials: Any = None
) -> int:
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=ws.workspace_id,
            platform=platform,
            external_id=f"{platform}-own",
            handle="ourbrand",
            credentials_encrypted=BOX.encrypt(json.dumps(credentials)) if credentials else None,
        )
        session.add(account)
        session.flush()
        return account.id


def make_hidden(db: Database, ws: WorkspaceFixture, account_id: int, hidden: bool = True) -> int:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        row = Interaction(
            workspace_id=ws.workspace_id,
            account_id=account_id,
            platform=account.platform,
            kind=InteractionKind.comment,
            external_id="UgzTroll01",
            author_external_id="troll",
            author_handle="troll",
            text="Buy followers at spam.example",
            posted_at=NOW - dt.timedelta(hours=1),
            status=InteractionStatus.unread,
            hidden=hidden,
            labels=["spam"],
        )
        session.add(row)
        session.flush()
        return row.id


def labels(db: Database, interaction_id: int) -> list[str]:
    with db.session(readonly=True) as session:
        row = session.get(Interaction, interaction_id)
        assert row is not None
        return list(row.labels)


def account_status(db: Database, account_id: int) -> AccountStatus:
    with db.session(readonly=True) as session:
        row = session.get(TrackedAccount, account_id)
        assert row is not None
        return row.status


@respx.mock
def test_hide_on_youtube_holds_the_comment_and_labels_the_interaction(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "hidden"
    assert route.calls.last.request.url.params["id"] == "UgzTroll01"
    assert route.calls.last.request.headers["Authorization"] == "Bearer ya29.owner"
    assert labels(db, interaction_id) == ["spam", moderation.HIDDEN_LABEL]


@respx.mock
def test_hiding_again_calls_the_platform_no_more(db: Database, ws: WorkspaceFixture) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    moderation.hide_on_platform(db, interaction_id, box=BOX)
    again = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert again.status == "already_hidden"
    assert route.call_count == 1
    assert labels(db, interaction_id).count(moderation.HIDDEN_LABEL) == 1


@respx.mock
def test_an_interaction_unhidden_meanwhile_is_left_visible(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id, hidden=False)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "skipped"
    assert route.call_count == 0
    assert labels(db, interaction_id) == ["spam"]


@respx.mock
def test_rejected_credentials_mark_the_account_for_reconnect(
    db: Database, ws: WorkspaceFixture
) -> None:
    respx.post(YT_MODERATE).mock(
        return_value=httpx.Response(
            401, json={"error": {"code": 401, "errors": [{"reason": "authError"}]}}
        )
    )
    account_id = make_account(db, ws, credentials={"access_token": "ya29.revoked"})
    interaction_id = make_hidden(db, ws, account_id)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "failed"
    assert account_status(db, account_id) == AccountStatus.needs_reconnect
    assert labels(db, interaction_id) == ["spam", moderation.FAILED_LABEL]


def test_missing_credentials_mark_the_account_for_reconnect(
    db: Database, ws: WorkspaceFixture
) -> None:
    account_id = make_account(db, ws, credentials=None)
    interaction_id = make_hidden(db, ws, account_id)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "failed" and "access_token" in (result.detail or "")
    assert account_status(db, account_id) == AccountStatus.needs_reconnect


@respx.mock
def test_transient_errors_retry_then_give_up_with_a_failed_label(
    db: Database, ws: WorkspaceFixture
) -> None:
    respx.post(YT_MODERATE).mock(
        return_value=httpx.Response(
            503, json={"error": {"code": 503, "errors": [{"reason": "backendError"}]}}
        )
    )
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    with pytest.raises(pb.TransientError):
        moderation.hide_on_platform(db, interaction_id, box=BOX, attempt=1, max_attempts=3)
    assert labels(db, interaction_id) == ["spam"]  # nothing recorded: the job will retry

    result = moderation.hide_on_platform(db, interaction_id, box=BOX, attempt=3, max_attempts=3)
    assert result.status == "failed" and "gave up after 3 attempts" in (result.detail or "")
    assert labels(db, interaction_id) == ["spam", moderation.FAILED_LABEL]
    assert account_status(db, account_id) == AccountStatus.ok


def test_a_platform_without_a_hide_api_records_the_failure(
    db: Database, ws: WorkspaceFixture
) -> None:
    account_id = make_account(db, ws, platform="tiktok")
    interaction_id = make_hidden(db, ws, account_id)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "failed" and "tiktok" in (result.detail or "")
    assert labels(db, interaction_id) == ["spam", moderation.FAILED_LABEL]


def test_the_job_hides_on_the_simulated_platform_and_completes(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    publisher = DryRunPublisher(tmp_path / "dry_run_replies.jsonl")
    monkeypatch.setattr("socialpulse.inbox.replies.dry_run_publisher", lambda: publisher)
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id)
    with db.session() as session:
        interaction = session.get(Interaction, interaction_id)
        assert interaction is not None
        moderation.enqueue_hide(session, interaction)
        moderation.enqueue_hide(session, interaction)  # deduplicated while pending
    # The test worker runs jobs as soon as the enqueuing transaction commits.
    with db.session(readonly=True) as session:
        jobs = session.query(Job).filter(Job.kind == moderation.HIDE_JOB).all()
        assert len(jobs) == 1
        job_id = jobs[0].id
        assert jobs[0].workspace_id == ws.workspace_id
        assert jobs[0].status == JobStatus.completed

    assert publisher.hidden == [{"account": "simulated-own", "comment": "UgzTroll01"}]
    assert labels(db, interaction_id) == ["spam", moderation.HIDDEN_LABEL]
    with db.session(readonly=True) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.result == {"status": "hidden", "detail": None}


def test_a_job_of_another_workspace_cannot_hide_the_interaction(
    db: Database, ws: WorkspaceFixture
) -> None:
    other = make_workspace(db, "other-co")
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id)
    with db.session() as session:
        job = enqueue_job(
            session,
            moderation.HIDE_JOB,
            {"interaction_id": interaction_id},
            workspace_id=other.workspace_id,
        )
        job_id = job.id

    assert labels(db, interaction_id) == ["spam"]
    with db.session(readonly=True) as session:
        row = session.get(Job, job_id)
        assert row is not None and row.result is not None
        assert row.result["status"] == "skipped"


def test_a_workflow_hide_action_hides_the_comment_on_the_platform(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from socialpulse.inbox import workflows
    from socialpulse.workspaces.models import Role
    from socialpulse.workspaces.tenancy import Subject

    publisher = DryRunPublisher(tmp_path / "dry_run_replies.jsonl")
    monkeypatch.setattr("socialpulse.inbox.replies.dry_run_publisher", lambda: publisher)
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)
    subject = Subject(workspace_id=ws.workspace_id, role=Role.owner, user_id=ws.owner_id)
    with db.session() as session:
        workflows.create_workflow(
            session,
            subject,
            workflows.WorkflowCreate.model_validate(
                {
                    "name": "Hide spam links",
                    "conditions": [{"type": "keywords", "words": ["spam.example"]}],
                    "actions": [{"type": "hide"}],
                }
            ),
        )
    with db.session() as session:
        workflows.apply_new_interaction_workflows(session, [interaction_id])
    # The hide job runs once the workflow's transaction has committed.
    assert publisher.hidden == [{"account": "simulated-own", "comment": "UgzTroll01"}]
    assert labels(db, interaction_id) == ["spam", moderation.HIDDEN_LABEL]
