"""Tenancy and authorisation of every /api/v1 endpoint."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import (
    ContentItem,
    ContentMapping,
    MappingMethod,
    Post,
    TrackedAccount,
)
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    Fan,
    Interaction,
    InteractionKind,
    ReplyQueueItem,
    Workflow,
)
from socialpulse.worker.models import Job
from socialpulse.workspaces import service
from socialpulse.workspaces.models import ApiKey, Invitation, Membership, Role


@pytest.fixture
def two(db: Database) -> tuple[WorkspaceFixture, WorkspaceFixture]:
    return make_workspace(db, "alpha-co"), make_workspace(db, "beta-co")


def _other_ids(db: Database, other: WorkspaceFixture) -> dict[str, int]:
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=other.workspace_id, platform="simulated", external_id="x", handle="x"
        )
        session.add(account)
        session.flush()
        post = Post(
            workspace_id=other.workspace_id,
            account_id=account.id,
            external_id="p",
            posted_at=utcnow(),
        )
        item = ContentItem(workspace_id=other.workspace_id, title="Theirs")
        session.add_all([post, item])
        session.flush()
        mapping = ContentMapping(
            workspace_id=other.workspace_id,
            content_item_id=item.id,
            post_id=post.id,
            confidence=1.0,
            method=MappingMethod.manual,
            confirmed=True,
        )
        session.add(mapping)
        session.flush()
        member = session.scalar(
            select(Membership.id).where(Membership.workspace_id == other.workspace_id)
        )
        key = session.scalar(select(ApiKey.id).where(ApiKey.workspace_id == other.workspace_id))
        job = Job(workspace_id=other.workspace_id, kind="test.noop", payload={})
        fan = Fan(
            workspace_id=other.workspace_id, platform="simulated", external_id="f", handle="fan"
        )
        workflow = Workflow(workspace_id=other.workspace_id, name="Theirs")
        invitation = Invitation(
            workspace_id=other.workspace_id,
            email="theirs@x.test",
            role=Role.viewer,
            token_hash="0" * 64,
            expires_at=utcnow() + dt.timedelta(days=1),
        )
        session.add_all([job, fan, workflow, invitation])
        session.flush()
        interaction = Interaction(
            workspace_id=other.workspace_id,
            account_id=account.id,
            post_id=post.id,
            fan_id=fan.id,
            platform="simulated",
            kind=InteractionKind.comment,
            external_id="c",
            author_external_id="f",
            author_handle="fan",
            text="hello",
            posted_at=utcnow(),
        )
        session.add(interaction)
        session.flush()
        item = ReplyQueueItem(
            workspace_id=other.workspace_id,
            account_id=account.id,
            interaction_id=interaction.id,
            platform="simulated",
            text="hi",
            scheduled_for=utcnow(),
            idempotency_key="k-" + str(interaction.id),
        )
        session.add(item)
        session.flush()
        assert member
        assert key
        return {
            "member_id": member,
            "key_id": key,
            "job_id": job.id,
            "account_id": account.id,
            "post_id": post.id,
            "item_id": item.id,
            "mapping_id": mapping.id,
            "fan_id": fan.id,
            "workflow_id": workflow.id,
            "interaction_id": interaction.id,
            "queue_item_id": item.id,
            "invitation_id": invitation.id,
        }


# Every route with an id in its path, and a valid request body for it.
ID_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/api/v1/members/{member_id}", {"role": "viewer"}),
    ("DELETE", "/api/v1/members/{member_id}", None),
    ("DELETE", "/api/v1/api-keys/{key_id}", None),
    ("DELETE", "/api/v1/invitations/{invitation_id}", None),
    ("POST", "/api/v1/invitations/{invitation_id}/resend", None),
    ("GET", "/api/v1/jobs/{job_id}", None),
    ("GET", "/api/v1/accounts/{account_id}", None),
    ("PATCH", "/api/v1/accounts/{account_id}", {"active": False}),
    ("DELETE", "/api/v1/accounts/{account_id}", None),
    ("POST", "/api/v1/accounts/{account_id}/fetch", None),
    ("GET", "/api/v1/accounts/{account_id}/fetches", None),
    ("GET", "/api/v1/accounts/{account_id}/ai-profile", None),
    ("GET", "/api/v1/posts/{post_id}/analysis", None),
    ("GET", "/api/v1/inbox/interactions/{interaction_id}", None),
    ("PATCH", "/api/v1/inbox/interactions/{interaction_id}", {"status": "flagged"}),
    ("GET", "/api/v1/inbox/fans/{fan_id}", None),
    ("POST", "/api/v1/accounts/{account_id}/comments/poll", None),
    ("GET", "/api/v1/inbox/workflows/{workflow_id}", None),
    ("PATCH", "/api/v1/inbox/workflows/{workflow_id}", {"status": "paused"}),
    ("DELETE", "/api/v1/inbox/workflows/{workflow_id}", None),
    ("POST", "/api/v1/inbox/workflows/{workflow_id}/dry-run", None),
    ("GET", "/api/v1/inbox/workflows/{workflow_id}/matches", None),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/reply", {"text": "Thanks!"}),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/approve", {}),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/reject", None),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/hide", None),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/unhide", None),
    ("POST", "/api/v1/accounts/{account_id}/mentions/poll", None),
    ("POST", "/api/v1/inbox/queue/{queue_item_id}/retry", None),
    ("POST", "/api/v1/inbox/queue/{queue_item_id}/cancel", None),
    ("GET", "/api/v1/inbox/reply-limits/{account_id}", None),
    (
        "PUT",
        "/api/v1/inbox/reply-limits/{account_id}",
        {
            "max_per_hour": 10,
            "max_per_minute": 2,
            "min_interval_s": 20,
            "jitter_min_s": 1,
            "jitter_max_s": 5,
        },
    ),
    ("GET", "/api/v1/accounts/{account_id}/overview", None),
    ("GET", "/api/v1/accounts/{account_id}/timeseries", None),
    ("GET", "/api/v1/accounts/{account_id}/top-posts", None),
    ("GET", "/api/v1/accounts/{account_id}/posts/{post_id}/growth", None),
    ("GET", "/api/v1/accounts/{account_id}/growth", None),
    ("GET", "/api/v1/accounts/{account_id}/hashtags", None),
    ("GET", "/api/v1/accounts/{account_id}/best-times", None),
    ("GET", "/api/v1/accounts/{account_id}/export.csv", None),
    ("GET", "/api/v1/content-items/{item_id}", None),
    ("GET", "/api/v1/content-items/{item_id}/mappings", None),
    ("POST", "/api/v1/content-items/{item_id}/auto-map", None),
    ("POST", "/api/v1/content-items/{item_id}/mappings", {"post_id": 1}),
    ("POST", "/api/v1/content-mappings/{mapping_id}/confirm", None),
    ("DELETE", "/api/v1/content-mappings/{mapping_id}", None),
]

MUTATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/api/v1/workspace", {"name": "Renamed"}),
    ("POST", "/api/v1/invitations", {"email": "new@x.test", "role": "viewer"}),
    ("DELETE", "/api/v1/invitations/{invitation_id}", None),
    ("POST", "/api/v1/invitations/{invitation_id}/resend", None),
    ("PATCH", "/api/v1/members/{member_id}", {"role": "viewer"}),
    ("DELETE", "/api/v1/members/{member_id}", None),
    ("POST", "/api/v1/api-keys", {"name": "ci"}),
    ("DELETE", "/api/v1/api-keys/{key_id}", None),
    ("POST", "/api/v1/accounts", {"ref": "https://simulated.invalid/@someone"}),
    ("PATCH", "/api/v1/accounts/{account_id}", {"active": False}),
    ("DELETE", "/api/v1/accounts/{account_id}", None),
    ("POST", "/api/v1/accounts/{account_id}/fetch", None),
    ("PUT", "/api/v1/usage/budgets/youtube", {"daily_units": 100}),
    ("PATCH", "/api/v1/inbox/interactions/{interaction_id}", {"status": "flagged"}),
    (
        "POST",
        "/api/v1/inbox/interactions/bulk",
        {"ids": [1], "action": "set_status", "status": "ignored"},
    ),
    ("POST", "/api/v1/accounts/{account_id}/comments/poll", None),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/hide", None),
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/unhide", None),
    ("POST", "/api/v1/accounts/{account_id}/mentions/poll", None),
    ("PUT", "/api/v1/inbox/settings", {"superfan_min_interactions": 5}),
    ("POST", "/api/v1/inbox/workflows", {"name": "x", "actions": [{"type": "flag"}]}),
    ("PATCH", "/api/v1/inbox/workflows/{workflow_id}", {"status": "paused"}),
    ("DELETE", "/api/v1/inbox/workflows/{workflow_id}", None),
    # Dry runs run user patterns over the last interactions: editors only, like saving.
    (
        "POST",
        "/api/v1/inbox/workflows/dry-run",
        {"conditions": [{"type": "regex", "pattern": "(.|.)*~"}], "actions": [{"type": "flag"}]},
    ),
    ("POST", "/api/v1/inbox/workflows/{workflow_id}/dry-run", None),
    ("POST", "/api/v1/content-items", {"title": "New"}),
    ("POST", "/api/v1/content-items/{item_id}/auto-map", None),
    ("POST", "/api/v1/content-items/{item_id}/mappings", {"post_id": 1}),
    ("POST", "/api/v1/content-mappings/{mapping_id}/confirm", None),
    ("DELETE", "/api/v1/content-mappings/{mapping_id}", None),
]


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }


def test_every_route_with_an_id_is_covered_by_the_tenancy_table(app: FastAPI) -> None:
    with_ids = {(m, p) for m, p in _api_routes(app) if "_id}" in p}
    assert with_ids == {(m, p) for m, p, _ in ID_ROUTES}


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_other_workspace_ids_give_404(
    client: TestClient,
    db: Database,
    two: tuple[WorkspaceFixture, WorkspaceFixture],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    mine, other = two
    url = path.format(**_other_ids(db, other))
    response = client.request(method, url, json=body, headers=mine.headers())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_endpoints_show_only_own_workspace(
    client: TestClient, db: Database, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, other = two
    _other_ids(db, other)
    members = client.get("/api/v1/members", headers=mine.headers()).json()
    assert {m["email"] for m in members} == {mine.owner_email}
    keys = client.get("/api/v1/api-keys", headers=mine.headers()).json()
    assert len(keys) == len(Role)
    assert client.get("/api/v1/jobs", headers=mine.headers()).json() == []
    assert client.get("/api/v1/workspace", headers=mine.headers()).json()["slug"] == "alpha-co"


@pytest.mark.parametrize(("method", "path", "body"), MUTATIONS)
def test_viewer_mutation_gives_403(
    client: TestClient,
    db: Database,
    two: tuple[WorkspaceFixture, WorkspaceFixture],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    mine, _ = two
    url = path.format(**_other_ids(db, mine))
    response = client.request(method, url, json=body, headers=mine.headers(Role.viewer))
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "path"),
    sorted(
        {(m, p) for m, p, _ in ID_ROUTES + MUTATIONS}
        | {
            ("GET", "/api/v1/workspace"),
            ("GET", "/api/v1/members"),
            ("GET", "/api/v1/invitations"),
            ("GET", "/api/v1/api-keys"),
            ("GET", "/api/v1/jobs"),
        }
    ),
)
@pytest.mark.parametrize("auth", ["missing", "malformed", "unknown", "revoked", "basic"])
def test_missing_or_revoked_key_gives_401(
    client: TestClient,
    db: Database,
    two: tuple[WorkspaceFixture, WorkspaceFixture],
    method: str,
    path: str,
    auth: str,
) -> None:
    mine, _ = two
    ids = _other_ids(db, mine)
    headers: dict[str, str] = {}
    if auth == "malformed":
        headers = {"Authorization": "Bearer not-a-key"}
    elif auth == "unknown":
        headers = {"Authorization": "Bearer sp_zzzzzzzz_" + "x" * 43}
    elif auth == "basic":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    elif auth == "revoked":
        revoked = client.post("/api/v1/api-keys", json={"name": "tmp"}, headers=mine.headers())
        client.delete(f"/api/v1/api-keys/{revoked.json()['id']}", headers=mine.headers())
        headers = {"Authorization": f"Bearer {revoked.json()['key']}"}
    response = client.request(method, path.format(**ids), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_api_key_is_shown_once_and_stored_hashed(
    client: TestClient, db: Database, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    created = client.post("/api/v1/api-keys", json={"name": "reporting"}, headers=mine.headers())
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(f"sp_{created.json()['prefix']}_")
    listed = client.get("/api/v1/api-keys", headers=mine.headers()).json()
    assert all("key" not in item for item in listed)
    with db.session() as session:
        stored = session.get(ApiKey, created.json()["id"])
        assert stored is not None
        assert key not in (stored.key_hash, stored.prefix)
    # The new key works, and records when it was used.
    assert client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {key}"}).is_success
    used = [
        k
        for k in client.get("/api/v1/api-keys", headers=mine.headers()).json()
        if k["id"] == created.json()["id"]
    ]
    assert used[0]["last_used_at"] is not None


def test_editor_cannot_mint_an_admin_key_and_admin_cannot_grant_owner(
    client: TestClient, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    response = client.post(
        "/api/v1/api-keys", json={"name": "x", "role": "owner"}, headers=mine.headers(Role.admin)
    )
    assert response.status_code == 403
    response = client.post(
        "/api/v1/invitations",
        json={"email": "boss@x.test", "role": "owner"},
        headers=mine.headers(Role.admin),
    )
    assert response.status_code == 403


def test_last_owner_cannot_be_demoted_or_removed(
    client: TestClient, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    owner_member = client.get("/api/v1/members", headers=mine.headers()).json()[0]
    demote = client.patch(
        f"/api/v1/members/{owner_member['id']}", json={"role": "admin"}, headers=mine.headers()
    )
    assert demote.status_code == 409
    assert "at least one owner" in demote.json()["error"]["message"]
    remove = client.delete(f"/api/v1/members/{owner_member['id']}", headers=mine.headers())
    assert remove.status_code == 409


def test_members_can_be_changed_and_removed(
    client: TestClient, db: Database, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, other = two
    with db.session() as session:
        member_id = service.add_member(session, mine.subject, other.owner_email, Role.editor).id
    changed = client.patch(
        f"/api/v1/members/{member_id}", json={"role": "viewer"}, headers=mine.headers()
    )
    assert changed.json()["role"] == "viewer"
    assert client.delete(f"/api/v1/members/{member_id}", headers=mine.headers()).status_code == 204
    emails = {m["email"] for m in client.get("/api/v1/members", headers=mine.headers()).json()}
    assert emails == {mine.owner_email}


def test_creating_a_member_with_a_password_is_gone(
    client: TestClient, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    response = client.post(
        "/api/v1/members",
        json={"email": "new@x.test", "role": "viewer", "password": "pw-12345678"},
        headers=mine.headers(),
    )
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "use_invitations"
    assert "/api/v1/invitations" in response.json()["error"]["message"]
    login = client.get("/api/v1/members", headers=mine.headers()).json()
    assert "new@x.test" not in {m["email"] for m in login}


def test_invalid_request_has_the_error_body_shape(
    client: TestClient, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    response = client.patch(
        "/api/v1/workspace", json={"timezone": "Mars/Olympus"}, headers=mine.headers()
    )
    assert response.status_code == 422
    assert "unknown time zone" in response.json()["error"]["message"]
    response = client.post("/api/v1/api-keys", json={"name": ""}, headers=mine.headers())
    body = response.json()
    assert response.status_code == 422
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "invalid_input"
    assert "name" in body["error"]["message"]
