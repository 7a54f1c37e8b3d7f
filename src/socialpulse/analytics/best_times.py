"""Best times to post, the next best slot, and how often to post, from an account's own posts.

Method (the README's "Best times" section says the same for users):

1. **Normalise per post.** Each post's engagement is its engagement rate ((likes + comments +
   shares) / followers when captured) or, when most posts have no rate (no follower count),
   its interactions (likes + comments + shares). It is divided by the account's *median* post
   and capped at ``LIFT_CAP``: a post's "lift" of 2.0 did twice as well as a typical post, and
   one viral post counts as at most ``LIFT_CAP`` typical ones, so it cannot make its hour the
   best on its own (a winsorised ratio to the median: robust to outliers and to follower
   growth over the months).
2. **Bucket** by weekday x hour of publication in the workspace's zone (or ``zone``), converting
   each UTC instant on its own, so summer and winter posts at 18:00 local share a bucket (DST).
3. **Smooth** with empirical-Bayes shrinkage: a cell's score is
   ``(sum of lifts + k x prior) / (posts + k)``, where the neighbouring hours of the same day
   count half, the prior is the platform's default for that cell (the account's mean lift,
   raised in the platform's published peak hours), and ``k`` (how many posts the prior is worth)
   is estimated from the data: within-cell variance over between-cell variance (method of
   moments), clamped to ``PRIOR_STRENGTH_RANGE``.
4. **Fall back** to the platform defaults below ``MIN_POSTS`` posts in the window (``source`` is
   ``defaults``), and cell by cell below ``MIN_CELL_POSTS`` posts (the cell keeps its default; a
   result mixing both is a ``blend``). A cell's confidence is the share of its score that rests
   on the account's own posts; the overall confidence is the mean over the top slots.

The weekly volume analysis ("how often") compares engagement per post in weeks of different
volume; see ``_frequency``.

Bucketing happens in Python on narrow columns, like the rest of ``analytics``, so the SQL stays
portable.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.accounts.service import get_account
from socialpulse.analytics.schemas import (
    BestSlot,
    BestTimes,
    FrequencySuggestion,
    SlotSource,
    TimeCell,
    VolumeBucket,
)
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, scoped

__all__ = [
    "DEFAULT_DAYS",
    "MIN_CELL_POSTS",
    "MIN_POSTS",
    "best_times",
    "engagement_lifts",
    "next_best_slot",
    "relative_engagement",
    "resolve_zone",
]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_DAYS = 180  # half a year: enough posts for most accounts, recent enough to still hold
MIN_POSTS = 30  # fewer posts in the window: the platform defaults decide (source "defaults")
MIN_CELL_POSTS = 3  # fewer posts in a cell: that cell keeps its default
LIFT_CAP = 3.0  # one post counts as at most three typical ones
NEIGHBOUR_WEIGHT = 0.5  # the hour before and after, same audience rhythm, half the weight
PRIOR_STRENGTH = 3.0  # k when the data cannot estimate it (too few full cells)
PRIOR_STRENGTH_RANGE = (1.0, 10.0)
PEAK_BONUS = 0.25  # a default peak hour is expected to do 25 % better than other hours
SHOULDER_BONUS = 0.1  # the hour just before or after a peak window
TOP_SLOTS = 5
MIN_LEAD = dt.timedelta(minutes=15)  # a slot sooner than this cannot be prepared in time
OBSERVED_TOP = 3

# --- platform defaults -------------------------------------------------------------------------
#
# Where an account has too little history we fall back on what published industry studies found
# across many accounts, read coarsely (their exact hours disagree; all agree on weekday late
# mornings and lunch, and early evenings for the video networks):
#   Sprout Social, "Best times to post on social media" (2024 edition, ~2 billion engagements);
#   Hootsuite, "The best time to post on social media" (2024, its own accounts' tests and a
#   review of the other studies: "9 a.m. to noon on Mondays, Tuesdays and Wednesdays");
#   Buffer, "The best time to post on social media" (2024/2025, over a million posts per network).
# Bluesky and Mastodon have no large study: they follow the text networks (X/Threads) there.
# Hours are local to the audience, i.e. the workspace's zone. Weekdays: 0 = Monday.
# (These are audience habits, not platform rules, so they live here rather than in the provider
# registry; a platform missing below uses "default".)
DEFAULTS_SOURCE = (
    "Coarse consensus of Sprout Social (2024), Hootsuite (2024) and Buffer (2024/2025) "
    "best-time studies; see README, Best times."
)
_WEEKDAYS = (0, 1, 2, 3, 4)
PLATFORM_PEAKS: dict[str, tuple[tuple[tuple[int, ...], range], ...]] = {
    "default": (((0, 1, 2), range(9, 12)),),
    "instagram": ((_WEEKDAYS, range(11, 14)), ((0, 1, 2, 3), range(18, 20))),
    "tiktok": (((1, 2, 3), range(14, 18)), ((0, 1, 2, 3, 4, 5, 6), range(19, 21))),
    "youtube": (((3, 4), range(14, 17)), ((5, 6), range(9, 12))),
    "bluesky": ((_WEEKDAYS, range(9, 12)),),
    "mastodon": ((_WEEKDAYS, range(9, 12)),),
}
# Posts per week, as the same sources advise (Instagram and TikTok 3-5 a week, YouTube 1-2
# videos, the text networks one to a few posts a day).
PLATFORM_FREQUENCY: dict[str, tuple[int, int]] = {
    "default": (3, 7),
    "instagram": (3, 5),
    "tiktok": (3, 5),
    "youtube": (1, 2),
    "bluesky": (7, 21),
    "mastodon": (7, 14),
}
FREQUENCY_MIN_WEEKS = 8  # weeks with posts before the account's own volume analysis is used
FREQUENCY_MIN_BUCKET_WEEKS = 2
FREQUENCY_TOLERANCE = 0.9  # more posts a week are fine while each still does 90 % as well
VOLUME_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 1),
    (2, 2),
    (3, 4),
    (5, 7),
    (8, 14),
    (15, 28),
    (29, None),
)

METHOD = (
    "Per post: engagement / the account's median post, capped at 3 (a viral post counts as at "
    "most three typical ones). Per weekday x hour in the zone: empirical-Bayes shrinkage "
    "(neighbouring hours at half weight) toward the platform's default for that hour. "
    f"Under {MIN_POSTS} posts the platform defaults decide; a cell with under {MIN_CELL_POSTS} "
    "posts keeps its default."
)


def resolve_zone(zone: str | None, workspace_zone: str | None = None) -> ZoneInfo:
    """``zone`` (an IANA name) or else the workspace's; an unknown name is a 422."""
    name = zone if zone is not None else (workspace_zone or "UTC")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin",
            details=[{"loc": ["query", "zone"], "msg": "unknown time zone", "type": "value_error"}],
        ) from None


