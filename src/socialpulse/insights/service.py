"""The workspace overview: every own account's posts, followers and inbox sentiment over the
last N days, in one response (``GET /api/v1/analytics/overview``). ROI is in ``insights.roi``.

What counts, and why:

* Accounts: the workspace's own tracked accounts (``is_own``; competitors it watches are not
  its results), optionally of one platform; accounts being deleted are left out.
* The period: the last ``days`` local days of the workspace's time zone, today included, from
  ``start`` 00:00 to the day after ``end`` 00:00 (exclusive), so a post at 23:30 local on the
  last day is in it whatever its UTC date.
* A post's metrics are its latest captured ones (lifetime counters), attributed to the local
  day it was published.
* Impressions, reach, clicks and saves are owner-only insights only some platforms report
  (Instagram: impressions and reach). A total is the sum over the posts that carry the metric;
  null when none does. ``metrics_provided`` says which platforms provide which.
* Engagement and its rate: see ``schemas.ENGAGEMENT_DEFINITION``. Follower growth is the
  analytics follower delta (``analytics.deltas.count_deltas_for``) over the period.

Every read is ``scoped()`` to the caller's workspace; bucketing happens in Python on narrow
columns so the SQL stays portable (SQLite and PostgreSQL), as in ``analytics.service``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountStatus, Post, TrackedAccount
from socialpulse.alerts import service as alerts_service
from socialpulse.analytics import service as analytics_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox.models import Interaction
from socialpulse.insights.schemas import (
    AccountGrowth,
    ContentRow,
    DayRow,
    EngagementTotals,
    FollowerGrowth,
    MetricAvailability,
    Period,
    PlatformRow,
    PostTotals,
    SentimentScore,
    TopPost,
    WorkspaceOverview,
)
from socialpulse.providers import registry
from socialpulse.workspaces.tenancy import Subject, scoped

MAX_DAYS = 365
TOP_POSTS = 5
OPEN_ALERTS_SHOWN = 20
EXCERPT_CHARS = 140
# Owner-only metrics: None on a post means its platform does not report it.
INSIGHT_METRICS = ("impressions", "reach", "clicks", "saves")


# --------------------------------------------------------------------------- inputs


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(
            f"days must be between 1 and {MAX_DAYS}",
            details=[{"loc": ["query", "days"], "msg": f"between 1 and {MAX_DAYS}"}],
        )
    return days


def supported_platforms() -> list[str]:
    return sorted(registry.all_providers())


def check_platform(platform: str | None) -> str | None:
    """The platform filter, or None; an unknown platform is a 422 naming the supported ones."""
    if platform is None or not platform.strip():
        return None
    name = platform.strip().lower()
    supported = supported_platforms()
    if name not in supported:
        raise InvalidInput(
            f"unknown platform {platform!r}; supported: {', '.join(supported)}",
            details={"supported_platforms": supported},
        )
    return name


def period(zone: ZoneInfo, days: int, now: dt.datetime | None = None) -> Period:
    """The last `days` local days, today included."""
    end = (now or utcnow()).astimezone(zone).date()
    start = end - dt.timedelta(days=days - 1)
    return Period(
        days=days,
        start=start,
        end=end,
        timezone=zone.key,
        starts_at=_day_start(start, zone),
        ends_at=_day_start(end + dt.timedelta(days=1), zone),
    )


def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


# --------------------------------------------------------------------------- reads


def own_accounts(
    session: Session, subject: Subject, platform: str | None = None
) -> list[TrackedAccount]:
    stmt = scoped(select(TrackedAccount), subject).where(
        TrackedAccount.is_own.is_(True), TrackedAccount.status != AccountStatus.deleting
    )
    if platform is not None:
        stmt = stmt.where(TrackedAccount.platform == platform)
    return list(session.scalars(stmt.order_by(TrackedAccount.id)))


@dataclass(frozen=True, slots=True)
class PostFigures:
    """One post's metrics as the overview and ROI read them."""

    id: int
    account_id: int
    platform: str
    handle: str
    url: str | None
    caption: str
    posted_at: dt.datetime
    media_type: str
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    impressions: int | None
    reach: int | None
    clicks: int | None
    follower_rate: float | None  # the stored (likes + comments + shares) / followers

    @property
    def engagement(self) -> int:
        return (self.likes or 0) + (self.comments or 0) + (self.shares or 0)

    @property
    def rate(self) -> float | None:
        if self.impressions:
            return self.engagement / self.impressions
        return self.follower_rate


