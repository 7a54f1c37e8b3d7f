"""Request and response schemas of the AI endpoints.

`TextAnalysisRead` is the typed JSON form of `socialpulse.ai.base.TextAnalysis` (the same
fields in the same order, so a response is the dataclass's `to_dict()`, key for key).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from socialpulse.ai import responses

# Re-exported for socialpulse.inbox, which imports them from here; they live in `base` (the
# integrator points inbox at socialpulse.ai.base, then these go).
from socialpulse.ai.base import (
    INTENT_LABELS,
    RESPONSE_INTENTS,
    Evidence,
    SentimentLabel,
    TextAnalysis,
)
from socialpulse.analytics.schemas import BestSlot
from socialpulse.kit.params import DB_INT_MAX
from socialpulse.kit.templates import MAX_TEMPLATE_LENGTH, TEMPLATE_VARIABLES, template_variables

__all__ = [
    "INTENT_LABELS",
    "AccountAiProfile",
    "AiConfigRead",
    "AiConfigUpdate",
    "IntentInfoRead",
    "ResponseTemplateChange",
    "ResponseTemplateRead",
    "ResponseTemplatesRead",
    "ResponseTemplatesUpdate",
    "DraftCheck",
    "DraftMode",
    "DraftRequest",
    "DraftSuggestion",
    "DraftUsage",
    "DraftVariant",
    "HashtagSuggestion",
    "AnalyzeBatchRequest",
    "AnalyzeRequest",
    "Backend",
    "CategoryRead",
    "Evidence",
    "EvidenceRead",
    "IntentRead",
    "LanguageRead",
    "SentimentRead",
    "TextAnalysis",
    "TextAnalysisRead",
    "ToxicityRead",
    "WorkspaceAiSummary",
]

# None (left out): the server's configured backend, SOCIALPULSE_AI_BACKEND.
Backend = Annotated[
    str | None,
    Field(
        pattern="^(default|accurate|hf)$",
        description="default, accurate or hf; left out, the server's configured backend.",
    ),
]


ReplyVariable = Literal["fan_name", "fan_handle", "platform", "post_url"]
assert set(get_args(ReplyVariable)) == set(TEMPLATE_VARIABLES), "keep in step with kit.templates"
Variables = Annotated[
    dict[ReplyVariable, Annotated[str, Field(max_length=500)]] | None,
    Field(
        description="Values for the auto-response's variables (fan_name, fan_handle, platform, "
        "post_url); those left out stay as {placeholders} in auto_response."
    ),
]


class AnalyzeRequest(BaseModel):
    # Lengths are checked against the settings in api._check_sizes
    # (SOCIALPULSE_AI_MAX_TEXT_CHARS).
    text: str
    backend: Backend = None
    variables: Variables = None


class AnalyzeBatchRequest(BaseModel):
    # The 1,000-text limit is checked in the service so the caller gets a 413, not a 422.
    texts: list[str]
    backend: Backend = None
    variables: Variables = None


class _Read(BaseModel):
    # Read from the analysis dataclasses as well as from stored JSON.
    model_config = ConfigDict(from_attributes=True)


class EvidenceRead(_Read):
    """Why a label was given (see `socialpulse.ai.base.Evidence`)."""

    source: str
    value: str
    weight: float


class SentimentRead(_Read):
    label: SentimentLabel
    score: float
    confidence: float
    probabilities: dict[str, float]
    evidence: list[EvidenceRead] = Field(default_factory=list)


class LanguageRead(_Read):
    code: str
    confidence: float
    evidence: list[EvidenceRead] = Field(default_factory=list)


class IntentRead(_Read):
    label: str
    score: float
    fired: bool
    evidence: list[EvidenceRead] = Field(default_factory=list)


class CategoryRead(_Read):
    label: str | None
    confidence: float
    scores: dict[str, float]
    evidence: list[EvidenceRead] = Field(default_factory=list)


class ToxicityRead(_Read):
    toxic: bool
    score: float
    evidence: list[EvidenceRead] = Field(default_factory=list)


class TextAnalysisRead(_Read):
    """`POST /ai/analyze`, `GET /posts/{id}/analysis`: every label of a text with its evidence."""

    text: str
    sentiment: SentimentRead
    language: LanguageRead
    intent: str
    intents: dict[str, IntentRead]
    category: CategoryRead
    toxicity: ToxicityRead
    keywords: list[str]
    hashtags: list[str]
    mentions: list[str]
    emojis: list[str]
    urls: list[str]
    model_version: str
    backend: str
    auto_response: str | None = Field(
        default=None,
        description="The workspace's response template for the detected intent and language, "
        "rendered, when the intent requires a response and its score reaches the workspace's "
        "auto_response_threshold (GET /ai/config); null otherwise, and for stored post "
        "analyses.",
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="Whether the detected intent expects an answer (GET /ai/intents)."
    )
    @property
    def requires_response(self) -> bool:
        return self.intent in RESPONSE_INTENTS


class WorkspaceAiSummary(BaseModel):
    """`GET /ai/summary`: counts of labels over the workspace's analysed captions."""

    days: int
    texts_analysed: int
    texts_pending: int = Field(description="Captions of the period not analysed yet.")
    model_version: str | None = Field(description="Null when the analyser is unavailable.")
    sentiment: dict[str, int]
    intent: dict[str, int]
    language: dict[str, int]
    category: dict[str, int]