def _subject(subject_or_workspace_id: Subject | int) -> Subject:
    if isinstance(subject_or_workspace_id, Subject):
        return subject_or_workspace_id
    # A caller without a request (the composer's job, the scheduler) reads as a viewer would.
    return Subject(workspace_id=subject_or_workspace_id, role=Role.viewer)


# --- per-post normalisation --------------------------------------------------------------------


def _interactions(row: Any) -> float | None:
    parts = [row.likes, row.comments, row.shares]
    if all(part is None for part in parts):
        return None
    return float(sum(part or 0 for part in parts))


def _engagement_values(rows: Sequence[Any]) -> list[float | None]:
    """Each post's engagement: its rate when most posts have one, else its interactions."""
    rated = sum(1 for row in rows if row.engagement_rate is not None)
    if rows and rated * 2 >= len(rows):
        return [row.engagement_rate for row in rows]
    return [_interactions(row) for row in rows]


def relative_engagement(values: Sequence[float | None]) -> list[float | None]:
    """Each value over the median of the known values, capped at ``LIFT_CAP`` (None stays None).

    When the median is zero (most posts got nothing) the mean stands in; when every post got
    nothing, every post is typical (1.0)."""
    known = [value for value in values if value is not None]
    if not known:
        return [None for _ in values]
    base = statistics.median(known)
    if base <= 0:
        base = statistics.fmean(known)
    if base <= 0:
        return [None if value is None else 1.0 for value in values]
    return [None if value is None else min(value / base, LIFT_CAP) for value in values]


