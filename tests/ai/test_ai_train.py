"""Retraining on a tiny synthetic data set with the functions `train()` uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialpulse.ai import train as training
from socialpulse.ai.analysis import DefaultAnalyzer, ModelBundle
from socialpulse.ai.features import FeatureSpec
from socialpulse.ai.training.datasets import Dataset, kfold_indices
from socialpulse.ai.training.fit import fit_binary, fit_sentiment
from socialpulse.ai.training.metrics import macro_recall, tune_offsets

pytest.importorskip("sklearn")

SPEC = FeatureSpec(word_bits=10, char_bits=11)
POSITIVE = ["love it", "great day", "so happy", "awesome work", "love this great"]
NEGATIVE = ["hate it", "awful day", "so sad", "terrible work", "hate this awful"]
NEUTRAL = ["it is tuesday", "the bus at noon", "report on page two", "meeting at ten"]


def sentiment_data() -> Dataset:
    texts = POSITIVE * 4 + NEGATIVE * 4 + NEUTRAL * 4
    labels = [2] * 20 + [0] * 20 + [1] * 16
    return Dataset(texts, np.asarray(labels, dtype=np.int64))


def binary_data(yes: list[str], no: list[str]) -> Dataset:
    return Dataset(yes * 3 + no * 3, np.asarray([1] * len(yes) * 3 + [0] * len(no) * 3))


def build(out: Path) -> dict[str, object]:
    sentiment, metrics = fit_sentiment(sentiment_data(), sentiment_data(), SPEC)
    complaint = fit_binary(
        *_xy(binary_data(["order never arrived", "refund me now"], ["thanks a lot", "nice"])),
        SPEC,
        1.0,
        "complaint",
    )
    spam = fit_binary(
        *_xy(binary_data(["check out my channel", "free gift cards"], ["nice song", "so good"])),
        SPEC,
        1.0,
        "spam",
    )
    return training.save_bundle(out, SPEC, sentiment, complaint, spam, {"sentiment": metrics})


def _xy(data: Dataset) -> tuple[list[str], np.ndarray]:
    return data.texts, data.labels


def test_retrained_arrays_load_and_predict(tmp_path: Path) -> None:
    build(tmp_path)
    analyzer = DefaultAnalyzer(ModelBundle.load(tmp_path))
    happy, sad = analyzer.analyze(["so happy, love it", "awful, hate it"])
    assert happy.sentiment.label == "positive"
    assert sad.sentiment.label == "negative"
    assert happy.model_version == analyzer.model_version


def test_retraining_is_deterministic(tmp_path: Path) -> None:
    first = build(tmp_path / "a")
    second = build(tmp_path / "b")
    assert first["model_version"] == second["model_version"]
    for name in ("sentiment", "complaint", "spam"):
        with (
            np.load(tmp_path / "a" / f"{name}.npz") as a,
            np.load(tmp_path / "b" / f"{name}.npz") as b,
        ):
            assert np.array_equal(a["weights"], b["weights"])


def test_offsets_maximise_macro_recall() -> None:
    decision = np.array([[0.0, 0.3, 0.0], [0.0, 0.3, 0.2], [0.1, 0.3, 0.0]], dtype=np.float32)
    labels = np.array([1, 2, 0])
    offsets, score = tune_offsets(decision, labels)
    assert score == 1.0
    assert macro_recall(labels, (decision + offsets).argmax(axis=1)) == 1.0


def test_stratified_folds_cover_every_row_once() -> None:
    labels = np.array([0] * 10 + [1] * 5)
    folds = kfold_indices(labels, 5)
    joined = np.sort(np.concatenate(folds))
    assert np.array_equal(joined, np.arange(15))
    assert all(labels[f].sum() == 1 for f in folds)
