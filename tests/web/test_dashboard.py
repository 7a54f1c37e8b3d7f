"""Dashboard behaviour through HTTP: login, throttling, CSRF, escaping, workspace switching."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database, utcnow
from socialpulse.worker.models import Job
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role, User, Workspace


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str, password: str = PASSWORD, next: str = "/") -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "next": next, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme-co")


def test_pages_redirect_to_login_with_next(client: TestClient) -> None:
    response = client.get("/settings/api-keys", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings/api-keys"


def test_login_lands_on_next_and_rejects_offsite_next(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": acme.owner_email,
            "password": PASSWORD,
            "next": "https://evil.example/steal",
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
    assert "Acme-Co" in client.get("/").text


def test_wrong_password_is_refused_with_a_message(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": acme.owner_email, "password": "nope", "csrf_token": _csrf(page.text)},
    )
    assert response.status_code == 400
    assert "Wrong email or password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_attempts_are_throttled(client: TestClient, acme: WorkspaceFixture) -> None:
    token = _csrf(client.get("/login").text)
    for _ in range(5):
        client.post(
            "/login", data={"email": acme.owner_email, "password": "bad", "csrf_token": token}
        )
    blocked = client.post(
        "/login", data={"email": acme.owner_email, "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert "too many login attempts" in blocked.text


def test_forms_without_csrf_token_change_nothing(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    _login(client, acme.owner_email)
    response = client.post("/settings/api-keys", data={"name": "sneaky"}, follow_redirects=True)
    assert "did not come from this site" in response.text
    with db.session() as session:
        names = [k.name for k in service.list_api_keys(session, acme.subject)]
    assert "sneaky" not in names


def test_each_page_masks_the_csrf_secret_afresh_and_every_mask_is_accepted(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    # Pages are gzipped and echo what the visitor typed: a token that read the same in every
    # response could be recovered from compressed sizes (BREACH). Each page masks it afresh.
    _login(client, acme.owner_email)
    first = _csrf(client.get("/settings/api-keys").text)
    second = _csrf(client.get("/settings/api-keys").text)
    assert first != second
    for name, token in (("first", first), ("second", second)):
        created = client.post("/settings/api-keys", data={"name": name, "csrf_token": token})
        assert created.status_code == 201
    flipped = first[:10] + ("A" if first[10] != "A" else "B") + first[11:]
    with TestClient(client.app) as other:
        _login(other, acme.owner_email)
        elsewhere = _csrf(other.get("/settings/api-keys").text)
    for name, token in (("flipped", flipped), ("elsewhere", elsewhere), ("junk", "%%%")):
        refused = client.post(
            "/settings/api-keys", data={"name": name, "csrf_token": token}, follow_redirects=True
        )
        assert "did not come from this site" in refused.text
    with db.session() as session:
        names = {k.name for k in service.list_api_keys(session, acme.subject)}
    assert {"first", "second"} <= names
    assert not names & {"flipped", "elsewhere", "junk"}


def test_api_key_created_in_dashboard_is_shown_once(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    _login(client, acme.owner_email)
    page = client.get("/settings/api-keys")
    created = client.post(
        "/settings/api-keys", data={"name": "zapier", "csrf_token": _csrf(page.text)}
    )
    assert created.status_code == 201
    key = re.search(r'data-testid="new-key-value">([^<]+)<', created.text)
    assert key
    assert created.headers["cache-control"] == "no-store"
    again = client.get("/settings/api-keys").text
    assert "zapier" in again
    assert key.group(1) not in again
    assert client.get(
        "/api/v1/workspace", headers={"Authorization": f"Bearer {key.group(1)}"}
    ).is_success


def test_user_text_is_escaped(client: TestClient, acme: WorkspaceFixture, db: Database) -> None:
    with db.session() as session:
        service.update_workspace(
            session, acme.subject, name="<script>alert(1)</script>", timezone=None
        )
    _login(client, acme.owner_email)
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_switching_workspace_changes_what_pages_show(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    other = make_workspace(db, "other-co", email=acme.owner_email)
    _login(client, acme.owner_email)
    token = _csrf(client.get("/").text)
    client.post("/switch-workspace", data={"workspace_id": other.workspace_id, "csrf_token": token})
    assert "<h1>Other-Co</h1>" in client.get("/").text
    # A workspace the user does not belong to is not reachable by switching.
    stranger = make_workspace(db, "stranger-co")
    refused = client.post(
        "/switch-workspace", data={"workspace_id": stranger.workspace_id, "csrf_token": token}
    )
    assert refused.status_code == 404
    assert "<h1>Other-Co</h1>" in client.get("/").text


def test_viewer_sees_settings_but_cannot_change_them(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        service.create_user(session, "viewer@acme.test", PASSWORD)
        service.add_member(session, acme.subject, "viewer@acme.test", Role.viewer)
    _login(client, "viewer@acme.test")
    page = client.get("/settings/api-keys")
    assert "Create a key" not in page.text
    response = client.post("/settings/api-keys", data={"name": "x", "csrf_token": _csrf(page.text)})
    assert "needs the admin role" in response.text


def test_password_change_ends_existing_sessions(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    _login(client, acme.owner_email)
    assert client.get("/", follow_redirects=False).status_code == 200
    with db.session() as session:
        user = session.get(User, acme.owner_id)
        assert user is not None
        service.set_password(session, user, "a brand new password")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(client: TestClient, acme: WorkspaceFixture) -> None:
    _login(client, acme.owner_email)
    token = _csrf(client.get("/").text)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_overview_jobs_chart_counts_days_in_the_workspace_time_zone(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    """The chart's days are the workspace's local days, as analytics counts them: a job made
    at 23:30 in Honolulu (09:30 UTC the next day) counts on the Honolulu day."""
    zone = ZoneInfo("Pacific/Honolulu")
    today = utcnow().astimezone(zone).date()
    late_yesterday = dt.datetime.combine(
        today - dt.timedelta(days=1), dt.time(23, 30), tzinfo=zone
    ).astimezone(dt.UTC)
    with db.session() as session:
        session.get(Workspace, acme.workspace_id).timezone = zone.key  # type: ignore[union-attr]
        session.add(
            Job(workspace_id=acme.workspace_id, kind="test.noop", created_at=late_yesterday)
        )
    _login(client, acme.owner_email)
    page = client.get("/")
    match = re.search(
        r'<script type="application/json" id="jobs-chart-data">(.*?)</script>', page.text
    )
    assert match, page.text
    chart = json.loads(match.group(1))
    assert chart["labels"][-2:] == [(today - dt.timedelta(days=1)).isoformat(), today.isoformat()]
    assert chart["values"][-2:] == [1, 0]