def engagement_lifts(rows: Sequence[Any]) -> list[float | None]:
    """Each post's engagement relative to the account's median post (see the module's step 1);
    ``rows`` have ``engagement_rate``, ``likes``, ``comments`` and ``shares``."""
    return relative_engagement(_engagement_values(rows))


@dataclass(frozen=True)
class _Sample:
    posted_at: dt.datetime  # in the zone
    lift: float
    rate: float | None


def _samples(rows: Sequence[Any], zone: ZoneInfo) -> list[_Sample]:
    lifts = engagement_lifts(rows)
    return [
        _Sample(posted_at=row.posted_at.astimezone(zone), lift=lift, rate=row.engagement_rate)
        for row, lift in zip(rows, lifts, strict=True)
        if lift is not None
    ]


# --- the model -----------------------------------------------------------------------------------


def _peaks(platform: str) -> tuple[tuple[tuple[int, ...], range], ...]:
    return PLATFORM_PEAKS.get(platform, PLATFORM_PEAKS["default"])


def _default_bonus(platform: str) -> list[float]:
    """168 bonuses (index weekday * 24 + hour): peaks, then shoulders around them."""
    bonus = [0.0] * 168
    for weekdays, hours in _peaks(platform):
        for weekday in weekdays:
            for hour in hours:
                bonus[weekday * 24 + hour] = PEAK_BONUS
    for weekdays, hours in _peaks(platform):
        for weekday in weekdays:
            for edge in (hours.start - 1, hours.stop):
                index = (weekday * 24 + edge) % 168
                bonus[index] = max(bonus[index], SHOULDER_BONUS)
    return bonus


def _prior_strength(cells: Sequence[Sequence[float]]) -> float:
    """Empirical Bayes, method of moments: k = within-cell variance / between-cell variance.

    Noisy posts within an hour (large within-variance) or hours that barely differ (small
    between-variance) make k large: the defaults weigh more. Needs three cells with enough
    posts; otherwise ``PRIOR_STRENGTH``."""
    full = [cell for cell in cells if len(cell) >= MIN_CELL_POSTS]
    if len(full) < 3:
        return PRIOR_STRENGTH
    within = statistics.fmean(statistics.variance(cell) for cell in full)
    means = [statistics.fmean(cell) for cell in full]
    sampling = statistics.fmean(within / len(cell) for cell in full)
    between = statistics.variance(means) - sampling
    low, high = PRIOR_STRENGTH_RANGE
    if between <= 0:
        return high
    return min(high, max(low, within / between))


@dataclass(frozen=True)
class _Model:
    scores: list[float]  # 168
    confidence: list[float]  # 168
    from_history: list[bool]  # 168
    samples: list[int]  # 168
    rates: list[float | None]  # 168, observed average engagement rate
    sample_size: int
    source: SlotSource


