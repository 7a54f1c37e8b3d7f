"""What `analyze` returns: one `TextAnalysis` per text, every label with its evidence.

Plain dataclasses (cheap to build thousands per second); `TextAnalysis.to_dict()` is the
JSON-serialisable form and `TextAnalysis.to_record()` the flat one-line form the CLI prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

SentimentLabel = Literal["negative", "neutral", "positive"]
INTENT_LABELS: tuple[str, ...] = (
    "question",
    "complaint",
    "praise",
    "purchase_intent",
    "collaboration",
    "spam",
    "other",
)
RECORD_KEYS: tuple[str, ...] = (
    "text",
    "sentiment",
    "sentiment_score",
    "sentiment_confidence",
    "language",
    "language_confidence",
    "intent",
    "intents",
    "category",
    "category_confidence",
    "toxic",
    "keywords",
    "hashtags",
    "mentions",
    "emojis",
)


@dataclass(slots=True)
class Evidence:
    """Why a label was given.

    source: ``feature`` (a word or word pair and its weight in a trained model), ``rule``
    (a named rule and the text it matched), ``term`` (a lexicon term) or ``model`` (another
    model's output that a rule used).
    """

    source: str
    value: str
    weight: float


@dataclass(slots=True)
class Sentiment:
    label: SentimentLabel
    score: float  # P(positive) - P(negative), in -1..1
    confidence: float  # probability of the label
    probabilities: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Language:
    code: str  # ISO 639-1, or "und"
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Intent:
    label: str
    score: float  # 0..1; the intent fires at 0.5
    fired: bool
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Category:
    label: str | None  # None when no category's terms matched
    confidence: float
    scores: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Toxicity:
    toxic: bool
    score: float
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class TextAnalysis:
    text: str
    sentiment: Sentiment
    language: Language
    intent: str  # the strongest fired intent, or "other"
    intents: dict[str, Intent]
    category: Category
    toxicity: Toxicity
    keywords: list[str]
    hashtags: list[str]
    mentions: list[str]
    emojis: list[str]
    urls: list[str]
    model_version: str
    backend: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_record(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sentiment": self.sentiment.label,
            "sentiment_score": self.sentiment.score,
            "sentiment_confidence": self.sentiment.confidence,
            "language": self.language.code,
            "language_confidence": self.language.confidence,
            "intent": self.intent,
            "intents": {label: item.score for label, item in self.intents.items()},
            "category": self.category.label,
            "category_confidence": self.category.confidence,
            "toxic": self.toxicity.toxic,
            "keywords": self.keywords,
            "hashtags": self.hashtags,
            "mentions": self.mentions,
            "emojis": self.emojis,
        }


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
