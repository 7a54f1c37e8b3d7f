"""``socialpulse accounts``: list tracked accounts and print an analytics report.

Commands run with the operator's (owner) authority over the named workspace, like
``socialpulse api-key create``; they call the same services as the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

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
from socialpulse.errors import AppError
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

T = TypeVar("T")

app = typer.Typer(
    help="Tracked accounts: list them, print analytics reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace slug.")]
TOP_POSTS = 5
TOP_HASHTAGS = 10


def _run(action: Callable[[], T]) -> T:
    """Expected failures (unknown workspace or handle...) print one line and exit non-zero."""
    try:
        return action()
    except AppError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(2 if exc.status_code in (404, 409, 422) else 1) from None


def _owner_subject(session: Session, slug: str) -> Subject:
    workspace = workspace_service.get_workspace_by_slug(session, slug)
    # The CLI runs with the operator's authority over the installation.
    return Subject(workspace_id=workspace.id, role=Role.owner)


def _count(value: int | float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if isinstance(value, int) else f"{value:,.1f}"


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.2f} %"


def _delta(delta: Delta) -> str:
    if delta.absolute is None:
        return "n/a"
    text = f"{delta.absolute:+,}"
    if delta.percent is not None:
        text += f" ({delta.percent:+.1f} %)"
    return text


@app.command("list")
def list_command(workspace: WorkspaceOption) -> None:
    """The workspace's tracked accounts."""

    def action() -> None:
        db = init_database(get_settings().effective_database_url)
        with db.session(readonly=True) as session:
            subject = _owner_subject(session, workspace)
            accounts = accounts_service.list_accounts(session, subject)
        console = Console()
        if not accounts:
            console.print(f"no tracked accounts in {workspace}")
            return
        table = Table(title=f"Tracked accounts in {workspace}")
        for column in ("id", "platform", "handle", "followers", "posts", "own", "status"):
            table.add_column(column, justify="right" if column in ("id", "followers") else "left")
        for account in accounts:
            table.add_row(
                str(account.id),
                account.platform,
                f"@{account.handle}",
                _count(account.followers_count),
                _count(account.posts_count),
                "yes" if account.is_own else "no",
                account.status.value + ("" if account.active else " (paused)"),
            )
        console.print(table)

    _run(action)


def _overview_table(counts: dict[str, CountOverview]) -> tuple[Table, list[str]]:
    table = Table(title="Counts and growth")
    table.add_column("metric")
    table.add_column("current", justify="right")
    windows = [delta.days for delta in counts["followers"].deltas]
    for days in windows:
        table.add_column(f"{days} days", justify="right")
    reasons: dict[str, None] = {}
    for name, overview in counts.items():
        table.add_row(name, _count(overview.current), *(_delta(d) for d in overview.deltas))
        for delta in overview.deltas:
            if delta.absolute is None and delta.reason:
                reasons[f"{name}, {delta.days} days: {delta.reason}"] = None
    return table, list(reasons)


@app.command()
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
            subject = _owner_subject(session, workspace)
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

    _run(action)


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
            _count(post.views),
            _count(post.likes),
            _count(post.comments),
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
            _count(stat.avg_views),
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
