"""Retraining on a tiny synthetic data set with the functions `train()` uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialpulse.ai import train as training
from socialpulse.ai.analysis import DefaultAnalyzer, ModelBundle
from socialpulse.ai.features import FeatureSpec
from socialpulse.ai.training.datasets import Dataset, display_to_original, kfold_indices
from socialpulse.ai.training.fit import (
    SpamRules,
    choose_threshold,
    cross_validate_spam,
    fit_binary,
    fit_sentiment,
    spam_scores,
)
from socialpulse.ai.training.metrics import macro_f1, macro_recall, tune_offsets

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


def test_multilingual_offsets_can_maximise_macro_f1() -> None:
    # Catching the one negative tweet would call eight neutral ones negative too: macro-recall
    # pays that price, macro-F1 (what the multilingual models are judged by) does not.
    neutral_near = [[0.05, 0.1, 0.0]] * 8
    neutral_far = [[-0.5, 0.1, 0.0]] * 2
    decision = np.array([[0.04, 0.1, 0.0], *neutral_near, *neutral_far, [0.0, 0.0, 0.5]])
    labels = np.array([0] + [1] * 10 + [2])
    by_recall, _ = tune_offsets(decision, labels)
    by_f1, f1_score = tune_offsets(decision, labels, macro_f1)
    assert by_recall[0] > 0.05 and by_f1[0] <= 0.05
    assert f1_score == pytest.approx(macro_f1(labels, (decision + by_f1).argmax(axis=1)))
    assert f1_score > macro_f1(labels, (decision + by_recall).argmax(axis=1))


def test_the_nb_weighted_svm_and_the_plain_one_ship_as_one_linear_model() -> None:
    from scipy.sparse import csr_matrix
    from sklearn.svm import LinearSVC

    from socialpulse.ai.training.multi import _nbsvm_mean

    rng = np.random.default_rng(0)
    x = csr_matrix(rng.random((60, 12)) * (rng.random((60, 12)) < 0.4))
    y = np.repeat(np.arange(3), 20)
    weight = np.where(np.arange(60) % 4 == 0, 0.3, 1.0).astype(np.float32)
    weights, bias = _nbsvm_mean(x, y, weight, 0.5)
    # The same two models fitted apart: their mean decision is what the one matrix gives.
    plain = LinearSVC(C=0.5, class_weight="balanced", random_state=0, max_iter=5000)
    expected = plain.fit(x, y, sample_weight=weight).decision_function(x)
    present = (x > 0).astype(np.float64)
    for k in range(3):
        pos = np.asarray(present[y == k].T @ weight[y == k]).ravel() + 1.0
        neg = np.asarray(present[y != k].T @ weight[y != k]).ravel() + 1.0
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        one = LinearSVC(C=0.5, class_weight="balanced", random_state=0, max_iter=5000)
        scaled = x.multiply(ratio).tocsr()
        expected[:, k] += one.fit(scaled, y == k, sample_weight=weight).decision_function(scaled)
    expected /= 2.0
    assert np.allclose(np.asarray(x @ weights) + bias, expected, atol=2e-3)


def test_stratified_folds_cover_every_row_once() -> None:
    labels = np.array([0] * 10 + [1] * 5)
    folds = kfold_indices(labels, 5)
    joined = np.sort(np.concatenate(folds))
    assert np.array_equal(joined, np.arange(15))
    assert all(labels[f].sum() == 1 for f in folds)


def test_youtube_html_is_turned_back_into_the_written_text() -> None:
    display = 'best part <a href="http://www.youtube.com/watch?v=KQ6&amp;t=2m19s">2:19</a><br />wow'
    assert display_to_original(display).split() == ["best", "part", "2:19", "wow"]
    assert display_to_original("a < b, plain text") == "a < b, plain text"


def test_spam_threshold_is_the_lowest_that_keeps_false_positives_under_target() -> None:
    probability = np.array([0.95, 0.9, 0.7, 0.55, 0.8, 0.6, 0.3, 0.2, 0.1, 0.1], dtype=np.float32)
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    texts = ["x"] * 10
    found = SpamRules.of(texts)
    found.marked[:] = True  # every comment carries a mark: the model decides alone
    # Ham probabilities 0.8 and 0.6: at most 1 of 6 ham may be called spam from 0.61 up, none
    # from 0.81 up.
    assert choose_threshold(probability, labels, found, target_fpr=0.2) == 0.61
    assert choose_threshold(probability, labels, found, target_fpr=0.0) == 0.81
    # A comment without a mark is never spam on the model's word: the ham at 0.8 no longer counts.
    found.marked[4] = False
    assert choose_threshold(probability, labels, found, target_fpr=0.0) == 0.61
    assert spam_scores(labels, found.decide(probability, 0.61)) == {
        "precision": 1.0,
        "recall": 0.75,
        "f1": round(6 / 7, 4),
        "fp_rate": 0.0,
        "false_positives": 0,
        "ham": 6,
    }


def test_spam_cross_validation_leaves_each_video_out_and_reports_false_positives() -> None:
    spam = ["check out my channel http://x.io", "subscribe to my channel", "free gift cards here"]
    ham = ["nice song", "love this video", "so good", "great beat", "the chorus is catchy"]
    texts, labels, groups = [], [], []
    for video in ("a", "b", "c"):
        for text in spam + ham:
            texts.append(f"{text} {video}")
            labels.append(int(text in spam))
            groups.append(video)
    data = Dataset(texts, np.asarray(labels, dtype=np.int64), groups)
    report = cross_validate_spam(data, SPEC, 4.0)
    assert set(report["thresholds"]) == {"a", "b", "c"}
    assert set(report["analyzer_per_video"]) == {"a", "b", "c"}
    assert report["analyzer"]["ham"] == 15
    assert report["analyzer"]["recall"] == 1.0
    assert report["analyzer"]["fp_rate"] == 0.0


def test_sentiment_offsets_and_c_are_chosen_without_reading_val() -> None:
    """Issue #18: val is for the final figure only. The same training data with a val whose
    labels are all wrong gives the same model; only the val figure changes."""
    honest, honest_metrics = fit_sentiment(sentiment_data(), sentiment_data(), SPEC)
    wrong = sentiment_data()
    wrong = Dataset(wrong.texts, (wrong.labels + 1) % 3)
    misled, misled_metrics = fit_sentiment(sentiment_data(), wrong, SPEC)
    assert np.array_equal(honest.weights, misled.weights)
    assert np.array_equal(honest.offsets, misled.offsets)
    assert honest.temperature == misled.temperature
    assert honest_metrics["C"] == misled_metrics["C"]
    assert honest_metrics["cv_macro_recall"] == misled_metrics["cv_macro_recall"]
    assert misled_metrics["val_macro_recall"] < honest_metrics["val_macro_recall"]
