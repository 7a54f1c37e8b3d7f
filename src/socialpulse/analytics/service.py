"""Account analytics, computed from what ingestion stored: daily account snapshots, posts with
their latest metrics, and per-post daily metric snapshots.

Rules that keep the numbers honest:

* A delta compares two real snapshots. When no snapshot is old enough, the delta is null and
  says why; nothing is interpolated or extrapolated.
* Engagement rate is ``(likes + comments + shares) / followers`` per post (followers when the
  metrics were captured, see ``accounts.ingest.engagement_rate``), averaged over posts. Posts
  without a rate (no follower count) are counted separately, never as zero.
* Days and weekday/hour buckets are in the workspace's time zone, like the snapshot days.

Every query goes through ``scoped()``: snapshots have no workspace of their own, so they are
always read joined to their (scoped) account or post. Bucketing by day, weekday and hour
happens in Python on narrow columns, so the SQL stays portable (SQLite and PostgreSQL).

A post's growth is in `analytics.growth`, the CSV export in `analytics.export`, best times to
post (smoothed, with platform defaults) in `analytics.best_times`, count deltas and the follower
trend in `analytics.deltas`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountSnapshot, AccountStatus, Post, TrackedAccount
from socialpulse.accounts.service import get_account, list_accounts

# Best times live in their own module; exported here, the domain's public face (the composer,
# publishing and the dashboard call them through this service).
from socialpulse.analytics.best_times import best_times as best_times
from socialpulse.analytics.best_times import engagement_lifts as engagement_lifts
from socialpulse.analytics.best_times import next_best_slot as next_best_slot
from socialpulse.analytics.best_times import relative_engagement as relative_engagement
from socialpulse.analytics.best_times import resolve_zone as resolve_zone
from socialpulse.analytics.deltas import (
    COUNT_COLUMNS,
    DELTA_WINDOWS,
    count_deltas_for,
    deltas,
    follower_trend,
    history,
    snapshot_select,
)
from socialpulse.analytics.deltas import count_deltas as count_deltas
from socialpulse.analytics.schemas import (
    AccountBrief,
    AccountSnapshotRead,
    AccountSnapshots,
    CompareRow,
    Comparison,
    CountOverview,
    EngagementSummary,
    HashtagPerformance,
    HashtagStats,
    Overview,
    PostRow,
    RankBy,
    SeriesMetric,
    SeriesPoint,
    Timeseries,
    TopPosts,
)
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.tenancy import Subject, scoped

ENGAGEMENT_WINDOW_DAYS = 30
TREND_WINDOW_DAYS = 30
METRICS = ("views", "likes", "comments", "shares", "saves")

# Account-level series read straight from the snapshots (item 9 of issue #16).
_SNAPSHOT_SERIES = {
    SeriesMetric.total_likes: AccountSnapshot.total_likes,
    SeriesMetric.total_comments: AccountSnapshot.total_comments,
    SeriesMetric.total_shares: AccountSnapshot.total_shares,
    SeriesMetric.total_views: AccountSnapshot.total_views,
    SeriesMetric.engagement_rate: AccountSnapshot.engagement_rate,
}
_SERIES_DESCRIPTIONS = {
    SeriesMetric.followers: "followers at each daily snapshot",
    SeriesMetric.following: "accounts followed at each daily snapshot",
    SeriesMetric.posts: "posts count at each daily snapshot",
    SeriesMetric.engagement: "average engagement rate of the posts published that day, "
    "(likes + comments + shares) / followers",
    SeriesMetric.total_likes: "likes summed over the tracked posts at each daily snapshot",
    SeriesMetric.total_comments: "comments summed over the tracked posts at each daily snapshot",
    SeriesMetric.total_shares: "shares summed over the tracked posts at each daily snapshot",
    SeriesMetric.total_views: "views summed over the tracked posts at each daily snapshot",
    SeriesMetric.engagement_rate: "average engagement rate of the tracked posts at each daily "
    "snapshot, (likes + comments + shares) / followers",
}
_RANK_COLUMNS = {
    RankBy.views: Post.views,
    RankBy.likes: Post.likes,
    RankBy.comments: Post.comments,
    RankBy.engagement: Post.engagement_rate,
}


# --- small helpers -----------------------------------------------------------------------------


def workspace_zone(session: Session, subject: Subject) -> ZoneInfo:
    return ZoneInfo(workspace_service.get_workspace(session, subject).timezone or "UTC")


def _brief(account: TrackedAccount) -> AccountBrief:
    return AccountBrief.model_validate(account)


def _post_row(post: Post) -> PostRow:
    return PostRow.model_validate(post)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant at which `day` starts in `zone`."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _recent_posts(
    session: Session,
    subject: Subject,
    account_ids: Sequence[int],
    since: dt.datetime,
    until: dt.datetime,
    *columns: Any,
) -> list[Row[Any]]:
    stmt = scoped(
        select(Post.account_id, Post.posted_at, *columns).where(
            Post.account_id.in_(list(account_ids)),
            Post.posted_at >= since,
            Post.posted_at <= until,
        ),
        subject,
    )
    return list(session.execute(stmt).all())


def _engagement(rates: Sequence[float | None], days: int) -> EngagementSummary:
    known = [rate for rate in rates if rate is not None]
    reason = None
    if not rates:
        reason = f"no posts in the last {days} days"
    elif not known:
        reason = "no post in the window has a rate (follower count unknown when captured)"
    return EngagementSummary(
        days=days,
        rate=_mean(known),
        posts_averaged=len(known),
        posts_without_rate=len(rates) - len(known),
        reason=reason,
    )


# --- the read functions ------------------------------------------------------------------------


def overview(
    session: Session, subject: Subject, account_id: int, *, now: dt.datetime | None = None
) -> Overview:
    """Current counts with 7/30/90-day deltas, 30-day engagement rate, follower trend and
    recent posting volume."""
    account = get_account(session, subject, account_id)
    now = now or utcnow()
    zone = workspace_zone(session, subject)
    snapshots = history(session, subject, account_id, DELTA_WINDOWS, TREND_WINDOW_DAYS)
    count_changes = deltas(snapshots, ("followers", "following", "posts"), DELTA_WINDOWS)
    posts = _recent_posts(
        session,
        subject,
        [account_id],
        now - dt.timedelta(days=ENGAGEMENT_WINDOW_DAYS),
        now,
        Post.engagement_rate,
    )
    week_ago = now - dt.timedelta(days=7)
    return Overview(
        account=_brief(account),
        timezone=zone.key,
        as_of=snapshots.latest.day if snapshots is not None else None,
        followers=CountOverview(current=account.followers_count, deltas=count_changes["followers"]),
        following=CountOverview(current=account.following_count, deltas=count_changes["following"]),
        posts=CountOverview(current=account.posts_count, deltas=count_changes["posts"]),
        engagement=_engagement([row.engagement_rate for row in posts], ENGAGEMENT_WINDOW_DAYS),
        follower_trend=follower_trend(snapshots, TREND_WINDOW_DAYS),
        posts_last_7_days=sum(1 for row in posts if row.posted_at >= week_ago),
        posts_last_30_days=len(posts),
    )


def timeseries(
    session: Session,
    subject: Subject,
    account_id: int,
    metric: SeriesMetric,
    days: int = 30,
    *,
    now: dt.datetime | None = None,
) -> Timeseries:
    """Daily points of the last `days` days (workspace days, today included)."""
    if days < 1:
        raise InvalidInput("days must be at least 1")
    get_account(session, subject, account_id)
    zone = workspace_zone(session, subject)
    until_day = (now or utcnow()).astimezone(zone).date()
    since_day = until_day - dt.timedelta(days=days - 1)
    points: list[SeriesPoint] = []
    if metric == SeriesMetric.engagement:
        rows = _recent_posts(
            session,
            subject,
            [account_id],
            _day_start(since_day, zone),
            _day_start(until_day + dt.timedelta(days=1), zone) - dt.timedelta(microseconds=1),
            Post.engagement_rate,
        )
        by_day: dict[dt.date, list[float]] = defaultdict(list)
        for row in rows:
            if row.engagement_rate is not None:
                by_day[row.posted_at.astimezone(zone).date()].append(row.engagement_rate)
        points = [
            SeriesPoint(day=day, value=sum(rates) / len(rates), samples=len(rates))
            for day, rates in sorted(by_day.items())
        ]
    else:
        column = _SNAPSHOT_SERIES.get(metric) or COUNT_COLUMNS[metric.value]
        snapshots = session.execute(
            snapshot_select(subject, account_id, AccountSnapshot.day, column)
            .where(
                AccountSnapshot.day >= since_day,
                AccountSnapshot.day <= until_day,
                column.is_not(None),
            )
            .order_by(AccountSnapshot.day)
        ).all()
        points = [SeriesPoint(day=row.day, value=getattr(row, column.key)) for row in snapshots]
    return Timeseries(
        account_id=account_id,
        metric=metric,
        description=_SERIES_DESCRIPTIONS[metric],
        since_day=since_day,
        until_day=until_day,
        points=points,
    )


def snapshots(
    session: Session,
    subject: Subject,
    account_id: int,
    days: int = 30,
    *,
    now: dt.datetime | None = None,
) -> AccountSnapshots:
    """The account's daily snapshots of the last `days` days (workspace days, today included),
    with the totals over its tracked posts: account-level trends without recomputation."""
    if days < 1:
        raise InvalidInput("days must be at least 1")
    get_account(session, subject, account_id)
    until_day = (now or utcnow()).astimezone(workspace_zone(session, subject)).date()
    since_day = until_day - dt.timedelta(days=days - 1)
    rows = session.execute(
        snapshot_select(subject, account_id, AccountSnapshot)
        .where(AccountSnapshot.day >= since_day, AccountSnapshot.day <= until_day)
        .order_by(AccountSnapshot.day)
    ).all()
    return AccountSnapshots(
        account_id=account_id,
        since_day=since_day,
        until_day=until_day,
        snapshots=[AccountSnapshotRead.model_validate(row.AccountSnapshot) for row in rows],
    )


def top_posts(
    session: Session,
    subject: Subject,
    account_id: int,
    *,
    by: RankBy = RankBy.engagement,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 10,
    now: dt.datetime | None = None,
) -> TopPosts:
    """Posts published in [since, until] ranked by a metric, highest first. Posts without that
    metric (the platform hides it) are left out rather than ranked as zero."""
    get_account(session, subject, account_id)
    until = until or now or utcnow()
    since = since or until - dt.timedelta(days=30)
    if since > until:
        raise InvalidInput("since must not be after until")
    column = _RANK_COLUMNS[by]
    posts = session.scalars(
        scoped(select(Post), subject)
        .where(
            Post.account_id == account_id,
            Post.posted_at >= since,
            Post.posted_at <= until,
            column.is_not(None),
        )
        .order_by(column.desc(), Post.posted_at.desc(), Post.id.desc())
        .limit(limit)
    ).all()
    return TopPosts(
        account_id=account_id,
        by=by,
        since=since,
        until=until,
        posts=[_post_row(p) for p in posts],
    )


def workspace_top_posts(
    session: Session,
    subject: Subject,
    *,
    since: dt.datetime,
    by: RankBy = RankBy.engagement,
    limit: int = 5,
) -> list[PostRow]:
    """The workspace's best posts published since `since`, across its accounts (those being
    removed left out), highest first; posts without the metric are left out."""
    column = _RANK_COLUMNS[by]
    posts = session.scalars(
        scoped(select(Post), subject)
        .join(TrackedAccount, TrackedAccount.id == Post.account_id)
        .where(
            Post.posted_at >= since,
            column.is_not(None),
            TrackedAccount.status != AccountStatus.deleting,
        )
        .order_by(column.desc(), Post.posted_at.desc(), Post.id.desc())
        .limit(limit)
    ).all()
    return [_post_row(post) for post in posts]


def hashtag_performance(
    session: Session,
    subject: Subject,
    account_id: int,
    *,
    days: int = 90,
    min_posts: int = 3,
    now: dt.datetime | None = None,
) -> HashtagPerformance:
    """Per hashtag (case-insensitive), over posts of the last `days` days: post count, average
    engagement rate and average views. Hashtags on fewer than `min_posts` posts are left out
    (too small a sample to compare) and only counted."""
    get_account(session, subject, account_id)
    now = now or utcnow()
    rows = _recent_posts(
        session,
        subject,
        [account_id],
        now - dt.timedelta(days=days),
        now,
        Post.hashtags,
        Post.engagement_rate,
        Post.views,
    )
    posts: dict[str, int] = defaultdict(int)
    rates: dict[str, list[float]] = defaultdict(list)
    views: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for tag in {str(tag).lstrip("#").lower() for tag in row.hashtags or []}:
            if not tag:
                continue
            posts[tag] += 1
            if row.engagement_rate is not None:
                rates[tag].append(row.engagement_rate)
            if row.views is not None:
                views[tag].append(float(row.views))
    kept = [tag for tag, count in posts.items() if count >= min_posts]
    stats = [
        HashtagStats(
            hashtag=tag,
            posts=posts[tag],
            engagement_rate=_mean(rates[tag]),
            engagement_samples=len(rates[tag]),
            avg_views=_mean(views[tag]),
            views_samples=len(views[tag]),
        )
        for tag in kept
    ]
    stats.sort(
        key=lambda s: (s.engagement_rate is None, -(s.engagement_rate or 0.0), -s.posts, s.hashtag)
    )
    return HashtagPerformance(
        account_id=account_id,
        days=days,
        min_posts=min_posts,
        posts_considered=len(rows),
        hashtags=stats,
        hashtags_below_min_posts=len(posts) - len(kept),
    )


def compare(
    session: Session,
    subject: Subject,
    account_ids: Sequence[int] | None = None,
    *,
    now: dt.datetime | None = None,
) -> Comparison:
    """One row per account (all of the workspace's when `account_ids` is None): followers,
    30-day follower delta, posts, average engagement rate and views over 30 days."""
    if account_ids is None:
        accounts = list_accounts(session, subject)
    else:
        accounts = [get_account(session, subject, account_id) for account_id in account_ids]
    now = now or utcnow()
    days = ENGAGEMENT_WINDOW_DAYS
    ids = [account.id for account in accounts]
    posts = (
        _recent_posts(
            session,
            subject,
            ids,
            now - dt.timedelta(days=days),
            now,
            Post.engagement_rate,
            Post.views,
        )
        if ids
        else []
    )
    per_account: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in posts:
        per_account[row.account_id].append(row)
    follower_deltas = count_deltas_for(
        session, subject, [a.id for a in accounts], ("followers",), (days,)
    )
    rows = []
    for account in accounts:
        mine = per_account.get(account.id, [])
        rates = [row.engagement_rate for row in mine if row.engagement_rate is not None]
        views = [float(row.views) for row in mine if row.views is not None]
        delta = follower_deltas[account.id]
        rows.append(
            CompareRow(
                account=_brief(account),
                followers=account.followers_count,
                follower_delta_30d=delta["followers"][0],
                posts_30d=len(mine),
                engagement_rate_30d=_mean(rates),
                avg_views_30d=_mean(views),
            )
        )
    return Comparison(days=days, rows=rows)
