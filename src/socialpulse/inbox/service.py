"""Interactions: the inbox's use-cases on stored interactions (list, read a thread, status,
assignee, labels, priority, bulk actions) and the workspace's inbox settings.

Storing them is `inbox.ingest`; reading them from the platforms is `inbox.polling`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from socialpulse.ai import schemas as ai_schemas
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox.models import (
    DEFAULT_AUTO_REPLY_DAILY_WARNING,
    NOT_IN_LISTS,
    AiLabelCorrection,
    Fan,
    InboxSettings,
    Interaction,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
)
from socialpulse.kit.params import DB_INT_MAX
from socialpulse.workspaces.models import Membership, Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

# --- the inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InteractionFilters:
    platform: str | None = None
    account_id: int | None = None
    fan_id: int | None = None
    status: InteractionStatus | None = None
    sentiment: str | None = None
    intent: str | None = None
    language: str | None = None
    superfan: bool | None = None
    assignee_user_id: int | None = None
    unassigned: bool = False
    label: str | None = None
    q: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    ids: tuple[int, ...] | None = None  # only these interactions (one row shown again)


def encode_cursor(posted_at: dt.datetime, interaction_id: int) -> str:
    raw = f"{posted_at.isoformat()}|{interaction_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """The position `encode_cursor` wrote; anything else (edited by hand: a naive time, an id
    no row can have) is a 422, never a comparison the database cannot make."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, _, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
        posted_at, interaction_id = dt.datetime.fromisoformat(at), int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed cursor {cursor!r}") from exc
    if posted_at.tzinfo is None or not 0 <= interaction_id <= DB_INT_MAX:
        raise InvalidInput(f"malformed cursor {cursor!r}")
    return posted_at, interaction_id


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class InteractionSlice:
    """One page of a list: `next_cursor` continues to older items, `prev_cursor` (passed as
    `before`) goes back to newer ones; each is None at its end."""

    items: list[Interaction]
    next_cursor: str | None
    prev_cursor: str | None


