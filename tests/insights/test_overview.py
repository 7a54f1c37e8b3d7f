"""The workspace overview: figures on hand-computed data (see `hand_made` in conftest), the
period in the workspace's zone, the platform filter, inbox sentiment, zero-filled days, input
checks and tenancy."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from factories import Builder, WorkspaceFixture, add_interaction
from insights_data import NOW, HandMade, Ingest, local
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput
from socialpulse.insights import service
from socialpulse.insights.schemas import WorkspaceOverview


def _overview(db: Database, ws: WorkspaceFixture, **options: object) -> WorkspaceOverview:
    with db.session(readonly=True) as session:
        return service.overview(session, ws.subject, now=NOW, days=7, **options)  # type: ignore[arg-type]


def test_the_period_is_the_last_local_days_today_included(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    period = _overview(db, ws).period

    assert (period.start, period.end) == (dt.date(2026, 11, 14), dt.date(2026, 11, 20))
    assert period.timezone == "America/New_York"
    assert period.starts_at == dt.datetime(2026, 11, 14, 5, tzinfo=dt.UTC)
    assert period.ends_at == dt.datetime(2026, 11, 21, 5, tzinfo=dt.UTC)


def test_a_post_at_23_30_local_on_the_last_day_counts_and_the_day_before_does_not(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    result = _overview(db, ws)
    ids = {post.post_id for post in result.top_performing_posts}

    assert hand_made.posts["i2"] in ids  # 21 Nov 04:30Z, 20 Nov 23:30 in New York
    assert hand_made.posts["i0"] not in ids  # 14 Nov 04:30Z, 13 Nov 23:30 in New York
    assert result.total_posts.total == 3


def test_totals_match_the_hand_computed_ones(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    result = _overview(db, ws)
    totals = result.total_engagement

    assert result.accounts == 2  # the competitor it watches is not its own
    assert result.total_posts.avg_per_day == 0.43  # 3 / 7
    assert (totals.likes, totals.comments, totals.shares) == (180, 35, 20)
    assert totals.engagement == 235
    assert (totals.impressions, totals.reach, totals.saves) == (5000, 3800, 10)
    assert totals.clicks is None  # no platform here provides clicks
    # Mean of 125/4000 and 60/1000 (by impressions) and 50/500 (mastodon: by followers).
    assert totals.engagement_rate == pytest.approx((0.03125 + 0.06 + 0.1) / 3)
    assert (totals.posts_rated_by_impressions, totals.posts_rated_by_followers) == (2, 1)


def test_impressions_are_said_to_come_from_instagram_only(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    provided = {row.metric: row for row in _overview(db, ws).metrics_provided}

    assert provided["impressions"].provided_by == ["instagram"]
    assert provided["impressions"].not_provided_by == ["mastodon"]
    assert provided["clicks"].provided_by == []


def test_follower_growth_is_per_account_and_platform(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    growth = _overview(db, ws).follower_growth

    assert growth.total_growth == 120
    assert growth.by_platform == {"instagram": 100, "mastodon": 20}


def test_top_posts_rank_by_engagement_with_an_excerpt(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    top = _overview(db, ws).top_performing_posts

    assert [post.post_id for post in top] == [
        hand_made.posts["i1"],
        hand_made.posts["i2"],
        hand_made.posts["m1"],
    ]
    assert [post.engagement for post in top] == [125, 60, 50]
    assert top[0].platform == "instagram"
    assert top[0].url == "https://www.instagram.com/p/i1/"
    assert len(top[0].text) == 140 and top[0].text.startswith("Launch day x")
    assert top[0].engagement_rate == pytest.approx(125 / 4000)


def test_platform_breakdown(db: Database, ws: WorkspaceFixture, hand_made: HandMade) -> None:
    rows = {row.platform: row for row in _overview(db, ws).platform_breakdown}

    insta, masto = rows["instagram"], rows["mastodon"]
    assert (insta.posts, insta.engagement, insta.followers, insta.growth) == (2, 185, 1000, 100)
    assert insta.engagement_rate == pytest.approx((0.03125 + 0.06) / 2)
    assert (insta.impressions, insta.reach) == (5000, 3800)
    assert (masto.posts, masto.engagement, masto.followers, masto.growth) == (1, 50, 500, 20)
    assert masto.impressions is None


def test_engagement_by_day_has_every_local_day_with_zeros(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    days = _overview(db, ws).engagement_by_day

    assert [row.day for row in days] == [dt.date(2026, 11, d) for d in range(14, 21)]
    assert [row.engagement for row in days] == [0, 125, 50, 0, 0, 0, 60]
    assert [row.posts for row in days] == [0, 1, 1, 0, 0, 0, 1]


def test_content_performance_by_media_type(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    rows = {row.media_type: row for row in _overview(db, ws).content_performance}

    assert rows["image"].posts == 2
    assert rows["image"].avg_engagement == 92.5  # (125 + 60) / 2
    assert rows["video"].avg_engagement == 50
    assert rows["video"].avg_engagement_rate == pytest.approx(0.1)


def test_the_platform_filter_keeps_that_platform_only(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    result = _overview(db, ws, platform="mastodon")

    assert result.platform == "mastodon"
    assert result.total_posts.total == 1
    assert result.total_engagement.impressions is None
    assert result.follower_growth.by_platform == {"mastodon": 20}


def test_an_unknown_platform_is_refused_naming_the_supported_ones(
    db: Database, ws: WorkspaceFixture
) -> None:
    with pytest.raises(InvalidInput, match="supported: .*instagram.*mastodon"):
        _overview(db, ws, platform="myspace")


def test_sentiment_counts_the_classified_interactions_of_own_accounts_in_the_period(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    in_period = local("2026-11-18T12:00")
    for label in ("positive", "positive", "positive", "negative", "neutral", None):
        add_interaction(db, hand_made.insta, ai_sentiment=label, posted_at=in_period)
    add_interaction(
        db, hand_made.masto, ai_sentiment="negative", posted_at=local("2026-11-13T23:00")
    )
    add_interaction(db, hand_made.rival, ai_sentiment="negative", posted_at=in_period)

    score = _overview(db, ws).sentiment_score

    assert (score.positive_count, score.negative_count, score.neutral_count) == (3, 1, 1)
    assert score.unclassified_count == 1
    assert score.overall_score == 0.4  # (3 - 1) / 5


def test_without_classified_interactions_the_score_is_null(
    db: Database, ws: WorkspaceFixture, hand_made: HandMade
) -> None:
    assert _overview(db, ws).sentiment_score.overall_score is None


# --------------------------------------------------------------------------- the route


def test_the_route_reads_only_the_callers_workspace(
    client: TestClient,
    build: Builder,
    ingest: Ingest,
    ws: WorkspaceFixture,
    other_ws: WorkspaceFixture,
) -> None:
    mine = build.account(ws.workspace_id, "mine", platform="instagram")
    theirs = build.account(other_ws.workspace_id, "theirs", platform="instagram")
    ingest(mine, "a", utcnow() - dt.timedelta(hours=2), likes=7, comments=1, shares=0)
    ingest(theirs, "b", utcnow() - dt.timedelta(hours=2), likes=700, comments=0, shares=0)

    response = client.get("/api/v1/analytics/overview?days=30", headers=ws.headers())

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_posts"]["total"] == 1
    assert body["total_engagement"]["likes"] == 7
    assert len(body["engagement_by_day"]) == 30


@pytest.mark.parametrize("days", [0, 366, -1])
def test_days_out_of_range_is_a_422(client: TestClient, ws: WorkspaceFixture, days: int) -> None:
    response = client.get(f"/api/v1/analytics/overview?days={days}", headers=ws.headers())

    assert response.status_code == 422


def test_an_unknown_platform_is_a_422_listing_the_supported_ones(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = client.get("/api/v1/analytics/overview?platform=myspace", headers=ws.headers())

    assert response.status_code == 422
    error = response.json()["error"]
    assert "myspace" in error["message"]
    assert {"instagram", "mastodon", "youtube", "bluesky"} <= set(
        error["details"]["supported_platforms"]
    )


def test_a_repeated_read_is_answered_again_and_a_new_post_shows_at_once(
    client: TestClient, build: Builder, ingest: Ingest, ws: WorkspaceFixture
) -> None:
    account = build.account(ws.workspace_id, "mine", platform="instagram")
    ingest(account, "a", utcnow() - dt.timedelta(hours=2), likes=7, comments=0, shares=0)
    url = "/api/v1/analytics/overview?days=7"
    first = client.get(url, headers=ws.headers())
    again = client.get(url, headers=ws.headers())
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]  # from the response cache

    ingest(account, "b", utcnow() - dt.timedelta(hours=1), likes=3, comments=0, shares=0)
    after = client.get(url, headers=ws.headers())

    assert after.headers["etag"] != first.headers["etag"]
    assert after.json()["total_posts"]["total"] == 2
    assert after.json()["total_engagement"]["likes"] == 10
