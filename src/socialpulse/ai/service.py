"""Text analysis applied to stored content.

Every caption is analysed once per model version, in batches, by a durable job; results are
kept flat on `posts` (for filters and aggregation) and in full, with evidence, in
`post_analyses`. A new model version makes every post pending again, so re-analysis happens
by itself. Captions are analysed as captions (``kind="caption"``): promotion is what a
creator's own caption is for, so only scam patterns make one spam, and the content quality
score's "share of toxic or spam captions" counts those, not "link in bio" or "use code SUMMER".

`backend=None` everywhere means the configured backend (``SOCIALPULSE_AI_BACKEND``). When it
cannot be loaded (`BackendUnavailable`: not installed, model files missing) the analysis raises
instead of falling back to another backend: the job fails with that message in its
``last_error`` and the posts stay pending, to be analysed once the backend is installed.

Language-model calls (drafting help, ``ai.drafting``) are recorded one row per call in
``ai_usage`` (``record_usage``); ROI reads their cost through ``ai_costs_cents``.

A workspace's response templates (``ai.responses``) reach other domains through
``response_templates``: the inbox drafts its intent-based suggested replies from them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, PostAnalysis, TrackedAccount
from socialpulse.ai import responses
from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.base import Analyzer, BackendUnavailable, TextAnalysis, TextKind
from socialpulse.ai.models import AiUsage
from socialpulse.ai.responses import ResponseTemplates
from socialpulse.ai.schemas import TextAnalysisRead, WorkspaceAiSummary
from socialpulse.db import Database, utcnow
from socialpulse.errors import PayloadTooLarge
from socialpulse.kit.gcpause import paused_gc
from socialpulse.kit.upsert import upsert
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
MAX_BATCH_TEXTS = 1000
# A 3 % engagement rate is what social media benchmarks commonly call "good"; at or above it
# the engagement part of the quality score is full.
GOOD_ENGAGEMENT_RATE = 0.03
QUALITY_FORMULA = (
    "100 x (0.4 x min(1, engagement_rate / 0.03) + 0.2 x (average_sentiment + 1) / 2"
    " + 0.2 x primary_category_share + 0.2 x (1 - share of toxic or spam captions))"
)


def model_version(backend: str | None = None) -> str:
    return get_analyzer(backend).model_version


def analyze_texts(
    texts: list[str], backend: str | None = None, kind: TextKind = "comment"
) -> list[TextAnalysis]:
    if len(texts) > MAX_BATCH_TEXTS:
        raise PayloadTooLarge(
            f"{len(texts)} texts in one request; send at most {MAX_BATCH_TEXTS} per batch"
        )
    return get_analyzer(backend).analyze(texts, kind)


def response_templates(session: Session, subject: Subject) -> ResponseTemplates:
    """The workspace's response templates (its own, else the built-in ones) and its
    auto-response threshold; load once per pass, then look up per interaction."""
    return responses.load(session, subject)


def _pending(version: str) -> Any:
    return or_(Post.ai_model_version.is_(None), Post.ai_model_version != version)


def _flat(result: TextAnalysis) -> dict[str, Any]:
    return {
        "ai_model_version": result.model_version,
        "ai_category": result.category.label,
        "ai_category_confidence": round(result.category.confidence, 4),
        "ai_sentiment": result.sentiment.label,
        "ai_sentiment_score": round(result.sentiment.score, 4),
        "ai_sentiment_confidence": round(result.sentiment.confidence, 4),
        "ai_language": result.language.code,
        "ai_language_confidence": round(result.language.confidence, 4),
        "ai_intent": result.intent,
        "ai_toxic": result.toxicity.toxic,
    }


def _analyze_and_store(
    db: Database, analyzer: Analyzer, batch: Sequence[tuple[int, str | None]]
) -> None:
    """Analyse one batch of (post id, caption) and write both forms in one transaction: the
    flat columns by primary key (an ORM bulk UPDATE, which the workspace data version follows
    to the posts' workspaces), the full analyses with one upsert."""
    results = analyzer.analyze([caption or "" for _, caption in batch], kind="caption")
    now = utcnow()
    flat = []
    full = []
    for (post_id, _), result in zip(batch, results, strict=True):
        flat.append({"id": post_id, "ai_analysed_at": now, **_flat(result)})
        full.append(
            {
                "post_id": post_id,
                "model_version": result.model_version,
                "analysis": result.to_dict(),
                "analysed_at": now,
            }
        )
    with db.session() as session:
        session.execute(update(Post), flat)
        upsert(
            session,
            PostAnalysis.__table__,  # type: ignore[arg-type]
            full,
            conflict=["post_id"],
            update=["model_version", "analysis", "analysed_at"],
        )


def analyze_pending_posts(
    db: Database,
    *,
    workspace_id: int | None = None,
    backend: str | None = None,
    batch_size: int = BATCH_SIZE,
    heartbeat: Callable[[], None] = lambda: None,
) -> int:
    """Analyse every post whose analysis is missing or from another model version.

    Idempotent: a batch reads, analyses, then writes in one short transaction; a crash between
    batches leaves the rest pending for the next run."""
    analyzer = get_analyzer(backend)
    version = analyzer.model_version
    done = 0
    while True:
        with db.session(readonly=True) as session:
            query = select(Post.id, Post.caption).where(_pending(version))
            if workspace_id is not None:
                query = query.where(Post.workspace_id == workspace_id)
            batch = session.execute(query.order_by(Post.id).limit(batch_size)).all()
        if not batch:
            return done
        with paused_gc():
            _analyze_and_store(db, analyzer, [(post_id, caption) for post_id, caption in batch])
        done += len(batch)
        heartbeat()
        log.info("ai.posts.analysed", count=len(batch), total=done, model_version=version)


def post_analysis(session: Session, subject: Subject, post_id: int) -> TextAnalysisRead | None:
    """The stored analysis of a post in the subject's workspace (NotFound otherwise), None until
    it is analysed."""
    post = get_scoped(session, Post, post_id, subject)
    row = session.get(PostAnalysis, post.id)
    return TextAnalysisRead.model_validate(row.analysis) if row is not None else None


def _shares(counter: Counter[str], total: int) -> dict[str, float]:
    return {key: round(count / total, 4) for key, count in counter.most_common()} if total else {}


def account_profile(
    session: Session, subject: Subject, account_id: int, *, days: int = 90
) -> dict[str, Any]:
    """What an account posts about, in which languages, in which tone, and how well it lands:
    the fields of `AccountAiProfile` (a dict: the dashboard reads it by key)."""
    get_scoped(session, TrackedAccount, account_id, subject)
    since = utcnow() - dt.timedelta(days=days)
    rows = session.execute(
        scoped(
            select(
                Post.ai_category,
                Post.ai_language,
                Post.ai_sentiment,
                Post.ai_sentiment_score,
                Post.ai_intent,
                Post.ai_toxic,
                Post.engagement_rate,
            ),
            subject,
        ).where(
            Post.account_id == account_id,
            Post.posted_at >= since,
            Post.ai_model_version.is_not(None),
        )
    ).all()
    total = len(rows)
    categories = Counter(r.ai_category for r in rows if r.ai_category)
    languages = Counter(r.ai_language for r in rows if r.ai_language)
    sentiments = Counter(r.ai_sentiment for r in rows if r.ai_sentiment)
    intents = Counter(r.ai_intent for r in rows if r.ai_intent)
    scores = [r.ai_sentiment_score for r in rows if r.ai_sentiment_score is not None]
    rates = [r.engagement_rate for r in rows if r.engagement_rate is not None]
    average_sentiment = sum(scores) / len(scores) if scores else None
    engagement = sum(rates) / len(rates) if rates else None
    primary = categories.most_common(1)[0] if categories else None
    unsafe = sum(1 for r in rows if r.ai_toxic or r.ai_intent == "spam")
    quality = None
    if total and engagement is not None and average_sentiment is not None:
        quality = round(
            100
            * (
                0.4 * min(1.0, engagement / GOOD_ENGAGEMENT_RATE)
                + 0.2 * (average_sentiment + 1) / 2
                + 0.2 * (primary[1] / total if primary else 0.0)
                + 0.2 * (1 - unsafe / total)
            ),
            1,
        )
    pending = session.scalar(
        scoped(select(func.count()).select_from(Post), subject).where(
            Post.account_id == account_id, Post.posted_at >= since, Post.ai_model_version.is_(None)
        )
    )
    return {
        "account_id": account_id,
        "days": days,
        "posts_analysed": total,
        "posts_pending": pending or 0,
        "primary_category": primary[0] if primary else None,
        "category_distribution": _shares(categories, total),
        "language_distribution": _shares(languages, total),
        "sentiment_mix": dict(sentiments),
        "intent_mix": dict(intents),
        "average_sentiment": round(average_sentiment, 4) if average_sentiment is not None else None,
        "content_quality_score": quality,
        "content_quality_formula": QUALITY_FORMULA,
    }


def workspace_summary(session: Session, subject: Subject, *, days: int = 30) -> WorkspaceAiSummary:
    """Sentiment, intent, language and category mix over the workspace's recent content."""
    since = utcnow() - dt.timedelta(days=days)
    rows = session.execute(
        scoped(
            select(Post.ai_sentiment, Post.ai_intent, Post.ai_language, Post.ai_category), subject
        ).where(Post.posted_at >= since, Post.ai_model_version.is_not(None))
    ).all()
    pending = session.scalar(
        scoped(select(func.count()).select_from(Post), subject).where(
            Post.posted_at >= since, Post.ai_model_version.is_(None)
        )
    )
    try:
        version: str | None = model_version()
    except BackendUnavailable as exc:
        # The summary of what is stored does not need the analyser; the failing analysis jobs
        # say why it is missing.
        log.warning("ai.backend.unavailable", error=str(exc))
        version = None
    return WorkspaceAiSummary(
        days=days,
        texts_analysed=len(rows),
        texts_pending=pending or 0,
        model_version=version,
        sentiment=dict(Counter(r.ai_sentiment for r in rows if r.ai_sentiment)),
        intent=dict(Counter(r.ai_intent for r in rows if r.ai_intent)),
        language=dict(Counter(r.ai_language for r in rows if r.ai_language)),
        category=dict(Counter(r.ai_category for r in rows if r.ai_category)),
    )


# --- language-model usage ----------------------------------------------------------------------


def record_usage(
    session: Session,
    workspace_id: int,
    *,
    purpose: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    cost_cents: int,
) -> AiUsage:
    """Append one model call's usage (flushed; the caller's transaction commits it)."""
    row = AiUsage(
        workspace_id=workspace_id,
        purpose=purpose[:40],
        model=model[:200],
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_cents=cost_cents,
    )
    session.add(row)
    session.flush()
    log.info(
        "ai.usage.recorded",
        workspace_id=workspace_id,
        purpose=purpose,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_cents=cost_cents,
    )
    return row


def ai_costs_cents(
    session: Session, workspace_id: int, since: dt.datetime, until: dt.datetime
) -> int:
    """What the workspace's language-model calls cost in [since, until), in cents."""
    subject = Subject(workspace_id=workspace_id, role=Role.viewer)
    total = session.scalar(
        scoped(
            select(func.coalesce(func.sum(AiUsage.cost_cents), 0)).select_from(AiUsage), subject
        ).where(AiUsage.created_at >= since, AiUsage.created_at < until)
    )
    return int(total or 0)
