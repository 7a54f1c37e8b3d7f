"""Builders for analytics tests: accounts, snapshots and posts written the way ingestion
writes them (posts and their metric snapshots through `accounts.service.ingest_posts`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from socialpulse.accounts.models import AccountSnapshot, Post, TrackedAccount
from socialpulse.accounts.service import ingest_posts
from socialpulse.db import Database
from socialpulse.providers import base as pb
from socialpulse.workspaces.models import Workspace


@dataclass
class Builder:
    db: Database

    def set_timezone(self, workspace_id: int, zone: str) -> None:
        with self.db.session() as session:
            session.execute(
                update(Workspace).where(Workspace.id == workspace_id).values(timezone=zone)
            )

    def account(
        self,
        workspace_id: int,
        handle: str = "alice",
        *,
        platform: str = "simulated",
        followers: int | None = 1000,
    ) -> int:
        with self.db.session() as session:
            account = TrackedAccount(
                workspace_id=workspace_id,
                platform=platform,
                external_id=f"ext-{handle}",
                handle=handle,
                display_name=handle.title(),
                followers_count=followers,
                following_count=10,
                posts_count=0,
            )
            session.add(account)
            session.flush()
            return account.id

    def snapshots(
        self,
        account_id: int,
        rows: Sequence[tuple[dt.date, int | None]],
        *,
        following: int | None = 10,
        posts: int | None = 5,
    ) -> None:
        with self.db.session() as session:
            for day, followers in rows:
                session.add(
                    AccountSnapshot(
                        account_id=account_id,
                        day=day,
                        followers_count=followers,
                        following_count=following,
                        posts_count=posts,
                    )
                )

    def post(
        self,
        account_id: int,
        external_id: str,
        posted_at: dt.datetime,
        *,
        day: dt.date | None = None,
        views: int | None = None,
        likes: int | None = 0,
        comments: int | None = 0,
        shares: int | None = 0,
        hashtags: Sequence[str] = (),
        caption: str = "",
        url: str | None = None,
    ) -> int:
        """Ingest one post (a metrics snapshot for `day`, default its publication date)."""
        with self.db.session() as session:
            account = session.get(TrackedAccount, account_id)
            assert account is not None
            dto = pb.Post(
                platform=pb.Platform.SIMULATED,
                external_id=external_id,
                account_external_id=account.external_id,
                url=url,
                caption=caption or f"post {external_id}",
                posted_at=posted_at,
                hashtags=tuple(hashtags),
                metrics=pb.PostMetrics(views=views, likes=likes, comments=comments, shares=shares),
            )
            ingest_posts(session, account, [dto], day=day or posted_at.date())
            post_id = session.scalar(
                select(Post.id).where(
                    Post.account_id == account_id, Post.external_id == external_id
                )
            )
            assert post_id is not None
            return post_id


@pytest.fixture
def build(db: Database) -> Builder:
    return Builder(db)
