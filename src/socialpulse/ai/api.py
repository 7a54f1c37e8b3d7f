"""The AI endpoints: analyse texts, read what was stored about a workspace's content, and the
workspace's response templates and AI settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Query
from sqlalchemy.orm import Session

from socialpulse.ai import responses, service
from socialpulse.ai.base import INTENT_DESCRIPTIONS, INTENT_LABELS, BackendUnavailable
from socialpulse.ai.llm import LlmConfig
from socialpulse.ai.schemas import (
    AccountAiProfile,
    AiConfigRead,
    AiConfigUpdate,
    AnalyzeBatchRequest,
    AnalyzeRequest,
    IntentInfoRead,
    ReplyVariable,
    ResponseTemplateRead,
    ResponseTemplatesRead,
    ResponseTemplatesUpdate,
    TextAnalysisRead,
    WorkspaceAiSummary,
)
from socialpulse.config import Settings
from socialpulse.errors import InvalidInput, NotFound, PayloadTooLarge, error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.kit.templates import TEMPLATE_VARIABLES
from socialpulse.workspaces.deps import AppSettings, CachedReads, CurrentSubject, DbSession
from socialpulse.workspaces.tenancy import Subject

router = api_router(prefix="/api/v1", tags=["ai"], responses=error_responses(404))


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


def _run(
    session: Session,
    subject: Subject,
    texts: list[str],
    backend: str | None,
    variables: Mapping[ReplyVariable, str] | None,
) -> list[TextAnalysisRead]:
    try:
        results = service.analyze_texts(texts, backend)
    except BackendUnavailable as exc:
        raise InvalidInput(str(exc)) from exc
    templates = responses.load(session, subject)  # once per request, whatever the batch
    values: dict[str, str] = dict(variables.items()) if variables else {}
    out = []
    for result in results:
        read = TextAnalysisRead.model_validate(result)
        read.auto_response = templates.auto_response(result, values)
        out.append(read)
    return out


@router.post("/ai/analyze", response_model=TextAnalysisRead)
def analyze_one(
    body: AnalyzeRequest, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> TextAnalysisRead:
    """Sentiment, language, intents, topic, toxicity, keywords and entities of one text, each
    label with its evidence. Longer texts than SOCIALPULSE_AI_MAX_TEXT_CHARS are refused.
    `requires_response` says whether the intent expects an answer; `auto_response` is the
    workspace's template for it when the intent's score reaches the workspace's threshold."""
    _check_sizes([body.text], settings, batch=False)
    return _run(session, subject, [body.text], body.backend, body.variables)[0]


@router.post(
    "/ai/analyze/batch",
    response_model=list[TextAnalysisRead],
    responses=error_responses(
        413, descriptions={413: "More than 1,000 texts, or over the character budget"}
    ),
)
def analyze_batch(
    body: AnalyzeBatchRequest, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> list[TextAnalysisRead]:
    """Up to 1,000 texts per call, results in input order. Each text is at most
    SOCIALPULSE_AI_MAX_TEXT_CHARS long (422 names the first longer one) and all together at
    most SOCIALPULSE_AI_MAX_BATCH_CHARS (413)."""
    _check_sizes(body.texts, settings, batch=True)
    return _run(session, subject, body.texts, body.backend, body.variables)


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


# --- intents, response templates and settings ------------------------------------------------


@router.get("/ai/intents", response_model=list[IntentInfoRead])
def intents(subject: CurrentSubject) -> list[IntentInfoRead]:
    """Every intent the analyser can return, and whether it expects an answer."""
    return [
        IntentInfoRead(
            intent=label,
            description=INTENT_DESCRIPTIONS[label],
            requires_response=responses.requires_response(label),
        )
        for label in INTENT_LABELS
    ]


def _templates_read(found: list[responses.EffectiveTemplate]) -> ResponseTemplatesRead:
    return ResponseTemplatesRead(
        templates=[ResponseTemplateRead.model_validate(item) for item in found],
        fallback_language=responses.FALLBACK_LANGUAGE,
        variables=list(TEMPLATE_VARIABLES),
    )


@router.get("/ai/response-templates", response_model=ResponseTemplatesRead)
def read_response_templates(session: DbSession, subject: CurrentSubject) -> ResponseTemplatesRead:
    """The templates in use for each answered intent and language: the workspace's own, or the
    built-in one (`is_default`)."""
    return _templates_read(responses.effective_templates(session, subject))


@router.put(
    "/ai/response-templates",
    response_model=ResponseTemplatesRead,
    responses=error_responses(403),
)
def update_response_templates(
    body: ResponseTemplatesUpdate, session: DbSession, subject: CurrentSubject
) -> ResponseTemplatesRead:
    """Set the workspace's text for the listed intents and languages (admin); `text: null`
    brings the built-in one back. Templates not listed stay as they are."""
    changes = [
        responses.TemplateChange(item.intent, item.language, item.text) for item in body.templates
    ]
    return _templates_read(responses.set_templates(session, subject, changes))


def _config_read(threshold: float, settings: Settings) -> AiConfigRead:
    try:
        version: str | None = service.model_version(None)
    except BackendUnavailable:
        version = None
    llm = LlmConfig.from_settings(settings)
    return AiConfigRead(
        auto_response_threshold=threshold,
        auto_response_threshold_default=responses.DEFAULT_AUTO_RESPONSE_THRESHOLD,
        analysis_backend=settings.ai_backend,
        analysis_model_version=version,
        drafting_model=llm.model if llm is not None else None,
        template_languages=list(responses.BUILTIN_LANGUAGES),
        fallback_language=responses.FALLBACK_LANGUAGE,
        template_variables=list(TEMPLATE_VARIABLES),
    )


@router.get("/ai/config", response_model=AiConfigRead)
def read_config(session: DbSession, subject: CurrentSubject, settings: AppSettings) -> AiConfigRead:
    """The workspace's auto-response threshold (0.85 unless changed) and the models in use."""
    return _config_read(responses.auto_response_threshold(session, subject), settings)


@router.put("/ai/config", response_model=AiConfigRead, responses=error_responses(403))
def update_config(
    body: AiConfigUpdate, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> AiConfigRead:
    """Change the auto-response threshold, 0.5 to 1 (admin)."""
    threshold = responses.set_auto_response_threshold(
        session, subject, body.auto_response_threshold
    )
    return _config_read(threshold, settings)
