"""Inbox analytics: volume, response rate and time, workflow activity, the reply queue, and a
daily timeline. Read-only; every query goes through ``scoped()``.

Definitions (what the numbers mean, as the API documents them):

* **Period**: the last ``days`` calendar days in the workspace's time zone, today included
  (``days=1`` is today since local midnight). An interaction belongs to the day it was
  *posted* on the platform. The overview total and the timeline's daily counts therefore add
  up to the same number.
* **Response rate**: interactions of the period whose status is ``answered``, divided by all
  interactions of the period (any status, ignored and flagged included); ``null`` when the
  period has no interactions.
* **Median first response**: ``answered_at - posted_at`` in minutes, the median over the
  answered interactions of the period, taken over a bounded sample: the ``MEDIAN_SAMPLE`` most
  recently posted answered interactions of the period (exact whenever the period has at most
  that many; ``median_sample_size`` says how many were used). Triggers keep the difference in
  ``interactions.first_response_us`` (migration 0011), so the database counts the sample and
  returns its middle value(s); no timestamp arithmetic per request.
* **Workflow counters**: ``WorkflowMatch`` rows whose ``matched_at`` falls in the period, so
  they can differ from the lifetime counters stored on the workflow.
* **Response queue**: the current state of every reply ever queued, by status;
  ``next_scheduled`` is the earliest ``scheduled_for`` of a pending reply.

Performance at 1,000,000 interactions (``benchmarks/inbox_analytics.py``): the overview and
the timeline count from ``interaction_hourly_counts`` (``InteractionHourlyCount``), which
database triggers keep equal to a GROUP BY over ``interactions`` per UTC hour. A period is cut
by ``split_hours()`` into the whole UTC hours inside it, summed from that table (one row per
group and hour however many interactions it holds), and the partial hours at its ends, counted
from the interactions' covering ``(workspace_id, posted_at, ...)`` index: the hour of "now",
and the hour local midnight falls in where it is not on a UTC hour (Asia/Kolkata,
Asia/Kathmandu). The figures are exactly those of a direct count, whatever the zone. The
timeline does the same per local day: the day boundaries are a small derived table joined to
both sources, one index range per day. The median and the workflow counters are one index
range each. Python only touches grouped rows and the bounded median sample, never the
interactions themselves. At the benchmark's density (~114 interactions an hour over ~50 groups)
the table holds ~0.44 rows per interaction: a 30-day overview sums ~36,000 rows instead of
grouping ~82,000.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Subquery, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from socialpulse.db import UTCDateTime, utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox.models import (
    Interaction,
    InteractionHourlyCount,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
)
from socialpulse.inbox.schemas import (
    MEDIAN_SAMPLE,
    InboxOverview,
    Period,
    QueueCounts,
    ResponseQueue,
    Timeline,
    TimelineDay,
    WorkflowActivity,
    WorkflowActivityReport,
)
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.tenancy import Subject, scoped

MIN_DAYS = 1
MAX_DAYS = 365
SENTIMENTS = ("positive", "neutral", "negative")
UNANALYSED = "unanalysed"  # no AI analysis yet (ai_sentiment is null)


# --- the period --------------------------------------------------------------------------------


def check_days(days: int) -> int:
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between {MIN_DAYS} and {MAX_DAYS}, got {days}")
    return days


def _zone(session: Session, subject: Subject) -> ZoneInfo:
    return ZoneInfo(workspace_service.get_workspace(session, subject).timezone or "UTC")


def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _days(zone: ZoneInfo, days: int, now: dt.datetime) -> list[tuple[dt.date, dt.datetime]]:
    """(local day, its first UTC instant) for each day of the period, oldest first."""
    today = now.astimezone(zone).date()
    first = today - dt.timedelta(days=days - 1)
    return [
        (first + dt.timedelta(days=i), _day_start(first + dt.timedelta(days=i), zone))
        for i in range(days)
    ]


def _period(
    session: Session, subject: Subject, days: int, now: dt.datetime | None
) -> tuple[Period, ZoneInfo]:
    check_days(days)
    now = now or utcnow()
    zone = _zone(session, subject)
    start = _days(zone, days, now)[0][1]
    return Period(days=days, timezone=zone.key, start=start, end=now), zone


def _in_period(column: Any, period: Period) -> Any:
    return and_(column >= period.start, column <= period.end)


def _period_end(period: Period) -> dt.datetime:
    """The exclusive end of the period: "now" itself is counted (timestamps are microseconds)."""
    return period.end + dt.timedelta(microseconds=1)


# --- counting interactions: the hourly rollup plus the partial hours ---------------------------

HOUR = dt.timedelta(hours=1)
# SQLite refuses a compound SELECT of more than 500 terms (SQLITE_MAX_COMPOUND_SELECT); a
# 365-day timeline in a :30 zone has 730 partial hours.
BOUNDS_PER_STATEMENT = 400
# The grouping dimensions, as the rollup and the interactions name them. A missing analysis is
# "" in the rollup (a primary key cannot hold NULL) and NULL in interactions: callers map both
# to UNANALYSED.
_ROLLUP_DIMENSIONS = {
    "status": InteractionHourlyCount.status,
    "platform": InteractionHourlyCount.platform,
    "sentiment": InteractionHourlyCount.sentiment,
}
_INTERACTION_DIMENSIONS = {
    "status": Interaction.status,
    "platform": Interaction.platform,
    "sentiment": Interaction.ai_sentiment,
}

Range = tuple[int, dt.datetime, dt.datetime]  # (index, lo, hi): the half-open [lo, hi)


def _floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: dt.datetime) -> dt.datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def split_hours(
    ranges: Sequence[tuple[dt.datetime, dt.datetime]],
) -> tuple[list[Range], list[Range]]:
    """Cut half-open [lo, hi) ranges into the whole UTC hours inside them (counted from the
    rollup) and the rest (counted from `interactions`): at most one partial piece at each end,
    or the whole range when it holds no whole hour."""
    whole: list[Range] = []
    partial: list[Range] = []
    for index, (lo, hi) in enumerate(ranges):
        first, last = _ceil_hour(lo), _floor_hour(hi)
        if first < last:
            whole.append((index, first, last))
            if lo < first:
                partial.append((index, lo, first))
            if last < hi:
                partial.append((index, last, hi))
        elif lo < hi:
            partial.append((index, lo, hi))
    return whole, partial


def _bounds(ranges: Sequence[Range]) -> Subquery:
    """The ranges as a small derived table (n, lo, hi): a UNION ALL of literals (portable, unlike
    VALUES with column aliases, which SQLite lacks), joined to an index range per row, with no
    per-row date arithmetic in SQL."""
    stamp = UTCDateTime()
    return union_all(
        *(
            select(
                literal(index, Integer).label("n"),
                literal(lo, stamp).label("lo"),
                literal(hi, stamp).label("hi"),
            )
            for index, lo, hi in ranges
        )
    ).subquery("bounds")


def _counts(
    session: Session,
    subject: Subject,
    ranges: Sequence[tuple[dt.datetime, dt.datetime]],
    dimensions: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Interactions posted in each half-open range, grouped by `dimensions`: rows of
    (range index, *dimensions, count). A group can come in several rows (the rollup's whole
    hours, then each partial hour); callers add them up."""
    whole, partial = split_hours(ranges)
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(whole), BOUNDS_PER_STATEMENT):
        bounds = _bounds(whole[start : start + BOUNDS_PER_STATEMENT])
        hour = InteractionHourlyCount.hour
        columns = [bounds.c.n, *(_ROLLUP_DIMENSIONS[name] for name in dimensions)]
        stmt = scoped(
            select(*columns, func.sum(InteractionHourlyCount.count))
            .select_from(bounds)
            .join(InteractionHourlyCount, and_(hour >= bounds.c.lo, hour < bounds.c.hi)),
            subject,
        ).group_by(*columns)
        rows.extend(tuple(row) for row in session.execute(stmt))
    for start in range(0, len(partial), BOUNDS_PER_STATEMENT):
        bounds = _bounds(partial[start : start + BOUNDS_PER_STATEMENT])
        posted = Interaction.posted_at
        columns = [bounds.c.n, *(_INTERACTION_DIMENSIONS[name] for name in dimensions)]
        # count(posted_at), not count(id): posted_at is in the index, so PostgreSQL can answer
        # from the index alone (SQLite covers the rowid either way).
        stmt = scoped(
            select(*columns, func.count(posted))
            .select_from(bounds)
            .join(Interaction, and_(posted >= bounds.c.lo, posted < bounds.c.hi)),
            subject,
        ).group_by(*columns)
        rows.extend(tuple(row) for row in session.execute(stmt))
    return rows


