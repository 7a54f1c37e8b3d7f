"""The analytics routes: typed responses, CSV download, and tenancy (other workspaces' ids
answer 404, like unknown ones)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database, utcnow
from socialpulse.workspaces.models import Role

if TYPE_CHECKING:
    from factories import Builder

ACCOUNT_ROUTES = [
    "/api/v1/accounts/{account_id}/overview",
    "/api/v1/accounts/{account_id}/timeseries?metric=followers&days=30",
    "/api/v1/accounts/{account_id}/top-posts?by=views&days=30&limit=5",
    "/api/v1/accounts/{account_id}/posts/{post_id}/growth",
    "/api/v1/accounts/{account_id}/growth",
    "/api/v1/accounts/{account_id}/growth?start_day=2020-01-01&end_day=2030-01-01",
    "/api/v1/accounts/{account_id}/hashtags?days=30&min_posts=1",
    "/api/v1/accounts/{account_id}/best-times?days=30",
    "/api/v1/accounts/{account_id}/export.csv",
]


@pytest.fixture
def two(db: Database) -> tuple[WorkspaceFixture, WorkspaceFixture]:
    return make_workspace(db, "alpha-co"), make_workspace(db, "beta-co")


def _seed(build: Builder, workspace_id: int, handle: str) -> tuple[int, int]:
    account = build.account(workspace_id, handle, followers=1000)
    today = utcnow().date()
    build.snapshots(account, [(today - dt.timedelta(days=8), 900), (today, 1000)])
    post = build.post(
        account,
        f"{handle}-1",
        utcnow() - dt.timedelta(hours=5),
        views=400,
        likes=40,
        hashtags=["launch"],
        caption="-launch day",
    )
    return account, post


@pytest.mark.parametrize("route", ACCOUNT_ROUTES)
def test_viewer_reads_every_analytics_route(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture], route: str
) -> None:
    mine, _ = two
    account, post = _seed(build, mine.workspace_id, "mine")
    response = client.get(
        route.format(account_id=account, post_id=post), headers=mine.headers(Role.viewer)
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ACCOUNT_ROUTES)
def test_another_workspaces_account_gives_404(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture], route: str
) -> None:
    mine, theirs = two
    _seed(build, mine.workspace_id, "mine")
    account, post = _seed(build, theirs.workspace_id, "theirs")
    response = client.get(route.format(account_id=account, post_id=post), headers=mine.headers())
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("route", ACCOUNT_ROUTES)
def test_unknown_account_gives_404(
    client: TestClient, two: tuple[WorkspaceFixture, WorkspaceFixture], route: str
) -> None:
    mine, _ = two
    response = client.get(route.format(account_id=999_999, post_id=1), headers=mine.headers())
    assert response.status_code == 404


def test_growth_of_another_workspaces_post_under_my_account_gives_404(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, theirs = two
    account, _ = _seed(build, mine.workspace_id, "mine")
    _, their_post = _seed(build, theirs.workspace_id, "theirs")
    other_account = build.account(mine.workspace_id, "second")
    sibling_post = build.post(other_account, "s-1", utcnow() - dt.timedelta(days=1))
    for post in (their_post, sibling_post):
        response = client.get(
            f"/api/v1/accounts/{account}/posts/{post}/growth", headers=mine.headers()
        )
        assert response.status_code == 404, response.text


def test_overview_response_states_deltas_and_the_engagement_definition(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    account, _ = _seed(build, mine.workspace_id, "mine")
    body = client.get(f"/api/v1/accounts/{account}/overview", headers=mine.headers()).json()
    week, month, _ = body["followers"]["deltas"]
    assert (week["absolute"], week["percent"]) == (100, pytest.approx(100 / 9))
    assert month["absolute"] is None
    assert month["reason"].startswith("no snapshot on or before")
    assert body["engagement"]["definition"] == (
        "(likes + comments + shares) / followers, per post, averaged"
    )
    assert body["engagement"]["rate"] == pytest.approx(0.04)
    assert body["engagement"]["posts_averaged"] == 1


def test_export_is_a_csv_attachment(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    account, _ = _seed(build, mine.workspace_id, "mine")
    response = client.get(f"/api/v1/accounts/{account}/export.csv", headers=mine.headers())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="simulated-mine-posts.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["external_id"], r["views"], r["caption"]) for r in rows] == [
        ("mine-1", "400", "'-launch day")
    ]


def test_bad_query_values_give_422(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, _ = two
    account, _ = _seed(build, mine.workspace_id, "mine")
    for path in (
        f"/api/v1/accounts/{account}/timeseries?metric=karma",
        f"/api/v1/accounts/{account}/top-posts?by=vibes",
        f"/api/v1/accounts/{account}/top-posts?limit=0",
        f"/api/v1/accounts/{account}/growth?start_day=2026-02-01&end_day=2026-01-01",
        "/api/v1/analytics/compare?account_ids=1,x",
    ):
        response = client.get(path, headers=mine.headers())
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_input"


def test_compare_all_accounts_or_the_listed_ones(
    client: TestClient, build: Builder, two: tuple[WorkspaceFixture, WorkspaceFixture]
) -> None:
    mine, theirs = two
    first, _ = _seed(build, mine.workspace_id, "first")
    second, _ = _seed(build, mine.workspace_id, "second")
    their_account, _ = _seed(build, theirs.workspace_id, "theirs")
    headers = mine.headers(Role.viewer)
    everything = client.get("/api/v1/analytics/compare", headers=headers)
    assert everything.status_code == 200
    assert {row["account"]["id"] for row in everything.json()["rows"]} == {first, second}
    row = everything.json()["rows"][0]
    assert row["follower_delta_30d"]["absolute"] is None
    assert row["posts_30d"] == 1
    listed = client.get(f"/api/v1/analytics/compare?account_ids={second}", headers=headers)
    assert [row["account"]["id"] for row in listed.json()["rows"]] == [second]
    leaked = client.get(
        f"/api/v1/analytics/compare?account_ids={first},{their_account}", headers=headers
    )
    assert leaked.status_code == 404


def test_analytics_need_a_key(client: TestClient) -> None:
    assert client.get("/api/v1/analytics/compare").status_code == 401
