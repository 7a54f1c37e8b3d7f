"""Seats per plan: invitations beyond the plan's seats are refused, a downgrade below the
seats in use is refused with the reason, and the operator's seat limit overrides the plan."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture
from socialpulse.billing import reports, service, usage
from socialpulse.db import Database
from socialpulse.errors import Conflict
from socialpulse.workspaces import seats
from socialpulse.workspaces.models import Workspace


def _invite(client: TestClient, ws: WorkspaceFixture, email: str) -> tuple[int, dict]:
    response = client.post(
        "/api/v1/invitations", json={"email": email, "role": "editor"}, headers=ws.headers()
    )
    return response.status_code, response.json()


def _plan(db: Database, ws: WorkspaceFixture, code: str) -> None:
    with db.session() as session:
        service.set_plan(session, ws.workspace_id, code, reason="test")


def test_invitations_beyond_the_plans_seats_are_refused(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _plan(db, ws, "standard")  # 2 seats: the owner and one more
    assert _invite(client, ws, "carol@acme.test")[0] == 201
    status, body = _invite(client, ws, "dave@acme.test")
    assert status == 409
    assert body["error"]["code"] == "seat_limit_reached"
    assert body["error"]["details"] == {"seat_limit": 2, "members": 1, "pending_invitations": 1}
    assert "upgrade the plan" in body["error"]["message"]
    _plan(db, ws, "premium")
    assert _invite(client, ws, "dave@acme.test")[0] == 201


def test_a_downgrade_below_the_seats_in_use_is_refused_with_the_reason(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    assert _invite(client, ws, "carol@acme.test")[0] == 201  # premium: 5 seats
    assert _invite(client, ws, "dave@acme.test")[0] == 201
    with db.session() as session, pytest.raises(Conflict) as refused:
        service.set_plan(session, ws.workspace_id, "standard", reason="cheaper")
    error = refused.value
    assert error.message.startswith(
        "the Standard plan has 2 seats but this workspace uses 3 (1 members, 2 pending invitations)"
    )
    assert error.details == {"plan": "standard", "seats": 2, "members": 1, "pending_invitations": 2}
    with db.session(readonly=True) as session:
        assert usage.balance(session, ws.workspace_id).plan == "premium"
        assert reports.transactions(session, ws.workspace_id).total == 0  # no plan_change row


def test_the_operators_seat_limit_overrides_the_plan(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    _plan(db, ws, "free")  # 1 seat
    assert _invite(client, ws, "carol@acme.test")[0] == 409
    with db.session() as session:
        workspace = session.get(Workspace, ws.workspace_id)
        assert workspace is not None
        seats.set_seat_limit(session, workspace, 3)
    assert _invite(client, ws, "carol@acme.test")[0] == 201
    # With the operator's limit, the plan's seats do not bound a plan change either.
    _plan(db, ws, "free")
