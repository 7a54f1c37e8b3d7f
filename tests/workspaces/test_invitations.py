"""Invitations through the JSON API: the takeover reproduction, single use, expiry,
revocation, seats, no account enumeration, and tenancy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces import seats, service
from socialpulse.workspaces.models import Invitation, Role, User, Workspace

CAROL = "carol@a-corp.test"
CAROLS_PASSWORD = "carol's own secret"
B_CHOSEN_PASSWORD = "chosen-by-b-1234"


@pytest.fixture
def a_corp(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "a-corp")


@pytest.fixture
def b_corp(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "b-corp")


def invite(
    client: TestClient, ws: WorkspaceFixture, email: str, role: str = "viewer", **extra: Any
) -> Any:
    return client.post(
        "/api/v1/invitations", json={"email": email, "role": role, **extra}, headers=ws.headers()
    )


def accept(
    client: TestClient, token: str, password: str = CAROLS_PASSWORD, name: str = "Carol"
) -> httpx.Response:
    return client.post(
        "/api/v1/invitations/accept", json={"token": token, "name": name, "password": password}
    )


def member_emails(client: TestClient, ws: WorkspaceFixture) -> set[str]:
    return {m["email"] for m in client.get("/api/v1/members", headers=ws.headers()).json()}


def can_log_in(db: Database, email: str, password: str) -> bool:
    with db.session() as session:
        return service.authenticate(session, email, password) is not None


# --- the reproduction of issue #10, item 4 -------------------------------------------------


def test_workspace_b_cannot_pick_carols_password_and_a_never_lets_b_in(
    client: TestClient,
    db: Database,
    a_corp: WorkspaceFixture,
    b_corp: WorkspaceFixture,
    web_login: Callable[..., Any],
) -> None:
    # Before: B "added" carol with a password of B's choice, removed her, and A's later add
    # attached that account, so B's password opened A. Every such door is now closed.
    direct = client.post(
        "/api/v1/members",
        json={"email": CAROL, "role": "viewer", "password": B_CHOSEN_PASSWORD},
        headers=b_corp.headers(),
    )
    assert direct.status_code == 410
    with_password = invite(client, b_corp, CAROL, password=B_CHOSEN_PASSWORD)
    assert with_password.status_code == 422
    assert "password" in with_password.json()["error"]["message"]
    b_invite = invite(client, b_corp, CAROL)
    assert b_invite.status_code == 201
    assert "password" not in b_invite.json()
    revoked = client.delete(
        f"/api/v1/invitations/{b_invite.json()['id']}", headers=b_corp.headers()
    )
    assert revoked.json()["status"] == "revoked"
    assert accept(client, b_invite.json()["token"], B_CHOSEN_PASSWORD).status_code == 410
    assert not can_log_in(db, CAROL, B_CHOSEN_PASSWORD)

    # A invites the real carol, who chooses her own password.
    a_invite = invite(client, a_corp, CAROL)
    accepted = accept(client, a_invite.json()["token"])
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["workspace_name"] == "A-Corp"
    assert CAROL in member_emails(client, a_corp)

    # B invites her again: B learns nothing and cannot set her password with its own link.
    b_again = invite(client, b_corp, CAROL)
    assert b_again.status_code == 201
    refused = accept(client, b_again.json()["token"], B_CHOSEN_PASSWORD)
    assert refused.status_code == 409
    assert "log in" in refused.json()["error"]["message"]
    assert CAROL not in member_emails(client, b_corp)

    # B's password opens nothing; carol's own opens A.
    assert web_login(client, CAROL, B_CHOSEN_PASSWORD).status_code == 400
    assert web_login(client, CAROL, CAROLS_PASSWORD).status_code == 303
    assert "A-Corp" in client.get("/").text


def test_an_account_b_made_through_its_own_link_is_never_attached_to_a(
    client: TestClient,
    db: Database,
    a_corp: WorkspaceFixture,
    b_corp: WorkspaceFixture,
    web_login: Callable[..., Any],
    csrf: Callable[[str], str],
) -> None:
    # The link is shown to B's admin, who can open it themselves and create a carol account
    # with B's password. That account stays B's: A's invitation neither attaches it nor lets a
    # password through; joining A needs A's link *and* a login as carol.
    b_token = invite(client, b_corp, CAROL).json()["token"]
    assert accept(client, b_token, B_CHOSEN_PASSWORD).status_code == 201
    a_invite = invite(client, a_corp, CAROL).json()
    assert a_invite["status"] == "pending"

    refused = accept(client, a_invite["token"], "a-password-for-carol")
    assert refused.status_code == 409
    assert not can_log_in(db, CAROL, "a-password-for-carol")
    assert CAROL not in member_emails(client, a_corp)

    # Logged in as the B-made carol, without A's link there is no way into A.
    assert web_login(client, CAROL, B_CHOSEN_PASSWORD).status_code == 303
    page = client.get("/")
    switch = client.post(
        "/switch-workspace",
        data={"workspace_id": a_corp.workspace_id, "csrf_token": csrf(page.text)},
    )
    assert switch.status_code == 404
    assert CAROL not in member_emails(client, a_corp)
    listed = client.get("/api/v1/invitations", headers=a_corp.headers()).json()
    assert [inv["status"] for inv in listed] == ["pending"]


# --- links: single use, expiry, revocation, resend ------------------------------------------


def test_a_link_works_once(client: TestClient, db: Database, a_corp: WorkspaceFixture) -> None:
    token = invite(client, a_corp, CAROL).json()["token"]
    assert accept(client, token).status_code == 201
    again = accept(client, token, "another password 1")
    assert again.status_code == 410
    assert again.json()["error"]["message"] == "this invitation was already used"
    assert not can_log_in(db, CAROL, "another password 1")
    listed = client.get("/api/v1/invitations", headers=a_corp.headers()).json()
    assert listed[0]["status"] == "accepted"


def test_only_a_keyed_hash_of_the_token_is_stored(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    created = invite(client, a_corp, CAROL).json()
    assert created["link"].endswith(f"/invite/{created['token']}")
    with db.session() as session:
        row = session.get(Invitation, created["id"])
        assert row is not None
        assert created["token"] not in row.token_hash
        assert len(row.token_hash) == 64
    listed = client.get("/api/v1/invitations", headers=a_corp.headers()).json()
    assert all("token" not in inv and "link" not in inv for inv in listed)


def test_a_link_expires_after_the_configured_days(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        early = invite(client, a_corp, "early@a-corp.test").json()
        late = invite(client, a_corp, CAROL).json()
        assert late["expires_at"].startswith("2026-12-08T09:00:00")
    with time_machine.travel(start + dt.timedelta(days=6, hours=23), tick=False):
        assert accept(client, early["token"], name="Early").status_code == 201
    with time_machine.travel(start + dt.timedelta(days=7, seconds=1), tick=False):
        expired = accept(client, late["token"])
        assert expired.status_code == 410
        assert "expired" in expired.json()["error"]["message"]
        statuses = {
            inv["email"]: inv["status"]
            for inv in client.get("/api/v1/invitations", headers=a_corp.headers()).json()
        }
        assert statuses == {"early@a-corp.test": "accepted", CAROL: "expired"}
        # Resending an expired invitation gives a new link with a new week.
        renewed = client.post(
            f"/api/v1/invitations/{late['id']}/resend", headers=a_corp.headers()
        ).json()
        assert renewed["status"] == "pending"
        assert renewed["expires_at"].startswith("2026-12-15T09:00:01")
        assert accept(client, renewed["token"]).status_code == 201


def test_a_revoked_invitation_cannot_be_accepted(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    created = invite(client, a_corp, CAROL).json()
    assert (
        client.delete(f"/api/v1/invitations/{created['id']}", headers=a_corp.headers()).json()[
            "status"
        ]
        == "revoked"
    )
    refused = accept(client, created["token"])
    assert refused.status_code == 410
    assert refused.json()["error"] == {
        "code": "invitation_invalid",
        "message": "this invitation was withdrawn",
        "details": None,
    }
    with db.session() as session:
        assert service.get_user_by_email(session, CAROL) is None


def test_resend_replaces_the_link(client: TestClient, a_corp: WorkspaceFixture) -> None:
    created = invite(client, a_corp, CAROL).json()
    resent = client.post(f"/api/v1/invitations/{created['id']}/resend", headers=a_corp.headers())
    assert resent.status_code == 200
    assert resent.json()["token"] != created["token"]
    assert accept(client, created["token"]).status_code == 410
    assert accept(client, resent.json()["token"]).status_code == 201


def test_unknown_or_malformed_tokens_are_refused(
    client: TestClient, a_corp: WorkspaceFixture
) -> None:
    invite(client, a_corp, CAROL)
    for token in ("inv_" + "A" * 43, "sp_abc_def", " "):
        response = accept(client, token)
        assert response.status_code == 410, response.text
        assert response.json()["error"]["code"] == "invitation_invalid"


def test_new_person_must_choose_a_real_password_and_a_name(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    token = invite(client, a_corp, CAROL).json()["token"]
    assert accept(client, token, "short").status_code == 422
    assert accept(client, token, name=" ").status_code == 422
    # Failed attempts do not use up the link.
    assert accept(client, token).status_code == 201
    assert can_log_in(db, CAROL, CAROLS_PASSWORD)


# --- who may invite, and whom ---------------------------------------------------------------


def test_only_admins_invite_list_and_revoke(client: TestClient, a_corp: WorkspaceFixture) -> None:
    assert invite(client, a_corp, CAROL).status_code == 201
    for role in (Role.viewer, Role.editor):
        headers = a_corp.headers(role)
        assert client.get("/api/v1/invitations", headers=headers).status_code == 403
        denied = client.post("/api/v1/invitations", json={"email": "x@x.test"}, headers=headers)
        assert denied.status_code == 403
    assert client.get("/api/v1/invitations", headers=a_corp.headers(Role.admin)).status_code == 200
    # An admin cannot invite an owner; an owner can.
    assert invite(client, a_corp, "boss@x.test", "owner").status_code == 201
    denied = client.post(
        "/api/v1/invitations",
        json={"email": "boss2@x.test", "role": "owner"},
        headers=a_corp.headers(Role.admin),
    )
    assert denied.status_code == 403


def test_inviting_an_existing_member_gets_a_neutral_conflict(
    client: TestClient, a_corp: WorkspaceFixture
) -> None:
    response = invite(client, a_corp, a_corp.owner_email.upper())
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"{a_corp.owner_email} is already a member of this workspace"
    )
    invite(client, a_corp, CAROL)
    pending = invite(client, a_corp, CAROL)
    assert pending.status_code == 409
    assert "already pending" in pending.json()["error"]["message"]


def test_invite_answers_the_same_for_known_and_unknown_addresses(
    client: TestClient, db: Database, a_corp: WorkspaceFixture, b_corp: WorkspaceFixture
) -> None:
    # b_corp's owner has an account; nobody@ has none. An admin of A must not tell them apart.
    known = invite(client, a_corp, b_corp.owner_email)
    unknown = invite(client, a_corp, "nobody@b-corp.test")
    assert known.status_code == unknown.status_code == 201

    def shape(body: dict[str, Any]) -> dict[str, Any]:
        varying = {"id", "email", "token", "link", "created_at", "expires_at"}
        return {k: v for k, v in body.items() if k not in varying}

    assert shape(known.json()) == shape(unknown.json())
    assert known.headers.keys() == unknown.headers.keys()


# --- seats ----------------------------------------------------------------------------------


def set_limit(db: Database, ws: WorkspaceFixture, limit: int | None) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, ws.workspace_id)
        assert workspace is not None
        seats.set_seat_limit(session, workspace, limit)


def test_members_and_pending_invitations_share_the_seat_limit(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    set_limit(db, a_corp, 2)  # the owner and one more
    assert client.get("/api/v1/workspace", headers=a_corp.headers()).json()["seat_limit"] == 2
    first = invite(client, a_corp, CAROL)
    assert first.status_code == 201
    full = invite(client, a_corp, "dave@a-corp.test")
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "seat_limit_reached"
    assert full.json()["error"]["details"] == {
        "seat_limit": 2,
        "members": 1,
        "pending_invitations": 1,
    }
    # Revoking frees the seat; accepting keeps it taken.
    client.delete(f"/api/v1/invitations/{first.json()['id']}", headers=a_corp.headers())
    dave = invite(client, a_corp, "dave@a-corp.test")
    assert dave.status_code == 201
    assert accept(client, dave.json()["token"], name="Dave").status_code == 201
    assert invite(client, a_corp, CAROL).json()["error"]["code"] == "seat_limit_reached"


def test_an_invitation_cannot_be_accepted_after_the_limit_was_lowered(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    token = invite(client, a_corp, CAROL).json()["token"]
    set_limit(db, a_corp, 1)
    refused = accept(client, token)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "seat_limit_reached"
    with db.session() as session:
        assert service.get_user_by_email(session, CAROL) is None
    set_limit(db, a_corp, None)
    assert accept(client, token).status_code == 201


def test_workspace_admins_cannot_change_their_seat_limit(
    client: TestClient, db: Database, a_corp: WorkspaceFixture
) -> None:
    set_limit(db, a_corp, 3)
    response = client.patch(
        "/api/v1/workspace", json={"name": "Renamed", "seat_limit": 100}, headers=a_corp.headers()
    )
    assert response.status_code == 200
    assert response.json()["seat_limit"] == 3


# --- tenancy --------------------------------------------------------------------------------


def test_invitations_of_another_workspace_are_invisible(
    client: TestClient, a_corp: WorkspaceFixture, b_corp: WorkspaceFixture
) -> None:
    theirs = invite(client, b_corp, CAROL).json()
    assert client.get("/api/v1/invitations", headers=a_corp.headers()).json() == []
    for method, path in (
        ("DELETE", f"/api/v1/invitations/{theirs['id']}"),
        ("POST", f"/api/v1/invitations/{theirs['id']}/resend"),
    ):
        response = client.request(method, path, headers=a_corp.headers())
        assert response.status_code == 404
    assert accept(client, theirs["token"]).status_code == 201  # untouched by A's attempts


def test_accepting_joins_only_the_inviting_workspace(
    client: TestClient, db: Database, a_corp: WorkspaceFixture, b_corp: WorkspaceFixture
) -> None:
    token = invite(client, a_corp, CAROL, "editor").json()["token"]
    accept(client, token)
    with db.session() as session:
        carol = session.scalar(select(User).where(User.email == CAROL))
        assert carol is not None
        assert [(ws.slug, role) for ws, role in service.workspaces_for_user(session, carol.id)] == [
            ("a-corp", Role.editor)
        ]
