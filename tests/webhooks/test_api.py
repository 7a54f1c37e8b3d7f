"""/api/v1/webhooks: subscriptions (secret shown once, URLs checked by the egress policy),
roles, the delivery log, test events and replays."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from werkzeug import Response

from factories import WorkspaceFixture
from socialpulse.db import Database
from socialpulse.webhooks.models import WebhookSubscription
from socialpulse.workspaces.models import Role
from webhooks.conftest import Receiver
from webhooks.helpers import BOX, emit

API = "/api/v1/webhooks"


def _create(client: TestClient, ws: WorkspaceFixture, url: str, **extra: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ["interaction.received", "reply.sent"], **extra}
    response = client.post(f"{API}/subscriptions", json=body, headers=ws.headers())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_the_secret_is_shown_once_and_stored_encrypted(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url(), description="CRM")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["interaction.received", "reply.sent"]

    read = client.get(f"{API}/subscriptions/{created['id']}", headers=ws.headers()).json()
    listed = client.get(f"{API}/subscriptions", headers=ws.headers()).json()
    assert "secret" not in read and all("secret" not in s for s in listed)
    with db.session(readonly=True) as session:
        stored = session.scalar(select(WebhookSubscription.secret_encrypted))
    assert stored is not None and created["secret"] not in stored
    assert BOX.decrypt(stored) == created["secret"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_url_into_the_private_network_is_refused(
    client: TestClient, db: Database, ws: WorkspaceFixture, url: str
) -> None:
    body = {"url": url, "event_types": ["reply.sent"]}
    response = client.post(f"{API}/subscriptions", json=body, headers=ws.headers())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "not on the public internet" in error["message"]
    assert "SOCIALPULSE_EGRESS_ALLOW" in error["message"]
    assert client.get(f"{API}/subscriptions", headers=ws.headers()).json() == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "https://"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https:///nohost", "no host"),
    ],
)
def test_a_malformed_url_is_refused_with_its_reason(
    client: TestClient, db: Database, ws: WorkspaceFixture, url: str, message: str
) -> None:
    body = {"url": url, "event_types": ["reply.sent"]}
    response = client.post(f"{API}/subscriptions", json=body, headers=ws.headers())
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_an_unknown_event_type_is_refused(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    body = {"url": receiver.url(), "event_types": ["post.deleted"]}
    response = client.post(f"{API}/subscriptions", json=body, headers=ws.headers())
    assert response.status_code == 422
    assert "event_types" in response.json()["error"]["message"]


def test_a_private_url_is_accepted_once_the_operator_allows_it(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    # The receiver fixture allowed 127.0.0.1, as SOCIALPULSE_EGRESS_ALLOW=127.0.0.1 would.
    assert _create(client, ws, receiver.url())["url"] == receiver.url()


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_only_admins_manage_webhooks(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver, role: Role
) -> None:
    body = {"url": receiver.url(), "event_types": ["reply.sent"]}
    created = client.post(f"{API}/subscriptions", json=body, headers=ws.headers(role))
    listed = client.get(f"{API}/subscriptions", headers=ws.headers(role))
    log = client.get(f"{API}/deliveries", headers=ws.headers(role))
    assert [created.status_code, listed.status_code, log.status_code] == [403, 403, 403]


def test_a_test_event_reaches_the_receiver_and_shows_in_the_log(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url())
    receiver.secrets["/hook"] = created["secret"]

    queued = client.post(f"{API}/subscriptions/{created['id']}/test", headers=ws.headers())
    assert queued.status_code == 202
    [got] = receiver.received
    assert got.signature_ok and got.event["type"] == "webhook.test"
    log = client.get(f"{API}/deliveries", headers=ws.headers()).json()
    assert [(d["id"], d["status"], d["last_status_code"]) for d in log["items"]] == [
        (queued.json()["id"], "delivered", 204)
    ]


def test_the_log_filters_by_status_and_type_and_pages_newest_first(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url())
    receiver.answer(*[Response("busy", status=500) for _ in range(2)])
    for n in range(5):
        emit(db, ws.workspace_id, "interaction.received", {"id": n})
    emit(db, ws.workspace_id, "reply.sent", {"id": 99})

    def ids(**params: object) -> list[int]:
        body = client.get(f"{API}/deliveries", params=params, headers=ws.headers()).json()
        return [d["id"] for d in body["items"]]

    assert ids() == [6, 5, 4, 3, 2, 1]
    assert ids(status="pending") == [2, 1]
    assert ids(event_type="reply.sent") == [6]
    assert ids(subscription_id=created["id"], status="delivered") == [6, 5, 4, 3]
    first = client.get(f"{API}/deliveries", params={"limit": 4}, headers=ws.headers()).json()
    assert first["next_cursor"] == 3
    rest = client.get(
        f"{API}/deliveries", params={"limit": 4, "before_id": 3}, headers=ws.headers()
    ).json()
    assert ([d["id"] for d in rest["items"]], rest["next_cursor"]) == ([2, 1], None)


def test_replay_via_the_api_sends_the_same_webhook_id(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url())
    receiver.secrets["/hook"] = created["secret"]
    emit(db, ws.workspace_id, "reply.sent", {"id": 1})
    [original] = client.get(f"{API}/deliveries", headers=ws.headers()).json()["items"]

    replay = client.post(f"{API}/deliveries/{original['id']}/replay", headers=ws.headers())
    assert replay.status_code == 202
    assert replay.json()["event_id"] == original["event_id"]
    assert replay.json()["replay_of_id"] == original["id"]
    assert [r.webhook_id for r in receiver.received] == [original["event_id"]] * 2


def test_a_disabled_subscription_cannot_be_pinged_or_replayed(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url())
    emit(db, ws.workspace_id, "reply.sent", {"id": 1})
    [delivered] = client.get(f"{API}/deliveries", headers=ws.headers()).json()["items"]
    patched = client.patch(
        f"{API}/subscriptions/{created['id']}", json={"enabled": False}, headers=ws.headers()
    )
    assert patched.json()["enabled"] is False

    ping = client.post(f"{API}/subscriptions/{created['id']}/test", headers=ws.headers())
    replay = client.post(f"{API}/deliveries/{delivered['id']}/replay", headers=ws.headers())
    assert [ping.status_code, replay.status_code] == [409, 409]
    assert "disabled" in ping.json()["error"]["message"]


def test_rotating_the_secret_returns_a_new_one_once(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url())
    rotated = client.post(
        f"{API}/subscriptions/{created['id']}/rotate-secret", headers=ws.headers()
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]


def test_deleting_a_subscription_removes_its_log(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    created = _create(client, ws, receiver.url())
    emit(db, ws.workspace_id, "reply.sent", {"id": 1})
    deleted = client.delete(f"{API}/subscriptions/{created['id']}", headers=ws.headers())
    assert deleted.status_code == 204
    assert client.get(f"{API}/deliveries", headers=ws.headers()).json()["items"] == []


def test_another_workspaces_log_is_not_listed(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    other_ws: WorkspaceFixture,
    receiver: Receiver,
) -> None:
    _create(client, other_ws, receiver.url())
    emit(db, other_ws.workspace_id, "reply.sent", {"id": 1})
    assert client.get(f"{API}/deliveries", headers=ws.headers()).json()["items"] == []
    assert client.get(f"{API}/subscriptions", headers=ws.headers()).json() == []
