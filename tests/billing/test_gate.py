"""The credit gate on a real route of a real app: charged only when the action's transaction
commits, released when it fails, once per Idempotency-Key, 402 with the price, the balance
and the top-ups when short."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from billing_support import NO_ALLOWANCE, Setup
from factories import WorkspaceFixture
from socialpulse.app import create_app
from socialpulse.billing import ledger, usage
from socialpulse.billing.gate import Credits
from socialpulse.billing.models import Reservation
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.workspaces.deps import CurrentSubject, DbSession
from socialpulse.workspaces.models import Workspace

# A priced action whose whole effect is a write: it renames the workspace (a stand-in for
# an unlock's access row), so "charged with the work or not at all" is visible in both.
router = APIRouter(prefix="/api/v1/test-priced")


@router.post("/rename/{name}")
def rename(
    name: str,
    credits: Credits,
    session: DbSession,
    subject: CurrentSubject,
    fail: str = "",
    early: bool = False,
) -> dict[str, Any]:
    if early:
        # The route used its session first: the hold is taken in the route's transaction.
        assert session.get(Workspace, subject.workspace_id) is not None
    with credits.spend("campaign_analysis", reference=f"name:{name}") as hold:
        if hold.replayed:
            return {"replayed": True, "entry_id": hold.entry_id}
        workspace = session.get(Workspace, subject.workspace_id)
        assert workspace is not None
        workspace.name = name
        if fail == "before-settle":
            raise RuntimeError("the action failed")
        if fail == "no-settle":
            return {"settled": False}
        entry = hold.settle(session)
        if fail == "after-settle":
            raise RuntimeError("failed after settling: the transaction rolls back")
        return {"replayed": False, "entry_id": entry.id, "balance": entry.balance_after}


@pytest.fixture(scope="module")
def gate_app(settings: Settings, migrated_db: Database) -> FastAPI:
    app = create_app(settings, start_worker=False)
    app.include_router(router)
    return app


@pytest.fixture
def client(gate_app: FastAPI, db: Database) -> Iterator[TestClient]:
    gate_app.state.api_rate_limiter.reset()
    with TestClient(gate_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def funded(ws: WorkspaceFixture, setup_wallet: Setup) -> WorkspaceFixture:
    setup_wallet(ws, "standard", credits=25, **NO_ALLOWANCE)  # campaign_analysis costs 10
    return ws


def _state(db: Database, ws: WorkspaceFixture) -> tuple[int, str, list[str]]:
    with db.session(readonly=True) as session:
        workspace = session.get(Workspace, ws.workspace_id)
        assert workspace is not None
        statuses = [
            r.status.value
            for r in session.scalars(
                select(Reservation)
                .where(Reservation.workspace_id == ws.workspace_id)
                .order_by(Reservation.id)
            )
        ]
        assert (
            ledger.ledger_sum(session, ws.workspace_id)
            == usage.balance(session, ws.workspace_id).balance
        )
        return usage.balance(session, ws.workspace_id).balance, workspace.name, statuses


@pytest.mark.parametrize("early", [False, True])
def test_a_settled_action_is_charged_with_its_work(
    client: TestClient, db: Database, funded: WorkspaceFixture, early: bool
) -> None:
    response = client.post(
        "/api/v1/test-priced/rename/Renamed", params={"early": early}, headers=funded.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["balance"] == 15
    assert _state(db, funded) == (15, "Renamed", ["charged"])


@pytest.mark.parametrize("early", [False, True])
@pytest.mark.parametrize("fail", ["before-settle", "after-settle", "no-settle"])
def test_an_action_that_fails_or_never_settles_charges_nothing(
    client: TestClient, db: Database, funded: WorkspaceFixture, fail: str, early: bool
) -> None:
    response = client.post(
        "/api/v1/test-priced/rename/Broken",
        params={"fail": fail, "early": early},
        headers=funded.headers(),
    )
    assert response.status_code == (200 if fail == "no-settle" else 500)
    balance, name, statuses = _state(db, funded)
    assert balance == 25
    # A hold taken in the route's failed transaction rolled back with it: no row at all.
    assert statuses == ([] if early and fail != "no-settle" else ["released"])
    # Only the never-settled action's own write commits (it returned normally).
    assert name == ("Broken" if fail == "no-settle" else "Acme")
    # The released hold is available again at once (not after its ten minutes).
    assert client.post("/api/v1/test-priced/rename/A", headers=funded.headers()).status_code == 200


def test_a_retried_request_with_its_key_is_charged_once(
    client: TestClient, db: Database, funded: WorkspaceFixture
) -> None:
    headers = {**funded.headers(), "Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/test-priced/rename/Once", headers=headers)
    again = client.post("/api/v1/test-priced/rename/Once", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == {"replayed": True, "entry_id": first.json()["entry_id"]}
    assert _state(db, funded)[0] == 15
    reused = client.post("/api/v1/test-priced/rename/Other", headers=headers)
    assert reused.status_code == 409
    assert "already used" in reused.json()["error"]["message"]
    assert _state(db, funded)[:2] == (15, "Once")


def test_a_key_of_a_failed_request_may_be_retried(
    client: TestClient, db: Database, funded: WorkspaceFixture
) -> None:
    headers = {**funded.headers(), "Idempotency-Key": "retry-2"}
    failed = client.post(
        "/api/v1/test-priced/rename/Twice", params={"fail": "before-settle"}, headers=headers
    )
    assert failed.status_code == 500
    retried = client.post("/api/v1/test-priced/rename/Twice", headers=headers)
    assert retried.status_code == 200
    assert retried.json()["replayed"] is False
    assert _state(db, funded) == (15, "Twice", ["charged"])


@pytest.mark.parametrize("key", ["k" * 201, "   "])
def test_a_bad_idempotency_key_is_422_before_anything_is_held(
    client: TestClient, db: Database, funded: WorkspaceFixture, key: str
) -> None:
    response = client.post(
        "/api/v1/test-priced/rename/X", headers={**funded.headers(), "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert _state(db, funded) == (25, "Acme", [])


def test_short_of_credits_is_402_with_the_price_the_balance_and_top_ups(
    client: TestClient, db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "premium", credits=4, **NO_ALLOWANCE)
    response = client.post("/api/v1/test-priced/rename/Nope", headers=ws.headers())
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert "campaign_analysis costs 10 credits and the balance is 4" in error["message"]
    details = error["details"]
    assert (details["action"], details["price"], details["balance"]) == ("campaign_analysis", 10, 4)
    assert details["free_remaining"] == 0
    # Premium pays 20 % less for top-ups.
    assert details["topups"] == [
        {"code": "credits_1000", "credits": 1000, "price_cents": 4000},
        {"code": "credits_2500", "credits": 2500, "price_cents": 10000},
        {"code": "credits_10000", "credits": 10000, "price_cents": 40000},
    ]
    assert _state(db, ws) == (4, "Acme", [])


def test_the_ledger_names_the_api_key_that_spent(
    client: TestClient, db: Database, funded: WorkspaceFixture
) -> None:
    from socialpulse.workspaces.models import ApiKey, Role

    response = client.post("/api/v1/test-priced/rename/ByKey", headers=funded.headers(Role.editor))
    assert response.status_code == 200, response.text
    rows = client.get(
        "/api/v1/credits/transactions",
        params={"action": "campaign_analysis"},
        headers=funded.headers(),
    ).json()["items"]
    with db.session(readonly=True) as session:
        editor_key = session.scalar(
            select(ApiKey.id).where(
                ApiKey.workspace_id == funded.workspace_id, ApiKey.role == Role.editor
            )
        )
    assert [(r["actor_user_id"], r["actor_api_key_id"]) for r in rows] == [(None, editor_key)]
