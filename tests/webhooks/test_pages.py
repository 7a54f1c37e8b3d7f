"""Settings → Webhooks in the dashboard: add one (the secret shown once), test it, read the log,
replay, pause; bad input back on the form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from werkzeug import Response

from dashboard_pages import csrf, log_in
from factories import PASSWORD, WorkspaceFixture
from socialpulse.db import Database
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from webhooks.conftest import Receiver
from webhooks.helpers import deliveries, emit, subscribe

PAGE = "/settings/webhooks"


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+" role="status">([^<]*)</div>', html)


def _create(client: TestClient, url: str, types: list[str]) -> object:
    token = csrf(client.get(PAGE).text)
    return client.post(
        PAGE,
        data={"url": url, "description": "CRM", "event_types": types, "csrf_token": token},
    )


def test_adding_a_webhook_shows_its_secret_once(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    log_in(client, ws)
    created = _create(client, receiver.url(), ["interaction.received", "reply.sent"])
    assert created.status_code == 201  # type: ignore[attr-defined]
    html = created.text  # type: ignore[attr-defined]
    secret = re.search(r'data-testid="new-webhook-secret-value">(whsec_[^<]+)<', html)
    assert secret is not None
    assert created.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]

    again = client.get(PAGE).text
    assert receiver.url() in again and "interaction.received, reply.sent" in again
    assert secret.group(1) not in again


def test_a_private_url_is_refused_on_the_form_keeping_what_was_typed(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    log_in(client, ws)
    refused = _create(client, "http://10.0.0.7/hook", ["reply.sent"])
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    assert "not on the public internet" in html
    assert 'value="http://10.0.0.7/hook"' in html
    assert re.search(r'value="reply.sent" checked', html)
    assert "No webhooks yet." in html


def test_the_log_shows_a_failure_and_replays_it(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    receiver.answer(Response("nope", status=500))
    subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", {"id": 1})
    [failed] = deliveries(db)
    log_in(client, ws)

    page = client.get(PAGE, params={"status": "pending"}).text
    assert f'data-testid="delivery-{failed.id}"' in page and "HTTP 500" in page
    replayed = client.post(
        f"{PAGE}/deliveries/{failed.id}/replay",
        data={"csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert replayed.status_code == 303
    assert receiver.received[-1].webhook_id == failed.event_id
    assert any("replayed" in message for message in _flashes(client.get(PAGE).text))


def test_a_test_event_and_pausing_from_the_page(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscription_id = subscribe(db, ws, receiver)
    log_in(client, ws)
    token = csrf(client.get(PAGE).text)
    sent = client.post(
        f"{PAGE}/{subscription_id}/test", data={"csrf_token": token}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert receiver.received[-1].event["type"] == "webhook.test"

    client.post(f"{PAGE}/{subscription_id}/toggle", data={"csrf_token": token})
    assert "paused" in client.get(PAGE).text
    emit(db, ws.workspace_id, "interaction.received", {"id": 1})
    assert len(receiver.received) == 1


def test_members_below_admin_see_no_webhooks(
    client: TestClient, db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver)
    with db.session() as session:
        user = workspace_service.create_user(session, "editor@hooks.test", PASSWORD, "Ed")
        workspace_service.add_member(session, ws.subject, user.email, Role.editor)
        user_id = user.id
    editor = WorkspaceFixture(ws.workspace_id, ws.slug, user_id, "editor@hooks.test", ws.keys)
    log_in(client, editor)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Only a workspace admin or owner" in page.text
    assert receiver.url() not in page.text
