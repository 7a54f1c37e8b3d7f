"""The jobs `inbox.hide_interaction` / `inbox.unhide_interaction`: hide the comment on the
platform (or show it again), record it on the interaction, never twice; auth errors ask for a
reconnect, throttles retry when the platform says, quota waits cost no attempt. Then the API
and the dashboard's Hide / Unhide buttons."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from conftest import TEST_SECRET_KEY
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts import budget
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox import moderation
from socialpulse.inbox.models import Interaction, InteractionKind, InteractionStatus
from socialpulse.inbox.workflows import engine
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflows
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.publishing import DryRunPublisher, InteractionLike, ReplyAccount
from socialpulse.worker import jobs
from socialpulse.worker.jobs import RetryAt, enqueue_job
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

BOX = SecretBox(TEST_SECRET_KEY)
# The simulated platform's publisher, patched where its provider looks it up.
DRY_RUN = "socialpulse.providers.simulated.publish.dry_run_publisher"
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
YT_MODERATE = "https://www.googleapis.com/youtube/v3/comments/setModerationStatus"
PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
PACIFIC = ZoneInfo("America/Los_Angeles")


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


def make_hidden(
    db: Database,
    ws: WorkspaceFixture,
    account_id: int,
    hidden: bool = True,
    labels: list[str] | None = None,
    external_id: str = "UgzTroll01",
) -> int:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        row = Interaction(
            workspace_id=ws.workspace_id,
            account_id=account_id,
            platform=account.platform,
            kind=InteractionKind.comment,
            external_id=external_id,
            author_external_id="troll",
            author_handle="troll",
            text="Buy followers at spam.example",
            posted_at=NOW - dt.timedelta(hours=1),
            status=InteractionStatus.unread,
            hidden=hidden,
            labels=["spam"] if labels is None else labels,
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

    with pytest.raises(RetryAt) as retry:
        moderation.hide_on_platform(db, interaction_id, box=BOX, attempt=1, max_attempts=3)
    assert isinstance(retry.value.__cause__, pb.TransientError)
    assert retry.value.counts_attempt is True
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
    monkeypatch.setattr(
        "socialpulse.providers.simulated.publish.dry_run_publisher", lambda: publisher
    )
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

    from socialpulse.workspaces.models import Role

    publisher = DryRunPublisher(tmp_path / "dry_run_replies.jsonl")
    monkeypatch.setattr(
        "socialpulse.providers.simulated.publish.dry_run_publisher", lambda: publisher
    )
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)
    subject = Subject(workspace_id=ws.workspace_id, role=Role.owner, user_id=ws.owner_id)
    with db.session() as session:
        workflows.create_workflow(
            session,
            subject,
            workflow_schemas.WorkflowCreate.model_validate(
                {
                    "name": "Hide spam links",
                    "conditions": [{"type": "keywords", "words": ["spam.example"]}],
                    "actions": [{"type": "hide"}],
                }
            ),
        )
    with db.session() as session:
        engine.apply_new_interaction_workflows(session, [interaction_id])
    # The hide job runs once the workflow's transaction has committed.
    assert publisher.hidden == [{"account": "simulated-own", "comment": "UgzTroll01"}]
    assert labels(db, interaction_id) == ["spam", moderation.HIDDEN_LABEL]


# --- waits the platform asks for --------------------------------------------------------------


def youtube_error(status: int, name: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = json.loads((PAYLOADS / "youtube" / f"{name}.json").read_text(encoding="utf-8"))
    return httpx.Response(status, json=body, headers=headers)


def enqueue(db: Database, interaction_id: int) -> None:
    """Queue the hide job; the test worker runs it as soon as this transaction commits."""
    with db.session() as session:
        interaction = session.get(Interaction, interaction_id)
        assert interaction is not None
        moderation.enqueue_hide(session, interaction)


def only_job(db: Database, kind: str) -> Job:
    with db.session() as session:
        rows = session.query(Job).filter(Job.kind == kind).all()
        assert len(rows) == 1, rows
        session.expunge(rows[0])
        return rows[0]


def next_pacific_midnight() -> dt.date:
    return utcnow().astimezone(PACIFIC).date() + dt.timedelta(days=1)


@respx.mock
def test_a_429_with_retry_after_schedules_the_next_try_an_hour_later(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(
        return_value=youtube_error(429, "error_rate_limit", {"Retry-After": "3600"})
    )
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)
    before = utcnow()

    enqueue(db, interaction_id)

    job = only_job(db, moderation.HIDE_JOB)
    assert route.call_count == 1
    assert (job.status, job.attempts) == (JobStatus.pending, 1)
    hour = dt.timedelta(hours=1)
    assert before + hour <= job.run_after <= utcnow() + hour  # not the engine's 15 s backoff
    assert (job.last_error or "").startswith("TransientError: YouTube returned HTTP 429")
    assert labels(db, interaction_id) == ["spam"]  # nothing recorded yet


@respx.mock
def test_a_used_up_youtube_quota_waits_for_pacific_midnight_without_using_an_attempt(
    db: Database, ws: WorkspaceFixture
) -> None:
    respx.post(YT_MODERATE).mock(return_value=youtube_error(403, "error_quota_exceeded"))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    enqueue(db, interaction_id)

    job = only_job(db, moderation.HIDE_JOB)
    assert (job.status, job.attempts) == (JobStatus.pending, 0)
    resumes = job.run_after.astimezone(PACIFIC)
    assert resumes.date() == next_pacific_midnight() and resumes.time() < dt.time(0, 1)
    assert (job.last_error or "").startswith("QuotaExhaustedError: ")


@respx.mock
def test_a_spent_workspace_budget_waits_for_the_next_quota_day_without_calling(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    with db.session() as session:  # 8 usable units a day: a 50-unit hide never fits today
        budget.set_budget(session, ws.workspace_id, "youtube", 10, 0.8)
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    enqueue(db, interaction_id)

    job = only_job(db, moderation.HIDE_JOB)
    assert route.call_count == 0
    assert (job.status, job.attempts) == (JobStatus.pending, 0)
    assert job.run_after.astimezone(PACIFIC).date() == next_pacific_midnight()
    assert (job.last_error or "").startswith("BudgetDeferredError: youtube budget")


@respx.mock
def test_a_quota_wait_on_the_last_attempt_still_waits_instead_of_failing(
    db: Database, ws: WorkspaceFixture
) -> None:
    respx.post(YT_MODERATE).mock(return_value=youtube_error(403, "error_quota_exceeded"))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    with pytest.raises(RetryAt) as retry:
        moderation.hide_on_platform(db, interaction_id, box=BOX, attempt=5, max_attempts=5)

    assert retry.value.counts_attempt is False
    assert labels(db, interaction_id) == ["spam"]


@respx.mock
def test_a_hide_that_waited_a_week_for_the_quota_records_hide_failed(
    db: Database, ws: WorkspaceFixture
) -> None:
    respx.post(YT_MODERATE).mock(return_value=youtube_error(403, "error_quota_exceeded"))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)
    queued = utcnow() - dt.timedelta(days=7)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX, queued_at=queued)

    assert result.status == "failed"
    assert "a job waits 7 days at most" in (result.detail or "")
    assert moderation.FAILED_LABEL in labels(db, interaction_id)


@respx.mock
def test_a_wait_longer_than_the_engine_allows_records_hide_failed_with_the_reason(
    db: Database, ws: WorkspaceFixture
) -> None:
    too_long = int((jobs.MAX_RETRY_WAIT + dt.timedelta(hours=2)).total_seconds())
    respx.post(YT_MODERATE).mock(
        return_value=youtube_error(429, "error_rate_limit", {"Retry-After": str(too_long)})
    )
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id)

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "failed"
    assert "longer than the 26 h a job may wait" in (result.detail or "")
    assert labels(db, interaction_id) == ["spam", moderation.FAILED_LABEL]


# --- unhide -----------------------------------------------------------------------------------


@respx.mock
def test_unhide_on_youtube_publishes_the_comment_and_drops_the_label(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(
        db, ws, account_id, hidden=False, labels=["spam", moderation.HIDDEN_LABEL]
    )

    result = moderation.unhide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "unhidden"
    assert route.calls.last.request.url.params["moderationStatus"] == "published"
    assert labels(db, interaction_id) == ["spam"]


@respx.mock
def test_unhide_of_a_comment_never_hidden_on_the_platform_calls_nothing(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id, hidden=False)

    result = moderation.unhide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "already_visible"
    assert route.call_count == 0


@respx.mock
def test_an_unhide_hidden_again_meanwhile_is_left_hidden(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(db, ws, account_id, labels=["spam", moderation.HIDDEN_LABEL])

    result = moderation.unhide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "skipped"
    assert route.call_count == 0
    assert labels(db, interaction_id) == ["spam", moderation.HIDDEN_LABEL]


@respx.mock
def test_an_unhide_refused_for_good_records_unhide_failed(
    db: Database, ws: WorkspaceFixture
) -> None:
    body = json.loads((PAYLOADS / "youtube" / "hide_error_not_found.json").read_text())
    respx.post(YT_MODERATE).mock(return_value=httpx.Response(404, json=body))
    account_id = make_account(db, ws, credentials={"access_token": "ya29.owner"})
    interaction_id = make_hidden(
        db, ws, account_id, hidden=False, labels=["spam", moderation.HIDDEN_LABEL]
    )

    result = moderation.unhide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "failed"
    # Still hidden on the platform, and the inbox says the unhide failed.
    assert labels(db, interaction_id) == [
        "spam",
        moderation.HIDDEN_LABEL,
        moderation.UNHIDE_FAILED_LABEL,
    ]
    assert moderation.hide_state(False, labels(db, interaction_id)) == "unhide_failed"


def test_a_hide_still_pending_when_the_user_unhides_never_hides(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    publisher = DryRunPublisher(tmp_path / "dry_run_replies.jsonl")
    monkeypatch.setattr(
        "socialpulse.providers.simulated.publish.dry_run_publisher", lambda: publisher
    )
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)
    with db.session() as session:
        moderation.request_hide(session, ws.subject, interaction_id)
        session.info.clear()  # hold the worker's nudge: the hide job stays pending
    with db.session() as session:
        moderation.request_unhide(session, ws.subject, interaction_id)
    job = only_job(db, moderation.HIDE_JOB)
    assert job.status == JobStatus.pending

    assert jobs.run_job(db, job.id) == JobStatus.completed

    assert publisher.hidden == []
    assert only_job(db, moderation.HIDE_JOB).result == {
        "status": "skipped",
        "detail": "the interaction was unhidden in the inbox since",
    }
    with db.session(readonly=True) as session:
        assert session.query(Job).filter(Job.kind == moderation.UNHIDE_JOB).count() == 0


def test_unhiding_while_the_hide_is_on_its_way_shows_the_comment_again(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id)

    class UserUnhidesMeanwhile(DryRunPublisher):
        def hide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
            super().hide(account, interaction)
            with db.session() as session:  # the user clicks Unhide before the hide is recorded
                moderation.request_unhide(session, ws.subject, interaction_id)

    publisher = UserUnhidesMeanwhile(tmp_path / "dry_run_replies.jsonl")
    monkeypatch.setattr(
        "socialpulse.providers.simulated.publish.dry_run_publisher", lambda: publisher
    )

    result = moderation.hide_on_platform(db, interaction_id, box=BOX)

    assert result.status == "hidden"
    # Recording the hide queued an unhide, which ran once that transaction committed.
    assert publisher.hidden == []
    assert publisher.unhidden == [{"account": "simulated-own", "comment": "UgzTroll01"}]
    assert labels(db, interaction_id) == ["spam"]
    assert only_job(db, moderation.UNHIDE_JOB).result == {"status": "unhidden", "detail": None}


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def dry_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> DryRunPublisher:
    publisher = DryRunPublisher(tmp_path / "dry_run_replies.jsonl")
    monkeypatch.setattr(
        "socialpulse.providers.simulated.publish.dry_run_publisher", lambda: publisher
    )
    return publisher


def test_hide_and_unhide_through_the_api_reach_the_platform_once_each(
    db: Database, ws: WorkspaceFixture, client: TestClient, dry_run: DryRunPublisher
) -> None:
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)
    url = f"/api/v1/inbox/interactions/{interaction_id}"
    editor = ws.headers(Role.editor)
    comment = {"account": "simulated-own", "comment": "UgzTroll01"}

    hidden = client.post(f"{url}/hide", headers=editor)
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["hidden"], hidden.json()["hide_state"]) == (True, "hide_pending")
    # The job ran once the request committed.
    after = client.get(url, headers=editor).json()
    assert after["hide_state"] == "hidden"
    assert after["labels"] == ["spam", moderation.HIDDEN_LABEL]
    assert client.post(f"{url}/hide", headers=editor).json()["hide_state"] == "hidden"
    assert dry_run.hidden == [comment]

    shown = client.post(f"{url}/unhide", headers=editor)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["hidden"], shown.json()["hide_state"]) == (False, "unhide_pending")
    after = client.get(url, headers=editor).json()
    assert (after["hide_state"], after["labels"]) == (None, ["spam"])
    assert client.post(f"{url}/unhide", headers=editor).status_code == 200
    assert dry_run.hidden == []
    assert dry_run.unhidden == [comment]


def test_hiding_on_a_platform_without_a_hide_api_is_refused(
    db: Database, ws: WorkspaceFixture, client: TestClient
) -> None:
    account_id = make_account(db, ws, platform="tiktok")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)

    response = client.post(
        f"/api/v1/inbox/interactions/{interaction_id}/hide", headers=ws.headers()
    )

    assert response.status_code == 422
    assert response.json()["error"]["message"] == "tiktok does not let accounts hide comments"
    with db.session(readonly=True) as session:
        row = session.get(Interaction, interaction_id)
        assert row is not None and row.hidden is False


def test_a_viewer_cannot_hide(
    db: Database, ws: WorkspaceFixture, client: TestClient, dry_run: DryRunPublisher
) -> None:
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)

    response = client.post(
        f"/api/v1/inbox/interactions/{interaction_id}/hide", headers=ws.headers(Role.viewer)
    )

    assert response.status_code == 403
    assert dry_run.hidden == []


def test_a_failed_hide_says_why_in_the_api(
    db: Database, ws: WorkspaceFixture, client: TestClient
) -> None:
    account_id = make_account(db, ws, credentials=None)  # YouTube, never connected
    interaction_id = make_hidden(db, ws, account_id, hidden=False)
    url = f"/api/v1/inbox/interactions/{interaction_id}"

    client.post(f"{url}/hide", headers=ws.headers())

    detail = client.get(url, headers=ws.headers()).json()
    assert detail["hide_state"] == "hide_failed"
    assert "access_token" in detail["hide_failure"]


# --- the dashboard ----------------------------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, ws: WorkspaceFixture) -> str:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return _csrf(client.get("/inbox").text)


def test_the_inbox_page_hides_and_unhides_with_its_buttons(
    db: Database, ws: WorkspaceFixture, client: TestClient, dry_run: DryRunPublisher
) -> None:
    account_id = make_account(db, ws, platform="simulated")
    interaction_id = make_hidden(db, ws, account_id, hidden=False)
    token = _login(client, ws)
    hide = f'action="/inbox/interactions/{interaction_id}/hide"'
    unhide = f'action="/inbox/interactions/{interaction_id}/unhide"'
    assert hide in client.get("/inbox").text

    forged = client.post(f"/inbox/interactions/{interaction_id}/hide", data={})
    assert "did not come from this site" in forged.text
    assert dry_run.hidden == []

    asked = client.post(
        f"/inbox/interactions/{interaction_id}/hide",
        data={"csrf_token": token, "back": "/inbox"},
        follow_redirects=False,
    )
    assert asked.status_code == 200 and "Hide the comment by @" in asked.text  # confirm first
    response = client.post(
        f"/inbox/interactions/{interaction_id}/hide",
        data={"csrf_token": token, "back": "/inbox", "confirmed": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/inbox").text
    assert "hidden on Simulated" in page
    assert unhide in page and hide not in page
    assert "hidden-on-platform" not in page  # the state is said in words, not as a label

    client.post(
        f"/inbox/interactions/{interaction_id}/unhide", data={"csrf_token": token, "back": "/inbox"}
    )
    page = client.get("/inbox").text
    assert "hidden on Simulated" not in page and hide in page
    assert dry_run.hidden == []
    assert len(dry_run.unhidden) == 1


def test_the_inbox_page_shows_a_pending_hide_and_why_a_hide_failed(
    db: Database, ws: WorkspaceFixture, client: TestClient
) -> None:
    account_id = make_account(db, ws, credentials=None)  # YouTube, never connected
    failed_id = make_hidden(db, ws, account_id)
    enqueue(db, failed_id)
    make_hidden(db, ws, account_id, external_id="UgzTroll02")  # its job has not run yet
    _login(client, ws)

    page = client.get("/inbox").text

    assert re.search(r"hide failed: [^<]*access_token", page)
    assert "hide pending" in page
