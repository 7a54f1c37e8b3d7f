"""Measure a backend on the public data in ``../shared/data`` (``socialpulse ai eval``).

* sentiment: macro-recall and accuracy of the shipped model on ``sentiment/val.tsv``, beside
  the cross-validated figure on the training tweets that chose its C and offsets (the accurate
  backend's English calibration is still chosen on val, and says so);
* multilingual sentiment: macro-recall and macro-F1 of the backend (default: the n-gram
  model; accurate: with the multilingual-e5-small head) on each
  ``sentiment-multilingual/<iso>/val.tsv`` (the text's language taken from the data set, not
  detected), beside the 5-fold cross-validated figure of the shipped recipe on the training
  tweets (computed at training time, in the model's metadata), and their averages;
* language: accuracy on ``language/lingua-sample.tsv`` for each kind of row (sentences, the
  target, then word pairs and single words), ``und`` counted as wrong, and macro-recall over
  languages;
* complaint: stratified 5-fold cross-validation of the training recipe on
  ``intent/complaints-train.csv`` (F1 of the complaint class);
* spam: leave-one-video-out cross-validation on ``intent/youtube-spam-*.csv``, the decision
  threshold of each held-out video chosen on the other two (`training.fit.cross_validate_spam`):
  precision, recall, F1 and false-positive rate on the ham comments of the analyser's decision
  (cue rules, spam marker gate, model), per video and pooled, and of the model alone;
* throughput of the full analysis, in batches and one text at a time.

The cross-validations retrain with `socialpulse.ai.training.fit` and so need scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai.analysis import DefaultAnalyzer
from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.base import Analyzer
from socialpulse.ai.features import FeatureSpec
from socialpulse.ai.training.datasets import (
    kfold_indices,
    read_complaints,
    read_sentiment,
    read_spam,
)
from socialpulse.ai.training.fit import cross_validate, cross_validate_spam
from socialpulse.ai.training.metrics import (
    evaluate_language,
    macro_f1,
    macro_recall,
    measure_throughput,
)
from socialpulse.ai.training.multi import XLM_T_AVERAGE_F1


def evaluate_sentiment(analyzer: Analyzer, path: Path) -> dict[str, float]:
    data = read_sentiment(path)
    if isinstance(analyzer, DefaultAnalyzer):
        probabilities = analyzer.sentiment_probabilities(data.texts)
        predicted = probabilities.argmax(axis=1)
    else:
        order = {"negative": 0, "neutral": 1, "positive": 2}
        results = analyzer.analyze(data.texts)
        predicted = np.asarray([order[r.sentiment.label] for r in results])
    recalls = {
        name: round(float(np.mean(predicted[data.labels == k] == k)), 4)
        for k, name in enumerate(("negative", "neutral", "positive"))
    }
    return {
        "n": len(data.texts),
        "macro_recall": round(macro_recall(data.labels, predicted), 4),
        "accuracy": round(float(np.mean(predicted == data.labels)), 4),
        **{f"recall_{name}": value for name, value in recalls.items()},
    }


def english_cv(analyzer: DefaultAnalyzer) -> dict[str, Any]:
    """The English model's cross-validated figure from training, or what its offsets were
    chosen on when they were not cross-validated (a head calibrated on val before CV)."""
    if analyzer.backend == "default":
        metrics = analyzer.bundle.metadata.get("metrics", {}).get("sentiment", {})
        if "cv_macro_recall" in metrics:
            return {
                "folds": metrics.get("cv_folds"),
                "macro_recall": metrics["cv_macro_recall"],
                "C": metrics.get("C"),
            }
    head = getattr(analyzer, "head", None)
    metrics = getattr(head, "metrics", {})
    if "cv_macro_recall" in metrics:
        return {
            "folds": metrics.get("cv_folds"),
            "macro_recall": metrics["cv_macro_recall"],
            "alpha": getattr(head, "alpha", None),
        }
    return {"offsets_chosen_on": "val.tsv"}


_LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2}


def evaluate_multilingual(analyzer: DefaultAnalyzer, data_dir: Path) -> dict[str, Any]:
    """Per-language val figures of the multilingual model, with the training-time CV ones."""
    root = data_dir / "sentiment-multilingual"
    meta = analyzer.multi_cv_metrics()
    cv = meta.get("cv_5fold", {})
    rows: dict[str, dict[str, Any]] = {}
    for code in sorted(p.name for p in root.iterdir() if (p / "val.tsv").is_file()):
        if not analyzer.multi_reads(code):
            continue
        data = read_sentiment(root / code / "val.tsv")
        predicted = analyzer.multi_sentiment_probabilities(data.texts, code).argmax(axis=1)
        # As a user meets it: the full analysis, routed by the detected language.
        analyses = analyzer.analyze(data.texts)
        routed = np.asarray([_LABEL_INDEX[a.sentiment.label] for a in analyses])
        rows[code] = {
            "n": len(data.texts),
            "macro_recall": round(macro_recall(data.labels, predicted), 4),
            "macro_f1": round(macro_f1(data.labels, predicted), 4),
            "routed_macro_f1": round(macro_f1(data.labels, routed), 4),
            "detected": round(float(np.mean([a.language.code == code for a in analyses])), 4),
            "cv": cv.get(code, {}),
        }
    average = {
        key: round(float(np.mean([row[key] for row in rows.values()])), 4) if rows else 0.0
        for key in ("macro_recall", "macro_f1", "routed_macro_f1")
    }
    return {
        "languages": rows,
        "average": average,
        "cv_average_macro_f1": meta.get("cv_average_macro_f1"),
    }


def evaluate_intents(data_dir: Path, model_meta: dict[str, Any]) -> dict[str, Any]:
    spec = FeatureSpec.from_json(model_meta["feature_spec"])
    metrics = model_meta["metrics"]
    complaints = read_complaints(data_dir / "intent" / "complaints-train.csv")
    c_complaint = float(metrics["complaint"]["C"])
    complaint = cross_validate(
        complaints, spec, c_complaint, kfold_indices(complaints.labels, 5), "complaint"
    )
    spam_data = read_spam(data_dir / "intent")
    c_spam = float(metrics["spam"]["C"])
    spam = cross_validate_spam(spam_data, spec, c_spam)
    return {
        "complaint_5fold": {"C": c_complaint, **complaint},
        "spam_leave_one_video_out": {"C": c_spam, **spam},
    }


def evaluate(data_dir: Path | str, backend: str = "default", echo: bool = True) -> dict[str, Any]:
    data = Path(data_dir)
    analyzer = get_analyzer(backend)
    report: dict[str, Any] = {"backend": backend, "model_version": analyzer.model_version}
    sentiment_path = data / "sentiment" / "val.tsv"
    report["sentiment_val"] = evaluate_sentiment(analyzer, sentiment_path)
    if isinstance(analyzer, DefaultAnalyzer):
        report["sentiment_cv"] = english_cv(analyzer)
    multi_root = data / "sentiment-multilingual"
    if isinstance(analyzer, DefaultAnalyzer) and analyzer.bundle.multi and multi_root.is_dir():
        report["sentiment_multi"] = evaluate_multilingual(analyzer, data)
    report["language"] = evaluate_language(data / "language" / "lingua-sample.tsv")
    if isinstance(analyzer, DefaultAnalyzer):
        report["intents"] = evaluate_intents(data, analyzer.bundle.metadata)
    report["throughput"] = measure_throughput(analyzer, read_sentiment(sentiment_path).texts)
    if echo:
        print(format_report(report))
    return report


def _english_cv_text(cv: dict[str, Any] | None) -> str:
    if not cv:
        return ""
    if "macro_recall" not in cv:
        return f"  | offsets chosen on {cv['offsets_chosen_on']} (optimistic)"
    setting = f"C={cv['C']}" if "C" in cv else f"alpha={cv.get('alpha')}"
    return f"  | {cv['folds']}-fold CV on train ({setting}): macro-recall {cv['macro_recall']:.4f}"


def format_report(report: dict[str, Any]) -> str:
    s = report["sentiment_val"]
    lines = [
        f"backend {report['backend']}  model {report['model_version']}",
        f"sentiment (val.tsv, n={s['n']}): macro-recall {s['macro_recall']:.4f}  "
        f"accuracy {s['accuracy']:.4f}  recall neg/neu/pos {s['recall_negative']:.3f}/"
        f"{s['recall_neutral']:.3f}/{s['recall_positive']:.3f}"
        + _english_cv_text(report.get("sentiment_cv")),
    ]
    multi = report.get("sentiment_multi")
    if multi:
        for code, row in multi["languages"].items():
            cv = row["cv"]
            cv_text = (
                f"  | CV on train: macro-recall {cv['macro_recall']:.4f}  macro-F1 "
                f"{cv['macro_f1']:.4f}"
                if cv
                else ""
            )
            routed = (
                f"  | as detected: macro-F1 {row['routed_macro_f1']:.4f} "
                f"({row['detected']:.0%} detected as {code})"
                if "routed_macro_f1" in row
                else ""
            )
            lines.append(
                f"sentiment {code} (val.tsv, n={row['n']}): macro-recall "
                f"{row['macro_recall']:.4f}  macro-F1 {row['macro_f1']:.4f}{cv_text}{routed}"
            )
        avg = multi["average"]
        cv_avg = multi["cv_average_macro_f1"]
        lines.append(
            f"sentiment, {len(multi['languages'])} languages' average (val.tsv): macro-recall "
            f"{avg['macro_recall']:.4f}  macro-F1 {avg['macro_f1']:.4f}"
            + (f"  | CV macro-F1 {cv_avg:.4f}" if cv_avg is not None else "")
            + (
                f"  | as detected: macro-F1 {avg['routed_macro_f1']:.4f}"
                if "routed_macro_f1" in avg
                else ""
            )
            + f"  (XLM-T twitter-XLM-R, test: {XLM_T_AVERAGE_F1:.2f})"
        )
    for kind, row in report["language"].items():
        lines.append(
            f"language {kind} (n={row['n']}): accuracy {row['accuracy']:.4f}  macro-recall "
            f"{row['macro_recall']:.4f}  und {row['und_rate']:.3f}  {row['texts_per_s']} texts/s"
        )
    intents = report.get("intents")
    if intents:
        c = intents["complaint_5fold"]
        lines.append(
            f"complaint (5-fold CV, C={c['C']}): F1 {c['f1']:.4f}  macro-recall "
            f"{c['macro_recall']:.4f}  accuracy {c['accuracy']:.4f}"
        )
        p = intents["spam_leave_one_video_out"]
        a, m = p["analyzer"], p["model_at_0.5"]
        thresholds = "/".join(f"{t:.2f}" for t in p["thresholds"].values())
        lines.append(
            f"spam (leave one video out, C={p['C']}, thresholds {thresholds}): F1 {a['f1']:.4f}  "
            f"precision {a['precision']:.4f}  recall {a['recall']:.4f}  false-positive rate on "
            f"ham {a['fp_rate']:.2%} ({a['false_positives']} of {a['ham']})"
        )
        per_video = "  ".join(
            f"{name} {row['fp_rate']:.2%}" for name, row in p["analyzer_per_video"].items()
        )
        lines.append(f"spam false-positive rate per held-out video: {per_video}")
        lines.append(
            f"spam model alone at 0.5: F1 {m['f1']:.4f}  precision {m['precision']:.4f}  "
            f"recall {m['recall']:.4f}  false-positive rate on ham {m['fp_rate']:.2%}"
        )
    t = report["throughput"]
    lines.append(
        f"throughput (full analysis, {t['texts']} tweets): {t['batch_texts_per_s']} texts/s "
        f"batched, {t['single_texts_per_s']} texts/s one at a time"
    )
    return "\n".join(lines)