def _filtered(subject: Subject, f: InteractionFilters) -> Any:
    query = scoped(select(Interaction), subject).options(*NOT_IN_LISTS)
    equal = {
        Interaction.platform: f.platform,
        Interaction.account_id: f.account_id,
        Interaction.fan_id: f.fan_id,
        Interaction.status: f.status,
        Interaction.ai_language: f.language,
        Interaction.assignee_user_id: f.assignee_user_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if f.sentiment is not None:
        query = query.where(
            _label_is(subject, Interaction.ai_sentiment, AiLabelCorrection.sentiment, f.sentiment)
        )
    if f.intent is not None:
        query = query.where(
            _label_is(subject, Interaction.ai_intent, AiLabelCorrection.intent, f.intent)
        )
    if f.unassigned:
        query = query.where(Interaction.assignee_user_id.is_(None))
    if f.superfan is not None:
        superfans = select(Fan.id).where(
            Fan.workspace_id == subject.workspace_id, Fan.is_superfan.is_(True)
        )
        query = query.where(
            Interaction.fan_id.in_(superfans)
            if f.superfan
            else or_(Interaction.fan_id.is_(None), Interaction.fan_id.not_in(superfans))
        )
    if f.label:
        # Labels are a JSON list; the JSON text of a label is "label" on both databases.
        pattern = f'%"{_like_escape(f.label)}"%'
        query = query.where(cast(Interaction.labels, Text).like(pattern, escape="\\"))
    if f.q:
        pattern = f"%{_like_escape(f.q.lower())}%"
        query = query.where(
            or_(
                func.lower(Interaction.text).like(pattern, escape="\\"),
                func.lower(Interaction.author_handle).like(pattern, escape="\\"),
            )
        )
    if f.ids is not None:
        query = query.where(Interaction.id.in_(f.ids))
    if f.since is not None:
        query = query.where(Interaction.posted_at >= f.since)
    if f.until is not None:
        query = query.where(Interaction.posted_at < f.until)
    return query


def _label_is(subject: Subject, model_label: Any, corrected_label: Any, value: str) -> Any:
    """The label in force is `value`: a person's correction where there is one (inbox.corrections),
    else the model's. The model's label keeps its index for the uncorrected majority."""
    corrected = select(AiLabelCorrection.interaction_id).where(
        AiLabelCorrection.workspace_id == subject.workspace_id, corrected_label.is_not(None)
    )
    return or_(
        and_(model_label == value, Interaction.id.not_in(corrected)),
        Interaction.id.in_(corrected.where(corrected_label == value)),
    )


def list_interactions(
    session: Session,
    subject: Subject,
    filters: InteractionFilters,
    *,
    limit: int = 50,
    cursor: str | None = None,
    before: str | None = None,
) -> InteractionSlice:
    """Newest first (posted_at, then id), keyset-paginated: pass `next_cursor` back as
    `cursor` for older items, `prev_cursor` as `before` for newer ones."""
    rows, next_cursor, prev_cursor = _keyset_page(
        session, _filtered(subject, filters), limit=limit, cursor=cursor, before=before
    )
    return InteractionSlice([row[0] for row in rows], next_cursor, prev_cursor)


def count_interactions(session: Session, subject: Subject, filters: InteractionFilters) -> int:
    """How many interactions match the filters (the inbox's result count)."""
    matching = _filtered(subject, filters).with_only_columns(Interaction.id).order_by(None)
    return int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


def _keyset_page(
    session: Session, query: Any, *, limit: int, cursor: str | None, before: str | None
) -> tuple[list[Row[Any]], str | None, str | None]:
    """One page of `query` (whose first column is the Interaction) in `list_interactions`'
    order, with the cursors of its neighbour pages."""
    newest_first = (Interaction.posted_at.desc(), Interaction.id.desc())
    if before:
        at, ident = decode_cursor(before)
        newer = query.where(
            or_(
                Interaction.posted_at > at,
                and_(Interaction.posted_at == at, Interaction.id > ident),
            )
        )
        rows = list(
            session.execute(
                newer.order_by(Interaction.posted_at, Interaction.id).limit(limit + 1)
            ).all()
        )
        if len(rows) > limit:
            rows = rows[:limit][::-1]
            return rows, _cursor_of(rows[-1][0]), _cursor_of(rows[0][0])
        # Back at the top: the first page itself, so pages keep their boundaries.
        cursor = None
    if cursor:
        at, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                Interaction.posted_at < at,
                and_(Interaction.posted_at == at, Interaction.id < ident),
            )
        )
    rows = list(session.execute(query.order_by(*newest_first).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _cursor_of(rows[-1][0])
    prev_cursor = None
    if cursor:
        prev_cursor = _cursor_of(rows[0][0]) if rows else cursor
    return rows, next_cursor, prev_cursor


def _cursor_of(item: Interaction) -> str:
    return encode_cursor(item.posted_at, item.id)


# The parts of the evidence a list's chips explain themselves with (the language evidence and
# anything else stays in the database).
CHIP_EVIDENCE = ("sentiment", "intents", "toxicity")


@dataclass(frozen=True)
class InboxEntry:
    """An interaction as the inbox page shows it, with what its row needs from elsewhere."""

    item: Interaction
    evidence: dict[str, Any]  # the `CHIP_EVIDENCE` parts of its AI evidence (absent ones left out)
    fan_id: int | None  # its fan in this workspace, if any
    is_superfan: bool
    superfan_since: dt.datetime | None
    replied: bool  # a reply to it is queued, being sent or sent (a cancelled one does not count)
    reply_waiting: bool  # a reply to it is queued or being sent
    corrected_sentiment: str | None = None  # a person's correction of the model's label
    corrected_intent: str | None = None


@dataclass(frozen=True)
class InboxSlice:
    entries: list[InboxEntry]
    next_cursor: str | None
    prev_cursor: str | None


def list_inbox(
    session: Session,
    subject: Subject,
    filters: InteractionFilters,
    *,
    limit: int = 50,
    cursor: str | None = None,
    before: str | None = None,
) -> InboxSlice:
    """`list_interactions` with what the inbox page shows beside each interaction, in the same
    statement: the evidence its chips explain themselves with (cut out by the database, so a
    page never decodes whole evidence documents), its fan's superfan standing and whether a
    reply to it is waiting or was sent. One statement rather than one per kind: on SQLite a
    lookup of the page's ids by `IN` walks the workspace's index instead of the primary key."""
    replies = select(ReplyQueueItem.id).where(
        ReplyQueueItem.interaction_id == Interaction.id,
        ReplyQueueItem.workspace_id == Interaction.workspace_id,
        ReplyQueueItem.status != ReplyStatus.cancelled,
    )
    waiting = replies.where(
        ReplyQueueItem.status.in_([ReplyStatus.pending, ReplyStatus.processing])
    )
    query = (
        _filtered(subject, filters)
        .add_columns(
            # As JSON text, decoded here: the JSON type's own result processing costs more.
            *(Interaction.ai_evidence[key].as_string() for key in CHIP_EVIDENCE),
            Fan.id,
            Fan.is_superfan,
            Fan.superfan_since,
            replies.exists(),
            waiting.exists(),
            AiLabelCorrection.sentiment,
            AiLabelCorrection.intent,
        )
        # The fan's workspace in the join itself (`scoped` would filter out rows without one).
        .outerjoin(
            Fan, and_(Fan.id == Interaction.fan_id, Fan.workspace_id == Interaction.workspace_id)
        )
        .outerjoin(
            AiLabelCorrection,
            and_(
                AiLabelCorrection.interaction_id == Interaction.id,
                AiLabelCorrection.workspace_id == Interaction.workspace_id,
            ),
        )
    )
    rows, next_cursor, prev_cursor = _keyset_page(
        session, query, limit=limit, cursor=cursor, before=before
    )
    parts = len(CHIP_EVIDENCE)
    entries = []
    for row in rows:
        decoded = (json.loads(text) if text else None for text in row[1 : parts + 1])
        entries.append(
            InboxEntry(
                item=row[0],
                evidence={
                    key: value for key, value in zip(CHIP_EVIDENCE, decoded, strict=True) if value
                },
                fan_id=row[parts + 1],
                is_superfan=bool(row[parts + 2]),
                superfan_since=row[parts + 3],
                replied=bool(row[parts + 4]),
                reply_waiting=bool(row[parts + 5]),
                corrected_sentiment=row[parts + 6],
                corrected_intent=row[parts + 7],
            )
        )
    return InboxSlice(entries, next_cursor, prev_cursor)


def get_interaction(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    return get_scoped(session, Interaction, interaction_id, subject)


def known_intents() -> list[str]:
    """The intents an interaction can be classified with (for filter menus): the AI's label
    set, which every backend maps to. It used to be a DISTINCT over all the workspace's
    interactions on every inbox page; a label added to the AI shows up with that release."""
    return sorted(ai_schemas.INTENT_LABELS)


def post_interactions(
    session: Session, subject: Subject, post_id: int, *, limit: int = 50
) -> list[Interaction]:
    """The comments on one of the workspace's posts with their AI labels, newest first."""
    return list(
        session.scalars(
            scoped(select(Interaction), subject)
            .where(Interaction.post_id == post_id, Interaction.hidden.is_(False))
            .order_by(Interaction.posted_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
    )


@dataclass
class InteractionThread:
    interaction: Interaction
    parent: Interaction | None
    replies: list[Interaction]
    fan: Fan | None
    workflow_name: str | None


def interaction_thread(
    session: Session, subject: Subject, interaction_id: int
) -> InteractionThread:
    item = get_interaction(session, subject, interaction_id)
    parent = get_scoped(session, Interaction, item.parent_id, subject) if item.parent_id else None
    replies = list(
        session.scalars(
            scoped(select(Interaction), subject)
            .where(Interaction.parent_id == item.id)
            .order_by(Interaction.posted_at, Interaction.id)
        )
    )
    fan = get_scoped(session, Fan, item.fan_id, subject) if item.fan_id else None
    workflow = (
        session.scalar(
            scoped(select(Workflow.name), subject).where(Workflow.id == item.matched_workflow_id)
        )
        if item.matched_workflow_id
        else None
    )
    return InteractionThread(item, parent, replies, fan, workflow)


def _require_member(session: Session, subject: Subject, user_id: int) -> None:
    member = session.scalar(
        scoped(select(Membership.id), subject).where(Membership.user_id == user_id)
    )
    if member is None:
        raise InvalidInput(f"user {user_id} is not a member of this workspace")


_UNSET: Any = object()


def _set_status(item: Interaction, status: InteractionStatus, now: dt.datetime) -> None:
    item.status = status
    if status == InteractionStatus.answered:
        item.answered_at = item.answered_at or now


def update_interaction(
    session: Session,
    subject: Subject,
    interaction_id: int,
    *,
    status: InteractionStatus | None = None,
    assignee_user_id: int | None = _UNSET,
    labels: list[str] | None = None,
    priority: int | None = None,
) -> Interaction:
    """Change status, assignee (a member, or None to unassign), labels or priority (editor)."""
    subject.require(Role.editor)
    item = get_interaction(session, subject, interaction_id)
    if status is not None:
        _set_status(item, status, utcnow())
    if assignee_user_id is not _UNSET:
        if assignee_user_id is not None:
            _require_member(session, subject, assignee_user_id)
        item.assignee_user_id = assignee_user_id
    if labels is not None:
        item.labels = list(dict.fromkeys(labels))
    if priority is not None:
        item.priority = priority
    session.flush()
    if priority is not None and item.fan_id is not None:
        fan_service.refresh_fans(session, subject.workspace_id, [item.fan_id])
    return item


def bulk_update(
    session: Session,
    subject: Subject,
    ids: Sequence[int],
    *,
    action: str,
    status: InteractionStatus | None = None,
    label: str | None = None,
    assignee_user_id: int | None = None,
) -> int:
    """Apply one action to many interactions; every id must be in the workspace (else 404,
    nothing changed)."""
    subject.require(Role.editor)
    unique = list(dict.fromkeys(ids))
    items = list(
        session.scalars(scoped(select(Interaction), subject).where(Interaction.id.in_(unique)))
    )
    missing = sorted(set(unique) - {item.id for item in items})
    if missing:
        raise NotFound(f"interactions not found: {', '.join(map(str, missing))}")
    now = utcnow()
    if action == "set_status":
        if status is None:
            raise InvalidInput("set_status needs a status")
        for item in items:
            _set_status(item, status, now)
    elif action == "add_label":
        if not label:
            raise InvalidInput("add_label needs a label")
        for item in items:
            if label not in item.labels:
                item.labels = [*item.labels, label]
    elif action == "assign":
        if assignee_user_id is not None:
            _require_member(session, subject, assignee_user_id)
        for item in items:
            item.assignee_user_id = assignee_user_id
    else:
        raise InvalidInput(f"unknown bulk action {action!r}")
    session.flush()
    return len(items)


# --- settings ---------------------------------------------------------------------------------


def get_inbox_settings(session: Session, subject: Subject) -> InboxSettings:
    """The workspace's inbox settings; the defaults (unsaved) when none were set."""
    row = session.get(InboxSettings, subject.workspace_id)
    if row is not None:
        return row
    return InboxSettings(
        workspace_id=subject.workspace_id,
        superfan_window_days=fan_service.DEFAULT_WINDOW_DAYS,
        superfan_min_interactions=fan_service.DEFAULT_MIN_INTERACTIONS,
        superfan_min_positive_ratio=fan_service.DEFAULT_MIN_POSITIVE_RATIO,
        suggestion_min_confidence=0.85,
        max_replies_per_tick=10,
        auto_reply_daily_warning=DEFAULT_AUTO_REPLY_DAILY_WARNING,
    )


_SUPERFAN_FIELDS = (
    "superfan_window_days",
    "superfan_min_interactions",
    "superfan_min_positive_ratio",
)


def update_settings(session: Session, subject: Subject, values: dict[str, Any]) -> InboxSettings:
    """Change some settings (admin). New superfan thresholds re-score every fan at once."""
    subject.require(Role.admin)
    row = session.get(InboxSettings, subject.workspace_id)
    if row is None:
        row = get_inbox_settings(session, subject)
        session.add(row)
    changed = any(
        key in _SUPERFAN_FIELDS and getattr(row, key) != value for key, value in values.items()
    )
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    if changed:
        fan_service.evaluate_workspace(session, subject.workspace_id)
    return row
