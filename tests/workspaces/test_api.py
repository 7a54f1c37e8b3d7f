"""Tenancy and authorisation of every /api/v1 endpoint (the dashboard's id routes: in
test_tenancy_dashboard.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import WorkspaceFixture
from socialpulse.db import Database
from socialpulse.workspaces import service
from socialpulse.workspaces.models import ApiKey, Role

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
    ("POST", "/api/v1/inbox/interactions/{interaction_id}/label-correction", {"intent": "praise"}),
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
    ("GET", "/api/v1/discovery/saved-searches/{search_id}", None),
    ("GET", "/api/v1/billing/payments/{event_id}", None),
    ("DELETE", "/api/v1/discovery/saved-searches/{search_id}", None),
    ("POST", "/api/v1/discovery/saved-searches/{search_id}/run", None),
    *[
        # Saved creator lists and campaigns (creators/lists_api.py, campaigns_api.py).
        ("GET", "/api/v1/lists/{list_id}", None),
        ("PATCH", "/api/v1/lists/{list_id}", {"name": "Renamed"}),
        ("DELETE", "/api/v1/lists/{list_id}", None),
        ("GET", "/api/v1/lists/{list_id}/creators", None),
        ("POST", "/api/v1/lists/{list_id}/creators", {"creator_ids": [1]}),
        ("PATCH", "/api/v1/lists/{list_id}/creators/{creator_id}", {"note": "x"}),
        ("DELETE", "/api/v1/lists/{list_id}/creators/{creator_id}", None),
        ("GET", "/api/v1/lists/{list_id}/export.{fmt}", None),
        ("GET", "/api/v1/campaigns/{campaign_id}", None),
        ("PATCH", "/api/v1/campaigns/{campaign_id}", {"name": "Renamed"}),
        ("DELETE", "/api/v1/campaigns/{campaign_id}", None),
        ("POST", "/api/v1/campaigns/{campaign_id}/creators", {"creator_id": 1}),
        ("PATCH", "/api/v1/campaigns/{campaign_id}/creators/{creator_id}", {"fee_cents": 1}),
        ("DELETE", "/api/v1/campaigns/{campaign_id}/creators/{creator_id}", None),
        ("POST", "/api/v1/campaigns/{campaign_id}/posts", {"post_ids": [1]}),
        ("DELETE", "/api/v1/campaigns/{campaign_id}/posts/{post_id}", None),
        ("POST", "/api/v1/campaigns/{campaign_id}/costs", {"label": "x", "amount_cents": 1}),
        ("PATCH", "/api/v1/campaigns/{campaign_id}/costs/{cost_id}", {"amount_cents": 2}),
        ("DELETE", "/api/v1/campaigns/{campaign_id}/costs/{cost_id}", None),
        ("GET", "/api/v1/campaigns/{campaign_id}/analysis", None),
    ],
    *[
        # Publishing (publishing/api.py).
        ("GET", "/api/v1/publishing/posts/{publishing_post_id}", None),
        ("PATCH", "/api/v1/publishing/posts/{publishing_post_id}", {"text": "Renamed"}),
        ("DELETE", "/api/v1/publishing/posts/{publishing_post_id}", None),
        ("POST", "/api/v1/publishing/posts/{publishing_post_id}/schedule", None),
        ("POST", "/api/v1/publishing/posts/{publishing_post_id}/cancel", None),
        (
            "POST",
            "/api/v1/publishing/posts/{publishing_post_id}/reschedule",
            {"scheduled_at": "2030-01-01T09:00:00Z"},
        ),
        ("GET", "/api/v1/publishing/posts/{publishing_post_id}/occurrences", None),
        (
            "POST",
            "/api/v1/publishing/posts/{publishing_post_id}/occurrences/skip",
            {"occurrence_at": "2030-01-01T09:00:00Z"},
        ),
        (
            "POST",
            "/api/v1/publishing/posts/{publishing_post_id}/occurrences/edit",
            {"occurrence_at": "2030-01-01T09:00:00Z", "text": "x"},
        ),
        ("POST", "/api/v1/publishing/deliveries/{delivery_id}/retry", None),
    ],
    # Recorded costs of ROI (insights/api.py, issue #15 part D).
    ("DELETE", "/api/v1/analytics/costs/{workspace_cost_id}", None),
    *[
        # Outbound webhooks (webhooks/api.py, issue #15).
        ("GET", "/api/v1/webhooks/subscriptions/{subscription_id}", None),
        ("PATCH", "/api/v1/webhooks/subscriptions/{subscription_id}", {"enabled": False}),
        ("DELETE", "/api/v1/webhooks/subscriptions/{subscription_id}", None),
        ("POST", "/api/v1/webhooks/subscriptions/{subscription_id}/rotate-secret", None),
        ("POST", "/api/v1/webhooks/subscriptions/{subscription_id}/test", None),
        ("GET", "/api/v1/webhooks/deliveries/{webhook_delivery_id}", None),
        ("POST", "/api/v1/webhooks/deliveries/{webhook_delivery_id}/replay", None),
    ],
    *[
        # Account snapshots and performance alerts (issue #16, items 9 and 10).
        ("GET", "/api/v1/accounts/{account_id}/snapshots", None),
        ("GET", "/api/v1/accounts/{account_id}/alert-rules", None),
        ("POST", "/api/v1/accounts/{account_id}/alert-rules", {"kind": "follower_drop"}),
        (
            "PATCH",
            "/api/v1/accounts/{account_id}/alert-rules/{rule_id}",
            {"enabled": False},
        ),
        ("DELETE", "/api/v1/accounts/{account_id}/alert-rules/{rule_id}", None),
        ("POST", "/api/v1/alerts/{alert_id}/acknowledge", None),
    ],
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
    ("POST", "/api/v1/discovery/saved-searches", {"name": "Mine", "criteria": {}}),
    ("DELETE", "/api/v1/discovery/saved-searches/{search_id}", None),
    ("POST", "/api/v1/discovery/unlock-profile", {"creator_id": 1}),
    ("POST", "/api/v1/discovery/unlock-email", {"creator_id": 1}),
    ("POST", "/api/v1/lists", {"name": "New"}),
    (
        "POST",
        "/api/v1/campaigns",
        {"name": "New", "starts_on": "2026-01-01", "ends_on": "2026-01-02"},
    ),
    ("POST", "/api/v1/publishing/posts", {"text": "x", "draft": True}),
    *[
        (method, path, body)
        for method, path, body in ID_ROUTES
        if method != "GET"
        and path.startswith(
            ("/api/v1/lists/", "/api/v1/campaigns/", "/api/v1/publishing/", "/api/v1/webhooks/")
        )
    ],
    # ROI values and recorded costs: editors and up (insights/api.py).
    ("PUT", "/api/v1/analytics/roi/settings", {"value_per_like": 0.2}),
    (
        "POST",
        "/api/v1/analytics/costs",
        {"category": "tools", "label": "x", "amount_cents": 1, "incurred_on": "2026-01-01"},
    ),
    ("DELETE", "/api/v1/analytics/costs/{workspace_cost_id}", None),
    (
        "POST",
        "/api/v1/webhooks/subscriptions",
        {"url": "https://hooks.example.com/x", "event_types": ["reply.sent"]},
    ),
    # Alert rules and acknowledging alerts: editors and up (alerts/api.py, issue #16).
    *[
        (method, path, body)
        for method, path, body in ID_ROUTES
        if method != "GET" and ("/alert-rules" in path or path.startswith("/api/v1/alerts/"))
    ],
]


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }


# Creators are public data the instance shares: any workspace reads a creator's preview by id,
# and the full report, posts and export answer 403 without the workspace's own access
# (tests/creators/test_creators_api.py), never another workspace's private rows.
SHARED_ID_ROUTES = {
    ("GET", "/api/v1/creators/{creator_id}/report"),
    ("GET", "/api/v1/creators/{creator_id}/posts"),
    ("POST", "/api/v1/creators/{creator_id}/refresh"),
    ("GET", "/api/v1/creators/{creator_id}/export.{fmt}"),
    # Discovery reads shared creators too: lookalikes (previews) and this workspace's own
    # access state of any creator.
    ("GET", "/api/v1/discovery/similar/{creator_id}"),
    ("GET", "/api/v1/discovery/access/{creator_id}"),
}


def test_every_route_with_an_id_is_covered_by_the_tenancy_table(app: FastAPI) -> None:
    with_ids = {(m, p) for m, p in _api_routes(app) if "_id}" in p}
    assert with_ids - SHARED_ID_ROUTES == {(m, p) for m, p, _ in ID_ROUTES}


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_other_workspace_ids_give_404(
    client: TestClient,
    db: Database,
    two: tuple[WorkspaceFixture, WorkspaceFixture],
    other_ids: Callable[[WorkspaceFixture], dict[str, int]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    mine, other = two
    url = path.format(**other_ids(other))
    response = client.request(method, url, json=body, headers=mine.headers())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_endpoints_show_only_own_workspace(
    client: TestClient,
    db: Database,
    two: tuple[WorkspaceFixture, WorkspaceFixture],
    other_ids: Callable[[WorkspaceFixture], dict[str, int]],
) -> None:
    mine, other = two
    other_ids(other)
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
    other_ids: Callable[[WorkspaceFixture], dict[str, int]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    mine, _ = two
    url = path.format(**other_ids(mine))
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
    other_ids: Callable[[WorkspaceFixture], dict[str, int]],
    method: str,
    path: str,
    auth: str,
) -> None:
    mine, _ = two
    ids = other_ids(mine)
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
