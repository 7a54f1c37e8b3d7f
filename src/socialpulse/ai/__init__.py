"""Text intelligence: sentiment, language, intents, topic, toxicity and keywords, offline.

``analyze(texts)`` returns one `TextAnalysis` per text; see `analysis` for how the labels
are made and `weights/MODEL_CARD.md` for the trained models and their measured scores.
"""

from socialpulse.ai.backends import analyze, get_analyzer
from socialpulse.ai.base import BackendUnavailable, TextAnalysis

__all__ = ["BackendUnavailable", "TextAnalysis", "analyze", "get_analyzer"]
