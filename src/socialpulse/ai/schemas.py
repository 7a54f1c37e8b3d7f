"""Request and response schemas of the AI endpoints.

`TextAnalysisRead` is the typed JSON form of `socialpulse.ai.base.TextAnalysis` (the same
fields in the same order, so a response is the dataclass's `to_dict()`, key for key).
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Re-exported for socialpulse.inbox, which imports them from here; they live in `base` (the
# integrator points inbox at socialpulse.ai.base, then these go).
from socialpulse.ai.base import INTENT_LABELS, Evidence, SentimentLabel, TextAnalysis
from socialpulse.analytics.schemas import BestSlot
from socialpulse.kit.params import DB_INT_MAX

__all__ = [
    "INTENT_LABELS",
    "AccountAiProfile",
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


class AnalyzeRequest(BaseModel):
    # Lengths are checked against the settings in api._check_sizes
    # (SOCIALPULSE_AI_MAX_TEXT_CHARS).
    text: str
    backend: Backend = None


class AnalyzeBatchRequest(BaseModel):
    # The 1,000-text limit is checked in the service so the caller gets a 413, not a 422.
    texts: list[str]
    backend: Backend = None


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
