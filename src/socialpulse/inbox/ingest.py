"""Storing interactions: comments, mentions and direct messages of one account go through
`ingest_interactions`, deduplicated by (workspace, platform, external id), analysed, linked to
their fan and thread, run through the "new interaction" workflows, and their fans re-scored.

The thread-linking (`link_threads`) and classification helpers (`analyse_comments`,
`base_priority`, `ai_columns`) are public: polling and tests use them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.ai import service as ai_service
from socialpulse.ai.schemas import Evidence, TextAnalysis
from socialpulse.db import utcnow
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox.models import Interaction, InteractionKind, InteractionStatus
from socialpulse.inbox.workflows.engine import apply_new_interaction_workflows
from socialpulse.kit.upsert import upsert
from socialpulse.providers import base as pb
from socialpulse.webhooks import service as webhooks

# Priority of a fresh interaction (0..100, higher first) from its analysis; workflows and people
# may change it. Toxic comments need a moderator soon, whatever their intent (except spam).
INTENT_PRIORITY: dict[str, int] = {
    "complaint": 80,
    "purchase_intent": 75,
    "collaboration": 70,
    "question": 65,
    "praise": 45,
    "other": 40,
    "spam": 5,
}
TOXIC_PRIORITY = 70


def base_priority(analysis: TextAnalysis) -> int:
    priority = INTENT_PRIORITY.get(analysis.intent, INTENT_PRIORITY["other"])
    if analysis.toxicity.toxic and analysis.intent != "spam":
        priority = max(priority, TOXIC_PRIORITY)
    return priority


def _evidence(items: list[Evidence]) -> list[dict[str, Any]]:
    return [{"source": e.source, "value": e.value, "weight": round(e.weight, 4)} for e in items]


def ai_columns(analysis: TextAnalysis) -> dict[str, Any]:
    """The flat ai_* columns of an interaction; `ai_evidence` keeps why each label was given."""
    top = analysis.intents.get(analysis.intent)
    return {
        "ai_model_version": analysis.model_version,
        "ai_sentiment": analysis.sentiment.label,
        "ai_sentiment_score": round(analysis.sentiment.score, 4),
        "ai_sentiment_confidence": round(analysis.sentiment.confidence, 4),
        "ai_language": analysis.language.code[:8],
        "ai_intent": analysis.intent,
        "ai_intent_confidence": round(top.score, 4) if top else None,
        "ai_toxic": analysis.toxicity.toxic,
        "ai_evidence": {
            "sentiment": _evidence(analysis.sentiment.evidence),
            "language": _evidence(analysis.language.evidence),
            "intents": {
                label: {
                    "score": round(item.score, 4),
                    "fired": item.fired,
                    "evidence": _evidence(item.evidence),
                }
                for label, item in analysis.intents.items()
                if item.fired or item.evidence
            },
            "toxicity": _evidence(analysis.toxicity.evidence),
        },
    }


@dataclass
class IngestOutcome:
    seen: int = 0
    new_ids: list[int] = field(default_factory=list)
    fan_ids: list[int] = field(default_factory=list)
    promoted: int = 0
    demoted: int = 0


def known_external_ids(
    session: Session, workspace_id: int, platform: str, external_ids: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    unique = list(dict.fromkeys(external_ids))
    for start in range(0, len(unique), 1000):
        found.update(
            session.scalars(
                select(Interaction.external_id).where(
                    Interaction.workspace_id == workspace_id,
                    Interaction.platform == platform,
                    Interaction.external_id.in_(unique[start : start + 1000]),
                )
            )
        )
    return found


def analyse_comments(comments: Sequence[pb.Comment]) -> dict[str, TextAnalysis]:
    """One batch through the configured analyser, keyed by the comment's external id."""
    if not comments:
        return {}
    results = ai_service.get_analyzer().analyze([c.text or "" for c in comments])
    return {c.external_id: r for c, r in zip(comments, results, strict=True)}


def _hourly_count_key(row: dict[str, Any]) -> tuple[dt.datetime, str, str]:
    hour = row["posted_at"].astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return hour, str(row.get("status") or ""), str(row.get("ai_sentiment") or "")


def store_interaction_rows(
    session: Session,
    workspace_id: int,
    platform: str,
    rows: list[dict[str, Any]],
    external_ids: list[str],
    now: dt.datetime,
) -> dict[str, int]:
    """Insert interaction rows; returns external id -> row id of those THIS call inserted.

    Do-nothing on conflict: a concurrent poll that stored one first wins and nothing fails;
    rows inserted now are told apart by their `ingested_at`.

    Rows go in sorted by their hourly-count key: the counts' triggers (migration 0006) lock one
    counter row per (hour, status, sentiment), and taking those locks in one global order
    makes two concurrent polls of a workspace wait for each other on PostgreSQL instead of
    deadlocking."""
    upsert(
        session,
        Interaction.__table__,  # type: ignore[arg-type]
        sorted(rows, key=_hourly_count_key),
        conflict=["workspace_id", "platform", "external_id"],
        update=[],
    )
    return dict(
        session.execute(
            select(Interaction.external_id, Interaction.id).where(
                Interaction.workspace_id == workspace_id,
                Interaction.platform == platform,
                Interaction.external_id.in_(external_ids),
                Interaction.ingested_at == now,
            )
        ).all()
    )


