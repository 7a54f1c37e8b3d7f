"""The creator routes: search, 202 while building, the report with and without access, posts,
post analytics by URL, refresh, export, and the cache after a rebuild."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from creator_builds import run_due
from factories import WorkspaceFixture
from socialpulse.creators.models import CreatorAccess, CreatorPost, CreatorReport, CreatorSearch
from socialpulse.db import Database, utcnow
from socialpulse.workspaces.models import Role

pytestmark = pytest.mark.usefixtures("small_builds")


def _search(client: TestClient, ws: WorkspaceFixture, handle: str) -> dict:
    response = client.get(
        f"/api/v1/search/creator/{handle}", params={"platform": "simulated"}, headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


def _unlock(client: TestClient, ws: WorkspaceFixture, creator_id: int) -> None:
    response = client.post(
        "/api/v1/discovery/unlock-profile", json={"creator_id": creator_id}, headers=ws.headers()
    )
    assert response.status_code == 200, response.text


def _search_unlocked(client: TestClient, ws: WorkspaceFixture, handle: str) -> dict:
    """Search a creator then unlock it: since #14 a search shows the preview only."""
    creator_id = _search(client, ws, handle)["creator"]["id"]
    _unlock(client, ws, creator_id)
    return _search(client, ws, handle)


def test_search_builds_and_shows_the_preview_then_the_unlock_the_full_report(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    preview = _search(client, ws, "@Grace")
    assert preview["access"] == "preview" and preview["sections"] is None
    assert preview["status"] == "ready" and preview["creator"]["followers_count"]
    _unlock(client, ws, preview["creator"]["id"])
    body = _search(client, ws, "@Grace")
    assert body["access"] == "full"
    assert body["creator"]["handle"] == "grace"
    assert body["status"] == "ready"
    sections = body["sections"]
    assert set(sections) == {"overview", "audience", "engagement", "content", "posts"}
    assert len(sections["posts"]) >= 12
    assert sections["audience"]["demographics_available"] is False
    assert body["age_seconds"] is not None and body["stale"] is False


def test_a_repeated_search_is_one_search_in_the_history_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    first = _search_unlocked(client, ws, "grace")
    assert first["status"] == "ready"
    counter = db.change_counter
    before = counter.read() if counter is not None else None
    again = [_search(client, ws, "grace") for _ in range(3)]
    assert all(body["sections"] == first["sections"] for body in again)
    with db.session() as session:
        searches = session.scalars(
            select(CreatorSearch).where(CreatorSearch.workspace_id == ws.workspace_id)
        ).all()
    assert len(searches) == 1
    if counter is not None:
        assert counter.read() == before, "a repeated search committed nothing"


def test_search_by_profile_url(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.get(
        "/api/v1/search/creator/https://simulated.invalid/@heidi", headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["creator"]["handle"] == "heidi"


def test_search_answers_202_with_the_step_while_building(
    client: TestClient, ws: WorkspaceFixture, db: Database, manual_jobs: None
) -> None:
    url = "/api/v1/search/creator/ivan?platform=simulated"
    building = client.get(url, headers=ws.headers())
    assert building.status_code == 202, building.text
    status = building.json()
    assert status["job_id"] and status["status"] == "building" and status["progress"] == 0
    run_due(db)
    assert client.get(url, headers=ws.headers()).status_code == 200


def test_an_unknown_handle_is_a_404_in_the_error_shape(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = client.get(
        "/api/v1/search/creator/missing_judy?platform=simulated", headers=ws.headers()
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "creator_not_found"
    assert "missing_judy" in error["message"]


def test_an_unknown_platform_is_a_422(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.get("/api/v1/search/creator/kim?platform=myspace", headers=ws.headers())
    assert response.status_code == 422
    assert "myspace" in response.json()["error"]["message"]


def test_another_workspace_sees_the_preview_and_none_of_this_ones_history(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture, db: Database
) -> None:
    creator_id = _search_unlocked(client, ws, "liam")["creator"]["id"]
    other = client.get(f"/api/v1/creators/{creator_id}/report", headers=other_ws.headers())
    assert other.status_code == 200
    body = other.json()
    assert body["access"] == "preview" and body["sections"] is None
    assert body["creator"]["handle"] == "liam"
    for path in (
        f"/api/v1/creators/{creator_id}/posts",
        f"/api/v1/creators/{creator_id}/export.csv",
    ):
        refused = client.get(path, headers=other_ws.headers())
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "creator_access_required"
    with db.session(readonly=True) as session:
        for model in (CreatorSearch, CreatorAccess):
            rows = session.scalars(select(model.workspace_id)).all()
            assert rows == [ws.workspace_id]


def test_posts_are_paginated_with_their_ai(client: TestClient, ws: WorkspaceFixture) -> None:
    creator_id = _search_unlocked(client, ws, "mona")["creator"]["id"]
    page = client.get(
        f"/api/v1/creators/{creator_id}/posts",
        params={"limit": 5, "offset": 5},
        headers=ws.headers(),
    )
    assert page.status_code == 200
    body = page.json()
    assert body["total"] == 15 and len(body["items"]) == 5 and body["offset"] == 5
    item = body["items"][0]
    assert item["ai_sentiment"] and item["ai_language"]
    assert item["comments_sentiment"]["sample_size"] >= 0


def test_post_analytics_by_url(client: TestClient, ws: WorkspaceFixture, db: Database) -> None:
    creator_id = _search(client, ws, "nina")["creator"]["id"]
    with db.session(readonly=True) as session:
        url = session.scalar(select(CreatorPost.url).where(CreatorPost.creator_id == creator_id))
    response = client.post(
        "/api/v1/creators/posts/analyze", json={"url": url}, headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["post"]["url"] == url
    assert response.json()["creator"]["id"] == creator_id


def test_a_cached_report_changes_after_a_rebuild(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    creator_id = _search_unlocked(client, ws, "omar")["creator"]["id"]
    url = f"/api/v1/creators/{creator_id}/report"
    first = client.get(url, headers=ws.headers())
    again = client.get(url, headers={**ws.headers(), "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    refreshed = client.post(f"/api/v1/creators/{creator_id}/refresh", headers=ws.headers())
    assert refreshed.status_code == 202, refreshed.text
    after = client.get(url, headers={**ws.headers(), "If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["computed_at"] > first.json()["computed_at"]


def test_refresh_needs_the_editor_role(client: TestClient, ws: WorkspaceFixture) -> None:
    creator_id = _search_unlocked(client, ws, "pia")["creator"]["id"]
    response = client.post(
        f"/api/v1/creators/{creator_id}/refresh", headers=ws.headers(Role.viewer)
    )
    assert response.status_code == 403


def test_a_stale_report_is_served_at_once_and_refreshed(
    client: TestClient, ws: WorkspaceFixture, db: Database, manual_jobs: None
) -> None:
    queued = client.get("/api/v1/search/creator/quinn?platform=simulated", headers=ws.headers())
    creator_id = queued.json()["creator_id"]
    run_due(db)
    _unlock(client, ws, creator_id)
    with db.session() as session:
        session.execute(update(CreatorReport).values(computed_at=utcnow() - dt.timedelta(days=8)))
    response = client.get(f"/api/v1/creators/{creator_id}/report", headers=ws.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["stale"] is True and body["age_seconds"] > 7 * 86_400
    assert body["sections"] is not None and body["status"] == "building"
    run_due(db)
    fresh = client.get(f"/api/v1/creators/{creator_id}/report", headers=ws.headers()).json()
    assert fresh["stale"] is False and fresh["status"] == "ready"


def test_export_csv_neutralises_formulas_and_json_is_the_report(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    creator_id = _search_unlocked(client, ws, "rosa")["creator"]["id"]
    with db.session() as session:
        stored = session.scalar(select(CreatorReport).where(CreatorReport.creator_id == creator_id))
        assert stored is not None
        sections = dict(stored.sections)
        sections["posts"] = [{**sections["posts"][0], "caption": '=HYPERLINK("http://x.test")'}]
        stored.sections = sections
    exported = client.get(f"/api/v1/creators/{creator_id}/export.csv", headers=ws.headers())
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    cells = [row[1] for row in csv.reader(io.StringIO(exported.text))]
    assert not any(cell.startswith("=") for cell in cells)
    as_json = client.get(f"/api/v1/creators/{creator_id}/export.json", headers=ws.headers())
    assert as_json.status_code == 200
    assert as_json.json()["creator"]["id"] == creator_id
