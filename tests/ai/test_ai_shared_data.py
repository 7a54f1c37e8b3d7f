"""The shipped models measured on the shared public data (skipped without it, failed in CI)."""

from __future__ import annotations

from pathlib import Path

from socialpulse.ai.analysis import Analyzer, DefaultAnalyzer
from socialpulse.ai.evaluate import evaluate_language, evaluate_sentiment


def test_sentiment_macro_recall_on_val(analyzer: Analyzer, shared_data: Path) -> None:
    assert isinstance(analyzer, DefaultAnalyzer)
    report = evaluate_sentiment(analyzer, shared_data / "sentiment" / "val.tsv")
    assert report["n"] == 2000
    assert report["macro_recall"] >= 0.70


def test_language_accuracy_on_lingua_sentences(shared_data: Path) -> None:
    report = evaluate_language(shared_data / "language" / "lingua-sample.tsv")
    assert report["sentences"]["accuracy"] >= 0.95
