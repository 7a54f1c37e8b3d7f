"""Fans and superfans: one `Fan` per person per platform per workspace, with scores.

The rule our users specified: over the last `superfan_window_days` (90) days, a fan with at
least `superfan_min_interactions` (10) interactions of which at least
`superfan_min_positive_ratio` (70 %) are positive (`ai_sentiment == "positive"`) is a superfan.
Promotion sets `superfan_since`; it is kept while the fan stays above the bar, and cleared when
they fall below it (the window moves on, or new negative comments arrive).

Both scores are computed over **the same window as promotion** (the interactions posted in the
last `superfan_window_days` days, up to now), so an interaction older than the window moves
neither, and a fan who went quiet sees their scores fall as the window moves on:

* ``lifetime_value_score = min(100, round(2 x interactions + 5 x positive + average priority))``,
  an integer from 0 to 100 (halves round up);
* ``sentiment_score = (positive - negative) / interactions`` (0 without interactions in the
  window), from -1 to 1;

where *average priority* is the mean `Interaction.priority` (0..100) of the window's
interactions. The counters on the fan (`interactions_count`, `positive_count`,
`negative_count`, `average_priority`) stay lifetime totals. Evaluated for the fans touched by
each ingest, and for everyone in the nightly batch (which is what moves the window).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox.models import Fan, InboxSettings, Interaction
from socialpulse.kit.upsert import upsert
from socialpulse.providers import base as pb
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

DEFAULT_WINDOW_DAYS = 90
DEFAULT_MIN_INTERACTIONS = 10
DEFAULT_MIN_POSITIVE_RATIO = 0.7
# Fans re-scored per statement in the nightly batch (bounds the IN lists and memory).
EVALUATE_BATCH = 500
# Float ratios such as 7 / 10 against 0.7 must not miss by a rounding error.
_EPSILON = 1e-9


@dataclass(frozen=True)
class SuperfanRule:
    window_days: int = DEFAULT_WINDOW_DAYS
    min_interactions: int = DEFAULT_MIN_INTERACTIONS
    min_positive_ratio: float = DEFAULT_MIN_POSITIVE_RATIO

    def qualifies(self, interactions: int, positive: int) -> bool:
        if interactions < self.min_interactions or interactions == 0:
            return False
        return positive / interactions + _EPSILON >= self.min_positive_ratio


def rule_for(session: Session, workspace_id: int) -> SuperfanRule:
    """The workspace's thresholds; the users' defaults when it has no settings row."""
    row = session.get(InboxSettings, workspace_id)
    if row is None:
        return SuperfanRule()
    return SuperfanRule(
        row.superfan_window_days, row.superfan_min_interactions, row.superfan_min_positive_ratio
    )


def lifetime_value_score(interactions: int, positive: int, average_priority: float) -> int:
    """min(100, round(2 x interactions + 5 x positive + average priority)) over the window's
    interactions: an integer from 0 to 100, halves rounded up (not to even)."""
    raw = 2 * interactions + 5 * positive + average_priority
    return max(0, min(100, math.floor(raw + 0.5)))


def sentiment_score(interactions: int, positive: int, negative: int) -> float:
    """(positive - negative) / interactions over the window; 0.0 without interactions."""
    if interactions <= 0:
        return 0.0
    return (positive - negative) / interactions


# --- fans from comments ------------------------------------------------------------------------


def upsert_fans(
    session: Session,
    workspace_id: int,
    comments: Sequence[pb.Comment],
    *,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Create or refresh the fans of these comments' authors; returns author id → fan id.

    Profile fields are only overwritten with values the platform sent: a comment without an
    avatar (most platforms omit it on some endpoints) must not erase one seen before."""
    if not comments:
        return {}
    now = now or utcnow()
    platform = str(comments[0].platform)
    latest: dict[str, pb.Comment] = {}
    for comment in sorted(comments, key=lambda c: c.posted_at):
        latest[comment.author_external_id] = comment
    # Insert missing rows first (a concurrent poll of another post may add the same author).
    upsert(
        session,
        Fan.__table__,  # type: ignore[arg-type]
        [
            {
                "workspace_id": workspace_id,
                "platform": platform,
                "external_id": author,
                "handle": comment.author_handle,
                "first_seen_at": now,
            }
            for author, comment in latest.items()
        ],
        conflict=["workspace_id", "platform", "external_id"],
        update=[],
    )
    fans = session.scalars(
        select(Fan).where(
            Fan.workspace_id == workspace_id,
            Fan.platform == platform,
            Fan.external_id.in_(list(latest)),
        )
    ).all()
    ids: dict[str, int] = {}
    for fan in fans:
        comment = latest[fan.external_id]
        fan.handle = comment.author_handle or fan.handle
        if comment.author_display_name:
            fan.display_name = comment.author_display_name
        if comment.author_avatar_url:
            fan.avatar_url = comment.author_avatar_url
        if comment.author_followers_count is not None:
            fan.followers_count = comment.author_followers_count
        ids[fan.external_id] = fan.id
    session.flush()
    return ids


