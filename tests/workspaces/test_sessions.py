"""Server-side dashboard sessions in the service: what counts, what ends them, what they cost."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces import service
from socialpulse.workspaces.models import User, UserSession

LIFETIME = dt.timedelta(days=14)
START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme-co")


def _start(db: Database, user_id: int, agent: str = "agent") -> str:
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return service.start_session(
            session, user, lifetime=LIFETIME, user_agent=agent, ip="192.0.2.7"
        )


def _counts(db: Database, token: str) -> bool:
    with db.session(readonly=True) as session:
        return service.session_for_token(session, token) is not None


def test_a_session_counts_until_its_expiry(db: Database, acme: WorkspaceFixture) -> None:
    with time_machine.travel(START, tick=False):
        token = _start(db, acme.owner_id)
        assert _counts(db, token)
    with time_machine.travel(START + LIFETIME - dt.timedelta(seconds=1), tick=False):
        assert _counts(db, token)
    with time_machine.travel(START + LIFETIME, tick=False):
        assert not _counts(db, token)
    assert not _counts(db, token + "x")


def test_ending_a_session_leaves_the_others(db: Database, acme: WorkspaceFixture) -> None:
    first, second = _start(db, acme.owner_id), _start(db, acme.owner_id)
    with db.session() as session:
        service.end_session(session, first)
    assert not _counts(db, first)
    assert _counts(db, second)


def test_set_password_ends_every_session_but_the_kept_one(
    db: Database, acme: WorkspaceFixture
) -> None:
    kept, other = _start(db, acme.owner_id), _start(db, acme.owner_id)
    stranger = make_workspace(db, "other-co")
    strangers = _start(db, stranger.owner_id)
    with db.session() as session:
        found = service.session_for_token(session, kept)
        assert found is not None
        user = session.get(User, acme.owner_id)
        assert user is not None
        service.set_password(session, user, "another password", keep_session_id=found.id)
    assert _counts(db, kept)
    assert not _counts(db, other)
    assert _counts(db, strangers)
    with db.session() as session:
        user = session.get(User, acme.owner_id)
        assert user is not None
        service.set_password(session, user, "yet another password")  # CLI, admin reset
    assert not _counts(db, kept)


def test_change_password_checks_the_current_one(db: Database, acme: WorkspaceFixture) -> None:
    token = _start(db, acme.owner_id)
    with db.session() as session:
        found = service.session_for_token(session, token)
        assert found is not None
        with pytest.raises(service.WrongPassword):
            service.change_password(
                session, acme.owner_id, "wrong", "new password 1", keep_session_id=found.id
            )
    with db.session() as session:
        assert service.authenticate(session, acme.owner_email, PASSWORD) is not None


def test_deactivation_ends_sessions_and_blocks_the_users_keys(
    db: Database, acme: WorkspaceFixture
) -> None:
    from socialpulse.errors import NotAuthenticated

    token = _start(db, acme.owner_id)
    with db.session() as session:
        user = session.get(User, acme.owner_id)
        assert user is not None
        service.set_user_active(session, user, False)
    assert not _counts(db, token)
    with db.session(readonly=True) as session:
        with pytest.raises(NotAuthenticated, match="deactivated"):
            service.subject_for_api_key(session, acme.keys[next(iter(acme.keys))])
        sessions = session.scalars(select(UserSession)).all()
        assert all(row.revoked_at is not None for row in sessions)


def test_a_new_login_clears_the_users_ended_sessions(db: Database, acme: WorkspaceFixture) -> None:
    stranger = make_workspace(db, "other-co")
    with time_machine.travel(START, tick=False):
        ended = _start(db, acme.owner_id)
        with db.session() as session:
            service.end_session(session, ended)
        expired = _start(db, acme.owner_id)
        strangers_ended = _start(db, stranger.owner_id)
        with db.session() as session:
            service.end_session(session, strangers_ended)
    with time_machine.travel(START + LIFETIME + dt.timedelta(days=1), tick=False):
        fresh = _start(db, acme.owner_id)
        assert _counts(db, fresh)
        assert not _counts(db, expired)
    with db.session(readonly=True) as session:
        rows = session.scalars(select(UserSession)).all()
    assert len(rows) == 2  # the fresh one, and the other user's (cleared at their next login)


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engines = [db.engine] + ([db.read_engine] if db.read_engine is not None else [])
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", note)


def _login(client: TestClient, email: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_an_authenticated_request_costs_one_session_lookup_and_writes_rarely(
    client: TestClient, acme: WorkspaceFixture, db: Database, statements: list[str]
) -> None:
    with time_machine.travel(START, tick=False):
        _login(client, acme.owner_email)
    with time_machine.travel(START + dt.timedelta(minutes=4), tick=False):
        statements.clear()
        assert client.get("/api/v1/workspace").status_code == 200
        assert client.get("/settings/workspace", follow_redirects=False).status_code == 200
    touching = [s for s in statements if "user_sessions" in s]
    assert len(touching) == 2, touching  # one indexed SELECT per request
    assert all(s.lstrip().upper().startswith("SELECT") for s in touching)

    with time_machine.travel(START + dt.timedelta(minutes=6), tick=False):
        statements.clear()
        assert client.get("/api/v1/workspace").status_code == 200
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSIONS")]
    assert len(writes) == 1
    with db.session(readonly=True) as session:
        seen = session.scalars(select(UserSession.last_seen_at)).one()
    assert seen == START + dt.timedelta(minutes=6)
