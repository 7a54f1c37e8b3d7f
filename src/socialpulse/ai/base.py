"""Types the ai modules share: what `analyze` returns, the analyser Protocol, and its errors.

What `analyze` returns: one `TextAnalysis` per text, every label with its evidence. Plain
dataclasses (cheap to build thousands per second); `TextAnalysis.to_dict()` is the
JSON-serialisable form and `TextAnalysis.to_record()` the flat one-line form the CLI prints.
The API's typed form of the same is `socialpulse.ai.schemas.TextAnalysisRead`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

# The shipped arrays (default and accurate backends) and their model card.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
BACKENDS = ("default", "accurate", "hf")
ANY_LANGUAGE = "*"

SentimentLabel = Literal["negative", "neutral", "positive"]
# What a text is: somebody's comment, or a creator's own caption (where promotion is normal,
# so only scam patterns make it spam; see `socialpulse.ai.analysis`).
TextKind = Literal["comment", "caption"]
INTENT_LABELS: tuple[str, ...] = (
    "question",
    "complaint",
    "praise",
    "purchase_intent",
    "collaboration",
    "spam",
    "other",
)
# What each intent means (GET /ai/intents), and which ones expect an answer: an author who
# asks, complains, wants to buy, proposes to work together or praises is answered (thanking a
# fan is what keeps them commenting); spam is not (a reply rewards it, and shows it to more
# people) and neither is "other" (nothing was asked or said to the account).
INTENT_DESCRIPTIONS: dict[str, str] = {
    "question": "Asks something: a question mark, or a sentence opening like a question.",
    "complaint": "Reports a problem or dissatisfaction: a late order, a refund, a bad service.",
    "praise": "Compliments or thanks the author: admiration, gratitude for something loved.",
    "purchase_intent": "Wants to buy: where to buy, the price, ordering, a link to the product.",
    "collaboration": "Proposes working together: a collab, sponsorship, business enquiry.",
    "spam": "Junk or self-promotion: bait links, follow-for-follow, 'check out my channel'.",
    "other": "None of the above fired: nothing is asked or said to the account.",
}
RESPONSE_INTENTS: frozenset[str] = frozenset(
    {"question", "complaint", "praise", "purchase_intent", "collaboration"}
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
        """What `dataclasses.asdict` gives (same keys, order and values, fresh containers),
        written out: asdict's generic recursion and deep copies cost more than the analysis
        itself on a batch of captions."""
        sentiment, lang, category, toxicity = (
            self.sentiment,
            self.language,
            self.category,
            self.toxicity,
        )
        return {
            "text": self.text,
            "sentiment": {
                "label": sentiment.label,
                "score": sentiment.score,
                "confidence": sentiment.confidence,
                "probabilities": dict(sentiment.probabilities),
                "evidence": _evidence(sentiment.evidence),
            },
            "language": {
                "code": lang.code,
                "confidence": lang.confidence,
                "evidence": _evidence(lang.evidence),
            },
            "intent": self.intent,
            "intents": {
                key: {
                    "label": item.label,
                    "score": item.score,
                    "fired": item.fired,
                    "evidence": _evidence(item.evidence),
                }
                for key, item in self.intents.items()
            },
            "category": {
                "label": category.label,
                "confidence": category.confidence,
                "scores": dict(category.scores),
                "evidence": _evidence(category.evidence),
            },
            "toxicity": {
                "toxic": toxicity.toxic,
                "score": toxicity.score,
                "evidence": _evidence(toxicity.evidence),
            },
            "keywords": list(self.keywords),
            "hashtags": list(self.hashtags),
            "mentions": list(self.mentions),
            "emojis": list(self.emojis),
            "urls": list(self.urls),
            "model_version": self.model_version,
            "backend": self.backend,
        }

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


def _evidence(items: list[Evidence]) -> list[dict[str, Any]]:
    return [{"source": e.source, "value": e.value, "weight": e.weight} for e in items]


SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")


class BackendUnavailable(RuntimeError):
    """The requested backend is not installed or its model files are missing."""


class Analyzer(Protocol):
    backend: str
    model_version: str

    def analyze(self, texts: Sequence[str], kind: TextKind = "comment") -> list[TextAnalysis]: ...
