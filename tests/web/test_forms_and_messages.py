"""Forms and messages across the dashboard: typed values survive an error, a value a route
cannot read gets a page in words (never the API's JSON), new API keys default to viewer with a
copy button, and switching workspace keeps the page where it exists (never an open redirect)."""

from __future__ import annotations

import html

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboard_pages import csrf, log_in
from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject


def _client(app: FastAPI, ws: WorkspaceFixture) -> tuple[TestClient, str]:
    client = TestClient(app)
    log_in(client, ws)
    return client, csrf(client.get("/settings/workspace").text)


def test_new_api_keys_default_to_viewer_and_come_with_a_copy_button(
    app: FastAPI, db: Database
) -> None:
    ws = make_workspace(db, "keys-default")
    client, token = _client(app, ws)
    form = client.get("/settings/api-keys").text.split('action="/settings/api-keys"')[1]
    assert '<option value="viewer" selected>' in form
    created = client.post("/settings/api-keys", data={"csrf_token": token, "name": "reports"})
    assert created.status_code == 201
    assert 'data-testid="copy-key"' in created.text and "/static/copy.js" in created.text
    assert 'aria-live="polite"' in created.text
    with db.session(readonly=True) as s:
        subject = Subject(workspace_id=ws.workspace_id, role=Role.owner, user_id=ws.owner_id)
        keys = {k.name: k.role for k in service.list_api_keys(s, subject)}
    assert keys["reports"] == Role.viewer


def test_revoking_an_api_key_asks_first_and_acts_only_when_confirmed(
    app: FastAPI, db: Database
) -> None:
    ws = make_workspace(db, "keys-revoke")
    client, token = _client(app, ws)
    client.post("/settings/api-keys", data={"csrf_token": token, "name": "nightly export"})
    subject = Subject(workspace_id=ws.workspace_id, role=Role.owner, user_id=ws.owner_id)
    with db.session(readonly=True) as s:
        (key,) = [k for k in service.list_api_keys(s, subject) if k.name == "nightly export"]
    path = f"/settings/api-keys/{key.id}/revoke"
    asked = client.post(path, data={"csrf_token": token})
    assert asked.status_code == 200
    assert "Revoke the API key nightly export?" in asked.text
    assert 'name="confirmed" value="1"' in asked.text and 'href="/settings/api-keys"' in asked.text
    with db.session(readonly=True) as s:
        assert service.get_api_key(s, subject, key.id).revoked_at is None  # nothing happened yet
    done = client.post(path, data={"csrf_token": token, "confirmed": "1"})
    assert "Key nightly export revoked." in done.text
    with db.session(readonly=True) as s:
        assert service.get_api_key(s, subject, key.id).revoked_at is not None


def test_a_refused_api_key_keeps_the_chosen_role(app: FastAPI, db: Database) -> None:
    ws = make_workspace(db, "keys-refused")
    client, token = _client(app, ws)
    page = client.post(
        "/settings/api-keys", data={"csrf_token": token, "name": "   ", "role": "editor"}
    )
    assert page.status_code == 422
    assert "an API key needs a name" in page.text
    assert '<option value="editor" selected>' in page.text


def test_a_bad_time_zone_keeps_what_was_typed(app: FastAPI, db: Database) -> None:
    ws = make_workspace(db, "tz-typed")
    client, token = _client(app, ws)
    page = client.post(
        "/settings/workspace",
        data={"csrf_token": token, "name": "Renamed Studio", "timezone": "Mars/Olympus"},
    )
    assert page.status_code == 422
    assert "Mars/Olympus" in html.unescape(page.text.split('data-testid="form-errors"')[1])
    assert 'value="Renamed Studio"' in page.text and 'value="Mars/Olympus"' in page.text
    assert "Tz-Typed" in client.get("/settings/workspace").text  # nothing half-saved


def test_a_refused_invitation_keeps_the_email_and_role(app: FastAPI, db: Database) -> None:
    ws = make_workspace(db, "invite-typed")
    client, token = _client(app, ws)
    page = client.post(
        "/settings/invitations",
        data={"csrf_token": token, "email": "not-an-email", "role": "editor"},
    )
    assert page.status_code == 422
    assert 'data-testid="form-errors"' in page.text
    assert 'value="not-an-email"' in page.text and '<option value="editor" selected>' in page.text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/inbox/analytics?days=abc", None),
        ("/switch-workspace", {"workspace_id": "abc"}),
    ],
)
def test_a_value_a_route_cannot_read_gets_a_page_in_words_not_json(
    app: FastAPI, db: Database, path: str, data: dict[str, str] | None
) -> None:
    ws = make_workspace(db, "friendly-422")
    client, token = _client(app, ws)
    if data is None:
        response = client.get(path)
    else:
        response = client.post(path, data=data | {"csrf_token": token})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    lines = html.unescape(response.text.split('data-testid="error-lines"')[1])
    assert "should be a whole number (you typed 'abc')" in lines
    api = client.get(
        "/api/v1/inbox/fans?limit=abc", headers={"Authorization": f"Bearer {ws.keys[Role.owner]}"}
    )
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    ("current", "lands_on"),
    [
        ("/settings/budgets", "/settings/budgets"),
        ("/inbox/workflows", "/inbox/workflows"),
        ("/accounts/12", "/accounts"),
        ("/inbox/fans/7", "/inbox"),
        ("/inbox?fan=7&account=3", "/inbox"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/api/v1/workspace", "/"),
        ("/no/such/page", "/"),
    ],
)
def test_switching_workspace_keeps_the_page_where_it_exists(
    app: FastAPI, db: Database, current: str, lands_on: str
) -> None:
    ws = make_workspace(db, "switch-from")
    other = make_workspace(db, "switch-to", email=ws.owner_email)
    client, token = _client(app, ws)
    response = client.post(
        "/switch-workspace",
        data={"csrf_token": token, "workspace_id": str(other.workspace_id), "next": current},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == lands_on
    page = client.get("/settings/workspace").text
    assert 'value="Switch-To"' in page  # the other workspace is the current one now


def test_every_page_posts_its_own_path_to_the_switcher(app: FastAPI, db: Database) -> None:
    ws = make_workspace(db, "switch-field")
    client, _ = _client(app, ws)
    page = client.get("/settings/reply-limits").text
    switcher = page.split('data-testid="workspace-switcher"')[1].split("</form>")[0]
    assert '<input type="hidden" name="next" value="/settings/reply-limits">' in switcher
