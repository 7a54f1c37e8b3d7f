"""Budgets as our users specified them (issue #16): the default daily budgets of YouTube,
Instagram and TikTok, the per-endpoint breakdown of usage, and raising a budget releasing the
work it deferred at once."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import budget
from socialpulse.accounts.models import ApiUsage, Post
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import CommentPoll
from socialpulse.providers.base import ApiCall, BudgetDeferredError
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "creator-co")


def _usage_row(db: Database, ws: WorkspaceFixture, platform: str, units: int) -> None:
    with db.session() as session:
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform=platform,
                day=budget.quota_day(platform),
                requests=units,
                quota_units=units,
            )
        )


def _call(platform: str, endpoint: str, cost: int = 1) -> ApiCall:
    return ApiCall(
        platform=platform,
        endpoint=endpoint,
        status_code=200,
        ok=True,
        latency_ms=12.0,
        quota_cost=cost,
    )


# --- default budgets ---------------------------------------------------------------------------


def test_youtube_instagram_and_tiktok_have_the_specified_daily_budgets(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    for platform in ("youtube", "instagram", "tiktok"):
        _usage_row(db, ws, platform, 5)
    usage = client.get("/api/v1/usage", headers=ws.headers()).json()
    budgets = {line["platform"]: (line["daily_units"], line["usable_units"]) for line in usage}
    assert budgets == {
        "youtube": (10_000, 8_000),
        "instagram": (10_000, 8_000),
        # 600,000 a month, enforced per day as a thirtieth.
        "tiktok": (20_000, 16_000),
    }


def test_a_tiktok_workspace_stops_at_80_percent_of_20000_a_day(
    db: Database, ws: WorkspaceFixture
) -> None:
    _usage_row(db, ws, "tiktok", 15_998)
    observer = budget.BudgetObserver(db, ws.workspace_id)
    for _ in range(2):  # units 15,999 and 16,000: still within the margin
        observer.before_call("tiktok", "tiktok.video.list", 1)
        observer.after_call(_call("tiktok", "tiktok.video.list"))
    with pytest.raises(BudgetDeferredError, match="16000 of 20000 units"):
        observer.before_call("tiktok", "tiktok.video.list", 1)
    with db.session() as session:
        observer.flush(session)
        assert budget.units_used(
            session, ws.workspace_id, "tiktok", budget.quota_day("tiktok")
        ) == (16_000)
    # A new fetch of the same workspace is stopped too, before any request.
    with pytest.raises(BudgetDeferredError):
        budget.BudgetObserver(db, ws.workspace_id).before_call("tiktok", "tiktok.user.info", 1)


# --- per-endpoint breakdown --------------------------------------------------------------------


def _add_simulated(client: TestClient, ws: WorkspaceFixture, handle: str) -> int:
    response = client.post(
        "/api/v1/accounts",
        json={"ref": f"https://simulated.invalid/@{handle}"},
        headers=ws.headers(),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_usage_breaks_each_day_down_per_endpoint_adding_up_to_the_totals(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    account_id = _add_simulated(client, ws, "daily_vlog")
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    (line,) = client.get("/api/v1/usage", headers=ws.headers()).json()
    endpoints = {item["endpoint"]: item for item in line["endpoints"]}
    assert {"simulated.profile", "simulated.posts"} <= set(endpoints)
    # Validating the account and the fetch each read the profile once.
    assert endpoints["simulated.profile"]["requests"] == 2
    assert sum(item["requests"] for item in line["endpoints"]) == line["requests"]
    assert sum(item["quota_units"] for item in line["endpoints"]) == line["quota_units"]
    units = [item["quota_units"] for item in line["endpoints"]]
    assert units == sorted(units, reverse=True)


def test_concurrent_fetches_add_up_per_endpoint(db: Database, ws: WorkspaceFixture) -> None:
    """Two fetches of one workspace that flush the same endpoint both count, as the totals do."""
    first = budget.BudgetObserver(db, ws.workspace_id)
    second = budget.BudgetObserver(db, ws.workspace_id)
    for observer, calls in ((first, 3), (second, 4)):
        for _ in range(calls):
            observer.after_call(_call("youtube", "youtube.videos.list"))
        observer.after_call(_call("youtube", "youtube.search.list", cost=100))
    with db.session() as session:
        first.flush(session)
    with db.session() as session:
        second.flush(session)
    with db.session(readonly=True) as session:
        report = budget.usage_report(session, ws.subject)
    (line,) = [line for line in report.today if line.platform == "youtube"]
    assert (line.requests, line.quota_units) == (9, 207)
    assert [(e.endpoint, e.requests, e.quota_units) for e in line.endpoints] == [
        ("youtube.search.list", 2, 200),
        ("youtube.videos.list", 7, 7),
    ]


def test_another_workspace_never_sees_the_breakdown(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    account_id = _add_simulated(client, ws, "daily_vlog")
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    other = make_workspace(db, "rival")
    assert client.get("/api/v1/usage", headers=other.headers()).json() == []


# --- raising a budget releases deferred work -----------------------------------------------------


def _defer_a_fetch(client: TestClient, ws: WorkspaceFixture, handle: str) -> tuple[int, int]:
    """(account id, the parked fetch's job id): a budget of 1 unit leaves nothing usable."""
    account_id = _add_simulated(client, ws, handle)
    put = client.put(
        "/api/v1/usage/budgets/simulated", json={"daily_units": 1}, headers=ws.headers()
    )
    assert put.status_code == 200
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    runs = client.get(f"/api/v1/accounts/{account_id}/fetches", headers=ws.headers()).json()
    parked, deferred = runs[0], runs[1]
    assert deferred["status"] == "deferred"
    assert parked["status"] == "pending"
    return account_id, int(parked["job_id"])


def _job(db: Database, job_id: int) -> Job:
    with db.session(readonly=True) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_raising_a_budget_runs_the_fetches_it_deferred_at_once(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    account_id, job_id = _defer_a_fetch(client, ws, "daily_vlog")
    assert _job(db, job_id).run_after > utcnow() + dt.timedelta(minutes=1)
    other = make_workspace(db, "rival")
    _, other_job_id = _defer_a_fetch(client, other, "garden_lab")

    raised = client.put(
        "/api/v1/usage/budgets/simulated", json={"daily_units": 10_000}, headers=ws.headers()
    )
    assert raised.status_code == 200
    assert raised.json() == {"daily_units": 10_000, "safety_margin": 0.8, "released_jobs": 1}
    # The worker took it at once (the test worker runs nudged jobs inline).
    assert _job(db, job_id).status == JobStatus.completed
    runs = client.get(f"/api/v1/accounts/{account_id}/fetches", headers=ws.headers()).json()
    assert runs[0]["status"] == "completed"
    assert runs[0]["posts_seen"] > 0
    # Another workspace's parked fetch keeps waiting for its own budget.
    other_job = _job(db, other_job_id)
    assert other_job.status == JobStatus.pending
    assert other_job.run_after > utcnow() + dt.timedelta(minutes=1)


def test_lowering_a_budget_leaves_deferred_work_parked(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    _, job_id = _defer_a_fetch(client, ws, "daily_vlog")
    parked_until = _job(db, job_id).run_after
    for body in ({"daily_units": 1, "safety_margin": 0.5}, {"daily_units": 1}):
        response = client.put("/api/v1/usage/budgets/simulated", json=body, headers=ws.headers())
        assert response.json()["released_jobs"] == 0
    job = _job(db, job_id)
    assert (job.status, job.run_after) == (JobStatus.pending, parked_until)


def test_a_raise_that_still_leaves_no_room_releases_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    _, job_id = _defer_a_fetch(client, ws, "daily_vlog")
    with db.session() as session:
        used = budget.units_used(
            session, ws.workspace_id, "simulated", budget.quota_day("simulated")
        )
    # Usable becomes exactly what is already used: the fetch would be deferred again.
    response = client.put(
        "/api/v1/usage/budgets/simulated",
        json={"daily_units": used, "safety_margin": 1.0},
        headers=ws.headers(),
    )
    assert response.json()["released_jobs"] == 0
    assert _job(db, job_id).run_after > utcnow() + dt.timedelta(minutes=1)


def test_raising_a_budget_makes_comment_polls_it_deferred_due(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    account_id = _add_simulated(client, ws, "daily_vlog")
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    tomorrow = utcnow() + dt.timedelta(hours=20)
    with db.session() as session:
        post_ids = list(
            session.scalars(select(Post.id).where(Post.account_id == account_id).limit(3))
        )
        reasons = [
            budget.deferral_prefix("simulated") + "8 of 10 units used today; ...",
            budget.deferral_prefix("simulated") + "waits for the next quota day",
            "Simulated did not answer; retrying later",  # not the budget's: stays
        ]
        for post_id, reason in zip(post_ids, reasons, strict=True):
            session.add(
                CommentPoll(
                    workspace_id=ws.workspace_id,
                    account_id=account_id,
                    post_id=post_id,
                    next_poll_at=tomorrow,
                    last_error=reason,
                )
            )
    client.put("/api/v1/usage/budgets/simulated", json={"daily_units": 1}, headers=ws.headers())
    raised = client.put(
        "/api/v1/usage/budgets/simulated", json={"daily_units": 10_000}, headers=ws.headers()
    )
    assert raised.json()["released_jobs"] == 2
    with db.session(readonly=True) as session:
        polls = session.scalars(select(CommentPoll).order_by(CommentPoll.id)).all()
        due = [poll.next_poll_at <= utcnow() for poll in polls]
    assert due == [True, True, False]


def test_only_admins_change_budgets(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.put(
        "/api/v1/usage/budgets/youtube",
        json={"daily_units": 20_000},
        headers=ws.headers(Role.editor),
    )
    assert response.status_code == 403