def posts_in(
    session: Session, subject: Subject, accounts: Sequence[TrackedAccount], span: Period
) -> list[PostFigures]:
    """The accounts' posts published in the period, newest first."""
    if not accounts:
        return []
    by_id = {account.id: account for account in accounts}
    rows = session.execute(
        scoped(
            select(
                Post.id,
                Post.account_id,
                Post.url,
                Post.caption,
                Post.posted_at,
                Post.media_type,
                Post.likes,
                Post.comments,
                Post.shares,
                Post.saves,
                Post.impressions,
                Post.reach,
                Post.clicks,
                Post.engagement_rate,
            ).where(
                Post.account_id.in_(list(by_id)),
                Post.posted_at >= span.starts_at,
                Post.posted_at < span.ends_at,
            ),
            subject,
        ).order_by(Post.posted_at.desc(), Post.id.desc())
    ).all()
    return [
        PostFigures(
            id=row.id,
            account_id=row.account_id,
            platform=by_id[row.account_id].platform,
            handle=by_id[row.account_id].handle,
            url=row.url,
            caption=row.caption,
            posted_at=row.posted_at,
            media_type=row.media_type,
            likes=row.likes,
            comments=row.comments,
            shares=row.shares,
            saves=row.saves,
            impressions=row.impressions,
            reach=row.reach,
            clicks=row.clicks,
            follower_rate=row.engagement_rate,
        )
        for row in rows
    ]


def known_sum(posts: Sequence[PostFigures], metric: str) -> int | None:
    """The metric summed over the posts that carry it; None when none does."""
    values = [getattr(post, metric) for post in posts if getattr(post, metric) is not None]
    return sum(values) if values else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def follower_growth(
    session: Session, subject: Subject, accounts: Sequence[TrackedAccount], days: int
) -> FollowerGrowth:
    """Each account's follower delta over the period, summed per platform and in total."""
    rows: list[AccountGrowth] = []
    by_platform: dict[str, int] = {}
    deltas = analytics_service.count_deltas_for(
        session, subject, [account.id for account in accounts], ("followers",), (days,)
    )
    for account in accounts:
        by_platform.setdefault(account.platform, 0)
        delta = deltas[account.id]["followers"][0]
        rows.append(
            AccountGrowth(
                account_id=account.id,
                platform=account.platform,
                handle=account.handle,
                growth=delta.absolute,
                reason=delta.reason if delta.absolute is None else None,
            )
        )
        if delta.absolute is not None:
            by_platform[account.platform] += delta.absolute
    return FollowerGrowth(
        total_growth=sum(by_platform.values()), by_platform=by_platform, accounts=rows
    )


def sentiment(
    session: Session, subject: Subject, accounts: Sequence[TrackedAccount], span: Period
) -> SentimentScore:
    """Counts of the inbox's classified interactions on the accounts in the period."""
    counts: dict[str | None, int] = {}
    if accounts:
        counts = {
            label: int(count)
            for label, count in session.execute(
                scoped(
                    select(Interaction.ai_sentiment, func.count()).where(
                        Interaction.account_id.in_([account.id for account in accounts]),
                        Interaction.posted_at >= span.starts_at,
                        Interaction.posted_at < span.ends_at,
                    ),
                    subject,
                ).group_by(Interaction.ai_sentiment)
            )
        }
    positive = counts.get("positive", 0)
    negative = counts.get("negative", 0)
    neutral = counts.get("neutral", 0)
    classified = positive + negative + neutral
    return SentimentScore(
        overall_score=round((positive - negative) / classified, 4) if classified else None,
        positive_count=positive,
        negative_count=negative,
        neutral_count=neutral,
        unclassified_count=sum(counts.values()) - classified,
    )


def _engagement_totals(posts: Sequence[PostFigures]) -> EngagementTotals:
    rates = [post.rate for post in posts if post.rate is not None]
    by_impressions = sum(1 for post in posts if post.impressions)
    return EngagementTotals(
        likes=sum(post.likes or 0 for post in posts),
        comments=sum(post.comments or 0 for post in posts),
        shares=sum(post.shares or 0 for post in posts),
        saves=known_sum(posts, "saves"),
        clicks=known_sum(posts, "clicks"),
        impressions=known_sum(posts, "impressions"),
        reach=known_sum(posts, "reach"),
        engagement=sum(post.engagement for post in posts),
        engagement_rate=_mean(rates),
        posts_rated_by_impressions=by_impressions,
        posts_rated_by_followers=len(rates) - by_impressions,
        posts_without_rate=len(posts) - len(rates),
    )


def _availability(posts: Sequence[PostFigures]) -> list[MetricAvailability]:
    platforms = sorted({post.platform for post in posts})
    rows = []
    for metric in INSIGHT_METRICS:
        provided = sorted({p.platform for p in posts if getattr(p, metric) is not None})
        rows.append(
            MetricAvailability(
                metric=metric,
                provided_by=provided,
                not_provided_by=[name for name in platforms if name not in provided],
            )
        )
    return rows