# --- scoring and the superfan rule -------------------------------------------------------------


@dataclass
class EvaluationCounts:
    total_evaluated: int = 0
    promoted: int = 0
    demoted: int = 0

    def add(self, other: EvaluationCounts) -> None:
        self.total_evaluated += other.total_evaluated
        self.promoted += other.promoted
        self.demoted += other.demoted

    def as_dict(self) -> dict[str, int]:
        return {
            "total_evaluated": self.total_evaluated,
            "promoted": self.promoted,
            "demoted": self.demoted,
        }


def _positive() -> Any:
    return func.sum(case((Interaction.ai_sentiment == "positive", 1), else_=0))


def _negative() -> Any:
    return func.sum(case((Interaction.ai_sentiment == "negative", 1), else_=0))


def _in_window(when: Any, value: Any) -> Any:
    """A sum over the window's interactions only (NULL elsewhere, so avg() skips them)."""
    return case((when, value), else_=None)


def refresh_fans(
    session: Session,
    workspace_id: int,
    fan_ids: Iterable[int],
    *,
    now: dt.datetime | None = None,
    rule: SuperfanRule | None = None,
) -> EvaluationCounts:
    """Recompute counters and scores of these fans from their interactions and apply the
    superfan rule. Recomputed, never incremented: running it twice gives the same result."""
    now = now or utcnow()
    rule = rule or rule_for(session, workspace_id)
    ids = sorted(set(fan_ids))
    counts = EvaluationCounts()
    for start in range(0, len(ids), EVALUATE_BATCH):
        counts.add(
            _refresh_batch(session, workspace_id, ids[start : start + EVALUATE_BATCH], now, rule)
        )
    return counts


def _refresh_batch(
    session: Session,
    workspace_id: int,
    ids: list[int],
    now: dt.datetime,
    rule: SuperfanRule,
) -> EvaluationCounts:
    fans = session.scalars(
        select(Fan).where(Fan.workspace_id == workspace_id, Fan.id.in_(ids))
    ).all()
    window_start = now - dt.timedelta(days=rule.window_days)
    # The same window as promotion: posted in the last `window_days` days, and not after now.
    in_window = and_(Interaction.posted_at >= window_start, Interaction.posted_at <= now)
    is_positive = Interaction.ai_sentiment == "positive"
    is_negative = Interaction.ai_sentiment == "negative"
    stats = {
        row.fan_id: row
        for row in session.execute(
            select(
                Interaction.fan_id,
                func.count().label("total"),
                _positive().label("positive"),
                _negative().label("negative"),
                func.avg(Interaction.priority).label("avg_priority"),
                func.max(Interaction.posted_at).label("last_at"),
                func.sum(_in_window(in_window, 1)).label("w_total"),
                func.sum(_in_window(and_(in_window, is_positive), 1)).label("w_positive"),
                func.sum(_in_window(and_(in_window, is_negative), 1)).label("w_negative"),
                func.avg(_in_window(in_window, Interaction.priority)).label("w_avg_priority"),
            )
            .where(Interaction.workspace_id == workspace_id, Interaction.fan_id.in_(ids))
            .group_by(Interaction.fan_id)
        )
    }
    counts = EvaluationCounts()
    for fan in fans:
        row = stats.get(fan.id)
        total = int(row.total) if row else 0
        positive = int(row.positive or 0) if row else 0
        negative = int(row.negative or 0) if row else 0
        average = float(row.avg_priority or 0.0) if row else 0.0
        fan.interactions_count, fan.positive_count, fan.negative_count = total, positive, negative
        fan.average_priority = round(average, 4)
        w_total = int(row.w_total or 0) if row else 0
        w_positive = int(row.w_positive or 0) if row else 0
        w_negative = int(row.w_negative or 0) if row else 0
        w_average = float(row.w_avg_priority or 0.0) if row else 0.0
        fan.lifetime_value_score = lifetime_value_score(w_total, w_positive, w_average)
        fan.sentiment_score = round(sentiment_score(w_total, w_positive, w_negative), 4)
        if row is not None and row.last_at is not None:
            fan.last_interaction_at = row.last_at
        fan.scores_updated_at = now
        qualifies = rule.qualifies(w_total, w_positive)
        if qualifies and not fan.is_superfan:
            fan.is_superfan, fan.superfan_since = True, now
            counts.promoted += 1
        elif not qualifies and fan.is_superfan:
            fan.is_superfan, fan.superfan_since = False, None
            counts.demoted += 1
        counts.total_evaluated += 1
    session.flush()
    return counts


