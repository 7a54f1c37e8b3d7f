"""ROI on hand-computed examples (the `hand_made` workspace of conftest plus the costs below),
its settings and recorded costs through the API, campaigns, and tenancy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factories import WorkspaceFixture, make
from insights_data import NOW, AiCosts, HandMade, local
from socialpulse.creators.models import (
    Campaign,
    CampaignCost,
    CampaignCreator,
    Creator,
    CreatorPost,
)
from socialpulse.db import Database
from socialpulse.errors import NotFound
from socialpulse.insights import roi
from socialpulse.insights.models import CostCategory, WorkspaceCost
from socialpulse.insights.schemas import CostCreate, Roi, RoiSettingsUpdate
from socialpulse.workspaces.models import Role


def _cost(
    db: Database,
    ws: WorkspaceFixture,
    category: str,
    cents: int,
    day: dt.date,
    *,
    currency: str = "USD",
    campaign_id: int | None = None,
) -> None:
    with db.session() as session:
        roi.add_cost(
            session,
            ws.subject,
            CostCreate(
                category=CostCategory(category),
                label=f"{category} {cents}",
                amount_cents=cents,
                currency=currency,
                incurred_on=day,
                campaign_id=campaign_id,
            ),
        )


def _roi(db: Database, ws: WorkspaceFixture, **options: Any) -> Roi:
    with db.session(readonly=True) as session:
        return roi.roi(session, ws.subject, days=7, now=NOW, **options)


@pytest.fixture
def costed(db: Database, ws: WorkspaceFixture, hand_made: HandMade, ai_costs: AiCosts) -> None:
    """Costs of the hand-made period (14..20 Nov): AI 4.50, tools 30.00 (15 Nov), ads 45.50
    (18 Nov); not counted: ads 99.00 on 13 Nov (before), other 10.00 in EUR (16 Nov)."""
    ai_costs.cents = 450
    _cost(db, ws, "tools", 3000, dt.date(2026, 11, 15))
    _cost(db, ws, "ads", 4550, dt.date(2026, 11, 18))
    _cost(db, ws, "ads", 9900, dt.date(2026, 11, 13))
    _cost(db, ws, "other", 1000, dt.date(2026, 11, 16), currency="EUR")


def test_costs_match_the_hand_computed_ones(
    db: Database, ws: WorkspaceFixture, costed: None, ai_costs: AiCosts
) -> None:
    costs = _roi(db, ws).costs

    assert costs.ai_generation.cents == 450
    assert (costs.tools.cents, costs.ads.cents, costs.other.cents) == (3000, 4550, 0)
    assert costs.campaigns.cents == 0
    assert costs.total.cents == 8000
    assert costs.total.amount == "80.00"
    # The AI cost was asked for exactly the period's UTC bounds.
    assert ai_costs.calls == [
        (
            ws.workspace_id,
            dt.datetime(2026, 11, 14, 5, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 21, 5, tzinfo=dt.UTC),
        )
    ]


def test_the_value_breakdown_matches_the_hand_computed_one(
    db: Database, ws: WorkspaceFixture, costed: None
) -> None:
    result = _roi(db, ws)
    lines = {line.metric: line for line in result.engagement_value_breakdown}

    # likes 100 + 50 + 30; comments 20 + 10 + 5; shares 5 + 0 + 15; followers +100 and +20;
    # impressions 4,000 + 1,000 (instagram only); the competitor's 5,000 likes never count.
    assert {m: (line.count, line.value.cents) for m, line in lines.items()} == {
        "likes": (180, 1800),  # x 0.10
        "comments": (35, 1750),  # x 0.50
        "shares": (20, 2000),  # x 1.00
        "followers": (120, 12000),  # x 1.00
        "clicks": (0, 0),  # x 0.50
        "impressions": (5000, 2500),  # x 0.005
    }
    assert result.estimated_value.cents == 20050
    assert result.estimated_value.amount == "200.50"
    assert lines["impressions"].value_per_unit == Decimal("0.005")


def test_roi_percentage_and_formula_match_the_hand_computed_ones(
    db: Database, ws: WorkspaceFixture, costed: None
) -> None:
    result = _roi(db, ws)

    assert result.roi_percentage == 150.63  # (200.50 - 80.00) / 80.00 x 100 = 150.625
    assert result.roi_reason is None
    assert result.formula == (
        "Estimated value = 180 likes x 0.1 + 35 comments x 0.5 + 20 shares x 1 + 120 followers "
        "x 1 + 0 clicks x 0.5 + 5000 impressions x 0.005 = 18.00 + 17.50 + 20.00 + 120.00 + "
        "0.00 + 25.00 = 200.50 USD. Total cost = AI generation 4.50 + tools 30.00 + ads 45.50 + "
        "other 0.00 + campaigns 0.00 = 80.00 USD. ROI = (200.50 - 80.00) / 80.00 x 100 = "
        "150.63 %."
    )
    assert result.settings_are_default is True


def test_a_cost_in_another_currency_is_listed_not_converted(
    db: Database, ws: WorkspaceFixture, costed: None
) -> None:
    (excluded,) = _roi(db, ws).excluded_costs

    assert excluded.amount.cents == 1000
    assert excluded.amount.currency == "EUR"
    assert "not converted" in excluded.reason


def test_the_workspaces_own_values_are_used_and_each_line_rounds_half_up(
    db: Database, ws: WorkspaceFixture, costed: None
) -> None:
    with db.session() as session:
        roi.update_settings(
            session,
            ws.subject,
            RoiSettingsUpdate(value_per_like=Decimal("0.00125"), value_per_impression=Decimal(0)),
        )

    result = _roi(db, ws)
    lines = {line.metric: line for line in result.engagement_value_breakdown}

    assert lines["likes"].value.cents == 23  # 180 x 0.00125 = 0.225 -> 0.23
    assert lines["impressions"].value.cents == 0
    assert lines["comments"].value.cents == 1750  # unchanged: still the default
    assert result.estimated_value.cents == 23 + 1750 + 2000 + 12000
    assert result.settings_are_default is False


def test_the_platform_filter_values_that_platform_and_keeps_costs_whole(
    db: Database, ws: WorkspaceFixture, costed: None
) -> None:
    result = _roi(db, ws, platform="mastodon")
    lines = {line.metric: line.count for line in result.engagement_value_breakdown}

    assert lines == {
        "likes": 30,
        "comments": 5,
        "shares": 15,
        "followers": 20,
        "clicks": 0,
        "impressions": 0,
    }
    assert result.costs.total.cents == 8000
    assert any("costs are not split by platform" in note for note in result.notes)


def test_without_costs_roi_is_null_with_the_reason(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    result = _roi(db, ws)

    assert result.costs.total.cents == 0
    assert result.estimated_value.cents == 20050
    assert result.roi_percentage is None
    assert result.roi_reason is not None and "no costs" in result.roi_reason
    assert "not defined, the total cost is 0" in result.formula


# --------------------------------------------------------------------------- campaigns


def _campaign(db: Database, ws: WorkspaceFixture, *, currency: str = "USD") -> int:
    """A campaign 10..25 Nov with one creator (instagram, fee 60.00) whose post c1 (17 Nov,
    40 likes, 4 comments, 2 shares) is in the period and c2 (12 Nov, 1,000 likes) is not;
    costs 15.00 (16 Nov), 3.00 (no date: counts with the campaign), 7.00 (25 Nov: after)."""
    with db.session() as session:
        creator = make(
            session,
            Creator,
            platform="instagram",
            handle=f"ada-{currency.lower()}",
            followers_count=2000,
        )
        for at, likes, comments, shares in (
            ("2026-11-17T12:00", 40, 4, 2),
            ("2026-11-12T12:00", 1000, 0, 0),
        ):
            make(
                session,
                CreatorPost,
                creator_id=creator.id,
                posted_at=local(at),
                likes=likes,
                comments=comments,
                shares=shares,
                views=None,
                saves=None,
            )
        campaign = Campaign(
            workspace_id=ws.workspace_id,
            name=f"Winter {currency}",
            starts_on=dt.date(2026, 11, 10),
            ends_on=dt.date(2026, 11, 25),
            currency=currency,
        )
        session.add(campaign)
        session.flush()
        session.add_all(
            [
                CampaignCreator(campaign_id=campaign.id, creator_id=creator.id, fee_cents=6000),
                CampaignCost(
                    campaign_id=campaign.id,
                    label="Shoot",
                    amount_cents=1500,
                    incurred_on=dt.date(2026, 11, 16),
                ),
                CampaignCost(campaign_id=campaign.id, label="Props", amount_cents=300),
                CampaignCost(
                    campaign_id=campaign.id,
                    label="Wrap party",
                    amount_cents=700,
                    incurred_on=dt.date(2026, 11, 25),
                ),
            ]
        )
        return campaign.id


@pytest.fixture
def campaign(db: Database, ws: WorkspaceFixture, hand_made: HandMade, ai_costs: AiCosts) -> int:
    """The campaign, a 20.00 ads cost tagged with it (17 Nov), 30.00 of untagged tools (15 Nov)
    and 4.50 of AI."""
    campaign_id = _campaign(db, ws)
    ai_costs.cents = 450
    _cost(db, ws, "ads", 2000, dt.date(2026, 11, 17), campaign_id=campaign_id)
    _cost(db, ws, "tools", 3000, dt.date(2026, 11, 15))
    return campaign_id


def test_the_campaign_filter_counts_only_the_campaign(
    db: Database, ws: WorkspaceFixture, campaign: int, ai_costs: AiCosts
) -> None:
    result = _roi(db, ws, campaign_id=campaign)
    counts = {line.metric: line.count for line in result.engagement_value_breakdown}

    # Fee 60.00 + 15.00 + 3.00 (undated) = 78.00; the tagged ads 20.00; no AI, no tools.
    assert result.costs.campaigns.cents == 7800
    assert (result.costs.ads.cents, result.costs.tools.cents) == (2000, 0)
    assert result.costs.ai_generation.cents == 0
    assert ai_costs.calls == []
    assert result.costs.total.cents == 9800
    assert counts == {
        "likes": 40,
        "comments": 4,
        "shares": 2,
        "followers": 0,
        "clicks": 0,
        "impressions": 0,
    }
    assert result.estimated_value.cents == 800  # 4.00 + 2.00 + 2.00
    assert result.roi_percentage == -91.84  # (8.00 - 98.00) / 98.00 x 100 = -91.836...


def test_the_workspace_roi_adds_the_campaigns_running_in_the_period(
    db: Database, ws: WorkspaceFixture, campaign: int
) -> None:
    result = _roi(db, ws)
    counts = {line.metric: line.count for line in result.engagement_value_breakdown}

    assert result.costs.total.cents == 450 + 3000 + 2000 + 7800
    assert (counts["likes"], counts["comments"], counts["shares"]) == (220, 39, 22)
    # 22.00 + 19.50 + 22.00 + 120.00 + 0.00 + 25.00
    assert result.estimated_value.cents == 20850
    assert result.roi_percentage == 57.36  # (208.50 - 132.50) / 132.50 x 100 = 57.358...


def test_a_campaign_in_another_currency_is_left_out_with_its_engagement(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    _campaign(db, ws, currency="EUR")

    result = _roi(db, ws)

    assert result.costs.campaigns.cents == 0
    assert next(line for line in result.engagement_value_breakdown).count == 180
    (excluded,) = result.excluded_costs
    assert excluded.amount.cents == 7800
    assert excluded.amount.currency == "EUR"


def test_another_workspaces_campaign_is_a_404(
    db: Database, ws: WorkspaceFixture, other_ws: WorkspaceFixture
) -> None:
    theirs = _campaign(db, other_ws)

    with pytest.raises(NotFound):
        _roi(db, ws, campaign_id=theirs)


# --------------------------------------------------------------------------- the routes


def test_the_roi_route_answers_for_another_workspaces_campaign_with_404(
    client: TestClient, db: Database, ws: WorkspaceFixture, other_ws: WorkspaceFixture
) -> None:
    theirs = _campaign(db, other_ws)

    response = client.get(f"/api/v1/analytics/roi?campaign={theirs}", headers=ws.headers())

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_roi_route_without_costs_has_a_null_percentage(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = client.get("/api/v1/analytics/roi?days=30", headers=ws.headers(Role.viewer))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["roi_percentage"] is None
    assert "no costs" in body["roi_reason"]
    assert body["costs"]["total"] == {"cents": 0, "amount": "0.00", "currency": "USD"}


@pytest.mark.parametrize("query", ["days=0", "days=366", "platform=myspace", "campaign=0"])
def test_bad_roi_queries_are_a_422(client: TestClient, ws: WorkspaceFixture, query: str) -> None:
    response = client.get(f"/api/v1/analytics/roi?{query}", headers=ws.headers())

    assert response.status_code == 422


def test_settings_start_from_the_documented_defaults(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    body = client.get("/api/v1/analytics/roi/settings", headers=ws.headers(Role.viewer)).json()

    assert body["is_default"] is True
    assert body["currency"] == "USD"
    assert {key: Decimal(value) for key, value in body.items() if key.startswith("value")} == {
        "value_per_like": Decimal("0.10"),
        "value_per_comment": Decimal("0.50"),
        "value_per_share": Decimal("1"),
        "value_per_follower": Decimal("1"),
        "value_per_click": Decimal("0.50"),
        "value_per_impression": Decimal("0.005"),
    }


def test_settings_change_only_the_fields_given(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.put(
        "/api/v1/analytics/roi/settings",
        json={"value_per_like": "0.25", "currency": "EUR"},
        headers=ws.headers(Role.editor),
    )

    assert response.status_code == 200, response.text
    body = client.get("/api/v1/analytics/roi/settings", headers=ws.headers()).json()
    assert (Decimal(body["value_per_like"]), body["currency"]) == (Decimal("0.25"), "EUR")
    assert Decimal(body["value_per_comment"]) == Decimal("0.5")
    assert body["is_default"] is False


@pytest.mark.parametrize(
    "values",
    [
        {"value_per_like": -0.01},
        {"value_per_impression": 1000.01},
        {"value_per_click": "0.000001"},
        {"currency": "euro"},
        {"value_per_view": 1},
        {"value_per_share": "lots"},
    ],
)
def test_invalid_settings_are_a_422_and_change_nothing(
    client: TestClient, ws: WorkspaceFixture, values: dict[str, Any]
) -> None:
    response = client.put("/api/v1/analytics/roi/settings", json=values, headers=ws.headers())

    assert response.status_code == 422
    assert client.get("/api/v1/analytics/roi/settings", headers=ws.headers()).json()["is_default"]


def test_costs_are_recorded_listed_and_deleted(client: TestClient, ws: WorkspaceFixture) -> None:
    created = client.post(
        "/api/v1/analytics/costs",
        json={
            "category": "tools",
            "label": "Design tool",
            "amount_cents": 1250,
            "incurred_on": "2026-11-02",
        },
        headers=ws.headers(Role.editor),
    )
    assert created.status_code == 201, created.text
    cost = created.json()
    assert (cost["amount"], cost["currency"]) == ("12.50", "USD")  # the ROI currency

    listed = client.get("/api/v1/analytics/costs", headers=ws.headers(Role.viewer)).json()
    assert [item["id"] for item in listed["items"]] == [cost["id"]]

    deleted = client.delete(f"/api/v1/analytics/costs/{cost['id']}", headers=ws.headers())
    assert deleted.status_code == 204
    assert client.get("/api/v1/analytics/costs", headers=ws.headers()).json()["total"] == 0


def test_a_cost_for_another_workspaces_campaign_is_a_404_and_writes_nothing(
    client: TestClient, db: Database, ws: WorkspaceFixture, other_ws: WorkspaceFixture
) -> None:
    theirs = _campaign(db, other_ws)

    response = client.post(
        "/api/v1/analytics/costs",
        json={
            "category": "ads",
            "label": "Boost",
            "amount_cents": 500,
            "incurred_on": "2026-11-02",
            "campaign_id": theirs,
        },
        headers=ws.headers(),
    )

    assert response.status_code == 404
    with db.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WorkspaceCost)) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"category": "ads", "label": "x", "amount_cents": -1, "incurred_on": "2026-11-02"},
        {"category": "bribes", "label": "x", "amount_cents": 1, "incurred_on": "2026-11-02"},
        {"category": "ads", "label": " ", "amount_cents": 1, "incurred_on": "2026-11-02"},
        {"category": "ads", "label": "x", "amount_cents": 1},
    ],
)
def test_invalid_costs_are_a_422(
    client: TestClient, ws: WorkspaceFixture, body: dict[str, Any]
) -> None:
    response = client.post("/api/v1/analytics/costs", json=body, headers=ws.headers())

    assert response.status_code == 422