def _model(samples: Sequence[_Sample], platform: str) -> _Model:
    cells: list[list[float]] = [[] for _ in range(168)]
    rates: list[list[float]] = [[] for _ in range(168)]
    for sample in samples:
        index = sample.posted_at.weekday() * 24 + sample.posted_at.hour
        cells[index].append(sample.lift)
        if sample.rate is not None:
            rates[index].append(sample.rate)
    lifts = [sample.lift for sample in samples]
    grand = statistics.fmean(lifts) if lifts else 1.0
    bonus = _default_bonus(platform)
    prior = [grand * (1.0 + b) for b in bonus]
    enough = len(samples) >= MIN_POSTS
    k = _prior_strength(cells)
    scores: list[float] = []
    confidence: list[float] = []
    history: list[bool] = []
    for index in range(168):
        own = cells[index]
        if not enough or len(own) < MIN_CELL_POSTS:
            scores.append(prior[index])
            confidence.append(0.0)
            history.append(False)
            continue
        # Hours wrap across days: the hour before Monday 00 is Sunday 23.
        before, after = cells[(index - 1) % 168], cells[(index + 1) % 168]
        weight = len(own) + NEIGHBOUR_WEIGHT * (len(before) + len(after))
        total = sum(own) + NEIGHBOUR_WEIGHT * (sum(before) + sum(after))
        scores.append((total + k * prior[index]) / (weight + k))
        confidence.append(weight / (weight + k))
        history.append(True)
    return _Model(
        scores=scores,
        confidence=confidence,
        from_history=history,
        samples=[len(cell) for cell in cells],
        rates=[statistics.fmean(r) if r else None for r in rates],
        sample_size=len(samples),
        source=SlotSource.history if enough else SlotSource.defaults,
    )


def _cell(model: _Model, index: int) -> TimeCell:
    weekday, hour = divmod(index, 24)
    return TimeCell(
        weekday=weekday,
        weekday_name=WEEKDAYS[weekday],
        hour=hour,
        samples=model.samples[index],
        engagement_rate=model.rates[index],
        score=round(model.scores[index], 4),
        confidence=round(model.confidence[index], 4),
        source=SlotSource.history if model.from_history[index] else SlotSource.defaults,
    )


def _ranked(model: _Model) -> list[int]:
    """Cell indexes, best first; ties (identical defaults) go to the earlier weekday and hour."""
    return sorted(range(168), key=lambda i: (-model.scores[i], -model.confidence[i], i))


def _next_slot(
    model: _Model, top: Sequence[int], after: dt.datetime, zone: ZoneInfo
) -> BestSlot | None:
    """The first start of a top cell at least ``MIN_LEAD`` after ``after``, walking real hours.

    The walk steps through UTC hours and reads each one's local weekday and hour, so a local
    hour skipped by the spring-forward change is never offered and one repeated in autumn is
    offered once (its first occurrence)."""
    if after.tzinfo is None:
        raise InvalidInput("after must carry a time zone (UTC offset)")
    earliest = after + MIN_LEAD
    rank = {index: position for position, index in enumerate(top, start=1)}
    local = earliest.astimezone(zone)
    start = local.replace(minute=0, second=0, microsecond=0)
    candidate = start.astimezone(dt.UTC)
    if candidate < earliest:
        candidate += dt.timedelta(hours=1)
    for _ in range(24 * 9):  # a week and a day of DST slack
        here = candidate.astimezone(zone)
        index = here.weekday() * 24 + here.hour
        if here.minute == 0 and index in rank:
            weekday, hour = divmod(index, 24)
            return BestSlot(
                at=here,
                timezone=zone.key,
                weekday=weekday,
                weekday_name=WEEKDAYS[weekday],
                hour=hour,
                rank=rank[index],
                score=round(model.scores[index], 4),
                confidence=round(model.confidence[index], 4),
                source=SlotSource.history if model.from_history[index] else SlotSource.defaults,
            )
        candidate += dt.timedelta(hours=1)
    return None


# --- how often ---------------------------------------------------------------------------------


def _bucket_of(volume: int) -> int:
    for position, (low, high) in enumerate(VOLUME_BUCKETS):
        if volume >= low and (high is None or volume <= high):
            return position
    raise ValueError(volume)  # volumes start at 1


