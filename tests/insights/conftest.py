"""Insights fixtures: two workspaces, posts ingested with every metric (impressions and reach
included) the way a fetch stores them, and the AI cost function of part E stood in for."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from factories import Builder, WorkspaceFixture, make_workspace
from insights_data import NEW_YORK, AiCosts, HandMade, Ingest, local
from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.accounts.service import ingest_posts
from socialpulse.ai import service as ai_service
from socialpulse.db import Database
from socialpulse.providers import base as pb


@pytest.fixture
def build(db: Database) -> Builder:
    return Builder(db)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "insights-co")


@pytest.fixture
def other_ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "rival-co")


@pytest.fixture(autouse=True)
def ai_costs(monkeypatch: pytest.MonkeyPatch) -> AiCosts:
    """Part E (LLM usage) provides `ai_costs_cents`; until the lead merges it into this branch,
    ROI's AI line reads this stand-in, which answers a cost the test sets."""
    state = AiCosts()

    def costs(_session: Any, workspace_id: int, since: dt.datetime, until: dt.datetime) -> int:
        state.calls.append((workspace_id, since, until))
        return state.cents

    monkeypatch.setattr(ai_service, "ai_costs_cents", costs, raising=False)
    return state


@pytest.fixture
def ingest(db: Database) -> Ingest:
    """Ingest one post of an account through `accounts.service.ingest_posts`, with any of
    PostMetrics' counters; returns the post id."""

    def run(
        account_id: int,
        external_id: str,
        posted_at: dt.datetime,
        *,
        media_type: pb.MediaType = pb.MediaType.IMAGE,
        caption: str = "",
        url: str | None = None,
        **metrics: int | None,
    ) -> int:
        with db.session() as session:
            account = session.get(TrackedAccount, account_id)
            assert account is not None
            dto = pb.Post(
                platform=pb.Platform(account.platform),
                external_id=external_id,
                account_external_id=account.external_id,
                url=url,
                caption=caption or f"post {external_id}",
                posted_at=posted_at,
                media_type=media_type,
                metrics=pb.PostMetrics(**metrics),
            )
            ingest_posts(session, account, [dto], day=posted_at.date())
            post_id = session.scalar(
                select(Post.id).where(
                    Post.account_id == account_id, Post.external_id == external_id
                )
            )
            assert post_id is not None
            return post_id

    return run


@pytest.fixture
def hand_made(db: Database, build: Builder, ws: WorkspaceFixture, ingest: Ingest) -> HandMade:
    """The workspace in New York with two own accounts and a competitor it watches:

    * insta (instagram, 1,000 followers; snapshots 900 on 13 Nov, 1,000 on 20 Nov: +100):
      i1 15 Nov 10:00 (100 likes, 20 comments, 5 shares, 10 saves, 4,000 impressions,
      3,000 reach: engagement 125, rate 125/4000), i2 20 Nov 23:30 local = 21 Nov 04:30Z
      (50 likes, 10 comments, 0 shares, 1,000 impressions, 800 reach: engagement 60, rate
      60/1000; counted: the last local day), i0 13 Nov 23:30 local = 14 Nov 04:30Z (999 likes:
      the day before the period, out).
    * masto (mastodon, 500 followers; snapshots 480 then 500: +20): m1 16 Nov 09:00, a video
      (30 likes, 5 comments, 15 shares, no impressions: rate 50/500 by followers).
    * rival (simulated, not own): r1 in the period with 5,000 likes (never counted).
    """
    build.set_timezone(ws.workspace_id, NEW_YORK)
    insta = build.account(ws.workspace_id, "insta", platform="instagram", followers=1000)
    masto = build.account(ws.workspace_id, "masto", platform="mastodon", followers=500)
    rival = build.account(ws.workspace_id, "rival", platform="simulated", followers=50_000)
    with db.session() as session:
        found = session.get(TrackedAccount, rival)
        assert found is not None
        found.is_own = False
    build.snapshots(insta, [(dt.date(2026, 11, 13), 900), (dt.date(2026, 11, 20), 1000)])
    build.snapshots(masto, [(dt.date(2026, 11, 13), 480), (dt.date(2026, 11, 20), 500)])
    build.snapshots(rival, [(dt.date(2026, 11, 13), 40_000), (dt.date(2026, 11, 20), 50_000)])
    posts = {
        "i1": ingest(
            insta,
            "i1",
            local("2026-11-15T10:00"),
            likes=100,
            comments=20,
            shares=5,
            saves=10,
            impressions=4000,
            reach=3000,
            caption="Launch day " + "x" * 200,
            url="https://www.instagram.com/p/i1/",
        ),
        "i2": ingest(
            insta,
            "i2",
            local("2026-11-20T23:30"),
            likes=50,
            comments=10,
            shares=0,
            impressions=1000,
            reach=800,
        ),
        "i0": ingest(insta, "i0", local("2026-11-13T23:30"), likes=999, comments=0, shares=0),
        "m1": ingest(
            masto,
            "m1",
            local("2026-11-16T09:00"),
            media_type=pb.MediaType.VIDEO,
            likes=30,
            comments=5,
            shares=15,
        ),
        "r1": ingest(rival, "r1", local("2026-11-17T09:00"), likes=5000, comments=0, shares=0),
    }
    return HandMade(insta=insta, masto=masto, rival=rival, posts=posts)
