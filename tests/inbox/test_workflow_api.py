"""Workflow routes: CRUD, pause/reorder, dry runs, matches; roles and workspace isolation."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox.models import (
    Interaction,
    InteractionKind,
    InteractionStatus,
    Workflow,
    WorkflowMatch,
)
from socialpulse.inbox.workflows.engine import apply_new_interaction_workflows
from socialpulse.workspaces.models import Role

URL = "/api/v1/inbox/workflows"
T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

FLAG_COMPLAINTS: dict[str, Any] = {
    "name": "Escalate complaints",
    "conditions": [{"type": "intent", "values": ["complaint"], "min_confidence": 0.6}],
    "actions": [{"type": "flag"}, {"type": "label", "name": "escalated"}],
}


@pytest.fixture
def api(client: TestClient) -> TestClient:
    return client


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "fern-and-fig")


@pytest.fixture
def other(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "rival-shop")


def add_interactions(db: Database, ws: WorkspaceFixture, *intents: str) -> list[int]:
    with db.session() as session:
        account = session.scalar(
            select(TrackedAccount).where(TrackedAccount.workspace_id == ws.workspace_id)
        )
        if account is None:
            account = TrackedAccount(
                workspace_id=ws.workspace_id,
                platform="simulated",
                external_id=f"own-{ws.slug}",
                handle=ws.slug,
            )
            session.add(account)
            session.flush()
        ids = []
        for n, intent in enumerate(intents):
            interaction = Interaction(
                workspace_id=ws.workspace_id,
                account_id=account.id,
                platform="simulated",
                kind=InteractionKind.comment,
                external_id=uuid.uuid4().hex,
                author_external_id=f"fan-{n}",
                author_handle=f"fan_{n}",
                text=f"comment {n}",
                posted_at=T0 + dt.timedelta(minutes=n),
                ai_sentiment="negative" if intent == "complaint" else "positive",
                ai_sentiment_confidence=0.9,
                ai_language="en",
                ai_intent=intent,
                ai_intent_confidence=0.8,
                ai_toxic=False,
            )
            session.add(interaction)
            session.flush()
            ids.append(interaction.id)
        return ids


def create(api: TestClient, ws: WorkspaceFixture, body: dict[str, Any] | None = None) -> int:
    response = api.post(URL, json=body or FLAG_COMPLAINTS, headers=ws.headers(Role.editor))
    assert response.status_code == 201, response.text
    workflow_id: int = response.json()["id"]
    return workflow_id


def test_create_list_read_update_delete(api: TestClient, ws: WorkspaceFixture) -> None:
    response = api.post(URL, json=FLAG_COMPLAINTS, headers=ws.headers(Role.editor))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "active"
    assert created["trigger"] == "new_interaction"
    assert created["conditions"] == FLAG_COMPLAINTS["conditions"]
    assert created["triggered_count"] == 0
    second = create(api, ws, {**FLAG_COMPLAINTS, "name": "Second", "priority": 10})

    listed = api.get(URL, headers=ws.headers(Role.viewer)).json()
    assert [w["id"] for w in listed] == [second, created["id"]]  # lower priority first

    reordered = api.patch(
        f"{URL}/{created['id']}", json={"priority": 1}, headers=ws.headers(Role.editor)
    )
    assert reordered.status_code == 200, reordered.text
    listed = api.get(URL, headers=ws.headers(Role.viewer)).json()
    assert [w["id"] for w in listed] == [created["id"], second]

    paused = api.patch(
        f"{URL}/{created['id']}", json={"status": "paused"}, headers=ws.headers(Role.editor)
    )
    assert paused.json()["status"] == "paused"
    assert paused.json()["actions"] == FLAG_COMPLAINTS["actions"]  # untouched fields kept
    read = api.get(f"{URL}/{created['id']}", headers=ws.headers(Role.viewer))
    assert read.json()["status"] == "paused"

    deleted = api.delete(f"{URL}/{created['id']}", headers=ws.headers(Role.editor))
    assert deleted.status_code == 204
    assert api.get(f"{URL}/{created['id']}", headers=ws.headers()).status_code == 404


def test_switching_to_a_time_trigger(api: TestClient, ws: WorkspaceFixture) -> None:
    workflow_id = create(api, ws)
    response = api.patch(
        f"{URL}/{workflow_id}",
        json={"trigger": "unanswered_for", "trigger_hours": 24},
        headers=ws.headers(Role.editor),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["trigger"], response.json()["trigger_hours"]) == (
        "unanswered_for",
        24.0,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"actions": [{"type": "auto_reply", "template": "Hi {fan_nickname}"}]},
            "unknown template variable {fan_nickname}",
        ),
        (
            {
                "conditions": [{"type": "regex", "pattern": "x" * 600}],
                "actions": [{"type": "flag"}],
            },
            "conditions.0.regex.pattern: Value error, regex is 600 characters long; the limit"
            " is 512",
        ),
        (
            {
                "conditions": [
                    {"type": "platform", "values": ["youtube"]},
                    {"type": "regex", "pattern": r"(\w)\1"},
                ],
                "actions": [{"type": "flag"}],
            },
            r"conditions.1.regex.pattern: Value error, regex /(\w)\1/ cannot be used: "
            r"backreferences like \1 are not supported",
        ),
        ({"trigger": "unanswered_for"}, "needs trigger_hours"),
        ({"conditions": [{"type": "sentiment", "values": ["angry"]}]}, "sentiment.values.0"),
        ({"conditions": [{"type": "fan_followers"}]}, "needs min, max or both"),
        ({"actions": []}, "at least 1 item"),
        ({"actions": [{"type": "assign", "user_id": 999_999}]}, "user 999999 is not a member"),
    ],
)
def test_invalid_workflows_get_a_clear_422(
    api: TestClient, ws: WorkspaceFixture, change: dict[str, Any], message: str
) -> None:
    response = api.post(URL, json={**FLAG_COMPLAINTS, **change}, headers=ws.headers())
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert api.get(URL, headers=ws.headers()).json() == []


def test_invalid_update_is_rejected_and_nothing_changes(
    api: TestClient, ws: WorkspaceFixture
) -> None:
    workflow_id = create(api, ws)
    response = api.patch(
        f"{URL}/{workflow_id}", json={"trigger": "unanswered_for"}, headers=ws.headers()
    )
    assert response.status_code == 422
    assert "needs trigger_hours" in response.json()["error"]["message"]
    assert api.get(f"{URL}/{workflow_id}", headers=ws.headers()).json()["trigger"] == (
        "new_interaction"
    )


def test_viewers_cannot_change_workflows(api: TestClient, ws: WorkspaceFixture) -> None:
    workflow_id = create(api, ws)
    viewer = ws.headers(Role.viewer)
    assert api.post(URL, json=FLAG_COMPLAINTS, headers=viewer).status_code == 403
    patched = api.patch(f"{URL}/{workflow_id}", json={"status": "paused"}, headers=viewer)
    assert patched.status_code == 403
    assert patched.json()["error"]["code"] == "permission_denied"
    assert api.delete(f"{URL}/{workflow_id}", headers=viewer).status_code == 403
    assert api.get(f"{URL}/{workflow_id}", headers=viewer).json()["status"] == "active"


def test_another_workspaces_workflow_is_not_found(
    api: TestClient, ws: WorkspaceFixture, other: WorkspaceFixture
) -> None:
    workflow_id = create(api, ws)
    theirs = other.headers()
    assert api.get(URL, headers=theirs).json() == []
    assert api.get(f"{URL}/{workflow_id}", headers=theirs).status_code == 404
    patch = api.patch(f"{URL}/{workflow_id}", json={"status": "paused"}, headers=theirs)
    assert patch.status_code == 404
    assert api.delete(f"{URL}/{workflow_id}", headers=theirs).status_code == 404
    assert api.post(f"{URL}/{workflow_id}/dry-run", headers=theirs).status_code == 404
    assert api.get(f"{URL}/{workflow_id}/matches", headers=theirs).status_code == 404
    assert api.get(f"{URL}/{workflow_id}", headers=ws.headers()).json()["status"] == "active"


def test_dry_run_of_a_definition_previews_and_saves_nothing(
    api: TestClient, ws: WorkspaceFixture, other: WorkspaceFixture, db: Database
) -> None:
    complaint, praise = add_interactions(db, ws, "complaint", "praise")
    add_interactions(db, other, "complaint")
    response = api.post(f"{URL}/dry-run", json=FLAG_COMPLAINTS, headers=ws.headers(Role.editor))
    assert response.status_code == 200, response.text
    results = {r["interaction_id"]: r for r in response.json()}
    assert set(results) == {complaint, praise}  # only this workspace's interactions
    assert results[complaint]["matched"] is True
    assert results[complaint]["reason"] == "intent complaint (0.80)"
    assert results[complaint]["actions"] == ["flag", "label: escalated"]
    assert results[praise]["matched"] is False
    assert results[praise]["reason"] == "intent is praise, not complaint"
    assert api.get(URL, headers=ws.headers()).json() == []
    with db.session(readonly=True) as session:
        assert session.get(Interaction, complaint).status == InteractionStatus.unread  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(WorkflowMatch)) == 0


def test_dry_run_limit_and_validation(api: TestClient, ws: WorkspaceFixture, db: Database) -> None:
    add_interactions(db, ws, "complaint", "complaint", "complaint")
    response = api.post(f"{URL}/dry-run?limit=2", json=FLAG_COMPLAINTS, headers=ws.headers())
    assert len(response.json()) == 2
    bad = api.post(
        f"{URL}/dry-run",
        json={"actions": [{"type": "auto_reply", "template": "{oops}"}]},
        headers=ws.headers(),
    )
    assert bad.status_code == 422
    assert "unknown template variable {oops}" in bad.json()["error"]["message"]


def test_saved_workflow_dry_run_and_matches(
    api: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    workflow_id = create(api, ws)
    complaint, praise = add_interactions(db, ws, "complaint", "praise")
    with db.session() as session:
        apply_new_interaction_workflows(session, [complaint, praise])
    later = add_interactions(db, ws, "complaint")
    preview = api.post(f"{URL}/{workflow_id}/dry-run", headers=ws.headers(Role.editor))
    assert preview.status_code == 200, preview.text
    flags = {r["interaction_id"]: (r["matched"], r["already_applied"]) for r in preview.json()}
    assert flags[complaint] == (True, True)
    assert flags[praise] == (False, False)
    assert flags[later[0]] == (True, False)

    listed = api.get(f"{URL}/{workflow_id}/matches?limit=10", headers=ws.headers(Role.viewer))
    assert listed.status_code == 200
    assert [
        (m["interaction_id"], m["reason"], m["actions_applied"], m["flagged"])
        for m in listed.json()
    ] == [(complaint, "intent complaint (0.80)", ["flag", "label: escalated"], True)]
    read = api.get(f"{URL}/{workflow_id}", headers=ws.headers()).json()
    assert (read["triggered_count"], read["flagged_count"]) == (1, 1)
    with db.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Workflow)) == 1
    assert api.get(f"{URL}/{workflow_id}/matches?limit=0", headers=ws.headers()).status_code == 422


def test_requests_without_a_key_are_rejected(api: TestClient) -> None:
    assert api.get(URL).status_code == 401


# --------------------------------------------------------------------------- user regexes

CATASTROPHIC: dict[str, Any] = {
    "conditions": [{"type": "regex", "pattern": "(.|.)*~"}],
    "actions": [{"type": "flag"}],
}


def set_texts(db: Database, texts: dict[int, str]) -> None:
    with db.session() as session:
        for interaction_id, text in texts.items():
            interaction = session.get(Interaction, interaction_id)
            assert interaction is not None
            interaction.text = text


def test_dry_run_needs_the_editor_role(api: TestClient, ws: WorkspaceFixture) -> None:
    """The reported request: a viewer key posting a catastrophic pattern to the dry run."""
    workflow_id = create(api, ws)
    viewer = ws.headers(Role.viewer)
    response = api.post(f"{URL}/dry-run", json=CATASTROPHIC, headers=viewer)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "permission_denied"
    saved = api.post(f"{URL}/{workflow_id}/dry-run", headers=viewer)
    assert saved.status_code == 403, saved.text


def test_catastrophic_pattern_dry_run_answers_at_once(
    api: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    """(.|.)*~ over a text with no "~": a backtracking engine tries about 2**n paths (with
    `re`, ~25 s at n=27 and twice that per extra character, holding the GIL: every request of the
    process waits); RE2 reads the text once."""
    tilde, long_text, short = add_interactions(db, ws, "question", "question", "question")
    set_texts(db, {tilde: "see you soon ~", long_text: "a" * 27, short: "ok"})
    started = time.perf_counter()
    response = api.post(f"{URL}/dry-run", json=CATASTROPHIC, headers=ws.headers(Role.editor))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    matched = {r["interaction_id"]: r["matched"] for r in response.json()}
    assert matched == {tilde: True, long_text: False, short: False}
    assert elapsed < 5.0


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(\w+) \1", r"backreferences like \1 are not supported"),
        ("refund(?! policy)", "negative lookahead (?!...) is not supported"),
        ("(?<=@)shop", "lookbehind (?<=...) is not supported"),
        ("a" * 513, "513 characters long; the limit is 512"),
    ],
)
def test_dry_run_rejects_patterns_re2_cannot_run(
    api: TestClient, ws: WorkspaceFixture, pattern: str, message: str
) -> None:
    body = {
        "conditions": [
            {"type": "keywords", "words": ["refund"]},
            {"type": "regex", "pattern": pattern},
        ],
        "actions": [{"type": "flag"}],
    }
    response = api.post(f"{URL}/dry-run", json=body, headers=ws.headers(Role.editor))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "body.conditions.1.regex.pattern" in error["message"]
    assert message in error["message"]
    saved = api.post(URL, json={**body, "name": "x"}, headers=ws.headers(Role.editor))
    assert saved.status_code == 422
    assert message in saved.json()["error"]["message"]
    assert api.get(URL, headers=ws.headers()).json() == []


def test_updating_a_workflow_to_an_unsupported_pattern_is_rejected(
    api: TestClient, ws: WorkspaceFixture
) -> None:
    workflow_id = create(api, ws)
    response = api.patch(
        f"{URL}/{workflow_id}",
        json={"conditions": [{"type": "regex", "pattern": "(?=x)y"}]},
        headers=ws.headers(Role.editor),
    )
    assert response.status_code == 422, response.text
    assert "lookahead (?=...) is not supported" in response.json()["error"]["message"]
    read = api.get(f"{URL}/{workflow_id}", headers=ws.headers()).json()
    assert read["conditions"] == FLAG_COMPLAINTS["conditions"]
