"""Instagram media insights are kept: impressions (``views`` since Meta retired
``impressions``, or ``impressions`` where a response still carries it), reach and saves, parsed
from recorded response shapes (tests/fixtures/payloads/instagram/) and stored by ingestion on
the post and its daily metric snapshot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from factories import Builder, WorkspaceFixture
from socialpulse.accounts.models import Post, PostMetricSnapshot, TrackedAccount
from socialpulse.accounts.service import ingest_posts
from socialpulse.db import Database
from socialpulse.providers import base as pb
from socialpulse.providers.instagram import parse

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads" / "instagram"


def _payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def _media(media_id: str = "18027939643537248") -> pb.Post:
    return parse.parse_media(
        {
            "id": media_id,
            "timestamp": "2026-11-15T15:00:00+0000",
            "caption": "Flat white #latteart",
            "media_type": "VIDEO",
            "media_product_type": "REELS",
            "like_count": 1834,
            "comments_count": 57,
            "permalink": "https://www.instagram.com/reel/C6mPq2lLx1a/",
        },
        "17841400000000000",
    )


def test_views_reach_and_saves_of_current_insights_are_kept() -> None:
    post = parse.apply_insights(_media(), parse.parse_insights(_payload("insights_reel.json")))

    assert post.metrics.impressions == 40211  # "views" replaced "impressions"
    assert post.metrics.reach == 28870
    assert post.metrics.saves == 412
    assert post.metrics.views == 40211
    assert (post.metrics.likes, post.metrics.comments) == (1834, 57)


def test_the_total_value_shape_reads_the_same() -> None:
    insights = parse.parse_insights(_payload("insights_carousel_total_value.json"))
    post = parse.apply_insights(_media(), insights)

    assert (post.metrics.impressions, post.metrics.reach, post.metrics.saves) == (15320, 11002, 120)


def test_a_response_that_still_carries_impressions_is_read_as_is() -> None:
    insights = parse.parse_insights(_payload("insights_legacy_impressions.json"))
    post = parse.apply_insights(_media(), insights)

    assert post.metrics.impressions == 5120
    assert post.metrics.reach == 3980
    assert post.metrics.views is None
    assert post.metrics.clicks is None  # Instagram has no link clicks for organic media


def test_media_without_insights_has_no_impressions_or_reach() -> None:
    post = _media()

    assert (post.metrics.impressions, post.metrics.reach, post.metrics.clicks) == (None,) * 3


def test_ingestion_stores_impressions_and_reach_on_the_post_and_its_snapshot(
    db: Database, build: Builder, ws: WorkspaceFixture
) -> None:
    account_id = build.account(ws.workspace_id, "brewcraft", platform="instagram")
    post = parse.apply_insights(_media(), parse.parse_insights(_payload("insights_reel.json")))
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        ingest_posts(session, account, [post], day=dt.date(2026, 11, 15))

    with db.session(readonly=True) as session:
        stored = session.scalars(select(Post).where(Post.account_id == account_id)).one()
        snapshot = session.scalars(
            select(PostMetricSnapshot).where(PostMetricSnapshot.post_id == stored.id)
        ).one()
    assert (stored.impressions, stored.reach, stored.saves, stored.clicks) == (
        40211,
        28870,
        412,
        None,
    )
    assert (snapshot.impressions, snapshot.reach, snapshot.clicks) == (40211, 28870, None)


def test_a_later_fetch_updates_the_stored_reach(
    db: Database, build: Builder, ws: WorkspaceFixture
) -> None:
    account_id = build.account(ws.workspace_id, "brewcraft", platform="instagram")
    first = parse.apply_insights(_media(), {"views": 100, "reach": 80})
    later = parse.apply_insights(_media(), {"views": 300, "reach": 210})
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        ingest_posts(session, account, [first], day=dt.date(2026, 11, 15))
        ingest_posts(session, account, [later], day=dt.date(2026, 11, 16))

    with db.session(readonly=True) as session:
        stored = session.scalars(select(Post).where(Post.account_id == account_id)).one()
        days = session.execute(
            select(PostMetricSnapshot.day, PostMetricSnapshot.reach)
            .where(PostMetricSnapshot.post_id == stored.id)
            .order_by(PostMetricSnapshot.day)
        ).all()
    assert (stored.impressions, stored.reach) == (300, 210)
    assert [tuple(row) for row in days] == [
        (dt.date(2026, 11, 15), 80),
        (dt.date(2026, 11, 16), 210),
    ]
