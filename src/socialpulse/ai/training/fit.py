"""Fitting the linear models (scikit-learn, training only) and cross-validating them."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai import rules, spam_rules
from socialpulse.ai.base import SENTIMENT_LABELS
from socialpulse.ai.features import (
    F32,
    FeatureBatch,
    FeatureSpec,
    clean,
    featurize,
    tfidf_values,
)
from socialpulse.ai.linear import LinearModel
from socialpulse.ai.training.datasets import SEED, Dataset, IntArray, group_folds, kfold_indices
from socialpulse.ai.training.metrics import f1, macro_recall, tune_offsets, tune_temperature

MIN_DF = 2
# C of the multinomial model, chosen by cross-validation on the training tweets; the NB
# models get NB_C_PER_C times it (the pair the val-tuned recipe used: 0.5 and 1.0).
SENTIMENT_CS = (0.25, 0.5, 1.0)
SENTIMENT_FOLDS = 3
NB_C_PER_C = 2.0
ENSEMBLE_WEIGHT = 0.5  # share of the multinomial model; the NB model gets the rest
BINARY_CS = (1.0, 4.0, 16.0)


def _sklearn() -> Any:
    try:
        import sklearn.linear_model
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("training needs scikit-learn: pip install 'socialpulse[train]'") from exc
    return sklearn.linear_model


def fit_idf(batch: FeatureBatch, n_docs: int, min_df: int = MIN_DF) -> F32:
    df = np.bincount(batch.col, minlength=batch.spec.n_features)
    idf = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
    idf[df < min_df] = 0.0
    # Round through float16 now so training sees exactly the idf that ships.
    return idf.astype(np.float16).astype(np.float32)


def matrix(batch: FeatureBatch, idf: F32) -> Any:
    # scipy ships no type stubs; importing through importlib keeps mypy strict elsewhere.
    csr_matrix = importlib.import_module("scipy.sparse").csr_matrix
    return csr_matrix(
        (tfidf_values(batch, idf), (batch.doc, batch.col)),
        shape=(batch.n_docs, batch.spec.n_features),
    )


def _logistic(c: float, multinomial: bool = True) -> Any:
    return _sklearn().LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced", random_state=SEED
    )


def _sentiment_weights(x: Any, y: IntArray, c: float, fast: bool) -> tuple[F32, F32]:
    """Multinomial LR (`c`) averaged with NB-weighted one-vs-rest LRs (``2 c``), as shipped:
    weights rounded through float16."""
    n_classes = int(y.max()) + 1
    multinomial = _logistic(c)
    multinomial.fit(x, y)
    share = 1.0 if fast else ENSEMBLE_WEIGHT
    weights = share * multinomial.coef_.T.astype(np.float64)
    bias = share * multinomial.intercept_.astype(np.float64)
    if not fast:
        binary = x.copy()
        binary.data[:] = 1.0
        for k in range(n_classes):
            pos = np.asarray(binary[y == k].sum(axis=0)).ravel() + 1.0
            neg = np.asarray(binary[y != k].sum(axis=0)).ravel() + 1.0
            ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
            model = _logistic(NB_C_PER_C * c)
            model.fit(x.multiply(ratio).tocsr(), (y == k).astype(np.int64))
            weights[:, k] += (1.0 - ENSEMBLE_WEIGHT) * model.coef_[0] * ratio
            bias[k] += (1.0 - ENSEMBLE_WEIGHT) * model.intercept_[0]
    return weights.astype(np.float16).astype(np.float32), bias.astype(np.float32)


def sentiment_out_of_fold(
    x: Any, y: IntArray, c: float, folds: list[IntArray], fast: bool = False
) -> F32:
    """Each training tweet's decision from the model trained on the other folds."""
    decision = np.zeros((x.shape[0], int(y.max()) + 1), dtype=np.float32)
    for test in folds:
        train = np.setdiff1d(np.arange(x.shape[0]), test)
        weights, bias = _sentiment_weights(x[train], y[train], c, fast)
        decision[test] = np.asarray(x[test] @ weights) + bias
    return decision