# What an item is: a comment (a reply when it has a parent) under one of the account's posts,
# a mention of the account, or a direct message to it.
IngestKind = Literal["comment", "mention", "dm"]
MENTION_KINDS = (InteractionKind.mention, InteractionKind.direct_message)
_MENTION_KINDS: dict[str, InteractionKind] = {
    "mention": InteractionKind.mention,
    "dm": InteractionKind.direct_message,
}


def ingest_interactions(
    session: Session,
    account: TrackedAccount,
    items: Sequence[pb.Comment] | Sequence[tuple[pb.Comment, IngestKind]],
    *,
    kind: IngestKind = "comment",
    post_id: int | None = None,
    analyses: dict[str, TextAnalysis] | None = None,
    now: dt.datetime | None = None,
) -> IngestOutcome:
    """Store items of one account, deduplicated by (workspace, platform, external id).

    Each item is a comment, or a ``(comment, kind)`` pair when kinds are mixed (a mention poll
    reads mentions and DMs together); a bare comment has ``kind``. New ones are analysed
    (unless ``analyses`` already has them), linked to their fan and thread (a reply stored
    before its parent is linked when the parent arrives), then the workspace's "new
    interaction" workflows run on them, then the touched fans are re-scored. Items the account
    wrote itself are stored as answered and have no fan.

    Comments belong to ``post_id``; an existing comment only gets its like count refreshed.
    A mention or DM gets the ``post_id`` of the account's stored post it replies to (and is
    then top-level in the inbox, as a comment is); one already stored (e.g. read by the
    comment poll as a reply) is left as it is."""
    now = now or utcnow()
    pairs = [(item, kind) if isinstance(item, pb.Comment) else item for item in items]
    outcome = IngestOutcome(seen=len(pairs))
    unique = list({c.external_id: (c, k) for c, k in pairs}.values())
    if not unique:
        return outcome
    platform = account.platform
    known = known_external_ids(
        session, account.workspace_id, platform, [c.external_id for c, _ in unique]
    )
    _refresh_like_counts(
        session, account, [c for c, k in unique if k == "comment" and c.external_id in known]
    )
    fresh = [(c, k) for c, k in unique if c.external_id not in known]
    if not fresh:
        return outcome
    comments = [c for c, _ in fresh]
    analyses = dict(analyses or {})
    analyses.update(analyse_comments([c for c in comments if c.external_id not in analyses]))
    posts = _replied_posts(session, account, [c for c, k in fresh if k != "comment"])
    others = [c for c in comments if c.author_external_id != account.external_id]
    fan_ids = fan_service.upsert_fans(session, account.workspace_id, others, now=now)
    rows = []
    threaded: list[pb.Comment] = []
    for comment, item_kind in fresh:
        analysis = analyses[comment.external_id]
        own = comment.author_external_id == account.external_id
        parent = comment.parent_external_id
        if item_kind == "comment":
            row_post_id = post_id
            row_kind = InteractionKind.reply if parent else InteractionKind.comment
        else:
            row_post_id = posts.get(parent or "")
            row_kind = _MENTION_KINDS[item_kind]
            if row_post_id:  # a reply to the post itself is top-level, as for comments
                parent = None
        if not (item_kind != "comment" and row_post_id):
            threaded.append(comment)
        rows.append(
            {
                "workspace_id": account.workspace_id,
                "account_id": account.id,
                "post_id": row_post_id,
                "fan_id": None if own else fan_ids.get(comment.author_external_id),
                "platform": platform,
                "kind": row_kind,
                "external_id": comment.external_id,
                "parent_external_id": parent,
                "author_external_id": comment.author_external_id,
                "author_handle": comment.author_handle,
                "author_display_name": comment.author_display_name,
                "text": comment.text or "",
                "url": comment.url,
                "like_count": comment.like_count,
                "posted_at": comment.posted_at,
                "ingested_at": now,
                "status": InteractionStatus.answered if own else InteractionStatus.unread,
                "answered_at": comment.posted_at if own else None,
                "labels": [],
                "priority": base_priority(analysis),
                "hidden": False,
                **ai_columns(analysis),
            }
        )
    stored = store_interaction_rows(
        session, account.workspace_id, platform, rows, [c.external_id for c in comments], now
    )
    link_threads(session, account.workspace_id, platform, threaded)
    outcome.new_ids = [stored[c.external_id] for c in comments if c.external_id in stored]
    for_workflows = [
        stored[c.external_id]
        for c in comments
        if c.external_id in stored and c.author_external_id != account.external_id
    ]
    if for_workflows:
        apply_new_interaction_workflows(session, for_workflows)
    _emit_received(session, account, rows, stored)
    outcome.fan_ids = sorted(set(fan_ids.values()))
    counts = fan_service.refresh_fans(session, account.workspace_id, outcome.fan_ids, now=now)
    outcome.promoted, outcome.demoted = counts.promoted, counts.demoted
    session.flush()
    return outcome


