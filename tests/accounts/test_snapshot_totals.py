"""Each daily account snapshot keeps the totals over the tracked posts (likes, comments,
shares, views) and their engagement rate, written by the fetch; the snapshots and timeseries
APIs read them back as account-level trends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TEST_SECRET_KEY
from factories import Builder, WorkspaceFixture, make_workspace
from socialpulse.accounts import fetching
from socialpulse.accounts.models import AccountSnapshot, FetchRun, FetchStatus
from socialpulse.db import Database
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb

BOX = SecretBox(TEST_SECRET_KEY)
DAY_1 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
DAY_2 = DAY_1 + dt.timedelta(days=1)


class ScriptedSource:
    """A platform that shows one profile and these posts (metrics as given)."""

    def __init__(self, followers: int, posts: dict[str, pb.PostMetrics]) -> None:
        self.followers = followers
        self.posts = posts

    def get_profile(self, handle: str) -> pb.Profile:
        return pb.Profile(
            platform=pb.Platform.SIMULATED,
            external_id="ext-alice",
            handle=handle,
            display_name="Alice",
            followers_count=self.followers,
            following_count=10,
            posts_count=len(self.posts),
        )

    def list_posts(
        self, profile: pb.Profile, cursor: str | None = None, limit: int = 50
    ) -> pb.Page[pb.Post]:
        items = tuple(
            pb.Post(
                platform=pb.Platform.SIMULATED,
                external_id=external_id,
                account_external_id=profile.external_id,
                url=None,
                caption=f"post {external_id}",
                posted_at=DAY_1 - dt.timedelta(days=i + 1),
                metrics=metrics,
            )
            for i, (external_id, metrics) in enumerate(self.posts.items())
        )
        return pb.Page(items=items)


def fetch(db: Database, ws: WorkspaceFixture, account_id: int, source: ScriptedSource) -> None:
    with db.session() as session:
        run = FetchRun(workspace_id=ws.workspace_id, account_id=account_id)
        session.add(run)
        session.flush()
        run_id = run.id
    done = fetching.run_fetch(db, run_id, box=BOX, source_factory=lambda *_args: source)
    assert done.status == FetchStatus.completed, done.error


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "totals-co")


def _two_days_of_fetches(db: Database, ws: WorkspaceFixture) -> int:
    account_id = Builder(db).account(ws.workspace_id, "alice", followers=1000)
    with time_machine.travel(DAY_1, tick=True):
        fetch(
            db,
            ws,
            account_id,
            ScriptedSource(
                1000,
                {
                    "p1": pb.PostMetrics(views=100, likes=10, comments=2, shares=1),
                    # The platform hides this post's views: unknown, not zero.
                    "p2": pb.PostMetrics(views=None, likes=20, comments=3, shares=0),
                },
            ),
        )
    with time_machine.travel(DAY_2, tick=True):
        fetch(
            db,
            ws,
            account_id,
            ScriptedSource(
                1100,
                {
                    "p1": pb.PostMetrics(views=150, likes=15, comments=4, shares=1),
                    "p2": pb.PostMetrics(views=50, likes=25, comments=3, shares=2),
                    "p3": pb.PostMetrics(views=None, likes=4, comments=0, shares=0),
                },
            ),
        )
    return account_id


def test_each_days_snapshot_keeps_the_totals_and_engagement_rate_of_that_day(
    db: Database, ws: WorkspaceFixture
) -> None:
    account_id = _two_days_of_fetches(db, ws)
    with db.session(readonly=True) as session:
        rows = session.scalars(
            select(AccountSnapshot)
            .where(AccountSnapshot.account_id == account_id)
            .order_by(AccountSnapshot.day)
        ).all()
        got = [
            (
                row.day,
                row.followers_count,
                row.total_likes,
                row.total_comments,
                row.total_shares,
                row.total_views,
                row.engagement_rate,
            )
            for row in rows
        ]
    assert got == [
        # Rates are per post, (likes + comments + shares) / followers, averaged: as analytics.
        (DAY_1.date(), 1000, 30, 5, 1, 100, pytest.approx((13 / 1000 + 23 / 1000) / 2)),
        (DAY_2.date(), 1100, 44, 7, 3, 200, pytest.approx((20 + 30 + 4) / 3 / 1100)),
    ]


def test_an_account_without_posts_has_unknown_totals(db: Database, ws: WorkspaceFixture) -> None:
    account_id = Builder(db).account(ws.workspace_id, "quiet", followers=50)
    with time_machine.travel(DAY_1, tick=True):
        fetch(db, ws, account_id, ScriptedSource(50, {}))
    with db.session(readonly=True) as session:
        row = session.scalars(
            select(AccountSnapshot).where(AccountSnapshot.account_id == account_id)
        ).one()
        assert (row.followers_count, row.total_likes, row.total_views, row.engagement_rate) == (
            50,
            None,
            None,
            None,
        )


def test_the_snapshots_and_timeseries_apis_return_the_daily_totals(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    account_id = _two_days_of_fetches(db, ws)
    with time_machine.travel(DAY_2 + dt.timedelta(hours=1), tick=True):
        listed = client.get(f"/api/v1/accounts/{account_id}/snapshots", headers=ws.headers())
        likes = client.get(
            f"/api/v1/accounts/{account_id}/timeseries",
            params={"metric": "total_likes", "days": 7},
            headers=ws.headers(),
        )
        rate = client.get(
            f"/api/v1/accounts/{account_id}/timeseries",
            params={"metric": "engagement_rate", "days": 7},
            headers=ws.headers(),
        )
        followers = client.get(f"/api/v1/accounts/{account_id}/timeseries", headers=ws.headers())
    assert listed.status_code == 200, listed.text
    snapshots: list[dict[str, Any]] = listed.json()["snapshots"]
    assert [
        (s["day"], s["followers_count"], s["total_likes"], s["total_comments"]) for s in snapshots
    ] == [("2026-03-02", 1000, 30, 5), ("2026-03-03", 1100, 44, 7)]
    assert [(s["total_shares"], s["total_views"]) for s in snapshots] == [(1, 100), (3, 200)]
    assert [p["value"] for p in likes.json()["points"]] == [30, 44]
    assert [p["value"] for p in rate.json()["points"]] == [
        pytest.approx(0.018),
        pytest.approx(54 / 3 / 1100),
    ]
    # The existing series are unchanged.
    assert [p["value"] for p in followers.json()["points"]] == [1000, 1100]


def test_another_workspace_cannot_read_the_snapshots(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    account_id = Builder(db).account(ws.workspace_id, "alice")
    other = make_workspace(db, "nosy-co")
    response = client.get(f"/api/v1/accounts/{account_id}/snapshots", headers=other.headers())
    assert response.status_code == 404
