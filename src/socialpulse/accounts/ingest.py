"""Storing what a fetch read: the account's profile and daily snapshot, posts with their
metrics and a metric snapshot per post and day (upserts, so a re-read changes nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountSnapshot, Post, PostMetricSnapshot, TrackedAccount
from socialpulse.db import utcnow
from socialpulse.kit.upsert import upsert
from socialpulse.providers import base as pb
from socialpulse.workspaces.models import Workspace


def apply_profile(account: TrackedAccount, profile: pb.Profile) -> None:
    account.external_id = profile.external_id
    account.handle = profile.handle
    account.display_name = profile.display_name or profile.handle
    account.bio = profile.bio
    account.avatar_url = profile.avatar_url
    account.profile_url = profile.profile_url
    account.followers_count = profile.followers_count
    account.following_count = profile.following_count
    account.posts_count = profile.posts_count
    account.verified = profile.verified


def local_day(session: Session, workspace_id: int, at: dt.datetime | None = None) -> dt.date:
    zone = session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"
    return (at or utcnow()).astimezone(ZoneInfo(zone)).date()


# The totals an account snapshot keeps, each the sum of that metric over the tracked posts.
SNAPSHOT_TOTALS = {
    "total_likes": Post.likes,
    "total_comments": Post.comments,
    "total_shares": Post.shares,
    "total_views": Post.views,
}


def post_totals(session: Session, account_id: int) -> dict[str, int | float | None]:
    """The account's tracked posts summed per metric (their latest metrics), and their average
    engagement rate: one aggregate over `posts`. A sum is None when no post reports the
    metric (SUM over NULLs), so "not provided" never reads as zero."""
    row = session.execute(
        select(
            *(func.sum(column).label(name) for name, column in SNAPSHOT_TOTALS.items()),
            func.avg(Post.engagement_rate).label("engagement_rate"),
        ).where(Post.account_id == account_id)
    ).one()
    # PostgreSQL sums BIGINT as NUMERIC (Decimal) and averages as NUMERIC too.
    totals: dict[str, int | float | None] = {
        name: None if getattr(row, name) is None else int(getattr(row, name))
        for name in SNAPSHOT_TOTALS
    }
    totals["engagement_rate"] = None if row.engagement_rate is None else float(row.engagement_rate)
    return totals


def write_account_snapshot(session: Session, account: TrackedAccount, day: dt.date) -> None:
    """The day's snapshot: the profile's counts and the totals over the tracked posts as they
    are now, so call it after the posts of a fetch are stored (same transaction)."""
    totals = post_totals(session, account.id)
    upsert(
        session,
        AccountSnapshot.__table__,  # type: ignore[arg-type]
        [
            {
                "account_id": account.id,
                "day": day,
                "followers_count": account.followers_count,
                "following_count": account.following_count,
                "posts_count": account.posts_count,
                **totals,
                "captured_at": utcnow(),
            }
        ],
        conflict=["account_id", "day"],
        update=["followers_count", "following_count", "posts_count", *totals, "captured_at"],
    )


def engagement_rate(metrics: pb.PostMetrics, followers: int | None) -> float | None:
    """(likes + comments + shares) / followers, per post. None without a follower count."""
    if not followers:
        return None
    return ((metrics.likes or 0) + (metrics.comments or 0) + (metrics.shares or 0)) / followers


@dataclass
class IngestStats:
    posts_seen: int = 0
    posts_new: int = 0
    snapshots_written: int = 0


_POST_UPDATE = [
    "url",
    "caption",
    "hashtags",
    "mentions",
    "media_type",
    "duration_seconds",
    "thumbnail_url",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "impressions",
    "reach",
    "clicks",
    "engagement_rate",
    "metrics_updated_at",
]
_METRICS = ["views", "likes", "comments", "shares", "saves", "impressions", "reach", "clicks"]


def ingest_posts(
    session: Session,
    account: TrackedAccount,
    posts: Sequence[pb.Post],
    *,
    day: dt.date,
    captured_at: dt.datetime | None = None,
) -> IngestStats:
    """Upsert posts (unique per account and platform id) and their metrics snapshot for `day`."""
    stats = IngestStats(posts_seen=len(posts))
    if not posts:
        return stats
    captured_at = captured_at or utcnow()
    unique = {post.external_id: post for post in posts}
    existing = set(
        session.scalars(
            select(Post.external_id).where(
                Post.account_id == account.id, Post.external_id.in_(list(unique))
            )
        )
    )
    stats.posts_new = len(unique.keys() - existing)
    rows = [
        {
            "workspace_id": account.workspace_id,
            "account_id": account.id,
            "external_id": post.external_id,
            "url": post.url,
            "caption": post.caption,
            "hashtags": list(post.hashtags),
            "mentions": list(post.mentions),
            "media_type": str(post.media_type),
            "duration_seconds": post.duration_seconds,
            "posted_at": post.posted_at,
            "thumbnail_url": post.thumbnail_url,
            **{name: getattr(post.metrics, name) for name in _METRICS},
            "engagement_rate": engagement_rate(post.metrics, account.followers_count),
            "first_seen_at": captured_at,
            "metrics_updated_at": captured_at,
        }
        for post in unique.values()
    ]
    upsert(
        session,
        Post.__table__,  # type: ignore[arg-type]
        rows,
        conflict=["account_id", "external_id"],
        update=_POST_UPDATE,
    )
    ids = dict(
        session.execute(
            select(Post.external_id, Post.id).where(
                Post.account_id == account.id, Post.external_id.in_(list(unique))
            )
        ).all()
    )
    snapshots = [
        {
            "post_id": ids[post.external_id],
            "day": day,
            **{name: getattr(post.metrics, name) for name in _METRICS},
            "captured_at": captured_at,
        }
        for post in unique.values()
    ]
    stats.snapshots_written = upsert(
        session,
        PostMetricSnapshot.__table__,  # type: ignore[arg-type]
        snapshots,
        conflict=["post_id", "day"],
        update=[*_METRICS, "captured_at"],
    )
    return stats