def fit_sentiment(
    train: Dataset,
    val: Dataset,
    spec: FeatureSpec,
    fast: bool = False,
    cs: Sequence[float] = SENTIMENT_CS,
    folds: int = SENTIMENT_FOLDS,
) -> tuple[LinearModel, dict[str, Any]]:
    """Multinomial LR + NB-weighted one-vs-rest LR, averaged. C, the per-class offsets
    (maximising macro-recall) and the temperature are chosen by stratified `folds`-fold
    cross-validation on `train` (the out-of-fold decisions); `val` is read only for the final
    figure. The idf is the full training set's (it reads no label)."""
    batch = featurize(train.texts, spec)
    idf = fit_idf(batch, len(train.texts))
    x = matrix(batch, idf)
    y = train.labels
    n_classes = int(y.max()) + 1
    fold_index = kfold_indices(y, folds)

    chosen: tuple[float, float, F32] | None = None
    cv_by_c: dict[str, float] = {}
    for c in cs:
        decision = sentiment_out_of_fold(x, y, c, fold_index, fast)
        score = (
            tune_offsets(decision, y)[1]
            if n_classes == 3
            else macro_recall(y, decision.argmax(axis=1), n_classes)
        )
        cv_by_c[str(c)] = round(score, 4)
        if chosen is None or score > chosen[0] + 1e-12:
            chosen = (score, c, decision)
    assert chosen is not None
    cv_score, c, oof = chosen
    offsets = tune_offsets(oof, y)[0] if n_classes == 3 else np.zeros(n_classes, np.float32)
    weights, bias = _sentiment_weights(x, y, c, fast)
    model = LinearModel(
        name="sentiment",
        labels=list(SENTIMENT_LABELS[:n_classes]),
        weights=weights,
        bias=bias,
        idf=idf,
        offsets=offsets,
    )
    model.temperature = tune_temperature(oof + offsets, y)
    val_batch = featurize(val.texts, spec)
    decision = model.decision(val_batch, model.values(val_batch))
    predicted = (decision + model.offsets).argmax(axis=1)
    metrics: dict[str, Any] = {
        "C": c,
        "cv_folds": folds,
        "cv_macro_recall_by_C": cv_by_c,
        "cv_macro_recall": round(cv_score, 4),
        "cv_macro_recall_raw": round(macro_recall(y, oof.argmax(axis=1), n_classes), 4),
        "val_macro_recall_raw": round(
            macro_recall(val.labels, decision.argmax(axis=1), n_classes), 4
        ),
        "val_macro_recall": round(macro_recall(val.labels, predicted, n_classes), 4),
        "val_accuracy": round(float(np.mean(predicted == val.labels)), 4),
        "train_texts": len(train.texts),
        "val_texts": len(val.texts),
    }
    return model, metrics


def fit_binary(
    texts: Sequence[str], labels: IntArray, spec: FeatureSpec, c: float, name: str
) -> LinearModel:
    batch = featurize(texts, spec)
    idf = fit_idf(batch, len(texts))
    model = _logistic(c)
    model.fit(matrix(batch, idf), labels)
    return LinearModel(
        name=name,
        labels=[name],
        weights=model.coef_.T.astype(np.float16).astype(np.float32),
        bias=model.intercept_.astype(np.float32),
        idf=idf,
        offsets=np.zeros(1, dtype=np.float32),
    )


def predict_binary(model: LinearModel, texts: Sequence[str], spec: FeatureSpec) -> F32:
    batch = featurize(texts, spec)
    return model.probabilities(model.decision(batch, model.values(batch)))[:, 0]


def cross_validate(
    data: Dataset, spec: FeatureSpec, c: float, folds: list[IntArray], name: str
) -> dict[str, float]:
    predicted = np.zeros(len(data.texts), dtype=np.int64)
    for test in folds:
        train_mask = np.ones(len(data.texts), dtype=bool)
        train_mask[test] = False
        train_idx = np.flatnonzero(train_mask)
        model = fit_binary(
            [data.texts[i] for i in train_idx], data.labels[train_idx], spec, c, name
        )
        probability = predict_binary(model, [data.texts[i] for i in test], spec)
        predicted[test] = (probability >= 0.5).astype(np.int64)
    return {
        "f1": round(f1(data.labels, predicted), 4),
        "macro_recall": round(macro_recall(data.labels, predicted, 2), 4),
        "accuracy": round(float(np.mean(predicted == data.labels)), 4),
    }


def choose_c(
    data: Dataset, spec: FeatureSpec, folds: list[IntArray], name: str, cs: Sequence[float]
) -> tuple[float, dict[str, float]]:
    best: tuple[float, dict[str, float]] | None = None
    for c in cs:
        scores = cross_validate(data, spec, c, folds, name)
        if best is None or scores["f1"] > best[1]["f1"]:
            best = (c, scores)
    assert best is not None
    return best


# --- spam: a decision threshold for a false-positive rate, and the analyser's decision ----------
# The most ham (non-spam) comments the shipped spam decision may call spam, measured by
# leave-one-video-out cross-validation.
TARGET_SPAM_FPR = 0.03
THRESHOLDS = tuple(round(0.5 + 0.01 * k, 2) for k in range(46))  # 0.50 .. 0.95


@dataclass
class SpamRules:
    """What the analyser adds to the spam model on a comment (`socialpulse.ai.analysis`): the
    cue rules, which make a comment spam whatever the model says, and the spam marker, without
    which the model alone cannot."""

    cue: npt.NDArray[np.bool_]
    marked: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, texts: Sequence[str]) -> SpamRules:
        views = [rules.TextView.of(clean(text)) for text in texts]
        cue = np.fromiter((spam_rules.spam_cues(v).fired for v in views), bool, len(views))
        marked = np.fromiter(
            (spam_rules.spam_marker(v) is not None for v in views), bool, len(views)
        )
        return cls(cue, cue | marked)

    def decide(self, probability: F32, threshold: float) -> npt.NDArray[np.bool_]:
        return self.cue | (self.marked & (probability >= threshold))