class AccountAiProfile(BaseModel):
    """`GET /accounts/{id}/ai-profile`: what an account posts about, and how well it lands."""

    account_id: int
    days: int
    posts_analysed: int
    posts_pending: int
    primary_category: str | None
    category_distribution: dict[str, float] = Field(description="Shares, summing to 1.")
    language_distribution: dict[str, float] = Field(description="Shares, summing to 1.")
    sentiment_mix: dict[str, int]
    intent_mix: dict[str, int]
    average_sentiment: float | None = Field(description="Mean sentiment score, -1..1.")
    content_quality_score: float | None = Field(description="0..100; see the formula.")
    content_quality_formula: str


# --- drafting help (publishing composer) -------------------------------------------------------


class DraftMode(enum.StrEnum):
    draft = "draft"  # write a post from a brief (or from rough text)
    rewrite = "rewrite"  # rewrite the given text for each platform
    suggest = "suggest"  # no model call: hashtags, checks and the next slot only


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        default=None, max_length=10_000, description="The post so far (rewrite, suggest)."
    )
    brief: str | None = Field(
        default=None, max_length=2_000, description="What the post should say (draft)."
    )
    platforms: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=10, description="Platforms to write for, e.g. bluesky."
    )
    account_id: int | None = Field(
        default=None,
        ge=1,
        le=DB_INT_MAX,
        description="Account whose history gives hashtags and the next best slot.",
    )
    language: str | None = Field(
        default=None, max_length=35, description="Language to write in, e.g. en, de or pt-BR."
    )
    tone: str | None = Field(default=None, max_length=60, description="e.g. friendly, formal.")
    mode: DraftMode = DraftMode.draft


class DraftVariant(BaseModel):
    platform: str
    text: str
    length: int = Field(description="In the platform's unit (characters or graphemes).")
    limit: int | None = Field(description="The platform's limit for a post; null: unknown.")
    unit: Literal["characters", "graphemes"]
    rewritten: bool = Field(description="The first answer was too long and was shortened.")
    truncated: bool = Field(description="Still too long after that: cut at a word boundary.")


class DraftCheck(BaseModel):
    level: Literal["info", "warning", "error"]
    message: str
    platform: str | None = None


class HashtagSuggestion(BaseModel):
    hashtag: str = Field(description="Without the #.")
    posts: int = Field(description="The account's posts that used it.")
    engagement_per_post: float = Field(
        description="Average engagement of those posts relative to the account's median post."
    )