def _frequency(
    samples: Sequence[_Sample], platform: str, now: dt.datetime, zone: ZoneInfo, days: int
) -> FrequencySuggestion:
    """Posts per week, and the weekly volume at which each post still does (almost) best.

    Weeks run Monday to Sunday in the zone; the current, unfinished week is left out. Per week:
    its volume and the mean lift of its posts. Per volume range: the median over its weeks.
    With ``FREQUENCY_MIN_WEEKS`` weeks of posts and two ranges with ``FREQUENCY_MIN_BUCKET_WEEKS``
    weeks each, the suggestion is the highest range whose posts do at least
    ``FREQUENCY_TOLERANCE`` as well as the best range's (more posts reach more people, as long
    as each one still lands); otherwise the platform's default range."""
    default_min, default_max = PLATFORM_FREQUENCY.get(platform, PLATFORM_FREQUENCY["default"])
    local_now = now.astimezone(zone)
    this_week = local_now.date() - dt.timedelta(days=local_now.weekday())
    weeks: dict[dt.date, list[float]] = defaultdict(list)
    for sample in samples:
        day = sample.posted_at.date()
        monday = day - dt.timedelta(days=day.weekday())
        if monday < this_week:
            weeks[monday].append(sample.lift)
    # Complete weeks since the first post's week (quiet weeks included), within the window.
    span_weeks = max(1, (this_week - min(weeks)).days // 7) if weeks else max(1, days // 7)
    current = round(sum(len(lifts) for lifts in weeks.values()) / span_weeks, 2)
    per_bucket: dict[int, list[float]] = defaultdict(list)
    for lifts in weeks.values():
        per_bucket[_bucket_of(len(lifts))].append(statistics.fmean(lifts))
    buckets = [
        VolumeBucket(
            posts_per_week_min=low,
            posts_per_week_max=high,
            weeks=len(per_bucket.get(position, [])),
            engagement_per_post=(
                round(statistics.median(per_bucket[position]), 4)
                if per_bucket.get(position)
                else None
            ),
        )
        for position, (low, high) in enumerate(VOLUME_BUCKETS)
    ]
    usable = [
        (position, statistics.median(values))
        for position, values in per_bucket.items()
        if len(values) >= FREQUENCY_MIN_BUCKET_WEEKS
    ]
    if len(weeks) < FREQUENCY_MIN_WEEKS or len(usable) < 2:
        return FrequencySuggestion(
            current_per_week=current,
            suggested_min=default_min,
            suggested_max=default_max,
            source=SlotSource.defaults,
            default_min=default_min,
            default_max=default_max,
            by_volume=buckets,
            reason=f"{len(weeks)} weeks with posts and {len(usable)} weekly volumes seen at "
            f"least {FREQUENCY_MIN_BUCKET_WEEKS} times: at least {FREQUENCY_MIN_WEEKS} weeks "
            "and two volumes are needed to compare, so the platform's usual range is shown",
        )
    best = max(value for _, value in usable)
    chosen = max(position for position, value in usable if value >= FREQUENCY_TOLERANCE * best)
    low, high = VOLUME_BUCKETS[chosen]
    top_volume = max(len(lifts) for lifts in weeks.values() if _bucket_of(len(lifts)) == chosen)
    label = f"{low}" if high == low else f"{low}-{high}" if high is not None else f"{low}+"
    return FrequencySuggestion(
        current_per_week=current,
        suggested_min=low,
        suggested_max=min(high, top_volume) if high is not None else top_volume,
        source=SlotSource.history,
        default_min=default_min,
        default_max=default_max,
        by_volume=buckets,
        reason=f"weeks with {label} posts kept engagement per post within "
        f"{round((1 - FREQUENCY_TOLERANCE) * 100)} % of the best weekly volume's",
    )


# --- the read functions ------------------------------------------------------------------------


def _rows(
    session: Session, subject: Subject, account_id: int, since: dt.datetime, until: dt.datetime
) -> list[Any]:
    stmt = scoped(
        select(Post.posted_at, Post.engagement_rate, Post.likes, Post.comments, Post.shares),
        subject,
    ).where(Post.account_id == account_id, Post.posted_at >= since, Post.posted_at <= until)
    return list(session.execute(stmt.order_by(Post.posted_at)).all())


def _load(
    session: Session,
    subject: Subject,
    account_id: int,
    zone: str | None,
    days: int,
    now: dt.datetime,
) -> tuple[TrackedAccount, ZoneInfo, list[_Sample]]:
    account = get_account(session, subject, account_id)  # 404 for another workspace's
    workspace = workspace_service.get_workspace(session, subject)
    tz = resolve_zone(zone, workspace.timezone)
    rows = _rows(session, subject, account_id, now - dt.timedelta(days=days), now)
    return account, tz, _samples(rows, tz)


def _level(confidence: float) -> str:
    return "low" if confidence < 0.34 else "medium" if confidence < 0.67 else "high"


def best_times(
    session: Session,
    subject_or_workspace_id: Subject | int,
    account_id: int,
    *,
    zone: str | None = None,
    days: int = DEFAULT_DAYS,
    min_samples: int = MIN_CELL_POSTS,
    now: dt.datetime | None = None,
) -> BestTimes:
    """The 7 x 24 grid of smoothed scores with samples and confidence per cell, the top slots,
    the next slot from now, a posting-frequency suggestion, and the raw observed heatmap
    (``cells[].engagement_rate``; ``top``: the best observed cells with ``min_samples`` posts)."""
    if days < 1:
        raise InvalidInput("days must be at least 1")
    subject = _subject(subject_or_workspace_id)
    now = now or utcnow()
    account, tz, samples = _load(session, subject, account_id, zone, days, now)
    model = _model(samples, account.platform)
    ranked = _ranked(model)
    top = ranked[:TOP_SLOTS]
    if model.source == SlotSource.history and not all(model.from_history[i] for i in top):
        source = SlotSource.blend
    else:
        source = model.source
    confidence = round(statistics.fmean(model.confidence[i] for i in top), 4)
    cells = [_cell(model, index) for index in range(168)]
    observed = [c for c in cells if c.samples >= min_samples and c.engagement_rate is not None]
    observed.sort(key=lambda c: (-(c.engagement_rate or 0.0), -c.samples, c.weekday, c.hour))
    return BestTimes(
        account_id=account_id,
        platform=account.platform,
        timezone=tz.key,
        days=days,
        min_samples=min_samples,
        posts_considered=sum(1 for s in samples if s.rate is not None),
        cells=cells,
        top=observed[:OBSERVED_TOP],
        method=METHOD,
        sample_size=model.sample_size,
        min_posts=MIN_POSTS,
        confidence=confidence,
        confidence_level=_level(confidence),
        source=source,
        grid=[[cells[w * 24 + h].score for h in range(24)] for w in range(7)],
        top_slots=[cells[i] for i in top],
        next_slot=_next_slot(model, top, now, tz),
        frequency=_frequency(samples, account.platform, now, tz, days),
        defaults_source=DEFAULTS_SOURCE,
    )


def next_best_slot(
    session: Session,
    workspace_id: Subject | int,
    account_id: int,
    *,
    after: dt.datetime,
    zone: str | None = None,
    days: int = DEFAULT_DAYS,
) -> BestSlot:
    """The start of the next top cell at least 15 minutes after ``after`` (history up to
    ``after``), in ``zone`` or the workspace's zone."""
    if after.tzinfo is None:
        raise InvalidInput("after must carry a time zone (UTC offset)")
    subject = _subject(workspace_id)
    account, tz, samples = _load(session, subject, account_id, zone, days, after)
    model = _model(samples, account.platform)
    slot = _next_slot(model, _ranked(model)[:TOP_SLOTS], after, tz)
    if slot is None:  # only when every top cell is an hour the zone skips all week
        raise InvalidInput(f"no posting slot found in the week after {after.isoformat()}")
    return slot
