"""Dashboard sessions are server-side: logout, a password change, "log out other sessions",
deactivation and expiry end them, even for someone who kept a copy of the cookie."""

from __future__ import annotations

import datetime as dt
import json
import re
from base64 import b64encode
from collections.abc import Iterator

import itsdangerous
import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces import service
from socialpulse.workspaces.models import ApiKey, Role, User
from socialpulse.workspaces.tenancy import Subject

COOKIE = "socialpulse_session"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"


def _logged_in(client: TestClient) -> bool:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    return response.status_code == 200


def _with_cookie(app: FastAPI, cookie: str) -> TestClient:
    """A second browser that holds a copy of someone's cookie."""
    replay = TestClient(app)
    replay.cookies.set(COOKIE, cookie)
    return replay


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme-co")


@pytest.fixture
def browsers(app: FastAPI) -> Iterator[list[TestClient]]:
    clients = [
        TestClient(app, headers={"User-Agent": agent})
        for agent in ("Firefox on the laptop", "Safari on the phone", "Chrome at the office")
    ]
    yield clients
    for client in clients:
        client.close()


def _key_names(db: Database, acme: WorkspaceFixture) -> list[str]:
    with db.session() as session:
        return [k.name for k in service.list_api_keys(session, acme.subject)]


def test_a_cookie_replayed_after_logout_is_refused_everywhere(
    app: FastAPI, client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    _login(client, acme.owner_email)
    page = client.get("/settings/api-keys")
    token = _csrf(page.text)
    stolen = client.cookies[COOKIE]
    assert client.get("/api/v1/workspace").status_code == 200

    client.post("/logout", data={"csrf_token": token})
    assert not _logged_in(client)

    with _with_cookie(app, stolen) as replay:
        dashboard = replay.get("/settings/api-keys", follow_redirects=False)
        assert dashboard.status_code == 303
        assert dashboard.headers["location"].startswith("/login")
        api = replay.get("/api/v1/workspace")
        assert api.status_code == 401
        assert api.json()["error"]["code"] == "not_authenticated"

    # The old cookie and its CSRF token together still mint nothing.
    with _with_cookie(app, stolen) as replay:
        created = replay.post(
            "/settings/api-keys",
            data={"name": "replayed", "csrf_token": token},
            follow_redirects=False,
        )
        assert created.status_code == 303
        assert created.headers["location"].startswith("/login")
    with _with_cookie(app, stolen) as replay:
        via_api = replay.post(
            "/api/v1/api-keys",
            json={"name": "replayed-api"},
            headers={"X-CSRF-Token": token},
        )
        assert via_api.status_code == 401
    assert not {"replayed", "replayed-api"} & set(_key_names(db, acme))


def test_the_login_page_shows_the_form_for_an_ended_session(
    app: FastAPI, client: TestClient, acme: WorkspaceFixture
) -> None:
    _login(client, acme.owner_email)
    stolen = client.cookies[COOKIE]
    client.post("/logout", data={"csrf_token": _csrf(client.get("/").text)})
    with _with_cookie(app, stolen) as replay:
        # Not a redirect to "/" that would send it back here.
        page = replay.get("/login", follow_redirects=False)
        assert page.status_code == 200
        assert 'name="password"' in page.text


def test_password_change_keeps_this_session_and_ends_the_others(
    browsers: list[TestClient], acme: WorkspaceFixture
) -> None:
    laptop, phone, _office = browsers
    _login(laptop, acme.owner_email)
    _login(phone, acme.owner_email)
    page = laptop.get("/settings/account")
    assert page.status_code == 200
    changed = laptop.post(
        "/settings/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "new_password_confirm": "a brand new password",
            "csrf_token": _csrf(page.text),
        },
    )
    assert "Password changed" in changed.text
    assert _logged_in(laptop)
    assert laptop.get("/api/v1/workspace").status_code == 200
    assert not _logged_in(phone)
    assert phone.get("/api/v1/workspace").status_code == 401
    _login(phone, acme.owner_email, "a brand new password")


def test_password_change_needs_the_current_password(
    browsers: list[TestClient], acme: WorkspaceFixture
) -> None:
    laptop, phone, _office = browsers
    _login(laptop, acme.owner_email)
    _login(phone, acme.owner_email)
    page = laptop.get("/settings/account")
    refused = laptop.post(
        "/settings/account/password",
        data={
            "current_password": "not my password",
            "new_password": "a brand new password",
            "new_password_confirm": "a brand new password",
            "csrf_token": _csrf(page.text),
        },
    )
    assert "current password is not correct" in refused.text
    mismatch = laptop.post(
        "/settings/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "new_password_confirm": "another new password",
            "csrf_token": _csrf(page.text),
        },
    )
    assert "the two new passwords differ" in mismatch.text
    assert _logged_in(phone)
    _login(phone, acme.owner_email, PASSWORD)


