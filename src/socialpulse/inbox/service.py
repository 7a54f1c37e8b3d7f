"""Interactions: polling comments from the platforms, storing them (deduplicated, threaded,
analysed, linked to fans), and the inbox operations on them.

Polling never holds a database transaction across a platform call: the poll is read in one
short transaction, the platform is called, the comments are analysed, and everything is written
in a second one (on SQLite an open write transaction would hold the lock for the whole call).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Text, and_, cast, func, or_, select, update
from sqlalchemy.orm import Session

from socialpulse import ai
from socialpulse.accounts import budget as budget_service
from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, Post, TrackedAccount
from socialpulse.accounts.service import (
    SourceFactory,
    build_source,
    credentials_of,
    get_account,
    platform_name,
)
from socialpulse.ai.schemas import Evidence, TextAnalysis
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox.models import (
    CommentPoll,
    Fan,
    InboxSettings,
    Interaction,
    InteractionKind,
    InteractionStatus,
    Workflow,
)
from socialpulse.kit.params import DB_INT_MAX
from socialpulse.kit.security import SecretBox
from socialpulse.kit.upsert import upsert
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.workspaces.models import Membership, Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

# --- polling constants -------------------------------------------------------------------------

# Posts older than this are no longer polled: comments on old posts are rare, and the budget is
# better spent on fresh ones.
POLL_MAX_POST_AGE_DAYS = 30
# Pages read per poll at most (100 comments a page on most platforms).
POLL_MAX_PAGES = 20
# Platforms that list comments newest first (YouTube commentThreads.list?order=time): a poll
# starts at the first page each time and stops at the first page without a new comment; their
# page tokens are not kept (they expire and would skip new comments). Every other platform lists
# oldest first (or in one page): the poll resumes from the cursor of the last page it read.
NEWEST_FIRST_PLATFORMS = frozenset({"youtube"})
# Quota units of one comments page (YouTube commentThreads.list costs 1 unit; the others have
# no unit quota and their budget, if any, counts calls).
UNITS_PER_POLL = 1
# Threads whose missing replies one poll reads, and reply pages per thread (100 replies a page on
# YouTube, 1 quota unit each). A thread listing carries only some replies of a long thread
# (YouTube embeds 5), so a poll reads the rest through `ReplySource.list_replies`; these bounds
# keep one poll of a busy video from costing more than ~50 units where a normal poll costs 1.
# Threads left over wait for the next poll, which reads the thread listing's first page again:
# threads from that page are left over first, since they are the ones it is sure to see. No
# per-thread cursor is kept, so a thread whose count stays above what `list_replies` returns
# (longer than the page limit, or counting replies the platform does not list) is re-read up to
# the limits by every poll that sees it: the limits bound that cost too.
POLL_MAX_REPLY_THREADS = 10
POLL_MAX_REPLY_PAGES = 5

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
# The interval ladder: (post younger than, interval while active). A post without a new comment
# in the last day moves one rung slower. 15 min → 1 h → 6 h → 24 h.
POLL_LADDER: tuple[tuple[float, float], ...] = (
    (1 * DAY, 15 * MINUTE),
    (3 * DAY, 1 * HOUR),
    (7 * DAY, 6 * HOUR),
    (POLL_MAX_POST_AGE_DAYS * DAY, 24 * HOUR),
)
MAX_INTERVAL_S = 24 * HOUR
ACTIVE_WITHIN_S = DAY
# After provider failures.
TRANSIENT_RETRY_S = 10 * MINUTE
PERMANENT_RETRY_S = DAY
AUTH_RETRY_S = DAY
GONE_RETRY_S = 7 * DAY

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


# --- the interval formula and the budget plan (pure) -------------------------------------------


def poll_interval_s(post_age_s: float, active: bool) -> float:
    """Seconds until the next poll of a post: by age, 15 min (< 1 day), 1 h (< 3 days),
    6 h (< 7 days), 24 h (older); one rung slower when the post had no new comment in the last
    day (`active` False)."""
    rungs = [interval for _, interval in POLL_LADDER]
    index = next(
        (i for i, (younger_than, _) in enumerate(POLL_LADDER) if post_age_s < younger_than),
        len(rungs) - 1,
    )
    if not active:
        index = min(index + 1, len(rungs) - 1)
    return rungs[index]


def poll_priority(post_age_s: float, active: bool) -> float:
    """Higher first: fresh and active posts before old and quiet ones."""
    return (100.0 if active else 0.0) + 100.0 / (1.0 + post_age_s / DAY)


@dataclass(frozen=True)
class PollDemand:
    poll_id: int
    interval_s: float
    priority: float


@dataclass(frozen=True)
class PollPlan:
    poll_id: int
    interval_s: float | None  # None: skipped until the next quota day
    units: int  # what this poll is expected to use until the quota day ends


def units_until(horizon_s: float, interval_s: float, units_per_poll: int) -> int:
    return units_per_poll * max(1, math.ceil(horizon_s / interval_s))


def fit_polls_to_budget(
    demands: Sequence[PollDemand],
    *,
    remaining_units: int,
    horizon_s: float,
    units_per_poll: int = UNITS_PER_POLL,
    max_interval_s: float = MAX_INTERVAL_S,
) -> list[PollPlan]:
    """Fit the wanted polls into what is left of today's budget.

    Each poll would use ``units_per_poll x ceil(horizon / interval)`` units until the quota day
    ends (``horizon_s``). When the sum exceeds ``remaining_units``, every interval is stretched
    by the same factor ``sum / remaining`` (capped at ``max_interval_s``); if that still does not
    fit (the cap), polls are kept by priority, highest first, and the rest skipped until the next
    quota day. Returned in priority order."""
    ordered = sorted(demands, key=lambda d: (-d.priority, d.poll_id))
    needed = sum(units_until(horizon_s, d.interval_s, units_per_poll) for d in ordered)
    factor = 1.0 if needed <= remaining_units else needed / max(remaining_units, 1)
    plans: list[PollPlan] = []
    left = remaining_units
    for demand in ordered:
        interval = min(max_interval_s, demand.interval_s * factor)
        interval = max(interval, demand.interval_s)
        units = units_until(horizon_s, interval, units_per_poll)
        if units <= left:
            plans.append(PollPlan(demand.poll_id, interval, units))
            left -= units
        else:
            plans.append(PollPlan(demand.poll_id, None, 0))
    return plans


# --- storing interactions ----------------------------------------------------------------------


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
    """One batch through `socialpulse.ai.analyze`, keyed by the comment's external id."""
    if not comments:
        return {}
    results = ai.analyze([c.text or "" for c in comments])
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


