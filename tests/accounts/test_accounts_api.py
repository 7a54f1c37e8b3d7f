"""Tracking accounts end to end: add (validated), fetch (durable job), history, budgets,
failures users must see (unknown handle, expired token, platform down, budget reached)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import budget, service
from socialpulse.accounts.models import (
    AccountSnapshot,
    ApiUsage,
    FetchRun,
    FetchStatus,
    Post,
    PostMetricSnapshot,
    TrackedAccount,
)
from socialpulse.db import Database, utcnow
from socialpulse.kit.security import SecretBox
from socialpulse.providers import registry
from socialpulse.providers.base import CircuitOpenError, TransientError
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.youtube.client import API_BASE, YouTubeClient
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role, Workspace

YT = API_BASE.rstrip("/")
PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
BOX = SecretBox(TEST_SECRET_KEY)


def yt(name: str) -> httpx.Response:
    body = json.loads((PAYLOADS / "youtube" / name).read_text())
    return httpx.Response(body.get("error", {}).get("code", 200), json=body)


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "creator-co")


def _add(client: TestClient, ws: WorkspaceFixture, ref: str, **extra: Any) -> httpx.Response:
    return client.post("/api/v1/accounts", json={"ref": ref, **extra}, headers=ws.headers())


def test_add_account_by_profile_url_validates_and_snapshots(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    response = _add(client, ws, "https://simulated.invalid/@garden_lab")
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["platform"] == "simulated"
    assert account["handle"] == "garden_lab"
    assert account["followers_count"] > 0
    with db.session() as session:
        snapshots = session.scalars(
            select(AccountSnapshot).where(AccountSnapshot.account_id == account["id"])
        ).all()
    assert [s.followers_count for s in snapshots] == [account["followers_count"]]
    again = _add(client, ws, "@garden_lab", platform="simulated")
    assert again.status_code == 409
    assert "already tracked" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ref": "https://simulated.invalid/@missing_person"}, "has no account"),
        ({"ref": "https://example.com/some/page"}, "https://www.youtube.com/@handle"),
        ({"ref": "alice", "platform": "myspace"}, "myspace"),
        ({"ref": "alice", "platform": "youtube"}, "api_key"),
        ({"ref": "alice", "platform": "mastodon"}, "instance"),
    ],
)
def test_bad_account_refs_are_explained(
    client: TestClient, ws: WorkspaceFixture, body: dict[str, Any], message: str
) -> None:
    response = client.post("/api/v1/accounts", json=body, headers=ws.headers())
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]


def test_fetch_ingests_posts_metric_history_and_usage(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    account_id = _add(client, ws, "https://simulated.invalid/@daily_vlog").json()["id"]
    queued = client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    assert queued.status_code == 202
    history = client.get(f"/api/v1/accounts/{account_id}/fetches", headers=ws.headers()).json()
    run = history[0]
    assert run["status"] == "completed", run
    assert run["posts_seen"] > 0
    assert run["posts_new"] == run["posts_seen"]
    assert run["api_calls"] >= 2
    with db.session() as session:
        posts = session.scalar(select(func.count()).where(Post.account_id == account_id))
        snaps = session.scalar(select(func.count()).select_from(PostMetricSnapshot))
        usage = session.scalars(select(ApiUsage)).all()
    assert posts == run["posts_seen"]
    assert snaps == posts  # one metric snapshot per post for today
    # The profile lookup that validated the account counts too.
    assert [(u.platform, u.requests) for u in usage] == [("simulated", run["api_calls"] + 1)]
    # A second fetch the same day updates today's snapshot instead of adding one.
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(PostMetricSnapshot)) == snaps
        account = session.get(TrackedAccount, account_id)
        assert account is not None and account.last_fetched_at is not None


def test_transient_failures_are_retried_then_shown(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    account_id = _add(client, ws, "https://simulated.invalid/@flaky_cam").json()["id"]
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        account.credentials_encrypted = BOX.encrypt(json.dumps({"error_rate": 1.0}))
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    run = client.get(f"/api/v1/accounts/{account_id}/fetches", headers=ws.headers()).json()[0]
    assert run["status"] == "pending"
    assert "retrying (attempt 1 of 4)" in run["error"]
    with db.session() as session:
        job = session.get(Job, run["job_id"])
        assert job is not None
        assert job.status == JobStatus.pending
        assert job.run_after > utcnow()
    # The last attempt fails for good and tells the user why.
    for _ in range(3):
        with db.session() as session:
            job = session.get(Job, run["job_id"])
            assert job is not None
            job.run_after = utcnow()
        from socialpulse.worker.jobs import run_job

        run_job(db, run["job_id"])
    run = client.get(f"/api/v1/accounts/{account_id}/fetches", headers=ws.headers()).json()[0]
    assert run["status"] == "failed"
    assert "did not answer" in run["error"]
    account = client.get(f"/api/v1/accounts/{account_id}", headers=ws.headers()).json()
    assert account["status"] == "error"


def _youtube_account(db: Database, ws: WorkspaceFixture) -> int:
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=ws.workspace_id,
            platform="youtube",
            external_id="UCabcdefghijklmnopqrstuv",
            handle="@gardenlab",
            credentials_encrypted=BOX.encrypt(json.dumps({"api_key": "k"})),
        )
        session.add(account)
        session.flush()
        return account.id


def _run(db: Database, account_id: int, ws: WorkspaceFixture, max_attempts: int = 1) -> FetchRun:
    with db.session() as session:
        run = FetchRun(workspace_id=ws.workspace_id, account_id=account_id)
        session.add(run)
        session.flush()
        run_id = run.id

    def quick_youtube(
        info: registry.ProviderInfo, credentials: dict[str, Any], observer: Any
    ) -> YouTubeClient:
        return YouTubeClient.create(
            credentials["api_key"], observer=observer, sleep=lambda _s: None
        )

    return service.run_fetch(
        db, run_id, box=BOX, source_factory=quick_youtube, max_attempts=max_attempts
    )


@respx.mock
def test_expired_token_marks_the_account_for_reconnection(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    respx.get(f"{YT}/channels").mock(return_value=yt("error_key_invalid.json"))
    account_id = _youtube_account(db, ws)
    run = _run(db, account_id, ws)
    assert run.status == FetchStatus.failed
    assert "reconnect the account" in (run.error or "")
    account = client.get(f"/api/v1/accounts/{account_id}", headers=ws.headers()).json()
    assert account["status"] == "needs_reconnect"
    assert "reconnect" in account["status_message"]
    # The daily schedule skips it until the user reconnects.
    assert service.schedule_daily_fetches(db, now=utcnow().replace(hour=12)) == 0
    fixed = client.patch(
        f"/api/v1/accounts/{account_id}",
        json={"credentials": {"api_key": "new"}},
        headers=ws.headers(),
    )
    assert fixed.json()["status"] == "ok"


@respx.mock
def test_budget_deferral_sends_no_request_and_requeues_for_the_next_window(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    channels = respx.get(f"{YT}/channels").mock(return_value=yt("channels_for_handle.json"))
    account_id = _youtube_account(db, ws)
    response = client.put(
        "/api/v1/usage/budgets/youtube", json={"daily_units": 100}, headers=ws.headers()
    )
    assert response.status_code == 200
    with db.session() as session:  # 80 units = the 80 % safety margin of 100, already used
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform="youtube",
                day=budget.quota_day("youtube"),
                quota_units=80,
            )
        )
    run = _run(db, account_id, ws)
    assert run.status == FetchStatus.deferred
    assert "safety margin" in (run.error or "")
    assert channels.call_count == 0
    usage = client.get("/api/v1/usage", headers=ws.headers()).json()
    assert usage[0] | {"average_latency_ms": 0} == usage[0] | {
        "platform": "youtube",
        "quota_units": 80,
        "deferred": 1,
        "daily_units": 100,
        "usable_units": 80,
        "average_latency_ms": 0,
    }
    with db.session() as session:
        retry = session.scalars(
            select(FetchRun).where(FetchRun.account_id == account_id, FetchRun.id != run.id)
        ).one()
        job = session.get(Job, retry.job_id)
        assert job is not None
        assert job.run_after > utcnow() + dt.timedelta(minutes=1)


@respx.mock
def test_circuit_breaker_fails_fast_after_repeated_outages(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    outage = respx.get(f"{YT}/channels").mock(return_value=httpx.Response(503))
    account_id = _youtube_account(db, ws)
    with pytest.raises(TransientError):
        _run(db, account_id, ws, max_attempts=4)  # 3 tries inside; the job would retry
    with pytest.raises((TransientError, CircuitOpenError)):
        _run(db, account_id, ws, max_attempts=4)  # the 5th failure in a row opens the circuit
    calls = outage.call_count
    with pytest.raises(CircuitOpenError):
        _run(db, account_id, ws, max_attempts=4)
    assert outage.call_count == calls  # failed fast, no request sent
    run = client.get(f"/api/v1/accounts/{account_id}/fetches", headers=ws.headers()).json()[0]
    assert "calls are paused" in run["error"]


def test_daily_schedule_queues_each_account_once_from_3am_local(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, ws.workspace_id)
        assert workspace is not None
        workspace.timezone = "Europe/Berlin"
    for handle in ("one_a", "one_b"):
        _add(client, ws, f"https://simulated.invalid/@{handle}")
    # 01:30 UTC is 02:30 in Berlin: not yet.
    with time_machine.travel(dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC), tick=False):
        assert service.schedule_daily_fetches(db) == 0
    # 02:15 UTC is 03:15 in Berlin: each account once, spaced for the platform.
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 15, tzinfo=dt.UTC), tick=False):
        assert service.schedule_daily_fetches(db) == 2
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC), tick=False):
        assert service.schedule_daily_fetches(db) == 0
    with db.session() as session:
        runs = session.scalars(
            select(FetchRun).where(FetchRun.trigger == "schedule").order_by(FetchRun.id)
        ).all()
        jobs = [session.get(Job, run.job_id) for run in runs]
    assert len(runs) == 2
    assert jobs[1] is not None and jobs[0] is not None
    assert jobs[1].run_after - jobs[0].run_after == dt.timedelta(seconds=3)
    # The next local day queues again.
    with time_machine.travel(dt.datetime(2026, 3, 3, 2, 15, tzinfo=dt.UTC), tick=False):
        assert service.schedule_daily_fetches(db) == 2


def test_viewer_cannot_add_or_fetch(client: TestClient, ws: WorkspaceFixture) -> None:
    account_id = _add(client, ws, "https://simulated.invalid/@some_one").json()["id"]
    assert (
        client.post(
            "/api/v1/accounts",
            json={"ref": "https://simulated.invalid/@other"},
            headers=ws.headers(Role.viewer),
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers(Role.viewer)
        ).status_code
        == 403
    )
    assert client.get("/api/v1/accounts", headers=ws.headers(Role.viewer)).status_code == 200
