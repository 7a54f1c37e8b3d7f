"""Discovery over every analysed creator: filters, sorts, full-text search (sanitised), preview
vs unlocked rows, categories, lookalikes, saved searches, and the index kept by the build."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text

from creators.discovery_helpers import add_creators
from factories import WorkspaceFixture
from socialpulse.creators import discovery, search_index
from socialpulse.creators import service as creators_service
from socialpulse.creators.models import CreatorAccess
from socialpulse.creators.schemas import DiscoveryCriteria
from socialpulse.db import Database, utcnow
from socialpulse.migrations import runner

BROWSE = "/api/v1/discovery/browse"


def _handles(body: dict) -> list[str]:
    return [item["creator"]["handle"] for item in body["items"]]


def _browse(client: TestClient, ws: WorkspaceFixture, **params: object) -> dict:
    response = client.get(BROWSE, params=params, headers=ws.headers())
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def catalogue(db: Database) -> dict[str, int]:
    return add_creators(
        db,
        (
            "yoga_anna",
            {
                "captions": ["Morning yoga flow by the sea"],
                "hashtags": ["yoga", "wellness"],
                "category": "fitness",
                "language": "en",
                "followers_count": 50_000,
                "engagement_rate": 0.05,
                "audience_quality": 80,
                "bio": "Yoga teacher",
            },
        ),
        (
            "lift_ben",
            {
                "captions": ["Deadlift day, new record"],
                "hashtags": ["gym", "strength"],
                "category": "fitness",
                "language": "en",
                "followers_count": 500_000,
                "engagement_rate": 0.02,
                "audience_quality": 60,
            },
        ),
        (
            "chef_carla",
            {
                "captions": ["Pasta al limone, ricetta facile"],
                "hashtags": ["food", "pasta"],
                "category": "food",
                "language": "it",
                "followers_count": 5_000,
                "engagement_rate": 0.09,
                "audience_quality": 90,
                "contact_email": "carla@example.test",
            },
        ),
        (
            "travel_dan",
            {
                "captions": ["Sunrise yoga in Bali, then street food"],
                "hashtags": ["travel", "bali"],
                "category": "travel",
                "language": "en",
                "followers_count": 2_000_000,
                "engagement_rate": 0.01,
                "audience_quality": 40,
                "platform": "youtube",
            },
        ),
        ("pending_eve", {"captions": ["yoga"], "hashtags": ["yoga"], "analysed": False}),
    )


def test_browse_lists_only_analysed_creators_most_followed_first(
    client: TestClient, ws: WorkspaceFixture, catalogue: dict[str, int]
) -> None:
    body = _browse(client, ws)
    assert _handles(body) == ["travel_dan", "lift_ben", "yoga_anna", "chef_carla"]
    assert body["total"] == 4 and body["pages"] == 1 and body["charge"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"platform": "youtube"}, ["travel_dan"]),
        ({"category": "fitness"}, ["lift_ben", "yoga_anna"]),
        ({"language": "it"}, ["chef_carla"]),
        ({"followers_min": 10_000, "followers_max": 600_000}, ["lift_ben", "yoga_anna"]),
        ({"engagement_rate_min": 0.03}, ["yoga_anna", "chef_carla"]),
        ({"audience_quality_min": 50, "audience_quality_max": 85}, ["lift_ben", "yoga_anna"]),
        ({"sort_by": "engagement_rate"}, ["chef_carla", "yoga_anna", "lift_ben", "travel_dan"]),
        ({"sort_by": "audience_quality"}, ["chef_carla", "yoga_anna", "lift_ben", "travel_dan"]),
        ({"sort_by": "handle"}, ["chef_carla", "lift_ben", "travel_dan", "yoga_anna"]),
    ],
)
def test_browse_filters_and_sorts(
    client: TestClient,
    ws: WorkspaceFixture,
    catalogue: dict[str, int],
    params: dict[str, object],
    expected: list[str],
) -> None:
    assert _handles(_browse(client, ws, **params)) == expected


def test_full_text_search_matches_captions_and_hashtags_ranked_by_relevance(
    client: TestClient, ws: WorkspaceFixture, catalogue: dict[str, int]
) -> None:
    body = _browse(client, ws, search="yoga")
    # The handle and hashtags weigh above one caption's mention; the unanalysed one is absent.
    assert _handles(body) == ["yoga_anna", "travel_dan"]
    assert body["items"][0]["relevance"] > body["items"][1]["relevance"]
    assert _handles(_browse(client, ws, search="past")) == ["chef_carla"]  # a prefix
    assert _handles(_browse(client, ws, search="yoga bali")) == ["travel_dan"]  # every word
    assert _handles(_browse(client, ws, search="yoga", sort_by="followers")) == [
        "travel_dan",
        "yoga_anna",
    ]


@pytest.mark.parametrize(
    "query",
    [
        'yoga"',
        'yoga" OR "lift',
        "yoga*",
        "(yoga",
        "handle:yoga",
        "yoga -bali",
        "NEAR(yoga bali)",
        "yoga ^ ' \\ ; --",
        "yoga AND",
        "yoga & !bali | x",
    ],
)
def test_query_syntax_in_user_text_is_plain_words(
    client: TestClient, ws: WorkspaceFixture, catalogue: dict[str, int], query: str
) -> None:
    """Quotes, operators, column filters and tsquery symbols never reach the index's syntax:
    no error, and the words are matched as words (every one of them)."""
    response = client.get(BROWSE, params={"search": query}, headers=ws.headers())
    assert response.status_code == 200, response.text
    expected = {"yoga_anna", "travel_dan"}
    words = set(search_index.terms(query))
    if "bali" in words:
        expected = {"travel_dan"}
    if words - {"yoga", "bali"}:
        expected = set()  # e.g. "or", "lift", "handle", "near", "and", "x": also required
    assert set(_handles(response.json())) == expected


def test_a_search_of_punctuation_alone_is_a_422(
    client: TestClient, ws: WorkspaceFixture, catalogue: dict[str, int]
) -> None:
    response = client.get(BROWSE, params={"search": '"*()-:'}, headers=ws.headers())
    assert response.status_code == 422
    assert "no words" in response.json()["error"]["message"]


def test_a_minimum_above_its_maximum_is_a_422(
    client: TestClient, ws: WorkspaceFixture, catalogue: dict[str, int]
) -> None:
    response = client.get(
        BROWSE, params={"followers_min": 10, "followers_max": 5}, headers=ws.headers()
    )
    assert response.status_code == 422
    assert "followers_min" in response.json()["error"]["message"]


def test_locked_creators_show_the_preview_only_and_unlocked_ones_their_details(
    client: TestClient, ws: WorkspaceFixture, db: Database, catalogue: dict[str, int]
) -> None:
    with db.session() as session:
        session.add(
            CreatorAccess(
                workspace_id=ws.workspace_id,
                creator_id=catalogue["chef_carla"],
                reason="unlock",
                expires_at=utcnow() + dt.timedelta(days=30),
            )
        )
    items = {i["creator"]["handle"]: i for i in _browse(client, ws)["items"]}
    carla, anna = items["chef_carla"], items["yoga_anna"]
    assert carla["access"]["state"] == "unlocked" and carla["access"]["remaining_seconds"] > 0
    assert carla["details"]["top_hashtags"] == ["food", "pasta"]
    assert carla["details"]["has_contact_email"] is True
    assert anna["access"]["state"] == "locked" and anna["details"] is None
    assert "bio" not in anna["creator"] and "contact_email" not in anna["creator"]
    only_unlocked = _browse(client, ws, unlocked="true")
    assert _handles(only_unlocked) == ["chef_carla"]
    assert "chef_carla" not in _handles(_browse(client, ws, unlocked="false"))


def test_categories_count_analysed_creators_and_this_workspaces_unlocks(
    client: TestClient, ws: WorkspaceFixture, db: Database, catalogue: dict[str, int]
) -> None:
    with db.session() as session:
        session.add(CreatorAccess(workspace_id=ws.workspace_id, creator_id=catalogue["lift_ben"]))
    body = client.get("/api/v1/discovery/categories", headers=ws.headers()).json()
    assert body["items"][0] == {"category": "fitness", "creators": 2, "unlocked": 1}
    assert {i["category"]: i["creators"] for i in body["items"]} == {
        "fitness": 2,
        "food": 1,
        "travel": 1,
    }
    assert body["total"] == 4 and body["uncategorised"] == 0


def test_similar_ranks_shared_content_category_language_and_tier(
    client: TestClient, ws: WorkspaceFixture, db: Database, catalogue: dict[str, int]
) -> None:
    add_creators(
        db,
        (
            "yoga_fay",
            {
                "captions": ["Evening yoga for beginners"],
                "hashtags": ["yoga", "wellness"],
                "category": "fitness",
                "language": "en",
                "followers_count": 40_000,
            },
        ),
        (
            "yoga_gus_de",
            {
                "captions": ["Yoga am Morgen"],
                "hashtags": ["yoga"],
                "category": "fitness",
                "language": "de",
                "followers_count": 3_000_000,
            },
        ),
    )
    response = client.get(
        f"/api/v1/discovery/similar/{catalogue['yoga_anna']}", headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    handles = [item["creator"]["handle"] for item in items]
    assert "yoga_anna" not in handles
    assert handles[0] == "yoga_fay"  # same hashtags, category, language and tier
    assert "yoga_gus_de" in handles  # shared hashtags and category, another language
    assert "chef_carla" not in handles  # nothing in common
    top = items[0]
    assert "same category (fitness)" in top["reasons"] and "same language (en)" in top["reasons"]
    assert top["access"]["state"] == "locked"
    missing = client.get("/api/v1/discovery/similar/999999", headers=ws.headers())
    assert missing.status_code == 404


def test_saved_searches_are_the_workspaces_own(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture, catalogue: dict[str, int]
) -> None:
    url = "/api/v1/discovery/saved-searches"
    body = {"name": "Fitness EN", "criteria": {"categories": ["fitness"], "languages": ["en"]}}
    created = client.post(url, json=body, headers=ws.headers())
    assert created.status_code == 201, created.text
    assert created.json()["criteria"]["categories"] == ["fitness"]
    again = client.post(url, json=body, headers=ws.headers())
    assert again.status_code == 409
    assert [s["name"] for s in client.get(url, headers=ws.headers()).json()] == ["Fitness EN"]
    assert client.get(url, headers=other_ws.headers()).json() == []
    search_id = created.json()["id"]
    theirs = client.get(f"{url}/{search_id}", headers=other_ws.headers())
    assert theirs.status_code == 404
    assert client.delete(f"{url}/{search_id}", headers=other_ws.headers()).status_code == 404
    assert client.delete(f"{url}/{search_id}", headers=ws.headers()).status_code == 204
    assert client.get(url, headers=ws.headers()).json() == []


def test_a_saved_search_with_a_bad_range_is_refused(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = client.post(
        "/api/v1/discovery/saved-searches",
        json={"name": "x", "criteria": {"audience_quality_min": 90, "audience_quality_max": 10}},
        headers=ws.headers(),
    )
    assert response.status_code == 422
    assert client.get("/api/v1/discovery/saved-searches", headers=ws.headers()).json() == []


def test_the_index_follows_a_creators_changes(db: Database, catalogue: dict[str, int]) -> None:
    criteria = DiscoveryCriteria(query="kombucha")
    with db.session() as session:
        assert discovery.search(session, 1, criteria).total == 0
        creator = creators_service.get_creator(session, catalogue["chef_carla"])
        creator.bio = "Now brewing kombucha"
        search_index.refresh(session, creator)
    with db.session() as session:
        assert [i.creator.handle for i in discovery.search(session, 1, criteria).items] == [
            "chef_carla"
        ]
        session.delete(creators_service.get_creator(session, catalogue["chef_carla"]))
    with db.session() as session:
        # The creator's row went with it (trigger on SQLite, foreign key on PostgreSQL).
        assert session.execute(search_index.match(session, "kombucha")).all() == []


@pytest.mark.usefixtures("small_builds")
def test_a_built_report_is_searchable_at_once(client: TestClient, ws: WorkspaceFixture) -> None:
    searched = client.get(
        "/api/v1/search/creator/grace", params={"platform": "simulated"}, headers=ws.headers()
    )
    assert searched.status_code == 200, searched.text
    creator = searched.json()["creator"]
    body = _browse(client, ws, search="grace")
    assert [i["creator"]["id"] for i in body["items"]] == [creator["id"]]


def test_the_migration_backfills_the_index_from_stored_creators(tmp_path: Path) -> None:
    """Creators analysed before the index existed are found once the migration ran."""
    url = f"sqlite:///{tmp_path / 'backfill.db'}"
    db = Database(url)
    before = ScriptDirectory.from_config(runner.alembic_config(url)).get_revision("0016")
    try:
        runner.upgrade(db, str(before.down_revision))
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO creators (id, platform, handle, display_name, bio, verified, "
                    "status, data_version, origin, created_at, refreshed_at) VALUES "
                    "(1, 'simulated', 'old_timer', 'Old Timer', 'Vintage cameras', 0, 'ready', 1, "
                    "'search', '2026-01-01 00:00:00', '2026-01-02 00:00:00'), "
                    "(2, 'simulated', 'never_built', '', 'Vintage too', 0, 'pending', 1, "
                    "'search', '2026-01-01 00:00:00', NULL)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO creator_posts (creator_id, external_id, caption, posted_at, "
                    "media_type, hashtags, mentions) VALUES (1, 'p1', 'Leica M6 review', "
                    "'2026-01-01 00:00:00', 'image', '[\"filmphotography\"]', '[]')"
                )
            )
        runner.upgrade(db)
        with db.session() as session:
            for query in ("vintage", "leica", "filmphoto"):
                assert [row[0] for row in session.execute(search_index.match(session, query))] == [
                    1
                ]
    finally:
        db.dispose()


def test_a_total_beyond_the_cap_says_so_and_later_pages_still_read(
    client: TestClient,
    ws: WorkspaceFixture,
    catalogue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Four analysed creators against a cap of 3: the count stops, the page says "3+".
    monkeypatch.setattr(discovery, "TOTAL_CAP", 3)
    body = _browse(client, ws, page_size=2)
    assert body["total"] == 3 and body["total_capped"] is True and body["pages"] == 2
    assert _handles(body) == ["travel_dan", "lift_ben"]
    monkeypatch.setattr(discovery, "TOTAL_CAP", 4)
    body = _browse(client, ws, page_size=2)
    assert body["total"] == 4 and body["total_capped"] is False


def test_verified_filter_finds_verified_and_unverified_creators(
    db: Database, catalogue: dict[str, int]
) -> None:
    with db.session() as session:
        creator = creators_service.get_creator(session, catalogue["lift_ben"])
        creator.verified = True
    with db.session() as session:
        verified = discovery.search(session, 1, DiscoveryCriteria(verified=True))
        unverified = discovery.search(session, 1, DiscoveryCriteria(verified=False))
    assert [item.creator.handle for item in verified.items] == ["lift_ben"]
    assert "lift_ben" not in [item.creator.handle for item in unverified.items]
    assert verified.total + unverified.total == 4


@pytest.fixture
def crowded(db: Database) -> dict[str, int]:
    """Six creators saying "surf": two in their handle or bio, four only in a caption (created
    first, so first in the index's own order)."""
    specs: list[tuple[str, dict[str, object]]] = [
        (f"caption_{n}", {"captions": ["surf lesson today"], "followers_count": 1_000 * (n + 1)})
        for n in range(4)
    ]
    specs += [
        ("surf_sam", {"captions": ["board wax"], "followers_count": 10}),
        ("bio_bo", {"captions": ["sunrise"], "bio": "Surf coach", "followers_count": 20}),
    ]
    return add_creators(db, *specs)


def test_a_word_matching_more_than_the_candidates_ranks_handle_and_bio_matches_first(
    db: Database, crowded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only 3 candidates are ranked: the handle and bio matches are among them although four
    # caption-only matches come earlier in the index; the total stops at what can be paged.
    monkeypatch.setattr(search_index, "CANDIDATES", 3)
    with db.session() as session:
        page = discovery.search(session, 1, DiscoveryCriteria(query="surf"), page_size=10)
    handles = [item.creator.handle for item in page.items]
    assert handles[:2] == ["surf_sam", "bio_bo"] and len(handles) == 3
    assert handles[2].startswith("caption_")
    assert page.total == 3 and page.total_capped is True and page.pages == 1
    monkeypatch.setattr(search_index, "CANDIDATES", 6)
    with db.session() as session:
        page = discovery.search(session, 1, DiscoveryCriteria(query="surf"), page_size=10)
    assert page.total == 6 and page.total_capped is False
    assert [item.creator.handle for item in page.items][:2] == ["surf_sam", "bio_bo"]


@pytest.mark.parametrize("candidates", [2, 100])
def test_a_common_word_sorted_by_followers_lists_every_match_most_followed_first(
    db: Database, crowded: dict[str, int], monkeypatch: pytest.MonkeyPatch, candidates: int
) -> None:
    # Beyond the candidates (2) the creators are read in follower order and checked against
    # the index, in chunks smaller than the catalogue: same pages, same total as sorting all.
    monkeypatch.setattr(search_index, "CANDIDATES", candidates)
    monkeypatch.setattr(search_index, "SORT_CHUNK", 2)
    criteria = DiscoveryCriteria(query="surf", sort_by="followers")
    with db.session() as session:
        first = discovery.search(session, 1, criteria, page=1, page_size=4)
        second = discovery.search(session, 1, criteria, page=2, page_size=4)
    assert [item.creator.handle for item in first.items] == [
        "caption_3",
        "caption_2",
        "caption_1",
        "caption_0",
    ]
    assert [item.creator.handle for item in second.items] == ["bio_bo", "surf_sam"]
    assert first.total == 6 and first.total_capped is False and first.pages == 2


def test_a_common_word_with_a_filter_counts_and_pages_only_the_filtered_matches(
    db: Database, crowded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "CANDIDATES", 1)
    monkeypatch.setattr(search_index, "SORT_CHUNK", 1)
    criteria = DiscoveryCriteria(query="surf", sort_by="followers", followers_max=2_500)
    with db.session() as session:
        page = discovery.search(session, 1, criteria, page_size=10)
    assert [item.creator.handle for item in page.items] == [
        "caption_1",
        "caption_0",
        "bio_bo",
        "surf_sam",
    ]
    assert page.total == 4 and page.total_capped is False
