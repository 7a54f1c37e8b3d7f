"""Request and response schemas of the AI endpoints.

`TextAnalysisRead` is the typed JSON form of `socialpulse.ai.base.TextAnalysis` (the same
fields in the same order, so a response is the dataclass's `to_dict()`, key for key).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Re-exported for socialpulse.inbox, which imports them from here; they live in `base` (the
# integrator points inbox at socialpulse.ai.base, then these go).
from socialpulse.ai.base import INTENT_LABELS, Evidence, SentimentLabel, TextAnalysis

__all__ = [
    "INTENT_LABELS",
    "AccountAiProfile",
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
