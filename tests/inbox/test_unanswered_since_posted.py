""" "Unanswered for N hours" counts from when the comment was posted on the platform, not from
when socialpulse imported it (a slow poll, or a first import of older posts)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.db import Database
from socialpulse.inbox.models import Interaction
from socialpulse.inbox.workflows import engine
from socialpulse.inbox.workflows import service as workflows
from socialpulse.inbox.workflows.schemas import WorkflowCreate, WorkflowDefinition

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "overdue")


def _comment(db: Database, account: int, name: str, posted_ago: float) -> int:
    """A comment posted `posted_ago` hours ago that socialpulse imported an hour ago."""
    return add_interaction(
        db,
        account,
        external_id=name,
        author_handle=name,
        posted_at=NOW - posted_ago * HOUR,
        ingested_at=NOW - HOUR,
    )


def test_unanswered_for_24_hours_counts_from_the_posting_time(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = add_account(db, ws.workspace_id)
    body = WorkflowCreate.model_validate(
        {
            "name": "Overdue",
            "trigger": "unanswered_for",
            "trigger_hours": 24,
            "actions": [{"type": "label", "name": "overdue"}],
        }
    )
    with db.session() as session:
        workflows.create_workflow(session, ws.subject, body)
    late_import = _comment(db, account, "waited", posted_ago=30)
    fresh = _comment(db, account, "fresh", posted_ago=2)

    with time_machine.travel(NOW, tick=False):
        stats = engine.run_time_triggers(db)
    assert stats["matched"] == 1
    with db.session(readonly=True) as session:
        waited = session.get(Interaction, late_import)
        recent = session.get(Interaction, fresh)
        assert waited is not None and recent is not None
        assert waited.labels == ["overdue"]
        assert recent.labels == []

    # The dry run says the same, in hours since posting.
    definition = WorkflowDefinition.model_validate(body.model_dump())
    with db.session() as session:
        dry = workflows.dry_run(session, ws.subject, definition, now=NOW)
    results = {r.interaction_id: r for r in dry}
    assert results[late_import].matched is True
    assert "unanswered for 30.0 h" in results[late_import].reason
    assert results[fresh].matched is False
    assert "waiting 2.0 h of 24 h" in results[fresh].reason


def test_the_definition_is_in_the_api_schema(client: TestClient) -> None:
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    for name in ("WorkflowCreate", "WorkflowUpdate", "WorkflowRead"):
        prop = schemas[name]["properties"]["trigger_hours"]
        assert "posted on the platform" in prop["description"], name
        assert "not from when socialpulse imported it" in prop["description"], name