class DraftUsage(BaseModel):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_cents: int


class DraftSuggestion(BaseModel):
    variants: dict[str, DraftVariant] | None = Field(
        description="Per platform, the model's text; null without a model (or in suggest mode)."
    )
    hashtags: list[HashtagSuggestion]
    checks: list[DraftCheck]
    next_best_slot: BestSlot | None
    model: str | None
    usage: DraftUsage | None


# --- intents, response templates and settings ------------------------------------------------


class IntentInfoRead(BaseModel):
    """`GET /ai/intents`: an intent the analyser can return."""

    intent: str
    description: str
    requires_response: bool = Field(
        description="Answered: question, complaint, praise, purchase_intent, collaboration. "
        "Not: spam (a reply rewards it) and other (nothing was asked)."
    )


class ResponseTemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    intent: str
    language: str = Field(description="ISO 639-1, as the analyser reports it.")
    text: str
    is_default: bool = Field(description="The built-in text; false: the workspace's own.")
    default_text: str | None = Field(
        description="The built-in text for this intent and language; null for a language "
        "only the workspace has a template for."
    )
    updated_at: dt.datetime | None = Field(description="When the workspace last set its own.")


class ResponseTemplatesRead(BaseModel):
    """`GET/PUT /ai/response-templates`: the templates in use, for every answered intent."""

    templates: list[ResponseTemplateRead]
    fallback_language: str = Field(
        description="Used when no template exists for the detected language."
    )
    variables: list[str] = Field(description="The variables a template may use, as {name}.")


class ResponseTemplateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: str = Field(max_length=32, description="question, complaint, praise, ...")
    language: str = Field(max_length=8, description="ISO 639-1 code, e.g. en, es, pt.")
    text: str | None = Field(
        max_length=MAX_TEMPLATE_LENGTH,
        description="The workspace's text; null goes back to the built-in one.",
    )

    @field_validator("intent")
    @classmethod
    def _intent(cls, intent: str) -> str:
        return responses.check_intent(intent)

    @field_validator("language")
    @classmethod
    def _language(cls, language: str) -> str:
        return responses.check_language(language)

    @field_validator("text")
    @classmethod
    def _text(cls, text: str | None) -> str | None:
        if text is None:
            return None
        text = text.strip()
        if not text:
            raise ValueError("template cannot be blank; send null to use the default")
        template_variables(text)
        return text


class ResponseTemplatesUpdate(BaseModel):
    """Sets the listed templates; the others stay as they are."""

    model_config = ConfigDict(extra="forbid")

    templates: list[ResponseTemplateChange] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _once_each(self) -> ResponseTemplatesUpdate:
        seen: set[tuple[str, str]] = set()
        for change in self.templates:
            key = (change.intent, change.language)
            if key in seen:
                raise ValueError(f"{change.intent} in {change.language} is listed twice")
            seen.add(key)
        return self


class AiConfigRead(BaseModel):
    """`GET /ai/config`: the workspace's AI settings and the models in use."""

    auto_response_threshold: float = Field(
        description="POST /ai/analyze proposes an auto_response from this intent score up."
    )
    auto_response_threshold_default: float
    analysis_backend: str = Field(description="SOCIALPULSE_AI_BACKEND: default, accurate, hf.")
    analysis_model_version: str | None = Field(
        description="Null when the configured backend cannot be loaded."
    )
    drafting_model: str | None = Field(
        description="SOCIALPULSE_LLM_MODEL, the drafting help's model; null: none configured."
    )
    template_languages: list[str] = Field(
        description="Languages with built-in templates; a workspace may add any ISO 639-1 code."
    )
    fallback_language: str
    template_variables: list[str]


class AiConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_response_threshold: float = Field(ge=responses.MIN_AUTO_RESPONSE_THRESHOLD, le=1.0)