# --- overview ----------------------------------------------------------------------------------


def _minutes(micros: int) -> float:
    # Exactly timedelta.total_seconds() / 60 of the same microseconds: the figures the API
    # has always given.
    return max(0.0, micros / 10**6 / 60)


def _median_first_response(
    session: Session, subject: Subject, period: Period
) -> tuple[float | None, int]:
    # The sample walks ix_interactions_ws_status_posted backwards from the end of the period,
    # reading first_response_us (kept by triggers, migration 0011) from the index; the
    # database sorts it and hands back only the middle value or two.
    sample = (
        scoped(select(Interaction.first_response_us.label("us")), subject)
        .where(
            Interaction.status == InteractionStatus.answered,
            _in_period(Interaction.posted_at, period),
            Interaction.first_response_us.is_not(None),
        )
        .order_by(Interaction.posted_at.desc())
        .limit(MEDIAN_SAMPLE)
        .subquery("sample")
    )
    size = int(session.execute(select(func.count()).select_from(sample)).scalar_one())
    if not size:
        return None, 0
    middle = list(
        session.scalars(
            select(sample.c.us)
            .order_by(sample.c.us)
            .offset((size - 1) // 2)
            .limit(1 if size % 2 else 2)
        )
    )
    return round(statistics.median(_minutes(us) for us in middle), 2), size


def overview(
    session: Session, subject: Subject, days: int = 30, *, now: dt.datetime | None = None
) -> InboxOverview:
    period, _zone_ = _period(session, subject, days, now)
    grouped = _counts(
        session, subject, [(period.start, _period_end(period))], ("status", "platform", "sentiment")
    )
    by_status = {status.value: 0 for status in InteractionStatus}
    by_platform: dict[str, int] = {}
    by_sentiment = {label: 0 for label in (*SENTIMENTS, UNANALYSED)}
    for _range, status, platform, sentiment, rows in grouped:  # grouped rows, not interactions
        count = int(rows)
        by_status[str(status)] = by_status.get(str(status), 0) + count
        by_platform[platform] = by_platform.get(platform, 0) + count
        key = sentiment if sentiment else UNANALYSED
        by_sentiment[key] = by_sentiment.get(key, 0) + count
    total = sum(by_status.values())
    answered = by_status[InteractionStatus.answered.value]
    median, sample = _median_first_response(session, subject, period)
    return InboxOverview(
        period=period,
        total_interactions=total,
        by_status=by_status,
        by_platform=dict(sorted(by_platform.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_sentiment=by_sentiment,
        answered=answered,
        response_rate=round(answered / total, 4) if total else None,
        median_first_response_minutes=median,
        median_sample_size=sample,
    )


# --- workflows ---------------------------------------------------------------------------------


def workflow_activity(
    session: Session, subject: Subject, days: int = 30, *, now: dt.datetime | None = None
) -> WorkflowActivityReport:
    """Every workflow of the workspace (paused ones too) with what it did in the period."""
    period, _zone_ = _period(session, subject, days, now)
    counts = {
        workflow_id: (triggered, auto, flagged)
        for workflow_id, triggered, auto, flagged in session.execute(
            scoped(
                select(
                    WorkflowMatch.workflow_id,
                    func.count(),
                    func.sum(case((WorkflowMatch.auto_responded.is_(True), 1), else_=0)),
                    func.sum(case((WorkflowMatch.flagged.is_(True), 1), else_=0)),
                ),
                subject,
            )
            .where(_in_period(WorkflowMatch.matched_at, period))
            .group_by(WorkflowMatch.workflow_id)
        ).all()
    }
    workflows = session.execute(
        scoped(
            select(Workflow.id, Workflow.name, Workflow.status, Workflow.priority), subject
        ).order_by(Workflow.priority, Workflow.id)
    ).all()
    result = []
    for workflow_id, name, status, priority in workflows:
        triggered, auto, flagged = counts.get(workflow_id, (0, 0, 0))
        result.append(
            WorkflowActivity(
                workflow_id=workflow_id,
                workflow_name=name,
                status=status,
                priority=priority,
                triggered_count=int(triggered or 0),
                auto_responded_count=int(auto or 0),
                flagged_count=int(flagged or 0),
            )
        )
    return WorkflowActivityReport(period=period, workflows=result)


# --- response queue ----------------------------------------------------------------------------


def response_queue(session: Session, subject: Subject) -> ResponseQueue:
    """Replies by status, overall and per platform, with the next pending send time."""
    grouped = session.execute(
        scoped(
            select(
                ReplyQueueItem.platform,
                ReplyQueueItem.status,
                func.count(),
                func.min(ReplyQueueItem.scheduled_for),
            ),
            subject,
        ).group_by(ReplyQueueItem.platform, ReplyQueueItem.status)
    ).all()
    overall = QueueCounts()
    by_platform: dict[str, QueueCounts] = {}
    for platform, status, count, first_scheduled in grouped:
        for counts in (overall, by_platform.setdefault(platform, QueueCounts())):
            counts.total += count
            key = ReplyStatus(status).value
            setattr(counts, key, getattr(counts, key) + count)
            if status == ReplyStatus.pending and first_scheduled is not None:
                if counts.next_scheduled is None or first_scheduled < counts.next_scheduled:
                    counts.next_scheduled = first_scheduled
    return ResponseQueue(overall=overall, by_platform=dict(sorted(by_platform.items())))


def inbox_state(session: Session, subject: Subject) -> dict[str, int]:
    """What waits for someone now, whenever it arrived: unread, awaiting approval, and
    negative interactions nobody has answered or ignored yet."""
    open_statuses = (
        InteractionStatus.unread,
        InteractionStatus.awaiting_approval,
        InteractionStatus.flagged,
    )
    visible = Interaction.hidden.is_(False)
    counts = dict(
        session.execute(
            scoped(select(Interaction.status, func.count()), subject)
            .where(visible, Interaction.status.in_(open_statuses))
            .group_by(Interaction.status)
        ).all()
    )
    negative = session.scalar(
        scoped(select(func.count(Interaction.id)), subject).where(
            visible,
            Interaction.status.in_(open_statuses),
            Interaction.ai_sentiment == "negative",
        )
    )
    return {
        "unread": int(counts.get(InteractionStatus.unread, 0)),
        "awaiting_approval": int(counts.get(InteractionStatus.awaiting_approval, 0)),
        "flagged": int(counts.get(InteractionStatus.flagged, 0)),
        "negative_open": int(negative or 0),
    }


# --- timeline ----------------------------------------------------------------------------------


def timeline(
    session: Session,
    subject: Subject,
    days: int = 30,
    *,
    by_sentiment: bool = False,
    now: dt.datetime | None = None,
) -> Timeline:
    """Interactions per local day of the period, every day present (zero-filled)."""
    period, zone = _period(session, subject, days, now)
    day_list = _days(zone, days, period.end)
    # Half-open [start, next start) per day; the last day ends at "now" inclusive (as the
    # overview does).
    ends = [start for _day, start in day_list[1:]] + [_period_end(period)]
    ranges = [(start, end) for (_day, start), end in zip(day_list, ends, strict=True)]
    rows = _counts(session, subject, ranges, ("sentiment",) if by_sentiment else ())
    totals = [0] * len(day_list)
    split: list[dict[str, int]] = [
        {label: 0 for label in (*SENTIMENTS, UNANALYSED)} for _ in day_list
    ]
    for row in rows:
        index, count = row[0], int(row[-1])
        totals[index] += count
        if by_sentiment:
            key = row[1] or UNANALYSED
            split[index][key] = split[index].get(key, 0) + count
    return Timeline(
        period=period,
        timeline=[
            TimelineDay(date=day, count=totals[i], by_sentiment=split[i] if by_sentiment else None)
            for i, (day, _start) in enumerate(day_list)
        ],
    )
