"""``socialpulse accounts report``: an account's analytics report in the terminal.

The command belongs to analytics; the CLI mounts it into the ``accounts`` group, where users
look for it. It runs with the operator's (owner) authority over the named workspace and calls
the same services as the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from socialpulse.accounts import service as accounts_service
from socialpulse.analytics import service as analytics
from socialpulse.analytics.schemas import (
    ENGAGEMENT_DEFINITION,
    BestTimes,
    CountOverview,
    Delta,
    HashtagPerformance,
    Overview,
    RankBy,
    TopPosts,
)
from socialpulse.config import get_settings
from socialpulse.db import init_database, utcnow
from socialpulse.kit.cli import WorkspaceOption, count_text, run_or_exit
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

TOP_POSTS = 5
TOP_HASHTAGS = 10


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.2f} %"


def _delta(delta: Delta) -> str:
    if delta.absolute is None:
        return "n/a"
    text = f"{delta.absolute:+,}"
    if delta.percent is not None:
        text += f" ({delta.percent:+.1f} %)"
    return text


def _overview_table(counts: dict[str, CountOverview]) -> tuple[Table, list[str]]:
    table = Table(title="Counts and growth")
    table.add_column("metric")
    table.add_column("current", justify="right")
    windows = [delta.days for delta in counts["followers"].deltas]
    for days in windows:
        table.add_column(f"{days} days", justify="right")
    reasons: dict[str, None] = {}
    for name, overview in counts.items():
        table.add_row(name, count_text(overview.current), *(_delta(d) for d in overview.deltas))
        for delta in overview.deltas:
            if delta.absolute is None and delta.reason:
                reasons[f"{name}, {delta.days} days: {delta.reason}"] = None
    return table, list(reasons)


def report(
    handle: Annotated[str, typer.Argument(help="The account's handle, with or without @.")],
    workspace: WorkspaceOption,
    platform: Annotated[
        str | None, typer.Option(help="Needed when the handle is tracked on several platforms.")
    ] = None,
    days: Annotated[
        int,
        typer.Option(min=1, max=730, help="Window for top posts, hashtags and best times."),
    ] = 30,
) -> None:
    """An analytics report: growth deltas, engagement, top posts, hashtags, best times."""

    def action() -> None:
        db = init_database(get_settings().effective_database_url)
        now = utcnow()
        with db.session(readonly=True) as session:
            found = workspace_service.get_workspace_by_slug(session, workspace)
            # The CLI runs with the operator's authority over the installation.
            subject = Subject(workspace_id=found.id, role=Role.owner)
            account = accounts_service.find_account(session, subject, handle, platform)
            overview = analytics.overview(session, subject, account.id, now=now)
            top = analytics.top_posts(
                session,
                subject,
                account.id,
                by=RankBy.engagement,
                since=now - dt.timedelta(days=days),
                until=now,
                limit=TOP_POSTS,
            )
            tags = analytics.hashtag_performance(session, subject, account.id, days=days, now=now)
            times = analytics.best_times(session, subject, account.id, days=days, now=now)
        _print_report(overview, top, tags, times, days)

    run_or_exit(action)


def _print_report(
    overview: Overview,
    top: TopPosts,
    tags: HashtagPerformance,
    times: BestTimes,
    days: int,
) -> None:
    console = Console()
    zone = ZoneInfo(overview.timezone)
    acct = overview.account
    as_of = overview.as_of.isoformat() if overview.as_of else "no snapshot yet"
    console.print(
        f"[bold]@{acct.handle}[/bold] on {acct.platform} ({acct.display_name}); "
        f"latest snapshot {as_of}, times in {overview.timezone}",
        highlight=False,
    )
    table, reasons = _overview_table(
        {"followers": overview.followers, "following": overview.following, "posts": overview.posts}
    )
    console.print(table)
    for reason in reasons:
        console.print(f"  n/a {reason}", style="dim", highlight=False)

    engagement = overview.engagement
    line = f"Engagement rate ({engagement.days} days): {_percent(engagement.rate)}"
    line += f" averaged over {engagement.posts_averaged} posts"
    if engagement.posts_without_rate:
        line += f" ({engagement.posts_without_rate} without a rate left out)"
    if engagement.reason:
        line += f"; {engagement.reason}"
    console.print(line, highlight=False)
    console.print(f"  definition: {ENGAGEMENT_DEFINITION}", style="dim", highlight=False)
    trend = overview.follower_trend
    if trend.slope_per_day is None:
        console.print(f"Follower trend: n/a ({trend.reason})", highlight=False)
    else:
        console.print(
            f"Follower trend: {trend.slope_per_day:+,.1f} followers/day "
            f"(least squares over {trend.n} snapshots, {trend.since_day} to {trend.until_day})",
            highlight=False,
        )
    console.print(
        f"Posts: {overview.posts_last_7_days} in the last 7 days, "
        f"{overview.posts_last_30_days} in the last 30 days",
        highlight=False,
    )

    posts = Table(title=f"Top posts by engagement, last {days} days")
    posts.add_column("posted", no_wrap=True)
    posts.add_column("caption", no_wrap=True, overflow="ellipsis", max_width=48)
    for column in ("views", "likes", "comments", "engagement"):
        posts.add_column(column, justify="right", no_wrap=True)
    for post in top.posts:
        caption = " ".join(post.caption.split())
        posts.add_row(
            post.posted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            caption,
            count_text(post.views),
            count_text(post.likes),
            count_text(post.comments),
            _percent(post.engagement_rate),
        )
    console.print(posts if top.posts else f"No posts with an engagement rate in {days} days.")

    hashtags = Table(title=f"Hashtags used on at least {tags.min_posts} posts, last {days} days")
    for column in ("hashtag", "posts", "avg engagement", "avg views"):
        hashtags.add_column(column, justify="left" if column == "hashtag" else "right")
    for stat in tags.hashtags[:TOP_HASHTAGS]:
        hashtags.add_row(
            f"#{stat.hashtag}",
            str(stat.posts),
            _percent(stat.engagement_rate),
            count_text(stat.avg_views),
        )
    console.print(
        hashtags if tags.hashtags else f"No hashtag on {tags.min_posts}+ posts in {days} days."
    )

    if times.top:
        console.print(
            f"Best times to post ({times.timezone}, at least {times.min_samples} posts each):",
            highlight=False,
        )
        for rank, cell in enumerate(times.top, start=1):
            console.print(
                f"  {rank}. {cell.weekday_name} {cell.hour:02d}:00  "
                f"{_percent(cell.engagement_rate)} over {cell.samples} posts",
                highlight=False,
            )
    else:
        console.print(
            f"Best times: no weekday/hour has {times.min_samples}+ posts in {days} days.",
            highlight=False,
        )
