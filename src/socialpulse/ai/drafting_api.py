"""The composer's drafting help: ``POST /api/v1/publishing/drafts/suggest``.

It lives in ``ai`` so that it needs nothing of the publishing domain; the path is the
composer's."""

from __future__ import annotations

from socialpulse.ai import drafting
from socialpulse.ai.llm import chat_model
from socialpulse.ai.schemas import DraftRequest, DraftSuggestion
from socialpulse.errors import error_responses
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import AppSettings, CurrentSubject, DbSession
from socialpulse.workspaces.models import Role

router = api_router(
    prefix="/api/v1/publishing/drafts",
    tags=["publishing"],
    responses=error_responses(404),
)


@router.post(
    "/suggest",
    response_model=DraftSuggestion,
    responses=error_responses(
        403,
        422,
        502,
        503,
        descriptions={
            502: "The language model failed: HTTP 5xx on every attempt, a rejected key, or an "
            "answer that is not a chat completion",
            503: "The language model could not be reached, timed out, kept rate limiting, or "
            "its address is not allowed",
        },
    ),
)
def suggest(
    body: DraftRequest, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> DraftSuggestion:
    """Draft (from a brief) or rewrite a post per platform with the configured language model,
    within each platform's length limit; without a model, or with `mode=suggest`, offline
    suggestions only. Always: the account's best-performing hashtags, length, hashtag and link
    checks, and the account's next best slot. Editors and above (model calls cost money)."""
    subject.require(Role.editor)
    return drafting.draft_post(session, subject, body, model=chat_model(settings))