def test_guessing_the_current_password_is_throttled(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    _login(client, acme.owner_email)
    token = _csrf(client.get("/settings/account").text)
    form = {
        "new_password": "a brand new password",
        "new_password_confirm": "a brand new password",
        "csrf_token": token,
    }
    for guess in range(5):
        client.post("/settings/account/password", data=form | {"current_password": f"g{guess}"})
    blocked = client.post("/settings/account/password", data=form | {"current_password": PASSWORD})
    assert "too many login attempts" in blocked.text
    assert "Password changed" not in blocked.text


def test_account_page_lists_sessions_and_logs_out_the_others(
    browsers: list[TestClient], acme: WorkspaceFixture
) -> None:
    laptop, phone, office = browsers
    for browser in browsers:
        _login(browser, acme.owner_email)
    page = laptop.get("/settings/account").text
    for agent in ("Firefox on the laptop", "Safari on the phone", "Chrome at the office"):
        assert agent in page
    assert page.count("(this session)") == 1
    assert "testclient" in page  # the IP column: TestClient's client address

    done = laptop.post("/settings/account/sessions/revoke-others", data={"csrf_token": _csrf(page)})
    assert "Logged out 2 other sessions" in done.text
    assert _logged_in(laptop)
    assert not _logged_in(phone)
    assert not _logged_in(office)
    after = laptop.get("/settings/account").text
    assert "Safari on the phone" not in after
    assert "Firefox on the laptop" in after


def test_one_session_can_be_logged_out_from_the_list(
    app: FastAPI, browsers: list[TestClient], acme: WorkspaceFixture, db: Database
) -> None:
    laptop, phone, office = browsers
    for browser in browsers:
        _login(browser, acme.owner_email)
    page = laptop.get("/settings/account").text
    row = re.search(r'data-session-id="(\d+)">\s*<td>Safari on the phone', page)
    assert row
    laptop.post(
        f"/settings/account/sessions/{row.group(1)}/revoke", data={"csrf_token": _csrf(page)}
    )
    assert not _logged_in(phone)
    assert _logged_in(laptop)
    assert _logged_in(office)

    # Another user's session id is not reachable.
    mine = re.search(r'data-session-id="(\d+)">\s*<td>Firefox on the laptop', page)
    assert mine
    other = make_workspace(db, "other-co")
    with TestClient(app) as stranger:
        _login(stranger, other.owner_email)
        stranger_page = stranger.get("/settings/account").text
        refused = stranger.post(
            f"/settings/account/sessions/{mine.group(1)}/revoke",
            data={"csrf_token": _csrf(stranger_page)},
        )
        assert "not found" in refused.text
    assert _logged_in(laptop)


def test_a_deactivated_user_is_refused_with_their_cookie_and_their_api_keys(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        # A key the operator made with the CLI belongs to the workspace, not to a user.
        operator = Subject(workspace_id=acme.workspace_id, role=Role.owner)
        _key, cli_key = service.create_api_key(session, operator, "cli key", Role.viewer)
    _login(client, acme.owner_email)
    assert client.get("/api/v1/workspace").status_code == 200
    assert client.get("/api/v1/workspace", headers=acme.headers()).status_code == 200

    with db.session() as session:
        # Straight in the table, as an admin tool or SQL would: the checks must not depend on
        # a service having revoked anything.
        session.execute(update(User).where(User.id == acme.owner_id).values(is_active=False))

    assert not _logged_in(client)
    assert client.get("/api/v1/workspace").status_code == 401
    for role in Role:
        refused = client.get("/api/v1/workspace", headers=acme.headers(role))
        assert refused.status_code == 401
        assert "deactivated" in refused.json()["error"]["message"]
    cli = client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {cli_key}"})
    assert cli.status_code == 200


def test_reactivating_a_user_restores_their_keys_but_not_their_sessions(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    _login(client, acme.owner_email)
    with db.session() as session:
        user = session.get(User, acme.owner_id)
        assert user is not None
        service.set_user_active(session, user, False)
    with db.session() as session:
        user = session.get(User, acme.owner_id)
        assert user is not None
        service.set_user_active(session, user, True)
    assert client.get("/api/v1/workspace", headers=acme.headers()).status_code == 200
    assert not _logged_in(client)
    _login(client, acme.owner_email)


def test_a_session_expires_even_while_it_is_used(
    app: FastAPI, client: TestClient, acme: WorkspaceFixture
) -> None:
    lifetime = dt.timedelta(seconds=app.state.settings.session_max_age_s)
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        _login(client, acme.owner_email)
    # Each response re-signs the cookie, so the cookie alone would live on as long as it is
    # used; the server-side expiry ends the login at its lifetime all the same.
    with time_machine.travel(start + lifetime - dt.timedelta(hours=1), tick=False):
        assert _logged_in(client)
        assert client.get("/api/v1/workspace").status_code == 200
    with time_machine.travel(start + lifetime + dt.timedelta(minutes=1), tick=False):
        assert not _logged_in(client)
        assert client.get("/api/v1/workspace").status_code == 401


def _forged_cookie(secret: str, payload: dict[str, object]) -> str:
    # What Starlette's SessionMiddleware writes: base64 JSON, timestamp-signed.
    data = b64encode(json.dumps(payload).encode())
    return itsdangerous.TimestampSigner(secret).sign(data).decode()


def test_a_cookie_signed_with_an_empty_key_is_never_accepted(
    app: FastAPI, client: TestClient, acme: WorkspaceFixture
) -> None:
    _login(client, acme.owner_email)
    genuine = client.cookies[COOKIE]
    payload = json.loads(itsdangerous.base64_decode(genuine.split(".")[0]))
    assert payload["sid"]
    for forged_payload in (payload, {"uid": acme.owner_id, "fp": "x", "wid": acme.workspace_id}):
        with _with_cookie(app, _forged_cookie("", forged_payload)) as forged:
            assert forged.get("/", follow_redirects=False).status_code == 303
            assert forged.get("/api/v1/workspace").status_code == 401


def test_the_session_token_is_stored_hashed(
    client: TestClient, acme: WorkspaceFixture, db: Database
) -> None:
    from socialpulse.workspaces.models import UserSession

    _login(client, acme.owner_email)
    payload = json.loads(itsdangerous.base64_decode(client.cookies[COOKIE].split(".")[0]))
    with db.session() as session:
        rows = session.scalars(select(UserSession)).all()
        keys = session.scalars(select(ApiKey.key_hash)).all()
    assert len(rows) == 1
    assert rows[0].token_hash != payload["sid"]
    assert payload["sid"] not in keys
    assert "uid" not in payload
