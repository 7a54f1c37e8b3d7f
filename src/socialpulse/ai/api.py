"""The AI endpoints: analyse texts, and read what was stored about a workspace's content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from socialpulse.ai import service
from socialpulse.ai.base import BackendUnavailable
from socialpulse.ai.schemas import (
    AccountAiProfile,
    AnalyzeBatchRequest,
    AnalyzeRequest,
    TextAnalysisRead,
    WorkspaceAiSummary,
)
from socialpulse.config import Settings
from socialpulse.errors import InvalidInput, NotFound, PayloadTooLarge, error_responses
from socialpulse.kit.params import Id
from socialpulse.workspaces.deps import AppSettings, CachedReads, CurrentSubject, DbSession

router = APIRouter(prefix="/api/v1", tags=["ai"], responses=error_responses(404))


def _check_sizes(texts: list[str], settings: Settings, *, batch: bool) -> None:
    """Analysis costs CPU per character: 1,000 texts of 20,000 characters took 100 s. Each
    text has a length limit (422 naming the text) and a batch a character budget (413)."""
    limit = settings.ai_max_text_chars
    for index, text in enumerate(texts):
        if len(text) > limit:
            loc: list[str | int] = ["body", "texts", index] if batch else ["body", "text"]
            raise InvalidInput(
                f"{'.'.join(str(part) for part in loc)} has {len(text)} characters; "
                f"at most {limit} are analysed per text",
                details=[
                    {
                        "loc": loc,
                        "msg": f"longer than {limit} characters",
                        "type": "string_too_long",
                    }
                ],
            )
    total = sum(len(text) for text in texts)
    if total > settings.ai_max_batch_chars:
        raise PayloadTooLarge(
            f"{total} characters in one batch; send at most {settings.ai_max_batch_chars} "
            "per request"
        )


def _run(texts: list[str], backend: str | None) -> list[TextAnalysisRead]:
    try:
        return [
            TextAnalysisRead.model_validate(result)
            for result in service.analyze_texts(texts, backend)
        ]
    except BackendUnavailable as exc:
        raise InvalidInput(str(exc)) from exc


@router.post("/ai/analyze", response_model=TextAnalysisRead)
def analyze_one(
    body: AnalyzeRequest, subject: CurrentSubject, settings: AppSettings
) -> TextAnalysisRead:
    """Sentiment, language, intents, topic, toxicity, keywords and entities of one text, each
    label with its evidence. Longer texts than SOCIALPULSE_AI_MAX_TEXT_CHARS are refused."""
    _check_sizes([body.text], settings, batch=False)
    return _run([body.text], body.backend)[0]


@router.post(
    "/ai/analyze/batch",
    response_model=list[TextAnalysisRead],
    responses=error_responses(
        413, descriptions={413: "More than 1,000 texts, or over the character budget"}
    ),
)
def analyze_batch(
    body: AnalyzeBatchRequest, subject: CurrentSubject, settings: AppSettings
) -> list[TextAnalysisRead]:
    """Up to 1,000 texts per call, results in input order. Each text is at most
    SOCIALPULSE_AI_MAX_TEXT_CHARS long (422 names the first longer one) and all together at
    most SOCIALPULSE_AI_MAX_BATCH_CHARS (413)."""
    _check_sizes(body.texts, settings, batch=True)
    return _run(body.texts, body.backend)


@router.get("/ai/summary", response_model=WorkspaceAiSummary)
def summary(
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> object:
    """Sentiment and intent mix (and languages, topics) of the workspace's content."""
    return cache.respond(
        WorkspaceAiSummary, lambda: service.workspace_summary(session, subject, days=days)
    )


@router.get("/accounts/{account_id}/ai-profile", response_model=AccountAiProfile)
def account_profile(
    account_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    cache: CachedReads,
    days: Annotated[int, Query(ge=1, le=365)] = 90,
) -> object:
    """Primary topic, topic and language distributions, tone, and a content quality score."""
    return cache.respond(
        AccountAiProfile,
        lambda: AccountAiProfile.model_validate(
            service.account_profile(session, subject, account_id, days=days)
        ),
    )


@router.get("/posts/{post_id}/analysis", response_model=TextAnalysisRead)
def post_analysis(post_id: Id, session: DbSession, subject: CurrentSubject) -> TextAnalysisRead:
    """The full analysis of a post's caption, with evidence; 404 until it is analysed."""
    analysis = service.post_analysis(session, subject, post_id)  # 404 for another workspace's
    if analysis is None:
        raise NotFound(f"post {post_id} has not been analysed yet")
    return analysis
