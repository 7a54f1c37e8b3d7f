"""Reply queue routes: roles, workspaces, and what each route does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.workspaces.models import Role


@pytest.fixture
def api(client: TestClient) -> TestClient:
    return client


def _awaiting_approval(
    db: Database, ws: WorkspaceFixture, platform: str = "youtube"
) -> tuple[int, int]:
    """(account id, interaction id): a fan's question with a drafted reply awaiting approval."""
    account_id = add_account(db, ws.workspace_id, platform, handle="own", external_id="UCown")
    interaction_id = add_interaction(
        db,
        account_id,
        external_id="c1",
        author_external_id="fan",
        author_handle="fan",
        text="Where can I buy this?",
        status=InteractionStatus.awaiting_approval,
        suggested_reply="Link is in the description!",
        suggested_reply_source="intent:purchase",
    )
    return account_id, interaction_id


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "replies-api")


@pytest.fixture
def other(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "someone-else")


def test_reply_queues_the_text_with_its_scheduled_time(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _, interaction = _awaiting_approval(db, ws)
    before = utcnow()
    response = api.post(
        f"/api/v1/inbox/interactions/{interaction}/reply",
        json={"text": "Thank you!"},
        headers=ws.headers(Role.editor),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending" and body["text"] == "Thank you!"
    scheduled = dt.datetime.fromisoformat(body["scheduled_for"])
    assert before + dt.timedelta(seconds=5) <= scheduled <= utcnow() + dt.timedelta(seconds=30)
    listed = api.get("/api/v1/inbox/queue?status=pending", headers=ws.headers(Role.viewer))
    assert [i["id"] for i in listed.json()] == [body["id"]]
    again = api.post(
        f"/api/v1/inbox/interactions/{interaction}/reply",
        json={"text": "Thanks again"},
        headers=ws.headers(),
    )
    assert again.status_code == 409


def test_reply_longer_than_the_platform_allows_is_a_422(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _, interaction = _awaiting_approval(db, ws, "mastodon")
    response = api.post(
        f"/api/v1/inbox/interactions/{interaction}/reply",
        json={"text": "x" * 501},
        headers=ws.headers(),
    )
    assert response.status_code == 422
    assert "500 characters" in response.json()["error"]["message"]


def test_approve_queues_the_edited_draft_and_reject_drops_it(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _, interaction = _awaiting_approval(db, ws)
    approved = api.post(
        f"/api/v1/inbox/interactions/{interaction}/approve",
        json={"text": "Link in the description, enjoy!"},
        headers=ws.headers(Role.editor),
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["text"] == "Link in the description, enjoy!"
    rejected = api.post(
        f"/api/v1/inbox/interactions/{interaction}/reject", headers=ws.headers(Role.editor)
    )
    assert rejected.status_code == 200
    assert rejected.json()["suggested_reply"] is None


def test_approve_without_text_queues_the_draft(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _, interaction = _awaiting_approval(db, ws)
    response = api.post(
        f"/api/v1/inbox/interactions/{interaction}/approve", headers=ws.headers(Role.editor)
    )
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "Link is in the description!"


def test_cancel_then_retry_a_reply(api: TestClient, db: Database, ws: WorkspaceFixture) -> None:
    _, interaction = _awaiting_approval(db, ws)
    item = api.post(
        f"/api/v1/inbox/interactions/{interaction}/reply",
        json={"text": "Hi"},
        headers=ws.headers(),
    ).json()
    cancelled = api.post(f"/api/v1/inbox/queue/{item['id']}/cancel", headers=ws.headers())
    assert cancelled.json()["status"] == "cancelled"
    assert (
        api.post(f"/api/v1/inbox/queue/{item['id']}/cancel", headers=ws.headers()).status_code
        == 409
    )
    retried = api.post(f"/api/v1/inbox/queue/{item['id']}/retry", headers=ws.headers())
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    with db.session() as session:
        row = session.get(ReplyQueueItem, item["id"])
        assert row is not None and row.status == ReplyStatus.pending


def test_reply_limits_show_defaults_and_admins_override_them(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    account, _ = _awaiting_approval(db, ws)
    shown = api.get(f"/api/v1/inbox/reply-limits/{account}", headers=ws.headers(Role.viewer))
    assert shown.json() | {} == {
        "account_id": account,
        "platform": "youtube",
        "custom": False,
        "max_per_hour": 60,
        "max_per_minute": 5,
        "min_interval_s": 10.0,
        "jitter_min_s": 5.0,
        "jitter_max_s": 30.0,
    }
    body = {
        "max_per_hour": 20,
        "max_per_minute": 2,
        "min_interval_s": 30,
        "jitter_min_s": 1,
        "jitter_max_s": 2,
    }
    assert (
        api.put(
            f"/api/v1/inbox/reply-limits/{account}", json=body, headers=ws.headers(Role.editor)
        ).status_code
        == 403
    )
    saved = api.put(
        f"/api/v1/inbox/reply-limits/{account}", json=body, headers=ws.headers(Role.admin)
    )
    assert saved.status_code == 200 and saved.json()["custom"] is True
    bad = api.put(
        f"/api/v1/inbox/reply-limits/{account}",
        json=body | {"jitter_max_s": 0.5},
        headers=ws.headers(Role.admin),
    )
    assert bad.status_code == 422
    again = api.get(f"/api/v1/inbox/reply-limits/{account}", headers=ws.headers())
    assert again.json()["max_per_hour"] == 20


def _routes(
    interaction: int, item: int, account: int
) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", f"/api/v1/inbox/interactions/{interaction}/reply", {"text": "hi"}),
        ("POST", f"/api/v1/inbox/interactions/{interaction}/approve", None),
        ("POST", "/api/v1/inbox/interactions/bulk/approve", {"ids": [interaction]}),
        ("POST", f"/api/v1/inbox/interactions/{interaction}/reject", None),
        ("POST", f"/api/v1/inbox/queue/{item}/retry", None),
        ("POST", f"/api/v1/inbox/queue/{item}/cancel", None),
        (
            "PUT",
            f"/api/v1/inbox/reply-limits/{account}",
            {
                "max_per_hour": 5,
                "max_per_minute": 1,
                "min_interval_s": 1,
                "jitter_min_s": 0,
                "jitter_max_s": 0,
            },
        ),
    ]


def _queued(api: TestClient, ws: WorkspaceFixture, interaction: int) -> int:
    response = api.post(
        f"/api/v1/inbox/interactions/{interaction}/reply",
        json={"text": "queued"},
        headers=ws.headers(),
    )
    item_id: int = response.json()["id"]
    return item_id


def test_viewers_cannot_change_anything(
    api: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    account, interaction = _awaiting_approval(db, ws)
    item = _queued(api, ws, interaction)
    for method, path, body in _routes(interaction, item, account):
        response = api.request(method, path, json=body, headers=ws.headers(Role.viewer))
        assert response.status_code == 403, (method, path)


def test_other_workspaces_ids_are_not_found(
    api: TestClient, db: Database, ws: WorkspaceFixture, other: WorkspaceFixture
) -> None:
    account, interaction = _awaiting_approval(db, ws)
    item = _queued(api, ws, interaction)
    for method, path, body in _routes(interaction, item, account):
        response = api.request(method, path, json=body, headers=other.headers())
        assert response.status_code == 404, (method, path, response.text)
    assert (
        api.get(f"/api/v1/inbox/reply-limits/{account}", headers=other.headers()).status_code == 404
    )
    assert api.get("/api/v1/inbox/queue", headers=other.headers()).json() == []
