"""How a post's metrics grew: its history snapshot by snapshot, and the top gainers between
two days. Days are the workspace's, as everywhere in analytics (see `analytics.service`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, PostMetricSnapshot
from socialpulse.accounts.service import get_account
from socialpulse.analytics.schemas import (
    Baseline,
    GrowthBetween,
    GrowthPoint,
    MetricValues,
    PostGain,
    PostGrowth,
    PostRow,
    RankBy,
)
from socialpulse.analytics.service import METRICS, workspace_zone
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped


def _account_post(session: Session, subject: Subject, account_id: int, post_id: int) -> Post:
    get_account(session, subject, account_id)
    post = get_scoped(session, Post, post_id, subject)
    if post.account_id != account_id:
        raise NotFound(f"Post {post_id} not found")
    return post


def _metric_values(row: Any) -> MetricValues:
    return MetricValues(**{name: getattr(row, name) for name in METRICS})


def _change(new: MetricValues, old: MetricValues) -> MetricValues:
    values: dict[str, int | None] = {}
    for name in METRICS:
        a, b = getattr(new, name), getattr(old, name)
        values[name] = None if a is None or b is None else a - b
    return MetricValues(**values)


def post_snapshot_columns() -> tuple[Any, ...]:
    return (
        PostMetricSnapshot.day,
        PostMetricSnapshot.views,
        PostMetricSnapshot.likes,
        PostMetricSnapshot.comments,
        PostMetricSnapshot.shares,
        PostMetricSnapshot.saves,
    )


def post_growth(session: Session, subject: Subject, account_id: int, post_id: int) -> PostGrowth:
    """A post's metric history, one point per snapshot day, each with its change since the
    previous snapshot (which may be more than a day earlier: see days_since_previous)."""
    post = _account_post(session, subject, account_id, post_id)
    rows = session.execute(
        scoped(
            select(Post.id, *post_snapshot_columns())
            .join(PostMetricSnapshot, PostMetricSnapshot.post_id == Post.id)
            .where(Post.id == post_id),
            subject,
        ).order_by(PostMetricSnapshot.day)
    ).all()
    points: list[GrowthPoint] = []
    previous: GrowthPoint | None = None
    for row in rows:
        metrics = _metric_values(row)
        point = GrowthPoint(
            day=row.day,
            metrics=metrics,
            previous_day=previous.day if previous else None,
            days_since_previous=(row.day - previous.day).days if previous else None,
            change=_change(metrics, previous.metrics) if previous else None,
        )
        points.append(point)
        previous = point
    return PostGrowth(post=PostRow.model_validate(post), points=points)


def _snapshots_as_of(
    session: Session, subject: Subject, account_id: int, day: dt.date
) -> dict[int, Row[Any]]:
    """Each post's latest metric snapshot on or before `day`."""
    latest = scoped(
        select(Post.id.label("post_id"), func.max(PostMetricSnapshot.day).label("day"))
        .join(PostMetricSnapshot, PostMetricSnapshot.post_id == Post.id)
        .where(Post.account_id == account_id, PostMetricSnapshot.day <= day)
        .group_by(Post.id),
        subject,
    ).subquery()
    rows = session.execute(
        select(PostMetricSnapshot.post_id, *post_snapshot_columns()).join(
            latest,
            and_(
                PostMetricSnapshot.post_id == latest.c.post_id,
                PostMetricSnapshot.day == latest.c.day,
            ),
        )
    ).all()
    return {row.post_id: row for row in rows}


def _gain_key(change: MetricValues, by: RankBy) -> int | None:
    if by == RankBy.engagement:
        parts = [change.likes, change.comments, change.shares]
        known = [part for part in parts if part is not None]
        return sum(known) if known else None
    value: int | None = getattr(change, by.value)
    return value


def growth_between(
    session: Session,
    subject: Subject,
    account_id: int,
    start_day: dt.date | None = None,
    end_day: dt.date | None = None,
    *,
    by: RankBy = RankBy.views,
    limit: int = 20,
    now: dt.datetime | None = None,
) -> GrowthBetween:
    """Top gainers between two days: per post, metrics at its latest snapshot on or before
    `end_day` (which must be after `start_day`) minus those at its latest snapshot on or before
    `start_day`. A post published after `start_day` starts from zero. `by=engagement` ranks by
    the gain in likes + comments + shares. Defaults: `end_day` today (workspace time zone),
    `start_day` 7 days before `end_day`."""
    get_account(session, subject, account_id)
    zone = workspace_zone(session, subject)
    end_day = end_day or (now or utcnow()).astimezone(zone).date()
    start_day = start_day or end_day - dt.timedelta(days=7)
    if end_day <= start_day:
        raise InvalidInput("end_day must be after start_day")
    starts = _snapshots_as_of(session, subject, account_id, start_day)
    ends = {
        post_id: row
        for post_id, row in _snapshots_as_of(session, subject, account_id, end_day).items()
        if row.day > start_day
    }
    posts = {
        post.id: post
        for post in session.scalars(
            scoped(select(Post), subject).where(
                Post.account_id == account_id, Post.id.in_(list(ends))
            )
        )
    }
    gains: list[PostGain] = []
    without_baseline = 0
    for post_id, end_row in ends.items():
        post = posts[post_id]
        end = _metric_values(end_row)
        start_row = starts.get(post_id)
        if start_row is not None:
            baseline, start, start_on = Baseline.snapshot, _metric_values(start_row), start_row.day
        elif post.posted_at.astimezone(zone).date() > start_day:
            zeros = {name: 0 for name in METRICS if getattr(end, name) is not None}
            baseline, start, start_on = Baseline.published_after_start, MetricValues(**zeros), None
        else:
            without_baseline += 1
            continue
        gains.append(
            PostGain(
                post=PostRow.model_validate(post),
                baseline=baseline,
                start_day=start_on,
                end_day=end_row.day,
                start=start,
                end=end,
                change=_change(end, start),
            )
        )
    ranked = [gain for gain in gains if _gain_key(gain.change, by) is not None]
    ranked.sort(key=lambda gain: (-(_gain_key(gain.change, by) or 0), -gain.post.id))
    return GrowthBetween(
        account_id=account_id,
        start_day=start_day,
        end_day=end_day,
        by=by,
        posts=ranked[:limit],
        posts_without_baseline=without_baseline,
    )