def evaluate_workspace(
    session: Session, workspace_id: int, *, now: dt.datetime | None = None
) -> EvaluationCounts:
    """Re-score every fan of one workspace (after its thresholds change, and nightly)."""
    ids = list(session.scalars(select(Fan.id).where(Fan.workspace_id == workspace_id)))
    return refresh_fans(session, workspace_id, ids, now=now)


def evaluate_all(
    db: Database, workspace_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """The nightly batch: every fan (of one workspace, or of all), one transaction per
    workspace. Returns {"total_evaluated", "promoted", "demoted"}."""
    now = now or utcnow()
    with db.session(readonly=True) as session:
        query = select(Fan.workspace_id).distinct()
        if workspace_id is not None:
            query = query.where(Fan.workspace_id == workspace_id)
        workspace_ids = sorted(session.scalars(query))
    total = EvaluationCounts()
    for ws_id in workspace_ids:
        with db.session() as session:
            counts = evaluate_workspace(session, ws_id, now=now)
        total.add(counts)
        log.info("inbox.superfans.evaluated", workspace_id=ws_id, **counts.as_dict())
    return total.as_dict()


# --- reading fans ------------------------------------------------------------------------------


def get_fan(session: Session, subject: Subject, fan_id: int) -> Fan:
    return get_scoped(session, Fan, fan_id, subject)


MAX_FAN_LABELS = 20
MAX_LABEL_LENGTH = 50
MAX_NOTE_LENGTH = 5_000


def label_fan(session: Session, subject: Subject, fan_id: int, label: str, *, add: bool) -> Fan:
    """Add or remove one of the team's labels on a fan (editors); adding twice keeps one."""
    subject.require(Role.editor)
    fan = get_fan(session, subject, fan_id)
    label = label.strip()
    if not label or len(label) > MAX_LABEL_LENGTH:
        raise InvalidInput(f"a label has 1 to {MAX_LABEL_LENGTH} characters")
    labels = [existing for existing in fan.labels or [] if existing != label]
    if add:
        if len(labels) >= MAX_FAN_LABELS:
            raise InvalidInput(f"a fan has at most {MAX_FAN_LABELS} labels")
        labels.append(label)
    fan.labels = labels  # a new list: the JSON column sees the change
    session.flush()
    return fan


def set_fan_note(session: Session, subject: Subject, fan_id: int, note: str) -> Fan:
    """The team's private note on a fan (editors); never shown to the fan."""
    subject.require(Role.editor)
    fan = get_fan(session, subject, fan_id)
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"a note has at most {MAX_NOTE_LENGTH:,} characters, not {len(note):,}")
    fan.note = note.strip()
    session.flush()
    return fan


def recent_interactions_of(
    session: Session, subject: Subject, fan_id: int, limit: int = 20
) -> list[Interaction]:
    return list(
        session.scalars(
            scoped(select(Interaction), subject)
            .where(Interaction.fan_id == fan_id)
            .order_by(Interaction.posted_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
    )


def list_fans(
    session: Session,
    subject: Subject,
    *,
    superfan: bool | None = None,
    platform: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Fan]:
    """Fans by lifetime value, highest first."""
    query = scoped(select(Fan), subject)
    if superfan is not None:
        query = query.where(Fan.is_superfan.is_(superfan))
    if platform:
        query = query.where(Fan.platform == platform)
    return list(
        session.scalars(
            query.order_by(Fan.lifetime_value_score.desc(), Fan.id).limit(limit).offset(offset)
        )
    )
