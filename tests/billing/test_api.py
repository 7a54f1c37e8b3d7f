"""`/api/v1/credits/*` and the admin catalogue edits: what a member reads of the wallet, the
ledger's pages and filters, and that one workspace never sees another's rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from fastapi.testclient import TestClient

from billing_support import NO_ALLOWANCE, Setup
from factories import WorkspaceFixture
from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import service
from socialpulse.db import Database
from socialpulse.workspaces.models import Role

Admin = Callable[[WorkspaceFixture], None]


def _charge(
    db: Database, ws: WorkspaceFixture, action: str, ref: str, user: int | None = None
) -> None:
    with db.session() as session:
        service.charge(session, ws.workspace_id, action, reference=ref, actor_user_id=user)


@pytest.fixture
def spent(db: Database, ws: WorkspaceFixture, setup_wallet: Setup) -> WorkspaceFixture:
    """Standard with 1 profile a month and 200 credits: one allowance unlock, two paid ones,
    one free export, one paid export."""
    setup_wallet(ws, "standard", credits=200, profiles_per_month=1)
    for n in range(3):
        _charge(db, ws, "influencer_unlock", f"creator:{n}", ws.owner_id)
    _charge(db, ws, "bulk_export", "list:7", ws.owner_id)
    _charge(db, ws, "bulk_export", "list:8")
    return ws


def test_balance_and_summary(client: TestClient, spent: WorkspaceFixture) -> None:
    balance = client.get("/api/v1/credits/balance", headers=spent.headers(Role.viewer)).json()
    # 200 - 2 x 25 - 50
    assert (balance["plan"], balance["balance"], balance["held"], balance["available"]) == (
        "standard",
        100,
        0,
        100,
    )
    summary = client.get("/api/v1/credits/wallet/summary", headers=spent.headers()).json()
    assert summary["plan"]["code"] == "standard"
    assert summary["seats"] == 2
    profiles = next(a for a in summary["allowances"]["allowances"] if a["allowance"] == "profiles")
    assert (profiles["included"], profiles["used"], profiles["remaining"]) == (1, 1, 0)
    exports = next(f for f in summary["allowances"]["free"] if f["action"] == "bulk_export")
    assert (exports["used"], exports["remaining"]) == (1, 0)
    assert [t["discounted_price_cents"] for t in summary["topups"]] == [5000, 12500, 50000]


def test_dashboard_and_monthly_usage(client: TestClient, spent: WorkspaceFixture) -> None:
    usage = client.get("/api/v1/credits/usage/monthly", headers=spent.headers()).json()
    by_action = {a["action"]: a for a in usage["actions"]}
    assert by_action["influencer_unlock"] == {
        "action": "influencer_unlock",
        "units": 3,
        "credits": 50,
        "free_units": 0,
        "allowance_units": 1,
        "credit_units": 2,
    }
    assert (by_action["bulk_export"]["free_units"], by_action["bulk_export"]["credits"]) == (1, 50)
    assert (usage["credits_spent"], usage["credits_added"]) == (100, 200)
    dashboard = client.get("/api/v1/credits/dashboard", headers=spent.headers()).json()
    assert dashboard["summary"]["balance"]["balance"] == 100
    assert [r["reference"] for r in dashboard["recent"]][:2] == ["list:8", "list:7"]


def test_transactions_page_and_filter(client: TestClient, spent: WorkspaceFixture) -> None:
    url = "/api/v1/credits/transactions"
    everything = client.get(url, headers=spent.headers()).json()
    assert everything["total"] == 7  # plan change, grant, 5 charges
    first = client.get(url, params={"page_size": 3}, headers=spent.headers()).json()
    second = client.get(url, params={"page_size": 3, "page": 2}, headers=spent.headers()).json()
    third = client.get(url, params={"page_size": 3, "page": 3}, headers=spent.headers()).json()
    ids = [r["id"] for page in (first, second, third) for r in page["items"]]
    assert ids == [r["id"] for r in everything["items"]]
    assert ids == sorted(ids, reverse=True)
    kinds = client.get(url, params={"kind": "grant"}, headers=spent.headers()).json()
    assert [(r["kind"], r["amount"]) for r in kinds["items"]] == [("grant", 200)]
    unlocks = client.get(url, params={"action": "influencer_unlock"}, headers=spent.headers())
    assert [r["funding"] for r in unlocks.json()["items"]] == ["credits", "credits", "allowance"]
    mine = client.get(url, params={"actor": spent.owner_id}, headers=spent.headers()).json()
    assert mine["total"] == 4
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get(url, params={"from": future}, headers=spent.headers()).json()["total"] == 0
    assert client.get(url, params={"to": future}, headers=spent.headers()).json()["total"] == 7


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page_size": 201},
        {"kind": "bribe"},
        {"actor": 2**31},
        {"from": "2026-01-01T00:00:00"},  # no offset
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    ],
)
def test_bad_transaction_filters_are_422(
    client: TestClient, spent: WorkspaceFixture, params: dict[str, object]
) -> None:
    response = client.get("/api/v1/credits/transactions", params=params, headers=spent.headers())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_transactions_search_matches_text_literally(
    client: TestClient, spent: WorkspaceFixture
) -> None:
    url = "/api/v1/credits/transactions/search"
    found = client.get(url, params={"q": "CREATOR:1"}, headers=spent.headers()).json()
    assert [r["reference"] for r in found["items"]] == ["creator:1"]
    by_description = client.get(url, params={"q": "test setup"}, headers=spent.headers()).json()
    assert {r["kind"] for r in by_description["items"]} == {"grant", "plan_change"}
    assert client.get(url, params={"q": "%"}, headers=spent.headers()).json()["total"] == 0
    assert client.get(url, params={"q": ""}, headers=spent.headers()).status_code == 422


def test_spending_per_month_in_the_workspace_zone(
    client: TestClient, db: Database, ws: WorkspaceFixture, setup_wallet: Setup
) -> None:
    setup_wallet(ws, "standard", credits=500, **NO_ALLOWANCE)
    with time_machine.travel(dt.datetime(2027, 1, 10, tzinfo=dt.UTC), tick=False):
        _charge(db, ws, "campaign_analysis", "campaign:1")
    with time_machine.travel(dt.datetime(2027, 3, 5, tzinfo=dt.UTC), tick=False):
        _charge(db, ws, "bulk_export", "list:1")  # free
        _charge(db, ws, "bulk_export", "list:2")
        body = client.get(
            "/api/v1/credits/analytics/spending", params={"months": 3}, headers=ws.headers()
        ).json()
    assert body["months"] == [
        {"month": "2027-01", "credits_spent": 10, "credits_added": 0, "units": 1},
        {"month": "2027-02", "credits_spent": 0, "credits_added": 0, "units": 0},
        {"month": "2027-03", "credits_spent": 50, "credits_added": 0, "units": 2},
    ]
    too_many = client.get(
        "/api/v1/credits/analytics/spending", params={"months": 37}, headers=ws.headers()
    )
    assert too_many.status_code == 422


def test_can_perform_and_pricing(client: TestClient, spent: WorkspaceFixture) -> None:
    q = client.get("/api/v1/credits/can-perform/influencer_unlock", headers=spent.headers()).json()
    assert (q["can_perform"], q["funding"], q["credits"], q["access_days"]) == (
        True,
        "credits",
        25,
        30,
    )
    many = client.get(
        "/api/v1/credits/can-perform/influencer_unlock",
        params={"quantity": 5},
        headers=spent.headers(),
    ).json()
    assert many["can_perform"] is False
    assert "125 credits" in many["reason"]
    unknown = client.get("/api/v1/credits/can-perform/teleport", headers=spent.headers())
    assert unknown.status_code == 422
    assert "unknown action 'teleport'" in unknown.json()["error"]["message"]
    pricing = client.get("/api/v1/credits/pricing", headers=spent.headers()).json()
    assert {r["action"]: r["credits"] for r in pricing["rules"]}["influencer_unlock"] == 25
    assert [p["code"] for p in pricing["plans"]] == ["free", "standard", "premium"]
    rule = client.get("/api/v1/credits/pricing/advanced_search", headers=spent.headers()).json()
    assert (rule["credits"], rule["free_per_month"]) == (15, 10)
    assert client.get("/api/v1/credits/pricing/nope", headers=spent.headers()).status_code == 422


def test_calculate_quotes_each_item(client: TestClient, spent: WorkspaceFixture) -> None:
    body = [
        {"action": "influencer_unlock", "quantity": 2},
        {"action": "advanced_search"},
        {"action": "bulk_export", "quantity": 3},
    ]
    result = client.post("/api/v1/credits/pricing/calculate", json=body, headers=spent.headers())
    assert result.status_code == 200, result.text
    items = result.json()["items"]
    assert [(i["funding"], i["credits"]) for i in items] == [
        ("credits", 50),
        ("free", 0),
        ("credits", 150),
    ]
    assert result.json()["total_credits"] == 200
    assert result.json()["can_perform_all"] is False  # 150 > 100
    for bad in (
        [],
        [{"action": "x", "quantity": 1}],
        [{"action": "bulk_export", "quantity": 1.5}],
        [{"action": "bulk_export", "quantity": -1}],
    ):
        response = client.post(
            "/api/v1/credits/pricing/calculate", json=bad, headers=spent.headers()
        )
        assert response.status_code == 422, bad


def test_allowances(client: TestClient, spent: WorkspaceFixture) -> None:
    body = client.get("/api/v1/credits/allowances", headers=spent.headers()).json()
    assert body["plan"] == "standard"
    assert {a["allowance"]: a["remaining"] for a in body["allowances"]} == {
        "profiles": 0,
        "emails": 250,
        "posts": 125,
    }


def test_another_workspace_never_sees_these_rows(
    client: TestClient, db: Database, spent: WorkspaceFixture, other: WorkspaceFixture
) -> None:
    theirs = client.get("/api/v1/credits/transactions", headers=other.headers()).json()
    assert theirs["total"] == 0
    search = client.get(
        "/api/v1/credits/transactions/search", params={"q": "creator"}, headers=other.headers()
    ).json()
    assert search["total"] == 0
    by_actor = client.get(
        "/api/v1/credits/transactions", params={"actor": spent.owner_id}, headers=other.headers()
    ).json()
    assert by_actor["total"] == 0
    assert client.get("/api/v1/credits/balance", headers=other.headers()).json()["balance"] == 0
    usage = client.get("/api/v1/credits/usage/monthly", headers=other.headers()).json()
    assert usage["actions"] == []
    allowances = client.get("/api/v1/credits/allowances", headers=other.headers()).json()
    assert all(a["used"] == 0 for a in allowances["allowances"])


def test_credits_need_a_key(client: TestClient) -> None:
    assert client.get("/api/v1/credits/balance").status_code == 401


def test_system_stats_are_for_instance_admins_only(
    client: TestClient, spent: WorkspaceFixture, other: WorkspaceFixture, make_instance_admin: Admin
) -> None:
    refused = client.get("/api/v1/credits/system/stats", headers=spent.headers(Role.owner))
    assert refused.status_code == 403
    make_instance_admin(other)
    stats = client.get("/api/v1/credits/system/stats", headers=other.headers()).json()
    assert stats["wallets"] == 1  # `other` has never spent: no wallet yet
    assert stats["total_balance"] == 100
    assert stats["ledger_mismatches"] == 0
    assert {k["kind"]: k["credits"] for k in stats["ledger"]} == {
        "charge": -100,
        "grant": 200,
        "plan_change": 0,
    }


def test_admins_edit_plans_and_prices(
    client: TestClient, db: Database, ws: WorkspaceFixture, make_instance_admin: Admin
) -> None:
    url = "/api/v1/admin/plans/standard"
    assert client.put(url, json={"seats": 3}, headers=ws.headers()).status_code == 403
    make_instance_admin(ws)
    edited = client.put(url, json={"seats": 3, "price_cents": 24900}, headers=ws.headers())
    assert edited.status_code == 200, edited.text
    assert (edited.json()["seats"], edited.json()["price_cents"], edited.json()["name"]) == (
        3,
        24900,
        "Standard",
    )
    for bad in (
        {"seats": 0},
        {"seats": 2.5},
        {"price_cents": -1},
        {"seats": "3"},
        {"bogus": 1},
        {"name": None},
    ):
        assert client.put(url, json=bad, headers=ws.headers()).status_code == 422, bad
    assert client.put("/api/v1/admin/plans/gold", json={}, headers=ws.headers()).status_code == 404
    rule_url = "/api/v1/admin/pricing/influencer_unlock"
    rule = client.put(rule_url, json={"credits": 30, "access_days": None}, headers=ws.headers())
    assert rule.status_code == 200, rule.text
    assert (rule.json()["credits"], rule.json()["access_days"]) == (30, None)
    assert client.put(rule_url, json={"credits": -1}, headers=ws.headers()).status_code == 422
    unknown = client.put("/api/v1/admin/pricing/teleport", json={}, headers=ws.headers())
    assert unknown.status_code == 422
    with db.session(readonly=True) as session:
        assert billing_pricing.get_plan(session, "standard").seats == 3
        assert billing_pricing.get_rule(session, "influencer_unlock").credits == 30
