"""Follower, following and post-count deltas and the follower trend, from daily account
snapshots. A delta compares two real snapshots: when none is old enough it is null and says
why; nothing is interpolated.

Snapshots have no workspace of their own, so they are always read joined to their (scoped)
account. Pages that list many accounts use ``count_deltas_for``: two statements for all of
them, where asking ``count_deltas`` per account costs two each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountSnapshot, TrackedAccount
from socialpulse.analytics.schemas import Delta, FollowerTrend
from socialpulse.workspaces.tenancy import Subject, scoped

DELTA_WINDOWS = (7, 30, 90)
COUNT_COLUMNS = {
    "followers": AccountSnapshot.followers_count,
    "following": AccountSnapshot.following_count,
    "posts": AccountSnapshot.posts_count,
}


def snapshot_select(subject: Subject, account_id: int, *columns: Any) -> Any:
    """Snapshot columns of one account, scoped through the account's workspace."""
    stmt = (
        select(TrackedAccount.id, *columns)
        .select_from(AccountSnapshot)
        .join(TrackedAccount, TrackedAccount.id == AccountSnapshot.account_id)
        .where(TrackedAccount.id == account_id)
    )
    return scoped(stmt, subject)


SNAPSHOT_COLUMNS = (
    AccountSnapshot.day,
    AccountSnapshot.followers_count,
    AccountSnapshot.following_count,
    AccountSnapshot.posts_count,
)


def _latest_snapshot(
    session: Session, subject: Subject, account_id: int, on_or_before: dt.date | None = None
) -> Row[Any] | None:
    stmt = snapshot_select(subject, account_id, *SNAPSHOT_COLUMNS)
    if on_or_before is not None:
        stmt = stmt.where(AccountSnapshot.day <= on_or_before)
    row: Row[Any] | None = session.execute(
        stmt.order_by(AccountSnapshot.day.desc()).limit(1)
    ).first()
    return row


@dataclass(frozen=True)
class History:
    """The snapshots an overview reads, fetched once: the latest, every snapshot of the
    ``reach`` days up to it, and each window's base (the latest snapshot on or before the
    latest day - N days, or None)."""

    latest: Row[Any]
    recent: list[Row[Any]]  # by day, the latest included
    bases: dict[int, Row[Any] | None]
    first_day: dt.date


def history(
    session: Session, subject: Subject, account_id: int, windows: Sequence[int], reach: int = 0
) -> History | None:
    """Two statements (three when a base lies before a gap in the history) where the
    overview used to ask for the latest snapshot six times and for each base by itself."""
    latest = _latest_snapshot(session, subject, account_id)
    if latest is None:
        return None
    since = latest.day - dt.timedelta(days=max(reach, *windows))
    # Uncorrelated on purpose: the outer query reads the same tables.
    first_day = (
        snapshot_select(subject, account_id)
        .with_only_columns(func.min(AccountSnapshot.day))
        .scalar_subquery()
        .correlate(None)
    )
    rows = list(
        session.execute(
            snapshot_select(subject, account_id, *SNAPSHOT_COLUMNS, first_day.label("first_day"))
            .where(AccountSnapshot.day >= since, AccountSnapshot.day <= latest.day)
            .order_by(AccountSnapshot.day)
        ).all()
    )
    return _assemble(session, subject, account_id, latest, rows, rows[0].first_day, windows, since)


def _assemble(
    session: Session,
    subject: Subject,
    account_id: int,
    latest: Row[Any],
    rows: list[Row[Any]],
    first: dt.date,
    windows: Sequence[int],
    since: dt.date,
) -> History:
    """The history from the snapshots of `since`..latest day (`rows`, by day)."""
    bases: dict[int, Row[Any] | None] = {}
    for days in windows:
        found = [row for row in rows if row.day <= latest.day - dt.timedelta(days=days)]
        if found:
            bases[days] = found[-1]
    if len(bases) < len(windows):
        # Nothing between `since` and the target: the base is the last snapshot before
        # `since`, the same for every such window, if the history reaches back that far.
        before = None
        if first < rows[0].day:
            before = _latest_snapshot(session, subject, account_id, since - dt.timedelta(days=1))
        bases = {days: bases.get(days, before) for days in windows}
    return History(latest=latest, recent=rows, bases=bases, first_day=first)


def _value(row: Row[Any], metric: str) -> int | None:
    value: int | None = getattr(row, COUNT_COLUMNS[metric].key)
    return value


