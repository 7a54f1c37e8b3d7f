"""Campaigns: CRUD with validation that writes nothing when it refuses (dates out of order,
unknown creators or posts, negative money, duplicate names), the analysis's figures on
hand-computed data, and tenancy (another workspace's campaign is a 404 on every route)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from factories import WorkspaceFixture, make
from socialpulse.billing import service as billing
from socialpulse.billing import usage as billing_usage
from socialpulse.billing.models import LedgerEntry, Reservation
from socialpulse.creators import campaign_analysis
from socialpulse.creators.models import (
    Campaign,
    CampaignCost,
    CampaignCreator,
    CampaignPost,
    Creator,
    CreatorComment,
    CreatorList,
    CreatorPost,
)
from socialpulse.db import Database
from socialpulse.workspaces.models import Role, Workspace

UTC = dt.UTC


def _creators(db: Database, *specs: tuple[str, int | None]) -> list[int]:
    with db.session() as session:
        return [
            make(session, Creator, handle=handle, followers_count=followers).id
            for handle, followers in specs
        ]


def _count(db: Database, *models: type) -> list[int]:
    with db.session(readonly=True) as session:
        return [session.scalar(select(func.count()).select_from(m)) or 0 for m in models]


def _body(**fields: Any) -> dict[str, Any]:
    return {"name": "Spring launch", "starts_on": "2026-11-01", "ends_on": "2026-11-10", **fields}


def _create(client: TestClient, ws: WorkspaceFixture, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/campaigns", json=_body(**fields), headers=ws.headers())
    assert response.status_code == 201, response.text
    return dict(response.json())


ALL = (Campaign, CampaignCreator, CampaignPost, CampaignCost)


def test_a_campaign_is_created_with_creators_posts_and_costs(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada, bob = _creators(db, ("ada", 1000), ("bob", 2000))
    with db.session() as session:
        post = make(session, CreatorPost, creator_id=bob).id
    body = _create(
        client,
        ws,
        budget_cents=50_000,
        currency="EUR",
        creators=[{"creator_id": ada, "fee_cents": 10_000}, {"creator_id": bob}],
        post_ids=[post],
        costs=[{"label": "Shipping", "amount_cents": 2_500, "incurred_on": "2026-11-02"}],
    )
    assert body["currency"] == "EUR" and body["status"] == "draft"
    assert [c["handle"] for c in body["creators"]] == ["ada", "bob"]
    assert [c["fee_cents"] for c in body["creators"]] == [10_000, 0]
    assert body["attached_post_ids"] == [post]
    assert body["costs"][0]["label"] == "Shipping"
    assert (body["fees_cents"], body["other_costs_cents"], body["total_cost_cents"]) == (
        10_000,
        2_500,
        12_500,
    )
    listed = client.get("/api/v1/campaigns", headers=ws.headers()).json()
    assert listed["total"] == 1 and listed["items"][0]["creators_count"] == 2


def test_ends_before_it_starts_is_a_422_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada = _creators(db, ("ada", 1000))[0]
    response = client.post(
        "/api/v1/campaigns",
        json=_body(
            starts_on="2026-11-10",
            ends_on="2026-11-01",
            creators=[{"creator_id": ada, "fee_cents": 100}],
            costs=[{"label": "Ads", "amount_cents": 100}],
        ),
        headers=ws.headers(),
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "ends_on (2026-11-01) is before starts_on (2026-11-10)" in message
    assert _count(db, *ALL) == [0, 0, 0, 0]


def test_a_change_that_puts_the_end_before_the_start_changes_nothing(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    campaign = _create(client, ws)
    path = f"/api/v1/campaigns/{campaign['id']}"
    response = client.patch(
        path, json={"starts_on": "2026-12-01", "name": "Renamed"}, headers=ws.headers()
    )
    assert response.status_code == 422
    kept = client.get(path, headers=ws.headers()).json()
    assert (kept["name"], kept["starts_on"]) == ("Spring launch", "2026-11-01")
    moved = client.patch(
        path, json={"starts_on": "2026-12-01", "ends_on": "2026-12-05"}, headers=ws.headers()
    )
    assert moved.status_code == 200 and moved.json()["ends_on"] == "2026-12-05"


def test_an_unknown_creator_is_a_404_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada = _creators(db, ("ada", 1000))[0]
    response = client.post(
        "/api/v1/campaigns",
        json=_body(creators=[{"creator_id": ada}, {"creator_id": 987_654}]),
        headers=ws.headers(),
    )
    assert response.status_code == 404
    assert "987654" in response.json()["error"]["message"]
    assert _count(db, *ALL) == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "fields",
    [
        {"budget_cents": -1},
        {"creators": [{"creator_id": 1, "fee_cents": -500}]},
        {"costs": [{"label": "Ads", "amount_cents": -1}]},
        {"costs": [{"label": " ", "amount_cents": 1}]},
        {"currency": "usd"},
        {"starts_on": "2026-13-01"},
    ],
    ids=["budget", "fee", "cost", "blank-label", "currency", "date"],
)
def test_negative_money_and_malformed_fields_are_a_422_and_write_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database, fields: dict[str, Any]
) -> None:
    _creators(db, ("ada", 1000))
    response = client.post("/api/v1/campaigns", json=_body(**fields), headers=ws.headers())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert _count(db, *ALL) == [0, 0, 0, 0]


def test_a_negative_cost_or_fee_later_is_a_422_and_changes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada = _creators(db, ("ada", 1000))[0]
    campaign = _create(client, ws, creators=[{"creator_id": ada, "fee_cents": 700}])
    base = f"/api/v1/campaigns/{campaign['id']}"
    assert (
        client.post(
            f"{base}/costs", json={"label": "Ads", "amount_cents": -5}, headers=ws.headers()
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"{base}/creators/{ada}", json={"fee_cents": -5}, headers=ws.headers()
        ).status_code
        == 422
    )
    kept = client.get(base, headers=ws.headers()).json()
    assert kept["costs"] == [] and kept["creators"][0]["fee_cents"] == 700


def test_a_duplicate_name_is_a_409_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    _create(client, ws)
    again = client.post(
        "/api/v1/campaigns",
        json=_body(costs=[{"label": "Ads", "amount_cents": 1}]),
        headers=ws.headers(),
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "campaign_name_taken"
    assert _count(db, Campaign, CampaignCost) == [1, 0]


def test_a_creator_given_twice_or_added_again_is_refused(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada = _creators(db, ("ada", 1000))[0]
    twice = client.post(
        "/api/v1/campaigns",
        json=_body(creators=[{"creator_id": ada}, {"creator_id": ada}]),
        headers=ws.headers(),
    )
    assert twice.status_code == 422 and "given twice" in twice.json()["error"]["message"]
    campaign = _create(client, ws, creators=[{"creator_id": ada}])
    again = client.post(
        f"/api/v1/campaigns/{campaign['id']}/creators",
        json={"creator_id": ada},
        headers=ws.headers(),
    )
    assert again.status_code == 409
    assert _count(db, CampaignCreator) == [1]


def test_a_post_of_a_creator_outside_the_campaign_cannot_be_attached(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada, bob = _creators(db, ("ada", 1000), ("bob", 2000))
    with db.session() as session:
        bobs_post = make(session, CreatorPost, creator_id=bob).id
    campaign = _create(client, ws, creators=[{"creator_id": ada}])
    path = f"/api/v1/campaigns/{campaign['id']}/posts"
    outside = client.post(path, json={"post_ids": [bobs_post]}, headers=ws.headers())
    assert outside.status_code == 422
    assert "add the creator first" in outside.json()["error"]["message"]
    unknown = client.post(path, json={"post_ids": [123_456]}, headers=ws.headers())
    assert unknown.status_code == 404
    assert _count(db, CampaignPost) == [0]


def test_removing_a_creator_detaches_its_posts(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    ada, bob = _creators(db, ("ada", 1000), ("bob", 2000))
    with db.session() as session:
        adas = make(session, CreatorPost, creator_id=ada).id
        bobs = make(session, CreatorPost, creator_id=bob).id
    campaign = _create(
        client, ws, creators=[{"creator_id": ada}, {"creator_id": bob}], post_ids=[adas, bobs]
    )
    base = f"/api/v1/campaigns/{campaign['id']}"
    assert client.delete(f"{base}/creators/{ada}", headers=ws.headers()).status_code == 204
    kept = client.get(base, headers=ws.headers()).json()
    assert kept["attached_post_ids"] == [bobs]
    assert [c["creator_id"] for c in kept["creators"]] == [bob]
    assert client.delete(f"{base}/posts/{bobs}", headers=ws.headers()).status_code == 204
    assert client.delete(f"{base}/posts/{bobs}", headers=ws.headers()).status_code == 404


def test_costs_are_added_changed_and_deleted(client: TestClient, ws: WorkspaceFixture) -> None:
    campaign = _create(client, ws, budget_cents=10_000)
    base = f"/api/v1/campaigns/{campaign['id']}"
    cost = client.post(
        f"{base}/costs", json={"label": "Ads", "amount_cents": 4_000}, headers=ws.headers()
    ).json()
    changed = client.patch(
        f"{base}/costs/{cost['id']}", json={"amount_cents": 4_500}, headers=ws.headers()
    )
    assert changed.json()["amount_cents"] == 4_500 and changed.json()["label"] == "Ads"
    assert client.get(base, headers=ws.headers()).json()["total_cost_cents"] == 4_500
    assert client.delete(f"{base}/costs/{cost['id']}", headers=ws.headers()).status_code == 204
    assert client.get(base, headers=ws.headers()).json()["total_cost_cents"] == 0
    cleared = client.patch(base, json={"budget_cents": None}, headers=ws.headers())
    assert cleared.json()["budget_cents"] is None


def test_a_viewer_reads_a_campaign_but_cannot_change_it(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    campaign = _create(client, ws)
    viewer = ws.headers(Role.viewer)
    assert client.get(f"/api/v1/campaigns/{campaign['id']}", headers=viewer).status_code == 200
    assert (
        client.post("/api/v1/campaigns", json=_body(name="Mine"), headers=viewer).status_code == 403
    )
    assert client.delete(f"/api/v1/campaigns/{campaign['id']}", headers=viewer).status_code == 403
    assert _count(db, Campaign) == [1]


# --------------------------------------------------------------------------- analysis


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def hand_made(db: Database, ws: WorkspaceFixture) -> dict[str, int]:
    """A campaign 2026-11-01..2026-11-10 in Europe/Berlin (UTC+1 in November: the window is
    2026-10-31 23:00Z to 2026-11-10 23:00Z) with three creators:

    * ada (1,000 followers, fee 100.00, by dates): p1 in the window (views 500, 50 likes,
      10 comments, 5 shares, 5 saves = 70), p2 at 2026-10-31 23:30Z (Berlin: 1 November; no
      views; 20 likes = 20), p3 at 22:30Z (Berlin: 31 October: out), p4 at 2026-11-10 23:30Z
      (Berlin: 11 November: out).
    * bob (2,000 followers, fee 200.00, posts attached by hand): b1 (views 1,000, 100 likes,
      20 comments = 120) and b3 before the window (no views, 40 likes, 10 comments = 50)
      attached; b2 in the window but not attached (out).
    * cy (followers hidden, fee 0, by dates): c1 in the window (no views, 10 likes).

    Costs 50.00 + 25.00, budget 500.00. Fan comments: on p1 positive 0.8, positive 0.6,
    negative -0.5 and the creator's own reply (left out); on b1 neutral 0.0; on b2 (not in
    the campaign) negative -0.9."""
    with db.session() as session:
        session.execute(
            update(Workspace)
            .where(Workspace.id == ws.workspace_id)
            .values(timezone="Europe/Berlin")
        )
        ada = make(session, Creator, handle="ada", followers_count=1000).id
        bob = make(session, Creator, handle="bob", followers_count=2000).id
        cy = make(session, Creator, handle="cy", followers_count=None).id

        def post(creator: int, at: str, **metrics: int | None) -> int:
            return make(session, CreatorPost, creator_id=creator, posted_at=_at(at), **metrics).id

        p1 = post(ada, "2026-11-05T12:00", views=500, likes=50, comments=10, shares=5, saves=5)
        post(ada, "2026-10-31T23:30", views=None, likes=20, comments=0)
        post(ada, "2026-10-31T22:30", views=9_999, likes=9_999)
        post(ada, "2026-11-10T23:30", views=9_999, likes=9_999)
        b1 = post(bob, "2026-11-03T10:00", views=1000, likes=100, comments=20)
        b2 = post(bob, "2026-11-04T10:00", views=7_777, likes=7_777)
        b3 = post(bob, "2026-10-20T10:00", views=None, likes=40, comments=10)
        post(cy, "2026-11-06T10:00", views=None, likes=10)

        def comment(post_id: int, creator: int, sentiment: str, score: float, **extra: Any) -> None:
            make(
                session,
                CreatorComment,
                post_id=post_id,
                creator_id=creator,
                ai_sentiment=sentiment,
                ai_sentiment_score=score,
                **extra,
            )

        comment(p1, ada, "positive", 0.8)
        comment(p1, ada, "positive", 0.6)
        comment(p1, ada, "negative", -0.5)
        comment(p1, ada, "positive", 1.0, by_creator=True)
        comment(b1, bob, "neutral", 0.0)
        comment(b2, bob, "negative", -0.9)
        campaign = Campaign(
            workspace_id=ws.workspace_id,
            name="Launch",
            starts_on=dt.date(2026, 11, 1),
            ends_on=dt.date(2026, 11, 10),
            budget_cents=50_000,
        )
        session.add(campaign)
        session.flush()
        session.add_all(
            [
                CampaignCreator(campaign_id=campaign.id, creator_id=ada, fee_cents=10_000),
                CampaignCreator(campaign_id=campaign.id, creator_id=bob, fee_cents=20_000),
                CampaignCreator(campaign_id=campaign.id, creator_id=cy, fee_cents=0),
                CampaignPost(campaign_id=campaign.id, creator_post_id=b1),
                CampaignPost(campaign_id=campaign.id, creator_post_id=b3),
                CampaignCost(campaign_id=campaign.id, label="Ads", amount_cents=5_000),
                CampaignCost(campaign_id=campaign.id, label="Shipping", amount_cents=2_500),
            ]
        )
        return {"campaign": campaign.id, "ada": ada, "bob": bob, "cy": cy}


def test_the_analysis_figures_match_the_hand_computed_ones(
    db: Database, ws: WorkspaceFixture, hand_made: dict[str, int]
) -> None:
    with db.session(readonly=True) as session:
        result = campaign_analysis.analysis(session, ws.workspace_id, hand_made["campaign"])
    assert result.timezone == "Europe/Berlin"
    assert result.window_start == _at("2026-10-31T23:00")
    assert result.window_end == _at("2026-11-10T23:00")
    assert (result.posts_count, result.creators_count) == (5, 3)
    reach = result.reach
    assert (reach.measured_views, reach.measured_posts) == (1500, 2)
    assert (reach.estimated, reach.estimated_posts, reach.unknown_posts) == (3000, 2, 1)
    assert reach.total == 4500 and reach.is_estimate is True
    engagement = result.engagement
    assert (engagement.likes, engagement.comments, engagement.shares, engagement.saves) == (
        220,
        40,
        5,
        5,
    )
    assert engagement.total == 270
    assert engagement.rate == round(260 / 6000, 6)  # cy's hidden followers: left out
    assert engagement.per_view == round(190 / 1500, 6)
    sentiment = result.comment_sentiment
    assert (sentiment.positive, sentiment.neutral, sentiment.negative) == (2, 1, 1)
    assert sentiment.positive_share == 0.5 and sentiment.average_score == 0.225
    costs = result.costs
    assert (costs.fees_cents, costs.other_costs_cents, costs.total_cents) == (30_000, 7_500, 37_500)
    assert costs.budget_remaining_cents == 12_500
    assert costs.cost_per_engagement_cents == 138.89  # 37,500 / 270
    assert costs.cost_per_thousand_views_cents == 25_000.0  # 37,500 / 1,500 x 1,000
    assert costs.cost_per_thousand_reach_cents == 8_333.33  # 37,500 / 4,500 x 1,000
    by_handle = {c.handle: c for c in result.creators}
    ada, bob, cy = by_handle["ada"], by_handle["bob"], by_handle["cy"]
    assert (ada.post_selection, ada.posts, ada.engagement.total) == ("dates", 2, 90)
    assert ada.engagement.rate == 0.045 and ada.cost_per_engagement_cents == 111.11
    assert ada.reach.measured_views == 500 and ada.reach.estimated == 1000
    assert (ada.comment_sentiment.positive, ada.comment_sentiment.negative) == (2, 1)
    assert (bob.post_selection, bob.posts, bob.engagement.total) == ("attached", 2, 170)
    assert bob.engagement.rate == 0.0425 and bob.cost_per_engagement_cents == 117.65
    assert bob.comment_sentiment.sample_size == 1
    assert (cy.posts, cy.engagement.rate, cy.reach.unknown_posts) == (1, None, 1)
    assert cy.cost_per_engagement_cents == 0.0
    assert [p.engagement for p in result.posts] == [10, 70, 120, 20, 50]  # newest first
    estimated = {p.engagement: (p.reach, p.reach_estimated) for p in result.posts}
    assert estimated[20] == (1000, True) and estimated[70] == (500, False)
    assert estimated[10] == (None, False)


def test_an_empty_campaign_analyses_to_zeros_not_errors(
    db: Database, ws: WorkspaceFixture, client: TestClient
) -> None:
    campaign = _create(client, ws, costs=[{"label": "Ads", "amount_cents": 100}])
    with db.session(readonly=True) as session:
        result = campaign_analysis.analysis(session, ws.workspace_id, campaign["id"])
    assert result.posts_count == 0 and result.reach.total == 0
    assert result.engagement.rate is None and result.costs.cost_per_engagement_cents is None
    assert result.costs.total_cents == 100 and result.comment_sentiment.sample_size == 0


def test_another_workspaces_campaign_is_a_404_on_every_route(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture, db: Database
) -> None:
    ada = _creators(db, ("ada", 1000))[0]
    with db.session() as session:
        post = make(session, CreatorPost, creator_id=ada).id
    campaign = _create(client, ws, creators=[{"creator_id": ada}], post_ids=[post])
    cost = client.post(
        f"/api/v1/campaigns/{campaign['id']}/costs",
        json={"label": "Ads", "amount_cents": 1},
        headers=ws.headers(),
    ).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    calls = [
        ("GET", base, None),
        ("PATCH", base, {"name": "Stolen"}),
        ("DELETE", base, None),
        ("POST", f"{base}/creators", {"creator_id": ada}),
        ("PATCH", f"{base}/creators/{ada}", {"fee_cents": 1}),
        ("DELETE", f"{base}/creators/{ada}", None),
        ("POST", f"{base}/posts", {"post_ids": [post]}),
        ("DELETE", f"{base}/posts/{post}", None),
        ("POST", f"{base}/costs", {"label": "x", "amount_cents": 1}),
        ("PATCH", f"{base}/costs/{cost['id']}", {"amount_cents": 2}),
        ("DELETE", f"{base}/costs/{cost['id']}", None),
        ("GET", f"{base}/analysis", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=other_ws.headers())
        assert response.status_code == 404, (method, path, response.text)
    assert client.get("/api/v1/campaigns", headers=other_ws.headers()).json()["total"] == 0
    mine = client.get(base, headers=ws.headers()).json()
    assert mine["name"] == "Spring launch" and mine["total_cost_cents"] == 1
    assert mine["attached_post_ids"] == [post]


# --------------------------------------------------------------------------- charging


def _grant(db: Database, ws: WorkspaceFixture, credits: int) -> None:
    with db.session() as session:
        billing.grant_credits(session, ws.workspace_id, credits, reason="test")


def _balance(db: Database, ws: WorkspaceFixture) -> int:
    with db.session(readonly=True) as session:
        return billing_usage.balance(session, ws.workspace_id).balance


def _charges(db: Database, ws: WorkspaceFixture) -> list[tuple[str | None, int, str]]:
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(LedgerEntry.action, LedgerEntry.amount, LedgerEntry.reference)
            .where(LedgerEntry.workspace_id == ws.workspace_id, LedgerEntry.kind == "charge")
            .order_by(LedgerEntry.id)
        )
        return [(action, amount, reference) for action, amount, reference in rows]


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "computed_at"}


def test_the_analysis_is_charged_once_per_idempotency_key(
    client: TestClient, ws: WorkspaceFixture, db: Database, hand_made: dict[str, int]
) -> None:
    _grant(db, ws, 25)
    path = f"/api/v1/campaigns/{hand_made['campaign']}/analysis"
    headers = {**ws.headers(), "Idempotency-Key": "analysis-1"}
    first = client.get(path, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["engagement"]["total"] == 270
    assert _balance(db, ws) == 15
    retried = client.get(path, headers=headers)
    assert retried.status_code == 200
    assert _figures(retried.json()) == _figures(first.json())
    assert _balance(db, ws) == 15, "a retried request is not charged again"
    assert (
        client.get(path, headers={**ws.headers(), "Idempotency-Key": "analysis-2"}).status_code
        == 200
    )
    assert _balance(db, ws) == 5
    reference = f"campaign:{hand_made['campaign']}"
    assert _charges(db, ws) == [("campaign_analysis", -10, reference)] * 2


def test_an_analysis_without_enough_credits_is_a_402_and_charges_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database, hand_made: dict[str, int]
) -> None:
    _grant(db, ws, 9)
    response = client.get(
        f"/api/v1/campaigns/{hand_made['campaign']}/analysis", headers=ws.headers()
    )
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["details"]["price"] == 10 and error["details"]["balance"] == 9
    assert error["details"]["topups"], "the error offers the top-ups"
    assert _balance(db, ws) == 9 and _charges(db, ws) == []


def test_an_unknown_campaigns_analysis_is_a_404_that_reserves_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    _grant(db, ws, 100)
    response = client.get("/api/v1/campaigns/424242/analysis", headers=ws.headers())
    assert response.status_code == 404
    with db.session(readonly=True) as session:
        held = session.scalar(select(func.count()).select_from(Reservation))
    assert held == 0 and _balance(db, ws) == 100


def test_deleting_a_workspace_deletes_its_campaigns_and_lists(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture, db: Database
) -> None:
    ada = _creators(db, ("ada", 1000))[0]
    with db.session() as session:
        post = make(session, CreatorPost, creator_id=ada).id
    for owner in (ws, other_ws):
        _create(
            client,
            owner,
            creators=[{"creator_id": ada, "fee_cents": 5}],
            post_ids=[post],
            costs=[{"label": "Ads", "amount_cents": 1}],
        )
        client.post("/api/v1/lists", json={"name": "Shortlist"}, headers=owner.headers())
    with db.session() as session:
        session.execute(delete(Workspace).where(Workspace.id == ws.workspace_id))
    assert _count(db, *ALL, CreatorList) == [1, 1, 1, 1, 1]
    assert _count(db, Creator, CreatorPost) == [1, 1], "shared creator data stays"


def test_a_viewer_cannot_spend_the_teams_credits_on_an_analysis(
    client: TestClient, ws: WorkspaceFixture, db: Database, hand_made: dict[str, int]
) -> None:
    _grant(db, ws, 100)
    response = client.get(
        f"/api/v1/campaigns/{hand_made['campaign']}/analysis", headers=ws.headers(Role.viewer)
    )
    assert response.status_code == 403
    assert _balance(db, ws) == 100 and _charges(db, ws) == []
