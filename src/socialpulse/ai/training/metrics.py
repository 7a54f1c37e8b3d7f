"""Scores shared by training and evaluation: recall, F1, decision tuning, language accuracy
and throughput."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from socialpulse.ai import language
from socialpulse.ai.base import Analyzer
from socialpulse.ai.features import F32
from socialpulse.ai.training.datasets import IntArray, read_lingua


def macro_recall(labels: IntArray, predicted: IntArray, n_classes: int = 3) -> float:
    recalls = [
        float(np.mean(predicted[labels == k] == k)) for k in range(n_classes) if np.any(labels == k)
    ]
    return float(np.mean(recalls))


def f1(labels: IntArray, predicted: IntArray, positive: int = 1) -> float:
    tp = float(np.sum((predicted == positive) & (labels == positive)))
    fp = float(np.sum((predicted == positive) & (labels != positive)))
    fn = float(np.sum((predicted != positive) & (labels == positive)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def macro_f1(labels: IntArray, predicted: IntArray, n_classes: int = 3) -> float:
    return float(np.mean([f1(labels, predicted, k) for k in range(n_classes)]))


def tune_offsets(
    decision: F32, labels: IntArray, metric: Callable[[IntArray, IntArray], float] = macro_recall
) -> tuple[F32, float]:
    """Offsets for negative and positive (neutral fixed at 0) maximising `metric` (macro-recall
    unless told: the English target; the multilingual models maximise macro-F1, theirs)."""
    grid = np.round(np.arange(-1.0, 1.0001, 0.05), 2)
    best = (-1.0, np.zeros(3, dtype=np.float32))
    for neg in grid:
        for pos in grid:
            offsets = np.array([neg, 0.0, pos], dtype=np.float32)
            score = metric(labels, (decision + offsets).argmax(axis=1))
            # Ties go to the smallest adjustment, so the choice does not depend on grid order.
            if score > best[0] + 1e-12 or (
                abs(score - best[0]) <= 1e-12 and np.abs(offsets).sum() < np.abs(best[1]).sum()
            ):
                best = (score, offsets)
    return best[1], best[0]


def tune_temperature(logits: F32, labels: IntArray) -> float:
    best = (np.inf, 1.0)
    for temperature in np.round(np.arange(0.3, 3.0001, 0.05), 2):
        scaled = logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_prob = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        loss = -float(np.mean(log_prob[np.arange(len(labels)), labels]))
        if loss < best[0]:
            best = (loss, float(temperature))
    return best[1]


def measure_throughput(
    analyzer: Analyzer, texts: Sequence[str], single: int = 500
) -> dict[str, float | int]:
    texts = list(texts)
    analyzer.analyze(texts[:64])  # warm caches
    started = time.perf_counter()
    analyzer.analyze(texts)
    batch_rate = len(texts) / (time.perf_counter() - started)
    sample = texts[:single]
    started = time.perf_counter()
    for text in sample:
        analyzer.analyze([text])
    single_rate = len(sample) / (time.perf_counter() - started)
    return {
        "texts": len(texts),
        "batch_texts_per_s": round(batch_rate),
        "single_texts_per_s": round(single_rate),
    }


def evaluate_language(path: Path) -> dict[str, dict[str, float]]:
    rows = read_lingua(path)
    report: dict[str, dict[str, float]] = {}
    for kind in ("sentences", "word-pairs", "single-words"):
        subset = [row for row in rows if row[1] == kind]
        if not subset:
            continue
        started = time.perf_counter()
        guesses = language.detect([row[2] for row in subset])
        elapsed = time.perf_counter() - started
        gold = np.asarray([row[0] for row in subset])
        predicted = np.asarray([guess.code for guess in guesses])
        recalls = [float(np.mean(predicted[gold == code] == code)) for code in np.unique(gold)]
        report[kind] = {
            "n": len(subset),
            "accuracy": round(float(np.mean(predicted == gold)), 4),
            "macro_recall": round(float(np.mean(recalls)), 4),
            "und_rate": round(float(np.mean(predicted == "und")), 4),
            "texts_per_s": round(len(subset) / elapsed),
        }
    return report