def spam_scores(labels: IntArray, predicted: npt.NDArray[np.bool_]) -> dict[str, float]:
    """Precision, recall, F1 and false-positive rate (share of ham called spam) of spam."""
    truth = labels == 1
    tp = int(np.sum(predicted & truth))
    fp = int(np.sum(predicted & ~truth))
    fn = int(np.sum(~predicted & truth))
    ham = int(np.sum(~truth))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0,
        "fp_rate": round(fp / ham, 4) if ham else 0.0,
        "false_positives": fp,
        "ham": ham,
    }


def choose_threshold(
    probability: F32, labels: IntArray, found: SpamRules, target_fpr: float = TARGET_SPAM_FPR
) -> float:
    """The lowest threshold (the most spam caught) at which the analyser's decision calls at
    most `target_fpr` of the ham spam; the highest of the grid when none does."""
    ham = labels == 0
    for threshold in THRESHOLDS:
        if float(np.mean(found.decide(probability, threshold)[ham])) <= target_fpr:
            return threshold
    return THRESHOLDS[-1]


def out_of_fold(
    data: Dataset, spec: FeatureSpec, c: float, folds: list[IntArray], name: str
) -> F32:
    """Each text's probability from the model trained on the other folds."""
    probability = np.zeros(len(data.texts), dtype=np.float32)
    for test in folds:
        train = np.setdiff1d(np.arange(len(data.texts)), test)
        model = fit_binary([data.texts[i] for i in train], data.labels[train], spec, c, name)
        probability[test] = predict_binary(model, [data.texts[i] for i in test], spec)
    return probability


def _subset(data: Dataset, index: IntArray) -> Dataset:
    return Dataset(
        [data.texts[i] for i in index], data.labels[index], [data.groups[i] for i in index]
    )


def cross_validate_spam(
    data: Dataset, spec: FeatureSpec, c: float, found: SpamRules | None = None
) -> dict[str, Any]:
    """Leave one video out, the threshold chosen inside the training videos only.

    For each held-out video: the threshold is `choose_threshold` on the out-of-fold
    probabilities of the training videos (each predicted by a model trained on the other
    training videos), then the model trained on all training videos is applied to the held-out
    one. Scores of the model alone at 0.5 and at that threshold, and of the analyser's decision
    (cue rules, spam marker and model at that threshold), pooled over the three videos."""
    found = found or SpamRules.of(data.texts)
    folds = group_folds(data.groups)
    probability = np.zeros(len(data.texts), dtype=np.float32)
    thresholds = np.zeros(len(data.texts), dtype=np.float32)
    chosen: dict[str, float] = {}
    for test in folds:
        train = np.setdiff1d(np.arange(len(data.texts)), test)
        inner = _subset(data, train)
        inner_probability = out_of_fold(inner, spec, c, group_folds(inner.groups), "spam")
        inner_found = SpamRules(found.cue[train], found.marked[train])
        threshold = choose_threshold(inner_probability, inner.labels, inner_found)
        model = fit_binary(inner.texts, inner.labels, spec, c, "spam")
        probability[test] = predict_binary(model, [data.texts[i] for i in test], spec)
        thresholds[test] = threshold
        chosen[data.groups[int(test[0])]] = threshold
    labels = data.labels
    decided = found.cue | (found.marked & (probability >= thresholds))
    return {
        "thresholds": chosen,
        "model_at_0.5": spam_scores(labels, probability >= 0.5),
        "model": spam_scores(labels, probability >= thresholds),
        "analyzer": spam_scores(labels, decided),
        "analyzer_per_video": {
            data.groups[int(test[0])]: spam_scores(labels[test], decided[test]) for test in folds
        },
    }


def choose_spam_model(
    data: Dataset, spec: FeatureSpec, cs: Sequence[float]
) -> tuple[float, float, dict[str, Any]]:
    """C by leave-one-video-out F1 of the analyser's decision (`cross_validate_spam`), then the
    shipped threshold: `choose_threshold` on the out-of-fold probabilities of all videos."""
    found = SpamRules.of(data.texts)
    best: tuple[float, dict[str, Any]] | None = None
    for c in cs:
        scores = cross_validate_spam(data, spec, c, found)
        if best is None or scores["analyzer"]["f1"] > best[1]["analyzer"]["f1"]:
            best = (c, scores)
    assert best is not None
    c, scores = best
    probability = out_of_fold(data, spec, c, group_folds(data.groups), "spam")
    return c, choose_threshold(probability, data.labels, found), scores
