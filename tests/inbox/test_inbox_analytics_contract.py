"""The inbox analytics response shapes our users specified: exact key names, nesting and value
types of each endpoint (extra fields may sit beside them; the specified ones may not move)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_account, make_interaction, make_workspace
from socialpulse.db import Database
from socialpulse.inbox.models import ReplyQueueItem, ReplyStatus, Workflow, WorkflowMatch
from socialpulse.inbox.models import WorkflowStatus as Status

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
BASE = "/api/v1/inbox/analytics"


@pytest.fixture
def api(app: FastAPI, db: Database) -> Iterator[TestClient]:
    with time_machine.travel(NOW, tick=False), TestClient(app) as client:
        yield client


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    ws = make_workspace(db, "contract")
    with db.session() as s:
        account = make_account(s, ws.workspace_id, "simulated", handle="shop")
        liked = make_interaction(
            s, account, posted_at=NOW - dt.timedelta(days=1), ai_sentiment="positive"
        )
        make_interaction(s, account, posted_at=NOW - dt.timedelta(days=2))
        thanks = Workflow(workspace_id=ws.workspace_id, name="Thank fans", priority=1)
        paused = Workflow(
            workspace_id=ws.workspace_id, name="Escalate", priority=2, status=Status.paused
        )
        s.add_all([thanks, paused])
        s.flush()
        s.add(
            WorkflowMatch(
                workspace_id=ws.workspace_id,
                workflow_id=thanks.id,
                interaction_id=liked.id,
                matched_at=NOW - dt.timedelta(days=1),
                reason="sentiment is positive",
                auto_responded=True,
                flagged=False,
            )
        )
        s.add(
            ReplyQueueItem(
                workspace_id=ws.workspace_id,
                account_id=account.id,
                interaction_id=liked.id,
                platform="simulated",
                text="thanks!",
                status=ReplyStatus.pending,
                scheduled_for=NOW + dt.timedelta(minutes=5),
                idempotency_key="contract-1",
            )
        )
    return ws


def _get(api: TestClient, ws: WorkspaceFixture, path: str) -> Any:
    response = api.get(f"{BASE}/{path}", headers=ws.headers())
    assert response.status_code == 200, response.text
    return response.json()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def test_workflows_is_an_object_with_a_workflows_list_of_the_specified_fields(
    api: TestClient, ws: WorkspaceFixture
) -> None:
    body = _get(api, ws, "workflows?days=7")
    assert isinstance(body, dict) and isinstance(body["workflows"], list)
    specified = {
        "workflow_id",
        "workflow_name",
        "status",
        "triggered_count",
        "auto_responded_count",
        "flagged_count",
    }
    for row in body["workflows"]:
        assert specified <= row.keys()
        assert "id" not in row and "name" not in row  # the old names are gone, not aliased
        assert _is_int(row["workflow_id"]) and isinstance(row["workflow_name"], str)
        assert isinstance(row["status"], str)
        for counter in ("triggered_count", "auto_responded_count", "flagged_count"):
            assert _is_int(row[counter]), counter
    assert [
        (
            w["workflow_name"],
            w["status"],
            w["triggered_count"],
            w["auto_responded_count"],
            w["flagged_count"],
        )
        for w in body["workflows"]
    ] == [("Thank fans", "active", 1, 1, 0), ("Escalate", "paused", 0, 0, 0)]


def test_timeline_is_an_object_with_a_timeline_list_of_iso_dates_and_counts(
    api: TestClient, ws: WorkspaceFixture
) -> None:
    body = _get(api, ws, "timeline?days=3")
    assert isinstance(body, dict) and "days" not in body
    rows = body["timeline"]
    assert [row["date"] for row in rows] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    for row in rows:
        assert {"date", "count"} <= row.keys() and "total" not in row
        assert dt.date.fromisoformat(row["date"]).isoformat() == row["date"]
        assert _is_int(row["count"])
    assert [row["count"] for row in rows] == [1, 1, 0]


def test_timeline_by_sentiment_puts_the_breakdown_beside_count(
    api: TestClient, ws: WorkspaceFixture
) -> None:
    rows = _get(api, ws, "timeline?days=3&by_sentiment=true")["timeline"]
    yesterday = rows[1]
    assert yesterday["date"] == "2026-03-09" and yesterday["count"] == 1
    assert yesterday["by_sentiment"] == {
        "positive": 1,
        "neutral": 0,
        "negative": 0,
        "unanalysed": 0,
    }
    assert all(sum(row["by_sentiment"].values()) == row["count"] for row in rows)


def test_overview_keeps_its_shape(api: TestClient, ws: WorkspaceFixture) -> None:
    body = _get(api, ws, "overview?days=7")
    assert {
        "period",
        "total_interactions",
        "by_status",
        "by_platform",
        "by_sentiment",
        "answered",
        "response_rate",
        "median_first_response_minutes",
    } <= body.keys()
    assert _is_int(body["total_interactions"]) and body["total_interactions"] == 2
    assert all(_is_int(v) for v in body["by_status"].values())
    assert body["by_platform"] == {"simulated": 2}


def test_response_queue_keeps_its_shape(api: TestClient, ws: WorkspaceFixture) -> None:
    body = _get(api, ws, "response-queue")
    assert set(body) == {"overall", "by_platform"}
    for counts in (body["overall"], body["by_platform"]["simulated"]):
        for key in ("total", "pending", "processing", "sent", "failed", "cancelled"):
            assert _is_int(counts[key]), key
        assert counts["pending"] == 1
        assert counts["next_scheduled"].startswith("2026-03-10T15:05:00")
