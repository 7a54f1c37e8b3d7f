"""People's "wrong label" corrections: kept per workspace, they win over the model's labels in
the inbox's filters and in workflow conditions; the API takes them from editors only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.db import Database
from socialpulse.errors import InvalidInput, PermissionDenied
from socialpulse.inbox import corrections
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.workflows import service as workflow_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

PURCHASE_WORKFLOW = {
    "name": "Sales leads",
    "conditions": [{"type": "intent", "values": ["purchase_intent"], "min_confidence": 0.8}],
    "actions": [{"type": "label", "name": "lead"}],
}


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "corrections-co")


def _question(db: Database, ws: WorkspaceFixture) -> int:
    account = add_account(db, ws.workspace_id)
    return add_interaction(
        db,
        account,
        external_id="q1",
        author_external_id="fan1",
        author_handle="fan1",
        text="does it come in blue? I'd take two",
        ai_intent="question",
        ai_intent_confidence=0.7,
        ai_sentiment="neutral",
        ai_sentiment_confidence=0.55,
    )


def _matched(db: Database, ws: WorkspaceFixture, interaction_id: int) -> tuple[bool, str]:
    with db.session() as session:
        definition = workflow_service.parse_definition(PURCHASE_WORKFLOW)
        results = workflow_service.dry_run(session, ws.subject, definition)
        [result] = [r for r in results if r.interaction_id == interaction_id]
        return result.matched, result.reason


def test_a_corrected_intent_changes_what_a_workflow_condition_matches(
    db: Database, ws: WorkspaceFixture
) -> None:
    interaction_id = _question(db, ws)
    matched, reason = _matched(db, ws, interaction_id)
    assert not matched and "intent is question" in reason
    with db.session() as session:
        corrections.correct_labels(session, ws.subject, interaction_id, intent="purchase_intent")
    matched, reason = _matched(db, ws, interaction_id)
    assert matched
    assert "intent purchase_intent" in reason and "corrected by a person" in reason


def test_inbox_filters_use_the_corrected_label_not_the_models(
    db: Database, ws: WorkspaceFixture
) -> None:
    interaction_id = _question(db, ws)
    with db.session() as session:
        corrections.correct_labels(
            session, ws.subject, interaction_id, intent="purchase_intent", sentiment="positive"
        )

    def ids(**filters: str) -> list[int]:
        with db.session(readonly=True) as session:
            page = inbox_service.list_interactions(
                session, ws.subject, inbox_service.InteractionFilters(**filters)
            )
            return [item.id for item in page.items]

    assert ids(intent="purchase_intent") == [interaction_id]
    assert ids(intent="question") == []
    assert ids(sentiment="positive") == [interaction_id]
    assert ids(sentiment="neutral") == []


def test_a_correction_keeps_the_models_label_and_records_who(
    db: Database, ws: WorkspaceFixture
) -> None:
    interaction_id = _question(db, ws)
    with db.session() as session:
        row = corrections.correct_labels(session, ws.subject, interaction_id, sentiment="negative")
        assert (row.sentiment, row.model_sentiment, row.intent) == ("negative", "neutral", None)
        assert row.corrected_by == f"user:{ws.owner_id}"
        again = corrections.correct_labels(session, ws.subject, interaction_id, intent="complaint")
        assert (again.sentiment, again.intent) == ("negative", "complaint")


def test_corrections_refuse_unknown_labels_and_viewers(db: Database, ws: WorkspaceFixture) -> None:
    interaction_id = _question(db, ws)
    viewer = Subject(workspace_id=ws.workspace_id, role=Role.viewer, user_id=ws.owner_id)
    with db.session() as session:
        with pytest.raises(InvalidInput, match="unknown intent"):
            corrections.correct_labels(session, ws.subject, interaction_id, intent="buy")
        with pytest.raises(InvalidInput, match="give the right"):
            corrections.correct_labels(session, ws.subject, interaction_id)
        with pytest.raises(PermissionDenied):
            corrections.correct_labels(session, viewer, interaction_id, intent="praise")


def test_the_api_takes_corrections_from_editors_in_their_workspace_only(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    interaction_id = _question(db, ws)
    other = make_workspace(db, "corrections-rival")
    url = f"/api/v1/inbox/interactions/{interaction_id}/label-correction"
    body = {"intent": "purchase_intent"}
    assert client.post(url, json=body, headers=ws.headers(Role.viewer)).status_code == 403
    assert client.post(url, json=body, headers=other.headers(Role.owner)).status_code == 404
    assert (
        client.post(url, json={"intent": "buy"}, headers=ws.headers(Role.editor)).status_code == 422
    )
    response = client.post(url, json=body, headers=ws.headers(Role.editor))
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["intent"] == "purchase_intent" and payload["model_intent"] == "question"
    listed = client.get(
        "/api/v1/inbox/interactions?intent=purchase_intent", headers=ws.headers(Role.viewer)
    ).json()
    assert [item["id"] for item in listed["items"]] == [interaction_id]