def ingest_comments(
    session: Session,
    account: TrackedAccount,
    comments: Sequence[pb.Comment],
    *,
    post_id: int | None = None,
    analyses: dict[str, TextAnalysis] | None = None,
    now: dt.datetime | None = None,
) -> IngestOutcome:
    """Store comments of one account, deduplicated by (workspace, platform, external id).

    New ones are analysed (unless `analyses` already has them), linked to their fan and thread
    (a reply stored before its parent is linked when the parent arrives), then the workspace's
    "new interaction" workflows run on them, then the touched fans are re-scored. Comments the
    account wrote itself are stored as answered and have no fan. Existing ones only get their
    like count refreshed."""
    now = now or utcnow()
    outcome = IngestOutcome(seen=len(comments))
    unique = list({c.external_id: c for c in comments}.values())
    if not unique:
        return outcome
    platform = account.platform
    known = known_external_ids(
        session, account.workspace_id, platform, [c.external_id for c in unique]
    )
    fresh = [c for c in unique if c.external_id not in known]
    for comment in unique:
        if comment.external_id in known and comment.like_count is not None:
            session.execute(
                update(Interaction)
                .where(
                    Interaction.workspace_id == account.workspace_id,
                    Interaction.platform == platform,
                    Interaction.external_id == comment.external_id,
                )
                .values(like_count=comment.like_count)
            )
    if not fresh:
        return outcome
    analyses = dict(analyses or {})
    missing = [c for c in fresh if c.external_id not in analyses]
    analyses.update(analyse_comments(missing))
    others = [c for c in fresh if c.author_external_id != account.external_id]
    fan_ids = fan_service.upsert_fans(session, account.workspace_id, others, now=now)
    rows = []
    for comment in fresh:
        analysis = analyses[comment.external_id]
        own = comment.author_external_id == account.external_id
        rows.append(
            {
                "workspace_id": account.workspace_id,
                "account_id": account.id,
                "post_id": post_id,
                "fan_id": None if own else fan_ids.get(comment.author_external_id),
                "platform": platform,
                "kind": (
                    InteractionKind.reply if comment.parent_external_id else InteractionKind.comment
                ),
                "external_id": comment.external_id,
                "parent_external_id": comment.parent_external_id,
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
        session, account.workspace_id, platform, rows, [c.external_id for c in fresh], now
    )
    _link_threads(session, account.workspace_id, platform, fresh)
    outcome.new_ids = [stored[c.external_id] for c in fresh if c.external_id in stored]
    for_workflows = [
        stored[c.external_id]
        for c in fresh
        if c.external_id in stored and c.author_external_id != account.external_id
    ]
    if for_workflows:
        from socialpulse.inbox.workflows import apply_new_interaction_workflows

        apply_new_interaction_workflows(session, for_workflows)
    outcome.fan_ids = sorted(set(fan_ids.values()))
    counts = fan_service.refresh_fans(session, account.workspace_id, outcome.fan_ids, now=now)
    outcome.promoted, outcome.demoted = counts.promoted, counts.demoted
    session.flush()
    return outcome


def _link_threads(
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


# --- polling one post --------------------------------------------------------------------------


@dataclass
class PollResult:
    poll_id: int
    status: str  # completed | deferred | retry | failed | skipped
    comments_seen: int = 0
    interactions_new: int = 0
    api_calls: int = 0
    error: str | None = None
    next_poll_at: dt.datetime | None = None


def supports_comments(platform: str) -> bool:
    try:
        return registry.get_provider(platform).supports(registry.Capability.COMMENTS)
    except registry.UnknownPlatformError:
        return False


def _no_comments_reason(platform: str) -> str:
    return (
        f"{platform_name(platform)} does not let applications read comments, so socialpulse "
        "cannot poll them"
    )


@dataclass
class _Pages:
    comments: list[pb.Comment] = field(default_factory=list)
    resume_cursor: str | None = None
    error: pb.ProviderError | None = None
    # External ids on the page the next poll starts with (newest first: the first page; oldest
    # first: the last page read, at `resume_cursor`).
    revisited: set[str] = field(default_factory=set)


def _read_comments(
    source: Any,
    post_external_id: str,
    cursor: str | None,
    newest_first: bool,
    is_known: Callable[[Sequence[pb.Comment]], int],
) -> _Pages:
    """Pages of comments until the listing ends (or, newest-first, a page brings nothing new).

    `resume_cursor` is where the next poll starts: the cursor of the last page read (that page
    is read again next time, which is cheap and catches comments added to it meanwhile). A
    failure after some pages keeps what was read."""
    pages = _Pages(resume_cursor=None if newest_first else cursor)
    start = None if newest_first else cursor
    for _ in range(POLL_MAX_PAGES):
        try:
            page = source.list_comments(post_external_id, since_cursor=start)
        except pb.ProviderError as exc:
            pages.error = exc
            return pages
        pages.comments.extend(page.items)
        if not newest_first or start is None:
            pages.revisited = {c.external_id for c in page.items}
        if not newest_first:
            pages.resume_cursor = start
        if not page.next_cursor or page.next_cursor == start:
            break
        if newest_first and page.items and is_known(page.items) == len(page.items):
            break
        start = page.next_cursor
    return pages


@dataclass
class _ReplyReading:
    threads_read: int = 0
    threads_left: int = 0


def _threads_missing_replies(
    pages: _Pages, stored_replies: Callable[[Sequence[str]], dict[str, set[str]]]
) -> list[tuple[pb.Comment, set[str]]]:
    """(top-level comment, reply ids already known) of every thread read in this poll whose
    `reply_count` exceeds the replies known: those in this batch and those already stored.
    Threads the next poll is sure to read again come last."""
    inline: dict[str, set[str]] = {}
    tops: dict[str, pb.Comment] = {}
    for item in pages.comments:
        if item.parent_external_id:
            inline.setdefault(item.parent_external_id, set()).add(item.external_id)
        else:
            tops[item.external_id] = item
    wanting = [
        top
        for top in tops.values()
        if (top.reply_count or 0) > len(inline.get(top.external_id, ()))
    ]
    if not wanting:
        return []
    stored = stored_replies([top.external_id for top in wanting])
    missing: list[tuple[pb.Comment, set[str]]] = []
    for top in wanting:
        known = inline.get(top.external_id, set()) | stored.get(top.external_id, set())
        if (top.reply_count or 0) > len(known):
            missing.append((top, known))
    missing.sort(key=lambda item: item[0].external_id in pages.revisited)  # stable
    return missing


def _read_missing_replies(
    source: pb.ReplySource,
    post_external_id: str,
    pages: _Pages,
    stored_replies: Callable[[Sequence[str]], dict[str, set[str]]],
) -> _ReplyReading:
    """Page through `list_replies` of the threads with replies the thread listing left out,
    adding them to `pages.comments` (bounded by POLL_MAX_REPLY_THREADS / POLL_MAX_REPLY_PAGES).

    The listing of a thread stops once every reply it counts is known, so a thread costs only
    the pages it needs. Any provider failure (budget, quota, platform down) stops the reading
    and lands in `pages.error`, keeping what was read, as in `_read_comments`; a thread deleted
    since the listing is skipped, not reported as the post gone."""
    threads = _threads_missing_replies(pages, stored_replies)
    reading = _ReplyReading()
    in_batch = {c.external_id for c in pages.comments}
    for top, known in threads[:POLL_MAX_REPLY_THREADS]:
        reply_count = top.reply_count or 0
        listed: set[str] = set()
        cursor: str | None = None
        for _ in range(POLL_MAX_REPLY_PAGES):
            try:
                page = source.list_replies(post_external_id, top.external_id, cursor)
            except pb.NotFoundError:
                log.info(
                    "inbox.poll.thread_gone",
                    platform=top.platform.value,
                    comment_external_id=top.external_id,
                )
                break
            except pb.ProviderError as exc:
                pages.error = exc
                break
            unseen = [r for r in page.items if r.external_id not in listed]
            # Replies already stored are ingested too (their like counts refresh); those the
            # thread listing carried are in the batch already.
            pages.comments.extend(r for r in unseen if r.external_id not in in_batch)
            ids = {r.external_id for r in unseen}
            in_batch |= ids
            listed |= ids
            known |= ids
            if len(known) >= reply_count or not page.next_cursor or page.next_cursor == cursor:
                break
            # A page with nothing unseen is the same page served again (comments.list ignored
            # `pageToken` for a while in 2024): following its token would never end.
            if not unseen:
                break
            cursor = page.next_cursor
        if pages.error is not None:
            break
        reading.threads_read += 1
    reading.threads_left = len(threads) - reading.threads_read
    return reading


def poll_post_comments(
    db: Database,
    poll_id: int,
    *,
    box: SecretBox,
    source_factory: SourceFactory | None = None,
    now: dt.datetime | None = None,
) -> PollResult:
    """Read the new comments of one post and store them; schedule the next poll.

    On platforms whose thread listing carries only some replies of a long thread (a
    `ReplySource`: YouTube), the replies it left out are read thread by thread afterwards.

    Outcomes users see on the poll (`last_error`) and the account: budget → deferred to the
    platform's next quota day; rejected credentials → the account needs reconnecting; platform
    down → retried in 10 min (or its Retry-After); a post gone → polled again in a week."""
    now = now or utcnow()
    with db.session(readonly=True) as session:
        poll = session.get(CommentPoll, poll_id)
        if poll is None:
            raise NotFound(f"comment poll {poll_id} not found")
        account = session.get(TrackedAccount, poll.account_id)
        post = session.get(Post, poll.post_id)
        assert account is not None and post is not None
        session.expunge_all()
    bound = log.bind(poll_id=poll_id, account_id=account.id, platform=account.platform)
    if not supports_comments(account.platform):
        reason = _no_comments_reason(account.platform)
        return _finish_poll(db, poll_id, "skipped", reason, now + dt.timedelta(days=365))
    info = registry.get_provider(account.platform)
    observer = BudgetObserver(db, account.workspace_id)
    newest_first = account.platform in NEWEST_FIRST_PLATFORMS

    def is_known(items: Sequence[pb.Comment]) -> int:
        with db.session(readonly=True) as session:
            ids = [c.external_id for c in items]
            return len(known_external_ids(session, account.workspace_id, account.platform, ids))

    def stored_replies(parent_external_ids: Sequence[str]) -> dict[str, set[str]]:
        with db.session(readonly=True) as session:
            return _stored_reply_ids(
                session, account.workspace_id, account.platform, parent_external_ids
            )

    try:
        source = (source_factory or build_source)(info, credentials_of(account, box), observer)
    except InvalidInput as exc:
        return _finish_poll(
            db, poll_id, "failed", str(exc), now + dt.timedelta(seconds=AUTH_RETRY_S)
        )
    pages = _read_comments(source, post.external_id, poll.cursor, newest_first, is_known)
    replies = _ReplyReading()
    # After a failed listing the platform is refusing or failing: no reply calls on top of it.
    if pages.error is None and isinstance(source, pb.ReplySource):
        replies = _read_missing_replies(source, post.external_id, pages, stored_replies)
    # Analyse outside any transaction: only what is not stored yet.
    with db.session(readonly=True) as session:
        known = known_external_ids(
            session, account.workspace_id, account.platform, [c.external_id for c in pages.comments]
        )
    fresh = [
        c for c in {c.external_id: c for c in pages.comments}.values() if c.external_id not in known
    ]
    analyses = analyse_comments(fresh)
    with db.session() as session:
        observer.flush(session)
        fresh_account = session.get(TrackedAccount, account.id)
        assert fresh_account is not None
        outcome = ingest_comments(
            session, fresh_account, pages.comments, post_id=post.id, analyses=analyses, now=now
        )
        stored = session.get(CommentPoll, poll_id)
        assert stored is not None
        stored.cursor = pages.resume_cursor
        stored.last_polled_at = now
        stored.interactions_seen += len(outcome.new_ids)
        if outcome.new_ids:
            stored.last_new_at = now
        status, message, next_at = "completed", None, None
        error = pages.error
        if error is None:
            active = stored.last_new_at is not None and (
                (now - stored.last_new_at).total_seconds() < ACTIVE_WITHIN_S
            )
            age = (now - post.posted_at).total_seconds()
            next_at = now + dt.timedelta(seconds=poll_interval_s(age, active))
        else:
            status, message, next_at = _classify(info.display_name, error, now)
            if isinstance(error, pb.AuthError):
                session.execute(
                    update(TrackedAccount)
                    .where(TrackedAccount.id == account.id)
                    .values(status=AccountStatus.needs_reconnect, status_message=message)
                )
        stored.last_error = message
        stored.next_poll_at = next_at
        session.flush()
    level = bound.info if error is None else bound.warning
    level(
        "inbox.poll.finished",
        status=status,
        seen=len(pages.comments),
        new=len(outcome.new_ids),
        reply_threads_read=replies.threads_read,
        reply_threads_left=replies.threads_left,
        error=message,
    )
    return PollResult(
        poll_id=poll_id,
        status=status,
        comments_seen=len(pages.comments),
        interactions_new=len(outcome.new_ids),
        api_calls=observer.calls,
        error=message,
        next_poll_at=next_at,
    )


def _stored_reply_ids(
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


def _classify(name: str, error: pb.ProviderError, now: dt.datetime) -> tuple[str, str, dt.datetime]:
    """(status, message for the user, next poll) of a provider failure."""
    if isinstance(error, pb.BudgetDeferredError):
        wait = error.retry_after or budget_service.seconds_until_next_quota_day(error.platform, now)
        return "deferred", str(error), now + dt.timedelta(seconds=wait)
    if isinstance(error, pb.AuthError):
        message = f"{name} rejected the stored credentials ({error}); reconnect the account"
        return "failed", message, now + dt.timedelta(seconds=AUTH_RETRY_S)
    if isinstance(error, pb.NotFoundError):
        return (
            "failed",
            f"{name} no longer has this post ({error})",
            now + dt.timedelta(seconds=GONE_RETRY_S),
        )
    if isinstance(error, pb.TransientError | pb.QuotaExhaustedError | pb.CircuitOpenError):
        wait = max(TRANSIENT_RETRY_S, float(error.retry_after or 0))
        return (
            "retry",
            f"{name} did not answer ({error}); retrying later",
            now + dt.timedelta(seconds=wait),
        )
    return (
        "failed",
        f"{name} refused the request: {error}",
        now + dt.timedelta(seconds=PERMANENT_RETRY_S),
    )


def _finish_poll(
    db: Database, poll_id: int, status: str, message: str, next_at: dt.datetime
) -> PollResult:
    with db.session() as session:
        poll = session.get(CommentPoll, poll_id)
        assert poll is not None
        poll.last_error, poll.next_poll_at = message, next_at
    log.info("inbox.poll.finished", poll_id=poll_id, status=status, error=message)
    return PollResult(poll_id=poll_id, status=status, error=message, next_poll_at=next_at)


# --- the polling schedule ----------------------------------------------------------------------


def ensure_polls(
    session: Session, now: dt.datetime, *, account_id: int | None = None, own_only: bool = True
) -> int:
    """Create a `CommentPoll` (due now) for every recent post of active, connected accounts
    whose platform exposes comments. Only your own accounts are polled on schedule (replying to
    a competitor's audience is not what the inbox is for); `account_id` polls any one account."""
    platforms = [
        name for name, info in registry.all_providers().items() if info.supports("comments")
    ]
    query = (
        select(Post.id, Post.account_id, Post.workspace_id)
        .join(TrackedAccount, TrackedAccount.id == Post.account_id)
        .outerjoin(CommentPoll, CommentPoll.post_id == Post.id)
        .where(
            CommentPoll.id.is_(None),
            Post.posted_at >= now - dt.timedelta(days=POLL_MAX_POST_AGE_DAYS),
            TrackedAccount.platform.in_(platforms),
        )
    )
    if account_id is not None:
        query = query.where(TrackedAccount.id == account_id)
    else:
        query = query.where(
            TrackedAccount.active.is_(True),
            TrackedAccount.status != AccountStatus.needs_reconnect,
        )
        if own_only:
            query = query.where(TrackedAccount.is_own.is_(True))
    rows = session.execute(query).all()
    for post_id, acct_id, workspace_id in rows:
        session.add(
            CommentPoll(
                workspace_id=workspace_id, account_id=acct_id, post_id=post_id, next_poll_at=now
            )
        )
    session.flush()
    return len(rows)


def _enqueue_poll(session: Session, poll: CommentPoll, run_after: dt.datetime | None = None) -> int:
    import socialpulse.inbox.tasks  # noqa: F401  (registers the job handler)
    from socialpulse.worker.jobs import enqueue_job

    job = enqueue_job(
        session,
        "inbox.poll_comments",
        {"poll_id": poll.id},
        workspace_id=poll.workspace_id,
        dedupe_key=f"inbox.poll:{poll.id}",
        run_after=run_after,
    )
    return job.id


def schedule_polls(db: Database, now: dt.datetime | None = None) -> int:
    """Create polls for new posts and queue the polls that are due, within each workspace's
    daily budget per platform. Returns how many poll jobs were queued.

    Per (workspace, platform) with a budget, the wanted interval of each recent post is fitted
    into the units left today by `fit_polls_to_budget`: a poll is due when its `next_poll_at`
    has come *and* its (possibly stretched) interval has passed since the last poll; polls the
    budget cannot carry wait for the next quota day."""
    now = now or utcnow()
    queued = 0
    with db.session() as session:
        ensure_polls(session, now)
        rows = session.execute(
            select(CommentPoll, Post.posted_at, TrackedAccount.platform)
            .join(Post, Post.id == CommentPoll.post_id)
            .join(TrackedAccount, TrackedAccount.id == CommentPoll.account_id)
            .where(
                TrackedAccount.active.is_(True),
                TrackedAccount.is_own.is_(True),
                TrackedAccount.status != AccountStatus.needs_reconnect,
                Post.posted_at >= now - dt.timedelta(days=POLL_MAX_POST_AGE_DAYS),
            )
            .order_by(CommentPoll.id)
        ).all()
        groups: dict[tuple[int, str], list[tuple[CommentPoll, dt.datetime]]] = {}
        for poll, posted_at, platform in rows:
            groups.setdefault((poll.workspace_id, platform), []).append((poll, posted_at))
        for (workspace_id, platform), polls in groups.items():
            queued += _schedule_group(session, workspace_id, platform, polls, now)
    if queued:
        log.info("inbox.polls.scheduled", queued=queued)
    return queued


def _schedule_group(
    session: Session,
    workspace_id: int,
    platform: str,
    polls: list[tuple[CommentPoll, dt.datetime]],
    now: dt.datetime,
) -> int:
    by_id = {poll.id: poll for poll, _ in polls}
    demands = []
    for poll, posted_at in polls:
        age = max(0.0, (now - posted_at).total_seconds())
        active = poll.last_new_at is not None and (
            (now - poll.last_new_at).total_seconds() < ACTIVE_WITHIN_S
        )
        demands.append(
            PollDemand(poll.id, poll_interval_s(age, active), poll_priority(age, active))
        )
    limit = budget_service.budget_for(session, workspace_id, platform)
    if limit is None:
        plans = [PollPlan(d.poll_id, d.interval_s, 0) for d in demands]
        left: int | None = None
    else:
        day = budget_service.quota_day(platform, now)
        left = max(
            0, limit.usable_units - budget_service.units_used(session, workspace_id, platform, day)
        )
        plans = fit_polls_to_budget(
            demands,
            remaining_units=left,
            horizon_s=budget_service.seconds_until_next_quota_day(platform, now),
        )
    queued = 0
    next_day = now + dt.timedelta(
        seconds=budget_service.seconds_until_next_quota_day(platform, now)
    )
    for plan in plans:
        poll = by_id[plan.poll_id]
        if plan.interval_s is None:
            if poll.next_poll_at <= now:
                poll.next_poll_at = next_day
                poll.last_error = (
                    f"{platform_name(platform)} budget: waits for the next quota day so fresher "
                    "posts can be polled"
                )
            continue
        due = poll.next_poll_at <= now and (
            poll.last_polled_at is None
            or (now - poll.last_polled_at).total_seconds() >= plan.interval_s
        )
        if not due:
            continue
        if left is not None:
            if left < UNITS_PER_POLL:
                break
            left -= UNITS_PER_POLL
        _enqueue_poll(session, poll)
        queued += 1
    session.flush()
    return queued


def request_account_poll(
    session: Session, subject: Subject, account_id: int, now: dt.datetime | None = None
) -> list[int]:
    """Poll every recent post of one account now (editor). Returns the poll ids queued."""
    subject.require(Role.editor)
    now = now or utcnow()
    account = get_account(session, subject, account_id)
    if not supports_comments(account.platform):
        raise InvalidInput(_no_comments_reason(account.platform))
    ensure_polls(session, now, account_id=account.id)
    polls = session.scalars(
        scoped(select(CommentPoll), subject)
        .join(Post, Post.id == CommentPoll.post_id)
        .where(
            CommentPoll.account_id == account.id,
            Post.posted_at >= now - dt.timedelta(days=POLL_MAX_POST_AGE_DAYS),
        )
        .order_by(Post.posted_at.desc())
    ).all()
    for poll in polls:
        _enqueue_poll(session, poll)
    return [poll.id for poll in polls]


# --- the inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InteractionFilters:
    platform: str | None = None
    account_id: int | None = None
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


def list_interactions(
    session: Session,
    subject: Subject,
    filters: InteractionFilters,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Interaction], str | None]:
    """Newest first (posted_at, then id), keyset-paginated: pass `next_cursor` back."""
    query = scoped(select(Interaction), subject)
    f = filters
    equal = {
        Interaction.platform: f.platform,
        Interaction.account_id: f.account_id,
        Interaction.status: f.status,
        Interaction.ai_sentiment: f.sentiment,
        Interaction.ai_intent: f.intent,
        Interaction.ai_language: f.language,
        Interaction.assignee_user_id: f.assignee_user_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
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
    if f.since is not None:
        query = query.where(Interaction.posted_at >= f.since)
    if f.until is not None:
        query = query.where(Interaction.posted_at < f.until)
    if cursor:
        at, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                Interaction.posted_at < at,
                and_(Interaction.posted_at == at, Interaction.id < ident),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(Interaction.posted_at.desc(), Interaction.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].posted_at, rows[-1].id)
    return rows, next_cursor


def get_interaction(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    return get_scoped(session, Interaction, interaction_id, subject)


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


# --- fans and settings -------------------------------------------------------------------------


def get_fan(session: Session, subject: Subject, fan_id: int) -> Fan:
    return get_scoped(session, Fan, fan_id, subject)


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


def get_settings(session: Session, subject: Subject) -> InboxSettings:
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
        row = get_settings(session, subject)
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