EXCERPT_CHARS = 280


def _emit_received(
    session: Session, account: TrackedAccount, rows: list[dict[str, Any]], stored: dict[str, int]
) -> None:
    """``interaction.received`` for each interaction this call inserted (not for one another
    poll stored first, nor for the account's own replies), in the ingest's transaction."""
    events: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        interaction_id = stored.get(row["external_id"])
        if interaction_id is None or row["author_external_id"] == account.external_id:
            continue
        text = row["text"]
        events.append(
            (
                "interaction.received",
                {
                    "id": interaction_id,
                    "platform": row["platform"],
                    "account_id": account.id,
                    "post_id": row["post_id"],
                    "kind": str(row["kind"]),
                    "external_id": row["external_id"],
                    "url": row["url"],
                    "author": {
                        "handle": row["author_handle"],
                        "display_name": row["author_display_name"],
                        "external_id": row["author_external_id"],
                    },
                    "text_excerpt": text[:EXCERPT_CHARS],
                    "text_truncated": len(text) > EXCERPT_CHARS,
                    "posted_at": row["posted_at"].isoformat(),
                    "sentiment": row.get("ai_sentiment"),
                    "intent": row.get("ai_intent"),
                },
            )
        )
    webhooks.emit_events(session, account.workspace_id, events)


def _refresh_like_counts(
    session: Session, account: TrackedAccount, comments: Sequence[pb.Comment]
) -> None:
    for comment in comments:
        if comment.like_count is not None:
            session.execute(
                update(Interaction)
                .where(
                    Interaction.workspace_id == account.workspace_id,
                    Interaction.platform == account.platform,
                    Interaction.external_id == comment.external_id,
                )
                .values(like_count=comment.like_count)
            )


def _replied_posts(
    session: Session, account: TrackedAccount, items: Sequence[pb.Comment]
) -> dict[str, int]:
    """External id -> id of the account's stored posts that these items reply to."""
    replied_to = sorted({c.parent_external_id for c in items if c.parent_external_id})
    if not replied_to:
        return {}
    return dict(
        session.execute(
            select(Post.external_id, Post.id).where(
                Post.account_id == account.id, Post.external_id.in_(replied_to)
            )
        ).all()
    )


def link_threads(
    session: Session, workspace_id: int, platform: str, fresh: Sequence[pb.Comment]
) -> None:
    """Set `parent_id` on every unlinked reply whose parent is now stored: the new replies, and
    older replies whose parent only arrived now."""
    keys = {c.parent_external_id for c in fresh if c.parent_external_id} | {
        c.external_id for c in fresh
    }
    if not keys:
        return
    keys_list = sorted(k for k in keys if k)
    children = session.execute(
        select(Interaction.id, Interaction.parent_external_id).where(
            Interaction.workspace_id == workspace_id,
            Interaction.platform == platform,
            Interaction.parent_id.is_(None),
            Interaction.parent_external_id.in_(keys_list),
        )
    ).all()
    if not children:
        return
    parents = dict(
        session.execute(
            select(Interaction.external_id, Interaction.id).where(
                Interaction.workspace_id == workspace_id,
                Interaction.platform == platform,
                Interaction.external_id.in_(sorted({p for _, p in children if p})),
            )
        ).all()
    )
    for child_id, parent_external_id in children:
        parent_id = parents.get(parent_external_id) if parent_external_id else None
        if parent_id is not None:
            session.execute(
                update(Interaction).where(Interaction.id == child_id).values(parent_id=parent_id)
            )


def stored_reply_ids(
    session: Session, workspace_id: int, platform: str, parent_external_ids: Sequence[str]
) -> dict[str, set[str]]:
    """Parent external id -> external ids of its replies already stored."""
    found: dict[str, set[str]] = {}
    unique = list(dict.fromkeys(parent_external_ids))
    for start in range(0, len(unique), 1000):
        rows = session.execute(
            select(Interaction.parent_external_id, Interaction.external_id).where(
                Interaction.workspace_id == workspace_id,
                Interaction.platform == platform,
                Interaction.parent_external_id.in_(unique[start : start + 1000]),
            )
        )
        for parent, external_id in rows:
            if parent is not None:
                found.setdefault(parent, set()).add(external_id)
    return found


def newest_stored_id(session: Session, account_id: int) -> str | None:
    """The account's mention cursor: the external id of its newest stored mention or DM.

    There is no column for it, and the platform's `since_id` cannot be derived from what is
    stored: notification ids are not status ids, and we store status ids (so that a mention
    that is also a reply on one of the account's posts, read by the comment poll as well, is
    one interaction)."""
    return session.scalar(
        select(Interaction.external_id)
        .where(Interaction.account_id == account_id, Interaction.kind.in_(MENTION_KINDS))
        .order_by(Interaction.posted_at.desc(), Interaction.id.desc())
        .limit(1)
    )