def _delta(
    metric: str,
    days: int,
    latest: Row[Any] | None,
    base: Row[Any] | None,
    first_day: dt.date | None,
) -> Delta:
    if latest is None:
        return Delta(
            days=days,
            from_day=None,
            from_value=None,
            to_day=None,
            to_value=None,
            absolute=None,
            percent=None,
            reason="no snapshots yet",
        )
    to_value = _value(latest, metric)
    target = latest.day - dt.timedelta(days=days)
    if base is None:
        return Delta(
            days=days,
            from_day=None,
            from_value=None,
            to_day=latest.day,
            to_value=to_value,
            absolute=None,
            percent=None,
            reason=f"no snapshot on or before {target.isoformat()}; "
            f"history starts {first_day.isoformat() if first_day else latest.day.isoformat()}",
        )
    from_value = _value(base, metric)
    absolute: int | None = None
    percent: float | None = None
    reason: str | None = None
    if to_value is None or from_value is None:
        missing = latest.day if to_value is None else base.day
        reason = f"the {metric} count is not available on {missing.isoformat()}"
    else:
        absolute = to_value - from_value
        if from_value == 0:
            reason = f"no percent change from zero {metric}"
        else:
            percent = absolute / from_value * 100.0
    return Delta(
        days=days,
        from_day=base.day,
        from_value=from_value,
        to_day=latest.day,
        to_value=to_value,
        absolute=absolute,
        percent=percent,
        reason=reason,
    )


def deltas(
    history: History | None, metrics: Sequence[str], windows: Sequence[int]
) -> dict[str, list[Delta]]:
    if history is None:
        return {
            metric: [_delta(metric, days, None, None, None) for days in windows]
            for metric in metrics
        }
    return {
        metric: [
            _delta(metric, days, history.latest, history.bases[days], history.first_day)
            for days in windows
        ]
        for metric in metrics
    }


def count_deltas(
    session: Session,
    subject: Subject,
    account_id: int,
    metrics: Sequence[str] = ("followers", "following", "posts"),
    windows: Sequence[int] = DELTA_WINDOWS,
) -> dict[str, list[Delta]]:
    """For each metric, the deltas between the latest snapshot and the latest snapshot on or
    before (latest day - N), for every N in `windows`."""
    return deltas(history(session, subject, account_id, windows), metrics, windows)


def count_deltas_for(
    session: Session,
    subject: Subject,
    account_ids: Sequence[int],
    metrics: Sequence[str] = ("followers", "following", "posts"),
    windows: Sequence[int] = DELTA_WINDOWS,
) -> dict[int, dict[str, list[Delta]]]:
    """`count_deltas` of each account, in two statements for all of them (plus one per account
    whose base lies before a gap in its history): pages listing every account asked twice per
    account."""
    if not account_ids:
        return {}
    day = AccountSnapshot.day
    ends = {
        row.account_id: (row.last, row.first)
        for row in session.execute(
            scoped(
                select(
                    TrackedAccount.id.label("account_id"),
                    func.max(day).label("last"),
                    func.min(day).label("first"),
                )
                .select_from(AccountSnapshot)
                .join(TrackedAccount, TrackedAccount.id == AccountSnapshot.account_id)
                .where(TrackedAccount.id.in_(account_ids))
                .group_by(TrackedAccount.id),
                subject,
            )
        )
    }
    reach = dt.timedelta(days=max(windows))
    recent: dict[int, list[Row[Any]]] = defaultdict(list)
    if ends:
        stmt: Any = scoped(
            select(TrackedAccount.id.label("account_id"), *SNAPSHOT_COLUMNS)
            .select_from(AccountSnapshot)
            .join(TrackedAccount, TrackedAccount.id == AccountSnapshot.account_id)
            .where(
                or_(
                    *(
                        and_(
                            AccountSnapshot.account_id == account_id,
                            day >= last - reach,
                            day <= last,
                        )
                        for account_id, (last, _first) in ends.items()
                    )
                )
            )
            .order_by(AccountSnapshot.account_id, day),
            subject,
        )
        for row in session.execute(stmt):
            recent[row.account_id].append(row)
    found: dict[int, dict[str, list[Delta]]] = {}
    for account_id in account_ids:
        assembled = None
        if account_id in ends:
            last, first = ends[account_id]
            rows = recent[account_id]
            assembled = _assemble(
                session, subject, account_id, rows[-1], rows, first, windows, last - reach
            )
        found[account_id] = deltas(assembled, metrics, windows)
    return found


def follower_trend(history: History | None, window_days: int) -> FollowerTrend:
    """Least-squares slope (followers per day) of the snapshots from latest day - window to the
    latest day. Needs two snapshots with a follower count."""
    if history is None:
        return FollowerTrend(
            slope_per_day=None, n=0, since_day=None, until_day=None, reason="no snapshots yet"
        )
    latest = history.latest
    since = latest.day - dt.timedelta(days=window_days)
    rows = [row for row in history.recent if row.day >= since and row.followers_count is not None]
    if len(rows) < 2:
        return FollowerTrend(
            slope_per_day=None,
            n=len(rows),
            since_day=since,
            until_day=latest.day,
            reason=f"needs at least 2 snapshots with a follower count since {since.isoformat()}",
        )
    xs = [float((row.day - rows[0].day).days) for row in rows]
    ys = [float(row.followers_count) for row in rows]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return FollowerTrend(
        slope_per_day=sxy / sxx, n=len(rows), since_day=rows[0].day, until_day=rows[-1].day
    )