def _top_post(post: PostFigures) -> TopPost:
    return TopPost(
        post_id=post.id,
        account_id=post.account_id,
        platform=post.platform,
        handle=post.handle,
        url=post.url,
        text=post.caption[:EXCERPT_CHARS],
        posted_at=post.posted_at,
        media_type=post.media_type,
        likes=post.likes,
        comments=post.comments,
        shares=post.shares,
        saves=post.saves,
        impressions=post.impressions,
        reach=post.reach,
        clicks=post.clicks,
        engagement=post.engagement,
        engagement_rate=post.rate,
    )


def _platform_rows(
    accounts: Sequence[TrackedAccount], posts: Sequence[PostFigures], growth: FollowerGrowth
) -> list[PlatformRow]:
    known_growth = {row.account_id for row in growth.accounts if row.growth is not None}
    rows = []
    for platform in sorted({account.platform for account in accounts}):
        mine = [post for post in posts if post.platform == platform]
        members = [account for account in accounts if account.platform == platform]
        followers = [a.followers_count for a in members if a.followers_count is not None]
        rows.append(
            PlatformRow(
                platform=platform,
                accounts=len(members),
                posts=len(mine),
                engagement=sum(post.engagement for post in mine),
                engagement_rate=_mean([p.rate for p in mine if p.rate is not None]),
                impressions=known_sum(mine, "impressions"),
                reach=known_sum(mine, "reach"),
                followers=sum(followers) if followers else None,
                growth=growth.by_platform.get(platform)
                if any(a.id in known_growth for a in members)
                else None,
            )
        )
    return rows


def _by_day(posts: Sequence[PostFigures], span: Period, zone: ZoneInfo) -> list[DayRow]:
    buckets: dict[dt.date, list[PostFigures]] = defaultdict(list)
    for post in posts:
        buckets[post.posted_at.astimezone(zone).date()].append(post)
    rows = []
    for offset in range(span.days):
        day = span.start + dt.timedelta(days=offset)
        mine = buckets.get(day, [])
        rows.append(
            DayRow(
                day=day,
                posts=len(mine),
                likes=sum(post.likes or 0 for post in mine),
                comments=sum(post.comments or 0 for post in mine),
                shares=sum(post.shares or 0 for post in mine),
                engagement=sum(post.engagement for post in mine),
            )
        )
    return rows


def _content_rows(posts: Sequence[PostFigures]) -> list[ContentRow]:
    groups: dict[str, list[PostFigures]] = defaultdict(list)
    for post in posts:
        groups[post.media_type].append(post)
    rows = []
    for media_type, mine in groups.items():
        rates = [post.rate for post in mine if post.rate is not None]
        rows.append(
            ContentRow(
                media_type=media_type,
                posts=len(mine),
                avg_engagement=sum(post.engagement for post in mine) / len(mine),
                avg_engagement_rate=_mean(rates),
                rated_posts=len(rates),
            )
        )
    rows.sort(key=lambda row: (-row.avg_engagement, row.media_type))
    return rows


def overview(
    session: Session,
    subject: Subject,
    *,
    days: int = 30,
    platform: str | None = None,
    top: int = TOP_POSTS,
    now: dt.datetime | None = None,
) -> WorkspaceOverview:
    """Posts, engagement, follower growth, inbox sentiment and their breakdowns over the
    workspace's own accounts in the last `days` local days."""
    check_days(days)
    platform = check_platform(platform)
    zone = analytics_service.workspace_zone(session, subject)
    span = period(zone, days, now)
    accounts = own_accounts(session, subject, platform)
    posts = posts_in(session, subject, accounts, span)
    growth = follower_growth(session, subject, accounts, days)
    ranked = sorted(posts, key=lambda post: (-post.engagement, -post.posted_at.timestamp()))
    return WorkspaceOverview(
        period=span,
        platform=platform,
        accounts=len(accounts),
        total_posts=PostTotals(total=len(posts), avg_per_day=round(len(posts) / days, 2)),
        total_engagement=_engagement_totals(posts),
        metrics_provided=_availability(posts),
        follower_growth=growth,
        sentiment_score=sentiment(session, subject, accounts, span),
        top_performing_posts=[_top_post(post) for post in ranked[:top]],
        platform_breakdown=_platform_rows(accounts, posts, growth),
        engagement_by_day=_by_day(posts, span, zone),
        content_performance=_content_rows(posts),
        open_alerts=alerts_service.open_alerts(
            session, subject, platform=platform, limit=OPEN_ALERTS_SHOWN
        ),
    )
