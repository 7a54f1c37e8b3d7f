"""Invitations on the dashboard: Members settings → link shown once → accept page → login."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import structlog.testing
from fastapi.testclient import TestClient

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Membership, Role

Login = Callable[..., Any]
Csrf = Callable[[str], str]
CAROL = "carol@acme.test"


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme-co")


def invite_on_dashboard(
    client: TestClient, csrf: Csrf, email: str, role: str = "viewer"
) -> tuple[Any, str]:
    page = client.get("/settings/members")
    response = client.post(
        "/settings/invitations",
        data={"email": email, "role": role, "csrf_token": csrf(page.text)},
    )
    match = re.search(r'data-testid="new-invite-link">[^<]*/invite/([^<]+)</code>', response.text)
    return response, match.group(1) if match else ""


def test_invite_link_is_shown_once_then_the_new_person_joins_and_logs_in(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    web_login(client, acme.owner_email, PASSWORD)
    response, token = invite_on_dashboard(client, csrf, CAROL, "editor")
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    assert "send them this link yourself" in response.text
    assert token.startswith("inv_")
    members_page = client.get("/settings/members").text
    assert CAROL in members_page  # listed as pending...
    assert token not in members_page  # ...without its link
    # The tests' default plan (Premium) has five seats.
    assert "Seats: 2 of 5 used (1 members, 1 pending invitations)" in members_page

    with TestClient(client.app) as carol:
        page = carol.get(f"/invite/{token}")
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "Join Acme-Co" in page.text
        done = carol.post(
            f"/invite/{token}",
            data={
                "name": "Carol",
                "password": "carol's own secret",
                "password_confirm": "carol's own secret",
                "csrf_token": csrf(page.text),
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/login"
        assert "Your account is ready" in carol.get("/login").text
        assert web_login(carol, CAROL, "carol's own secret").status_code == 303
        assert "Acme-Co" in carol.get("/").text
        # The link is used up.
        assert carol.get(f"/invite/{token}").status_code == 410
    with db.session() as session:
        roles = {user.email: m.role for m, user in service.list_members(session, acme.subject)}
    assert roles == {acme.owner_email: Role.owner, CAROL: Role.editor}


def test_mismatched_passwords_keep_the_link_usable(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    web_login(client, acme.owner_email, PASSWORD)
    _, token = invite_on_dashboard(client, csrf, CAROL)
    client.cookies.clear()
    page = client.get(f"/invite/{token}")
    response = client.post(
        f"/invite/{token}",
        data={
            "name": "Carol",
            "password": "one long password",
            "password_confirm": "another long password",
            "csrf_token": csrf(page.text),
        },
    )
    assert response.status_code == 422
    assert "the two passwords differ" in response.text
    assert client.get(f"/invite/{token}").status_code == 200


def test_an_existing_user_accepts_while_logged_in_and_keeps_their_password(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    other = make_workspace(db, "other-co")
    web_login(client, acme.owner_email, PASSWORD)
    _, token = invite_on_dashboard(client, csrf, other.owner_email)
    client.cookies.clear()

    # Not logged in: the page cannot be used to give the account a new password.
    page = client.get(f"/invite/{token}")
    refused = client.post(
        f"/invite/{token}",
        data={
            "name": "Someone",
            "password": "a password of mine",
            "password_confirm": "a password of mine",
            "csrf_token": csrf(page.text),
        },
    )
    assert refused.status_code == 409
    assert "already exists: log in" in refused.text
    assert web_login(client, other.owner_email, "a password of mine").status_code == 400

    assert web_login(client, other.owner_email, PASSWORD, f"/invite/{token}").status_code == 303
    page = client.get(f"/invite/{token}")
    assert f"You are logged in as {other.owner_email}" in page.text
    joined = client.post(
        f"/invite/{token}", data={"csrf_token": csrf(page.text)}, follow_redirects=False
    )
    assert joined.status_code == 303
    overview = client.get("/").text
    assert "You joined Acme-Co as viewer." in overview
    assert "<h1>Acme-Co</h1>" in overview


def test_someone_logged_in_as_another_address_cannot_accept(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    other = make_workspace(db, "other-co")
    web_login(client, acme.owner_email, PASSWORD)
    _, token = invite_on_dashboard(client, csrf, CAROL)
    client.cookies.clear()
    web_login(client, other.owner_email, PASSWORD)
    page = client.get(f"/invite/{token}")
    refused = client.post(f"/invite/{token}", data={"csrf_token": csrf(page.text)})
    assert refused.status_code == 403
    assert f"this invitation is for {CAROL}" in refused.text
    with db.session() as session:
        emails = {u.email for _m, u in service.list_members(session, acme.subject)}
    assert emails == {acme.owner_email}
    assert client.get(f"/invite/{token}").status_code == 200  # still usable by carol


def test_a_user_who_left_their_only_workspace_can_accept(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    with db.session() as session:
        service.create_user(session, CAROL, PASSWORD, "Carol")
        membership = service.add_member(session, acme.subject, CAROL, Role.viewer)
        service.remove_member(session, acme.subject, membership.id)
    web_login(client, acme.owner_email, PASSWORD)
    _, token = invite_on_dashboard(client, csrf, CAROL)
    client.cookies.clear()
    web_login(client, CAROL, PASSWORD, f"/invite/{token}")
    page = client.get(f"/invite/{token}")
    assert f"You are logged in as {CAROL}" in page.text
    client.post(f"/invite/{token}", data={"csrf_token": csrf(page.text)})
    assert "<h1>Acme-Co</h1>" in client.get("/").text


def test_revoke_and_resend_from_the_members_page(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    web_login(client, acme.owner_email, PASSWORD)
    _, first = invite_on_dashboard(client, csrf, CAROL)
    page = client.get("/settings/members")
    invitation_id = re.search(r"/settings/invitations/(\d+)/resend", page.text)
    assert invitation_id
    resent = client.post(
        f"/settings/invitations/{invitation_id.group(1)}/resend",
        data={"csrf_token": csrf(page.text)},
    )
    second = re.search(r"/invite/(inv_[^<]+)</code>", resent.text)
    assert second and second.group(1) != first
    assert client.get(f"/invite/{first}").status_code == 410
    revoke = f"/settings/invitations/{invitation_id.group(1)}/revoke"
    asked = client.post(revoke, data={"csrf_token": csrf(page.text)})
    assert f"Revoke the invitation to {CAROL}?" in asked.text  # asked first, nothing revoked
    assert client.get(f"/invite/{second.group(1)}").status_code == 200
    revoked = client.post(revoke, data={"csrf_token": csrf(page.text), "confirmed": "1"})
    assert f"Invitation to {CAROL} revoked." in revoked.text
    assert "No open invitations." in revoked.text
    invalid = client.get(f"/invite/{second.group(1)}")
    assert invalid.status_code == 410
    assert "this invitation was withdrawn" in invalid.text


def test_viewers_cannot_invite_and_the_old_add_form_is_gone(
    client: TestClient, db: Database, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    with db.session() as session:
        service.create_user(session, "viewer@acme.test", PASSWORD)
        service.add_member(session, acme.subject, "viewer@acme.test", Role.viewer)
    web_login(client, "viewer@acme.test", PASSWORD)
    page = client.get("/settings/members")
    assert "Invite someone" not in page.text
    assert 'name="password"' not in page.text
    refused = client.post(
        "/settings/invitations", data={"email": CAROL, "csrf_token": csrf(page.text)}
    )
    assert "needs the admin role" in refused.text
    old = client.post(
        "/settings/members",
        data={"email": CAROL, "role": "viewer", "password": "pw-12345678"},
        follow_redirects=False,
    )
    assert old.status_code == 405
    with db.session() as session:
        assert service.get_user_by_email(session, CAROL) is None
        assert session.query(Membership).count() == 2


def test_invitation_tokens_stay_out_of_the_request_log(
    client: TestClient, acme: WorkspaceFixture, web_login: Login, csrf: Csrf
) -> None:
    web_login(client, acme.owner_email, PASSWORD)
    _, token = invite_on_dashboard(client, csrf, CAROL)
    with structlog.testing.capture_logs() as logs:
        assert client.get(f"/invite/{token}").status_code == 200
    [request_log] = [entry for entry in logs if entry["event"] == "http.request"]
    assert request_log["path"] == "/invite/{token}"
    assert token not in repr(logs)
