"""What `socialpulse ai eval` prints (`evaluate.format_report`)."""

from __future__ import annotations

import numpy as np

from socialpulse.ai.evaluate import format_report
from socialpulse.ai.training.fit import spam_scores


def test_eval_prints_the_spam_false_positive_rate_per_video_and_pooled() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    analyzer = spam_scores(labels, np.array([1, 1, 0, 1, 0, 0, 0], dtype=bool))
    model = spam_scores(labels, np.array([1, 1, 1, 1, 1, 0, 0], dtype=bool))
    report = {
        "backend": "default",
        "model_version": "m",
        "sentiment_val": {
            "n": 10,
            "macro_recall": 0.7,
            "accuracy": 0.7,
            "recall_negative": 0.7,
            "recall_neutral": 0.7,
            "recall_positive": 0.7,
        },
        "language": {},
        "intents": {
            "complaint_5fold": {"C": 4.0, "f1": 0.76, "macro_recall": 0.8, "accuracy": 0.8},
            "spam_leave_one_video_out": {
                "C": 16.0,
                "thresholds": {"Psy": 0.5, "LMFAO": 0.58},
                "analyzer": analyzer,
                "model_at_0.5": model,
                "analyzer_per_video": {"Psy": analyzer, "LMFAO": model},
            },
        },
        "throughput": {"texts": 10, "batch_texts_per_s": 1, "single_texts_per_s": 1},
    }
    lines = format_report(report).splitlines()
    spam = next(line for line in lines if line.startswith("spam (leave one video out"))
    assert "thresholds 0.50/0.58" in spam
    assert "false-positive rate on ham 25.00% (1 of 4)" in spam
    assert "recall 0.6667" in spam and "precision 0.6667" in spam
    assert "spam false-positive rate per held-out video: Psy 25.00%  LMFAO 50.00%" in lines
    model_line = next(line for line in lines if line.startswith("spam model alone"))
    assert "false-positive rate on ham 50.00%" in model_line


def test_eval_prints_each_language_with_its_cross_validated_figure() -> None:
    report = {
        "backend": "default",
        "model_version": "m",
        "sentiment_val": {
            "n": 10,
            "macro_recall": 0.7,
            "accuracy": 0.7,
            "recall_negative": 0.7,
            "recall_neutral": 0.7,
            "recall_positive": 0.7,
        },
        "sentiment_multi": {
            "languages": {
                "de": {
                    "n": 321,
                    "macro_recall": 0.69,
                    "macro_f1": 0.68,
                    "cv": {"n": 1833, "macro_recall": 0.66, "macro_f1": 0.655},
                },
                "fr": {"n": 322, "macro_recall": 0.61, "macro_f1": 0.6, "cv": {}},
                "hi": {
                    "n": 323,
                    "macro_recall": 0.4,
                    "macro_f1": 0.38,
                    "routed_macro_f1": 0.35,
                    "detected": 0.52,
                    "cv": {},
                },
            },
            "average": {"macro_recall": 0.65, "macro_f1": 0.64, "routed_macro_f1": 0.6},
            "cv_average_macro_f1": 0.6123,
        },
        "language": {},
        "throughput": {"texts": 10, "batch_texts_per_s": 1, "single_texts_per_s": 1},
    }
    lines = format_report(report).splitlines()
    assert (
        "sentiment de (val.tsv, n=321): macro-recall 0.6900  macro-F1 0.6800  | CV on train: "
        "macro-recall 0.6600  macro-F1 0.6550"
    ) in lines
    assert "sentiment fr (val.tsv, n=322): macro-recall 0.6100  macro-F1 0.6000" in lines
    # As a user meets it: routed by the detected language, with how often that was right.
    assert (
        "sentiment hi (val.tsv, n=323): macro-recall 0.4000  macro-F1 0.3800  | as detected: "
        "macro-F1 0.3500 (52% detected as hi)"
    ) in lines
    average = next(line for line in lines if line.startswith("sentiment, 3 languages"))
    assert "macro-F1 0.6400  | CV macro-F1 0.6123  | as detected: macro-F1 0.6000" in (average)
    assert "XLM-T twitter-XLM-R, test: 0.69" in average
    # The English line is still there, first.
    assert lines[1].startswith("sentiment (val.tsv, n=10): macro-recall 0.7000")


def test_eval_prints_englishs_cross_validated_figure_beside_val() -> None:
    sentiment_val = {
        "n": 2000,
        "macro_recall": 0.6886,
        "accuracy": 0.669,
        "recall_negative": 0.8,
        "recall_neutral": 0.6,
        "recall_positive": 0.7,
    }
    base = {
        "model_version": "m",
        "sentiment_val": sentiment_val,
        "language": {},
        "throughput": {"texts": 10, "batch_texts_per_s": 1, "single_texts_per_s": 1},
    }
    default = format_report(
        {
            **base,
            "backend": "default",
            "sentiment_cv": {"folds": 3, "macro_recall": 0.6829, "C": 0.5},
        }
    ).splitlines()
    assert default[1].endswith("| 3-fold CV on train (C=0.5): macro-recall 0.6829")
    accurate = format_report(
        {
            **base,
            "backend": "accurate",
            "sentiment_cv": {"folds": 2, "macro_recall": 0.7312, "alpha": 0.75},
        }
    ).splitlines()
    assert accurate[1].endswith("| 2-fold CV on train (alpha=0.75): macro-recall 0.7312")
    before_cv = format_report(
        {**base, "backend": "accurate", "sentiment_cv": {"offsets_chosen_on": "val.tsv"}}
    ).splitlines()
    assert before_cv[1].endswith("| offsets chosen on val.tsv (optimistic)")
