"""Fitting the linear models (scikit-learn, training only) and cross-validating them."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from socialpulse.ai.base import SENTIMENT_LABELS
from socialpulse.ai.features import F32, FeatureBatch, FeatureSpec, featurize, tfidf_values
from socialpulse.ai.linear import LinearModel
from socialpulse.ai.training.datasets import SEED, Dataset, IntArray
from socialpulse.ai.training.metrics import f1, macro_recall, tune_offsets, tune_temperature

MIN_DF = 2
SENTIMENT_C = 0.5
NB_C = 1.0
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


def fit_sentiment(
    train: Dataset, val: Dataset, spec: FeatureSpec, fast: bool = False
) -> tuple[LinearModel, dict[str, float]]:
    """Multinomial LR + NB-weighted one-vs-rest LR, averaged; offsets tuned on `val`."""
    batch = featurize(train.texts, spec)
    idf = fit_idf(batch, len(train.texts))
    x = matrix(batch, idf)
    y = train.labels
    n_classes = int(y.max()) + 1

    multinomial = _logistic(SENTIMENT_C)
    multinomial.fit(x, y)
    weights = ENSEMBLE_WEIGHT * multinomial.coef_.T.astype(np.float64)
    bias = ENSEMBLE_WEIGHT * multinomial.intercept_.astype(np.float64)

    if not fast:
        binary = x.copy()
        binary.data[:] = 1.0
        for k in range(n_classes):
            pos = np.asarray(binary[y == k].sum(axis=0)).ravel() + 1.0
            neg = np.asarray(binary[y != k].sum(axis=0)).ravel() + 1.0
            ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
            model = _logistic(NB_C)
            model.fit(x.multiply(ratio).tocsr(), (y == k).astype(np.int64))
            weights[:, k] += (1.0 - ENSEMBLE_WEIGHT) * model.coef_[0] * ratio
            bias[k] += (1.0 - ENSEMBLE_WEIGHT) * model.intercept_[0]
    else:
        weights = weights / ENSEMBLE_WEIGHT
        bias = bias / ENSEMBLE_WEIGHT

    model = LinearModel(
        name="sentiment",
        labels=list(SENTIMENT_LABELS[:n_classes]),
        weights=weights.astype(np.float16).astype(np.float32),
        bias=bias.astype(np.float32),
        idf=idf,
        offsets=np.zeros(n_classes, dtype=np.float32),
    )
    val_batch = featurize(val.texts, spec)
    decision = model.decision(val_batch, model.values(val_batch))
    raw = macro_recall(val.labels, decision.argmax(axis=1), n_classes)
    if n_classes == 3:
        model.offsets, tuned = tune_offsets(decision, val.labels)
    else:
        tuned = raw
    model.temperature = tune_temperature(decision + model.offsets, val.labels)
    predicted = (decision + model.offsets).argmax(axis=1)
    metrics = {
        "val_macro_recall_raw": round(raw, 4),
        "val_macro_recall": round(tuned, 4),
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
