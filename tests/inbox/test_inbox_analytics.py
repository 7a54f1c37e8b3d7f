"""Inbox analytics API: figures on a small hand-built data set, period boundaries in the
workspace's time zone, the reply queue, workflow activity, tenancy and input validation."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from factories import WorkspaceFixture, make_account, make_interaction, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox.models import (
    Interaction,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
    WorkflowStatus,
)
from socialpulse.workspaces.models import Role, Workspace

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


@pytest.fixture
def api(app: FastAPI, db: Database) -> Iterator[TestClient]:
    with time_machine.travel(NOW, tick=False), TestClient(app) as client:
        yield client


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "inbox-stats")


def _account(session: Session, workspace_id: int, platform: str = "simulated") -> int:
    n = next(_ids)
    return make_account(session, workspace_id, platform, handle=f"acc{n}").id


def _interaction(
    session: Session,
    workspace_id: int,
    account_id: int,
    posted_at: dt.datetime,
    *,
    platform: str = "simulated",
    status: InteractionStatus = InteractionStatus.unread,
    sentiment: str | None = None,
    answered_after: dt.timedelta | None = None,
) -> Interaction:
    account = session.get(TrackedAccount, account_id)
    assert account is not None and account.workspace_id == workspace_id
    return make_interaction(
        session,
        account,
        platform=platform,
        posted_at=posted_at,
        status=status,
        ai_sentiment=sentiment,
        answered_at=posted_at + answered_after if answered_after is not None else None,
    )


def _seed_overview(db: Database, ws: WorkspaceFixture) -> None:
    with db.session() as s:
        acc = _account(s, ws.workspace_id)
        yt = _account(s, ws.workspace_id, "youtube")
        day = dt.timedelta(days=1)
        answered = InteractionStatus.answered
        _interaction(
            s, ws.workspace_id, acc, NOW - 2 * day, status=answered, sentiment="positive",
            answered_after=dt.timedelta(minutes=10),
        )  # fmt: skip
        _interaction(
            s, ws.workspace_id, acc, NOW - 3 * day, status=answered, sentiment="negative",
            answered_after=dt.timedelta(minutes=30),
        )  # fmt: skip
        _interaction(
            s, ws.workspace_id, acc, NOW - dt.timedelta(hours=1), sentiment="positive"
        )  # unread
        _interaction(
            s, ws.workspace_id, yt, NOW - 5 * day, platform="youtube",
            status=InteractionStatus.flagged,
        )  # fmt: skip
        # Outside a 30-day period: answered in 5 days, must not move the rate or the median.
        _interaction(
            s, ws.workspace_id, acc, NOW - 40 * day, status=answered, sentiment="neutral",
            answered_after=dt.timedelta(days=5),
        )  # fmt: skip


def test_overview_counts_response_rate_and_median_over_the_period(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _seed_overview(db, ws)
    response = api.get("/api/v1/inbox/analytics/overview?days=30", headers=ws.headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_interactions"] == 4
    assert body["by_status"] == {
        "unread": 1,
        "awaiting_approval": 0,
        "answered": 2,
        "ignored": 0,
        "flagged": 1,
    }
    assert body["by_platform"] == {"simulated": 3, "youtube": 1}
    assert body["by_sentiment"] == {"positive": 2, "neutral": 0, "negative": 1, "unanalysed": 1}
    assert body["response_rate"] == 0.5
    assert body["median_first_response_minutes"] == 20.0
    assert body["median_sample_size"] == 2
    assert body["period"]["days"] == 30

    wider = api.get("/api/v1/inbox/analytics/overview?days=60", headers=ws.headers()).json()
    assert wider["total_interactions"] == 5
    assert wider["response_rate"] == 0.6
    assert wider["median_first_response_minutes"] == 30.0  # 10 min, 30 min, 5 days


def test_overview_of_an_empty_inbox_has_no_rate_instead_of_zero(
    api: TestClient, ws: WorkspaceFixture
) -> None:
    body = api.get("/api/v1/inbox/analytics/overview", headers=ws.headers(Role.viewer)).json()
    assert body["total_interactions"] == 0
    assert body["response_rate"] is None
    assert body["median_first_response_minutes"] is None


def test_timeline_has_every_day_zero_filled_and_adds_up_to_the_overview(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _seed_overview(db, ws)
    body = api.get(
        "/api/v1/inbox/analytics/timeline?days=7&by_sentiment=true", headers=ws.headers()
    ).json()
    days = body["timeline"]
    assert [d["date"] for d in days] == [
        (NOW.date() - dt.timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    totals = {d["date"]: d["count"] for d in days}
    assert totals == {
        "2026-03-04": 0,
        "2026-03-05": 1,
        "2026-03-06": 0,
        "2026-03-07": 1,
        "2026-03-08": 1,
        "2026-03-09": 0,
        "2026-03-10": 1,
    }
    assert days[-1]["by_sentiment"] == {
        "positive": 1,
        "neutral": 0,
        "negative": 0,
        "unanalysed": 0,
    }
    assert days[3]["by_sentiment"]["negative"] == 1
    overview = api.get("/api/v1/inbox/analytics/overview?days=7", headers=ws.headers()).json()
    assert sum(totals.values()) == overview["total_interactions"] == 4
    plain = api.get("/api/v1/inbox/analytics/timeline?days=1", headers=ws.headers()).json()
    assert plain["timeline"] == [{"date": "2026-03-10", "count": 1, "by_sentiment": None}]


def test_timeline_days_are_the_workspace_time_zone_days(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    with db.session() as s:
        workspace = s.get(Workspace, ws.workspace_id)
        assert workspace is not None
        # UTC+9: "now" (2026-03-10 15:00 UTC) is already 2026-03-11 00:00 in Tokyo.
        workspace.timezone = "Asia/Tokyo"
        acc = _account(s, ws.workspace_id)
        for hour in (14, 20):  # 03-09 23:00 and 03-10 05:00 in Tokyo
            _interaction(s, ws.workspace_id, acc, dt.datetime(2026, 3, 9, hour, tzinfo=dt.UTC))
        _interaction(s, ws.workspace_id, acc, NOW)  # the very moment: counted, on the 11th
    body = api.get("/api/v1/inbox/analytics/timeline?days=3", headers=ws.headers()).json()
    assert body["period"]["timezone"] == "Asia/Tokyo"
    assert body["period"]["start"].startswith("2026-03-08T15:00:00")
    assert [(d["date"], d["count"]) for d in body["timeline"]] == [
        ("2026-03-09", 1),
        ("2026-03-10", 1),
        ("2026-03-11", 1),
    ]


def test_workflow_activity_counts_only_matches_inside_the_period(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    with db.session() as s:
        acc = _account(s, ws.workspace_id)
        busy = Workflow(workspace_id=ws.workspace_id, name="Thank superfans", priority=10)
        idle = Workflow(
            workspace_id=ws.workspace_id,
            name="Escalate refunds",
            priority=20,
            status=WorkflowStatus.paused,
            triggered_count=99,  # lifetime counter: not what the period shows
        )
        s.add_all([busy, idle])
        s.flush()
        for days_ago, auto, flagged in [(1, True, False), (10, False, True), (45, True, True)]:
            item = _interaction(s, ws.workspace_id, acc, NOW - dt.timedelta(days=days_ago))
            s.add(
                WorkflowMatch(
                    workspace_id=ws.workspace_id,
                    workflow_id=busy.id,
                    interaction_id=item.id,
                    matched_at=NOW - dt.timedelta(days=days_ago),
                    reason="sentiment is positive",
                    auto_responded=auto,
                    flagged=flagged,
                )
            )
    body = api.get("/api/v1/inbox/analytics/workflows?days=30", headers=ws.headers()).json()
    assert [
        (
            w["workflow_name"],
            w["status"],
            w["triggered_count"],
            w["auto_responded_count"],
            w["flagged_count"],
        )
        for w in body["workflows"]
    ] == [("Thank superfans", "active", 2, 1, 1), ("Escalate refunds", "paused", 0, 0, 0)]
    wider = api.get("/api/v1/inbox/analytics/workflows?days=90", headers=ws.headers()).json()
    busiest = wider["workflows"][0]
    assert (busiest["triggered_count"], busiest["auto_responded_count"]) == (3, 2)


def _reply(
    s: Session, ws_id: int, acc: int, item: int, status: ReplyStatus, platform: str, at: Any
) -> None:
    s.add(
        ReplyQueueItem(
            workspace_id=ws_id,
            account_id=acc,
            interaction_id=item,
            platform=platform,
            text="thanks!",
            status=status,
            scheduled_for=at,
            idempotency_key=f"key-{next(_ids)}",
        )
    )


def test_response_queue_counts_each_status_overall_and_per_platform(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    soon = NOW + dt.timedelta(minutes=5)
    later = NOW + dt.timedelta(hours=2)
    with db.session() as s:
        acc = _account(s, ws.workspace_id)
        yt = _account(s, ws.workspace_id, "youtube")
        item = _interaction(s, ws.workspace_id, acc, NOW - dt.timedelta(hours=3)).id
        other = _interaction(s, ws.workspace_id, yt, NOW, platform="youtube").id
        for status, platform, at in [
            (ReplyStatus.pending, "simulated", later),
            (ReplyStatus.pending, "youtube", soon),
            (ReplyStatus.processing, "simulated", NOW),
            (ReplyStatus.sent, "simulated", NOW - dt.timedelta(hours=1)),
            (ReplyStatus.failed, "youtube", NOW - dt.timedelta(hours=1)),
            (ReplyStatus.sent, "youtube", NOW - dt.timedelta(hours=2)),
        ]:
            account, target = (acc, item) if platform == "simulated" else (yt, other)
            _reply(s, ws.workspace_id, account, target, status, platform, at)
    body = api.get("/api/v1/inbox/analytics/response-queue", headers=ws.headers()).json()
    overall = body["overall"]
    assert {k: overall[k] for k in ("total", "pending", "processing", "sent", "failed")} == {
        "total": 6,
        "pending": 2,
        "processing": 1,
        "sent": 2,
        "failed": 1,
    }
    assert overall["next_scheduled"].startswith("2026-03-10T15:05:00")
    simulated = body["by_platform"]["simulated"]
    assert (simulated["total"], simulated["pending"], simulated["sent"]) == (3, 1, 1)
    assert simulated["next_scheduled"].startswith("2026-03-10T17:00:00")
    youtube = body["by_platform"]["youtube"]
    assert (youtube["total"], youtube["failed"], youtube["processing"]) == (3, 1, 0)


def test_another_workspaces_data_is_never_counted(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _seed_overview(db, ws)
    other = make_workspace(db, "other-studio")
    with db.session() as s:
        acc = _account(s, other.workspace_id)
        item = _interaction(s, other.workspace_id, acc, NOW - dt.timedelta(days=1))
        s.add(Workflow(workspace_id=other.workspace_id, name="Not yours"))
        _reply(s, other.workspace_id, acc, item.id, ReplyStatus.pending, "simulated", NOW)
    mine = api.get("/api/v1/inbox/analytics/overview", headers=ws.headers()).json()
    assert mine["total_interactions"] == 4
    theirs = api.get("/api/v1/inbox/analytics/overview", headers=other.headers()).json()
    assert theirs["total_interactions"] == 1
    assert theirs["response_rate"] == 0.0
    timeline = api.get("/api/v1/inbox/analytics/timeline?days=3", headers=other.headers())
    assert [d["count"] for d in timeline.json()["timeline"]] == [0, 1, 0]
    mine_workflows = api.get("/api/v1/inbox/analytics/workflows", headers=ws.headers()).json()
    assert mine_workflows["workflows"] == []
    queue = api.get("/api/v1/inbox/analytics/response-queue", headers=ws.headers()).json()
    assert queue["overall"]["total"] == 0 and queue["by_platform"] == {}


@pytest.mark.parametrize("days", [0, 366, -5])
def test_days_outside_1_to_365_is_rejected_with_the_error_shape(
    api: TestClient, ws: WorkspaceFixture, days: int
) -> None:
    for path in ("overview", "workflows", "timeline"):
        response = api.get(f"/api/v1/inbox/analytics/{path}?days={days}", headers=ws.headers())
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_input"
        assert "days" in response.json()["error"]["message"]


def test_analytics_need_an_api_key(api: TestClient) -> None:
    response = api.get("/api/v1/inbox/analytics/overview")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
