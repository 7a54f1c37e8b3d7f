"""Unlocks with credits: 30 days of the full report shared by the team, charged once, expiry
with a re-unlock prompt, 402 when short, idempotent retries, e-mail and post analytics prices,
priced discovery pages, the dashboard and the pricing page."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from creator_builds import unlock
from creators.discovery_helpers import add_creators
from creators.unlock_helpers import balance, charges, credits_only, ledger_sum
from factories import WorkspaceFixture
from socialpulse.billing import service as billing_service
from socialpulse.creators.models import CreatorAccess, CreatorPost, SavedSearch
from socialpulse.db import Database, utcnow
from socialpulse.workspaces.models import Role

UNLOCK = "/api/v1/discovery/unlock-profile"


@pytest.fixture
def creators(db: Database) -> dict[str, int]:
    return add_creators(
        db,
        (
            "ana",
            {
                "hashtags": ["yoga"],
                "category": "fitness",
                "followers_count": 40_000,
                "contact_email": "ana@example.test",
            },
        ),
        ("bo", {"hashtags": ["food"], "category": "food", "followers_count": 30_000}),
        ("cy", {"hashtags": ["yoga", "travel"], "category": "fitness", "followers_count": 20_000}),
    )


def _unlock(client: TestClient, ws: WorkspaceFixture, creator_id: int, **headers: str):
    return client.post(UNLOCK, json={"creator_id": creator_id}, headers={**ws.headers(), **headers})


def _can_read(
    client: TestClient, ws: WorkspaceFixture, creator_id: int, role: Role = Role.owner
) -> bool:
    """Whether the workspace may read the full report (its posts: 200, else 403)."""
    response = client.get(f"/api/v1/creators/{creator_id}/posts", headers=ws.headers(role))
    assert response.status_code in (200, 403), response.text
    return response.status_code == 200


def _state(client: TestClient, ws: WorkspaceFixture, creator_id: int) -> str:
    response = client.get(f"/api/v1/discovery/access/{creator_id}", headers=ws.headers())
    assert response.status_code == 200, response.text
    return str(response.json()["state"])


def test_an_unlock_takes_credits_and_opens_the_report_for_30_days(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    posts = client.get(f"/api/v1/creators/{creators['ana']}/posts", headers=ws.headers())
    assert posts.status_code == 403
    locked = posts.json()["error"]
    assert locked["code"] == "creator_access_required"
    assert locked["details"]["price"] == 25 and locked["details"]["balance"] == 100
    response = _unlock(client, ws, creators["ana"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["charged"] is True and body["credits"] == 25 and body["funding"] == "credits"
    assert body["access"]["state"] == "unlocked"
    assert 30 * 86_400 - 60 < body["access"]["remaining_seconds"] <= 30 * 86_400
    assert body["granted_by_user_id"] is None  # an API key is no user
    assert balance(db, ws.workspace_id) == 75 == ledger_sum(db, ws.workspace_id)
    posts = client.get(f"/api/v1/creators/{creators['ana']}/posts", headers=ws.headers())
    assert posts.status_code == 200


def test_the_plans_allowance_pays_before_credits(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    with db.session() as session:
        billing_service.set_plan(session, ws.workspace_id, "free", reason="test")
        billing_service.grant_credits(session, ws.workspace_id, 100, reason="test")
    body = _unlock(client, ws, creators["ana"]).json()
    assert body["charged"] is True and body["funding"] == "allowance" and body["credits"] == 0
    assert balance(db, ws.workspace_id) == 100


def test_unlocking_again_while_unlocked_charges_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    assert _unlock(client, ws, creators["bo"]).json()["charged"] is True
    again = _unlock(client, ws, creators["bo"])
    assert again.status_code == 200
    assert again.json()["charged"] is False and again.json()["credits"] == 0
    assert balance(db, ws.workspace_id) == 75
    assert charges(db, ws.workspace_id, "influencer_unlock") == 1


def test_a_team_member_sees_the_unlock_and_the_ledger_names_who_spent(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    unlock(db, ws, creators["ana"])  # by the owner, signed in
    assert _can_read(client, ws, creators["ana"], Role.viewer)
    assert _state(client, ws, creators["ana"]) == "unlocked"
    listed = client.get(
        "/api/v1/discovery/unlocked-profiles", headers=ws.headers(Role.viewer)
    ).json()
    assert [i["creator"]["handle"] for i in listed["items"]] == ["ana"]
    assert listed["items"][0]["granted_by_user_id"] == ws.owner_id


def test_a_viewer_cannot_spend_the_teams_credits(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    response = _unlock(client, ws, creators["ana"], **ws.headers(Role.viewer))
    assert response.status_code == 403
    assert balance(db, ws.workspace_id) == 100


def test_short_of_credits_is_a_402_with_price_balance_and_topups_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 10)
    response = _unlock(client, ws, creators["ana"])
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["details"]["price"] == 25 and error["details"]["balance"] == 10
    assert {t["credits"] for t in error["details"]["topups"]} >= {1_000, 2_500, 10_000}
    with db.session(readonly=True) as session:
        assert session.scalars(select(CreatorAccess)).all() == []
    assert balance(db, ws.workspace_id) == 10 == ledger_sum(db, ws.workspace_id)


def test_an_unknown_creator_is_a_404_and_charges_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    credits_only(db, ws.workspace_id, 100)
    response = _unlock(client, ws, 999_999)
    assert response.status_code == 404
    assert balance(db, ws.workspace_id) == 100
    assert client.post(UNLOCK, json={"creator_id": 0}, headers=ws.headers()).status_code == 422


def test_a_retried_unlock_with_its_idempotency_key_is_charged_once(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    first = _unlock(client, ws, creators["cy"], **{"Idempotency-Key": "unlock-cy-1"})
    again = _unlock(client, ws, creators["cy"], **{"Idempotency-Key": "unlock-cy-1"})
    assert first.status_code == again.status_code == 200
    assert again.json()["ledger_entry_id"] == first.json()["ledger_entry_id"]
    assert balance(db, ws.workspace_id) == 75
    other = _unlock(client, ws, creators["bo"], **{"Idempotency-Key": "unlock-cy-1"})
    assert other.status_code == 409  # the same key for another creator
    assert balance(db, ws.workspace_id) == 75


def test_expired_access_is_a_403_with_the_reunlock_price_then_unlocks_again(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    _unlock(client, ws, creators["ana"])
    with db.session() as session:
        session.execute(update(CreatorAccess).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    response = client.get(f"/api/v1/creators/{creators['ana']}/posts", headers=ws.headers())
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "access_expired"
    assert error["details"]["price"] == 25 and error["details"]["balance"] == 75
    assert "25 credits" in error["message"] and "balance 75" in error["message"]
    assert not _can_read(client, ws, creators["ana"])
    assert _state(client, ws, creators["ana"]) == "expired"
    listed = client.get("/api/v1/discovery/unlocked-profiles", headers=ws.headers()).json()
    assert listed["total"] == 0
    everything = client.get(
        "/api/v1/discovery/unlocked-profiles",
        params={"include_expired": "true"},
        headers=ws.headers(),
    ).json()
    assert everything["items"][0]["access"]["state"] == "expired"
    assert everything["items"][0]["access"]["remaining_seconds"] == 0
    again = _unlock(client, ws, creators["ana"]).json()
    assert again["charged"] is True and again["access"]["state"] == "unlocked"
    assert balance(db, ws.workspace_id) == 50
    assert _can_read(client, ws, creators["ana"])


def test_unlocked_profiles_are_listed_soonest_to_expire_first_and_only_this_workspaces(
    client: TestClient,
    ws: WorkspaceFixture,
    other_ws: WorkspaceFixture,
    db: Database,
    creators: dict[str, int],
) -> None:
    credits_only(db, ws.workspace_id, 100)
    credits_only(db, other_ws.workspace_id, 100)
    _unlock(client, ws, creators["ana"])
    _unlock(client, ws, creators["bo"])
    _unlock(client, other_ws, creators["cy"])
    with db.session() as session:
        session.execute(
            update(CreatorAccess)
            .where(CreatorAccess.creator_id == creators["bo"])
            .values(expires_at=utcnow() + dt.timedelta(days=2))
        )
    mine = client.get("/api/v1/discovery/unlocked-profiles", headers=ws.headers()).json()
    assert [i["creator"]["handle"] for i in mine["items"]] == ["bo", "ana"]
    assert mine["items"][0]["access"]["remaining_seconds"] <= 2 * 86_400
    theirs = client.get("/api/v1/discovery/unlocked-profiles", headers=other_ws.headers()).json()
    assert [i["creator"]["handle"] for i in theirs["items"]] == ["cy"]
    assert not _can_read(client, other_ws, creators["ana"])
    assert _state(client, other_ws, creators["ana"]) == "locked"


def test_the_contact_email_is_charged_once_and_only_when_published(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 10)
    url = "/api/v1/discovery/unlock-email"
    none = client.post(url, json={"creator_id": creators["bo"]}, headers=ws.headers())
    assert none.status_code == 404
    assert "published no contact e-mail" in none.json()["error"]["message"]
    assert balance(db, ws.workspace_id) == 10
    first = client.post(url, json={"creator_id": creators["ana"]}, headers=ws.headers())
    assert first.status_code == 200, first.text
    assert first.json() == {
        "creator_id": creators["ana"],
        "contact_email": "ana@example.test",
        "charged": True,
        "credits": 1,
    }
    again = client.post(url, json={"creator_id": creators["ana"]}, headers=ws.headers())
    assert again.json()["charged"] is False
    assert balance(db, ws.workspace_id) == 9 == ledger_sum(db, ws.workspace_id)


def test_post_analytics_of_a_locked_creator_costs_5_credits_once(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 7)
    with db.session() as session:
        post = session.scalar(select(CreatorPost).where(CreatorPost.creator_id == creators["ana"]))
        assert post is not None
        post.url = "https://simulated.invalid/p/ana-1"
    url = "/api/v1/creators/posts/analyze"
    body = {"url": "https://simulated.invalid/p/ana-1"}
    first = client.post(url, json=body, headers=ws.headers())
    assert first.status_code == 200, first.text
    assert first.json()["post"]["url"] == body["url"]
    assert balance(db, ws.workspace_id) == 2
    assert client.post(url, json=body, headers=ws.headers()).status_code == 200
    assert balance(db, ws.workspace_id) == 2  # paid once for this post
    with db.session() as session:
        other = session.scalar(select(CreatorPost).where(CreatorPost.creator_id == creators["bo"]))
        assert other is not None
        other.url = "https://simulated.invalid/p/bo-1"
    short = client.post(url, json={"url": "https://simulated.invalid/p/bo-1"}, headers=ws.headers())
    assert short.status_code == 402
    assert balance(db, ws.workspace_id) == 2


def test_page_one_is_free_and_later_pages_use_free_units_then_credits(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    add_creators(db, *[(f"c{n:02d}", {"followers_count": 1000 + n}) for n in range(12)])
    credits_only(db, ws.workspace_id, 15)
    browse = "/api/v1/discovery/browse"
    assert client.get(browse, headers=ws.headers()).json()["charge"] is None
    fundings = []
    for _ in range(5):
        page = client.get(browse, params={"page": 2, "page_size": 5}, headers=ws.headers())
        assert page.status_code == 200, page.text
        fundings.append(page.json()["charge"]["funding"])
    assert fundings == ["free"] * 5
    paid = client.get(browse, params={"page": 3, "page_size": 5}, headers=ws.headers()).json()
    assert paid["charge"] == {
        "action": "discovery_pagination",
        "credits": 10,
        "funding": "credits",
        "replayed": False,
    }
    assert [i["creator"]["handle"] for i in paid["items"]] == ["c01", "c00"]
    short = client.get(browse, params={"page": 2}, headers=ws.headers())
    assert short.status_code == 402
    assert balance(db, ws.workspace_id) == 5 == ledger_sum(db, ws.workspace_id)


def test_advanced_search_is_priced_and_saves_its_criteria(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 0)
    response = client.post(
        "/api/v1/discovery/search-advanced",
        json={
            "categories": ["fitness"],
            "hashtags": ["#yoga"],
            "has_contact_email": True,
            "save_as": "Yoga with e-mail",
        },
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["creator"]["handle"] for i in body["items"]] == ["ana"]
    assert body["charge"]["action"] == "advanced_search" and body["charge"]["funding"] == "free"
    saved = client.get("/api/v1/discovery/saved-searches", headers=ws.headers()).json()
    assert saved[0]["id"] == body["saved_search_id"] and saved[0]["name"] == "Yoga with e-mail"
    run = client.post(
        f"/api/v1/discovery/saved-searches/{saved[0]['id']}/run", headers=ws.headers()
    )
    assert [i["creator"]["handle"] for i in run.json()["items"]] == ["ana"]
    with db.session(readonly=True) as session:
        row = session.get(SavedSearch, saved[0]["id"])
        assert row is not None and row.last_run_at is not None


def test_a_bad_advanced_search_is_a_422_that_charges_and_saves_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    credits_only(db, ws.workspace_id, 100)
    response = client.post(
        "/api/v1/discovery/search-advanced",
        json={"followers_min": 100, "followers_max": 1, "save_as": "broken"},
        headers=ws.headers(),
    )
    assert response.status_code == 422
    assert charges(db, ws.workspace_id, "advanced_search") == 0
    assert client.get("/api/v1/discovery/saved-searches", headers=ws.headers()).json() == []


def test_dashboard_totals_team_unlocks_credits_and_suggestions(
    client: TestClient, ws: WorkspaceFixture, db: Database, creators: dict[str, int]
) -> None:
    credits_only(db, ws.workspace_id, 100)
    unlock(db, ws, creators["ana"])
    body = client.get("/api/v1/discovery/dashboard", headers=ws.headers()).json()
    assert body["totals"]["analysed_creators"] == 3 and body["totals"]["unlocked"] == 1
    assert [u["creator"]["handle"] for u in body["recent_unlocks"]] == ["ana"]
    assert body["unlocks_by_member"] == {str(ws.owner_id): 1}
    assert body["balance"]["balance"] == 75
    suggested = [s["creator"]["handle"] for s in body["suggestions"]]
    assert suggested[0] == "cy" and "ana" not in suggested  # a lookalike not yet unlocked


def test_pricing_shows_each_discovery_action_for_this_workspace(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    credits_only(db, ws.workspace_id, 30)
    body = client.get("/api/v1/discovery/pricing", headers=ws.headers()).json()
    prices = {item["action"]: item for item in body["items"]}
    assert body["balance"] == 30
    assert prices["influencer_unlock"]["credits"] == 25
    assert prices["influencer_unlock"]["access_days"] == 30
    assert prices["influencer_unlock"]["charge_now"] == 25
    assert prices["discovery_pagination"]["free_remaining"] == 5
    assert prices["advanced_search"]["free_per_month"] == 10
    assert prices["email_unlock"]["credits"] == 1 and prices["post_analytics"]["credits"] == 5
