"""Training the accurate backend's multilingual head (`socialpulse.ai.multi_head`).

Recipe (`fit_multi_head`), on the seven languages' ``sentiment-multilingual/<iso>/train.tsv``:

1. the shipped multilingual n-gram model's out-of-fold scores: its recipe (C from its
   metadata) retrained on 5 folds stratified by language and label (`multi.foreign_folds`),
   the static word-vector head's and the English vote's out-of-fold scores and the emoji and
   phrase prior added, as the analyser adds them;
2. each tweet's multilingual-e5-small embedding (`socialpulse.ai.e5`);
3. a multinomial logistic regression on the embeddings, its out-of-fold log-probabilities on
   the same folds for each C of ``HEAD_CS``;
4. C and alpha (``ALPHAS``) maximising the average macro-F1 over the languages of
   ``ngram + alpha x head`` out of fold; then per-language offsets (maximising macro-F1)
   and one temperature (minimising log-loss) on those out-of-fold scores;
5. the head refitted on every training tweet with that C.

``val.tsv`` is never read here (`socialpulse.ai.train.multi_head_val` reads it afterwards for
the final figure). Deterministic: fixed folds, lbfgs from zero, and the engine's embeddings
do not depend on batching.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai import polarity
from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.e5 import BATCH, E5
from socialpulse.ai.features import F32, featurize
from socialpulse.ai.multi_head import FAMILY, MultiHead
from socialpulse.ai.multilingual import MULTI_LANGUAGES
from socialpulse.ai.training.datasets import SEED, IntArray
from socialpulse.ai.training.metrics import macro_f1, tune_offsets, tune_temperature
from socialpulse.ai.training.multi import (
    MultiData,
    foreign_folds,
    out_of_fold,
    per_language_scores,
    read_multilingual,
    static_out_of_fold,
)
from socialpulse.ai.training.versions import arrays_digest

HEAD_CS = (0.3, 1.0, 3.0)
ALPHAS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)

Progress = Callable[[int, int, str], None]


def _logistic(c: float) -> Any:
    try:
        linear_model = importlib.import_module("sklearn.linear_model")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("training needs scikit-learn: pip install 'socialpulse[train]'") from exc
    return linear_model.LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced", random_state=SEED
    )


def embed_all(encoder: E5, texts: list[str], progress: Progress | None = None) -> F32:
    out = np.zeros((len(texts), 384), dtype=np.float32)
    step = BATCH * 4
    for start in range(0, len(texts), step):
        out[start : start + step] = encoder.embed(texts[start : start + step])
        if progress is not None:
            progress(min(start + step, len(texts)), len(texts), "embedding with e5")
    return out


def head_out_of_fold(embeddings: F32, labels: IntArray, folds: list[IntArray], c: float) -> F32:
    logits = np.zeros((len(labels), 3), dtype=np.float32)
    for test in folds:
        train = np.setdiff1d(np.arange(len(labels)), test)
        model = _logistic(c).fit(embeddings[train], labels[train])
        logits[test] = model.predict_log_proba(embeddings[test])
    return logits


def average_f1(decision: F32, labels: IntArray, codes: np.ndarray) -> float:
    return float(
        np.mean(
            [
                macro_f1(labels[codes == code], decision[codes == code].argmax(axis=1))
                for code in sorted(set(codes.tolist()))
            ]
        )
    )


def calibrate_languages(
    combined: F32, labels: IntArray, codes: np.ndarray
) -> tuple[dict[str, F32], float, dict[str, dict[str, float]]]:
    """Per-language offsets (maximising macro-F1) and one temperature (log-loss) on
    out-of-fold scores, with the per-language figures they give."""
    offsets = {
        code: tune_offsets(combined[codes == code], labels[codes == code], macro_f1)[0]
        for code in sorted(MULTI_LANGUAGES)
    }
    shifted = combined + np.stack([offsets[code] for code in codes.tolist()])
    temperature = tune_temperature(shifted, labels)
    return offsets, temperature, per_language_scores(combined, labels, codes.tolist(), offsets)


def new_head(
    family: str,
    head: tuple[F32, F32],
    *,
    alpha: float,
    offsets: dict[str, F32],
    temperature: float,
    encoder_version: str,
    metrics: dict[str, Any],
) -> MultiHead:
    """A head (`weights`, `bias`) with its calibration, versioned ``<family>+<digest>`` by
    everything that decides its scores: a changed array, alpha, temperature or encoder is a
    new version, and analyses stamped with the old one are redone."""
    weights, bias = head
    digest = arrays_digest(
        (weights, bias, *(offsets[code] for code in sorted(offsets))),
        f"{alpha}:{temperature}:{encoder_version}",
    )
    return MultiHead(
        weights=weights,
        bias=bias,
        alpha=alpha,
        offsets=offsets,
        temperature=temperature,
        version=f"{family}+{digest[:8]}",
        encoder_version=encoder_version,
        metrics=metrics,
    )


def fit_multi_head(
    data_dir: Path,
    bundle: ModelBundle,
    encoder: E5,
    progress: Progress | None = None,
    data: MultiData | None = None,
) -> MultiHead:
    """The head, its alpha, offsets and temperature, with its cross-validated figures."""
    multi = bundle.multi
    if multi is None:
        raise RuntimeError("the bundle has no multilingual model to put the head on")
    started = time.perf_counter()
    data = data or read_multilingual(data_dir)
    c_ngram = float(bundle.metadata["metrics"]["sentiment_multi"]["C"])
    foreign = data.foreign
    texts = [data.texts[i] for i in foreign]
    labels = data.labels[foreign]
    codes = np.asarray([data.codes[i] for i in foreign])
    folds = foreign_folds(data)

    if progress is not None:
        progress(0, len(folds), "n-gram model out of fold")
    ngram = (
        out_of_fold(data, bundle.spec, multi.fold, c_ngram)
        + static_out_of_fold(multi, data)
        + multi.english_vote(featurize(texts, bundle.spec), codes.tolist())
        + polarity.prior(texts)[0]
    )
    embeddings = embed_all(encoder, texts, progress)

    best: tuple[float, float, float, F32] | None = None
    grid: dict[str, float] = {}
    for c in HEAD_CS:
        head = head_out_of_fold(embeddings, labels, folds, c)
        grid[f"head_alone C={c}"] = round(average_f1(head, labels, codes), 4)
        for alpha in ALPHAS:
            score = average_f1(ngram + alpha * head, labels, codes)
            grid[f"C={c} alpha={alpha}"] = round(score, 4)
            if best is None or score > best[0] + 1e-12:
                best = (score, c, alpha, head)
    assert best is not None
    _, c, alpha, head_oof = best
    offsets, temperature, cv = calibrate_languages(ngram + alpha * head_oof, labels, codes)
    ngram_cv = per_language_scores(ngram, labels, codes.tolist(), {})

    final = _logistic(c).fit(embeddings, labels)
    weights = final.coef_.T.astype(np.float32)
    bias = final.intercept_.astype(np.float32)
    metrics: dict[str, Any] = {
        "C": c,
        "alpha": alpha,
        "cv_folds": len(folds),
        "cv_grid_average_macro_f1": grid,
        "cv_5fold": cv,
        "cv_average_macro_f1": round(float(np.mean([r["macro_f1"] for r in cv.values()])), 4),
        "cv_ngram_alone_average_macro_f1": round(
            float(np.mean([r["macro_f1"] for r in ngram_cv.values()])), 4
        ),
        "ngram_C": c_ngram,
        "train_texts": len(texts),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return new_head(
        FAMILY,
        (weights, bias),
        alpha=alpha,
        offsets=offsets,
        temperature=temperature,
        encoder_version=encoder.version,
        metrics=metrics,
    )
