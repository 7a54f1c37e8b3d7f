"""Cross-validated calibration of the accurate backend's English head (training only).

The accurate backend adds ``alpha`` times the fine-tuned MiniLM head's log-probabilities to
the default model's logits, then per-class offsets and a temperature. Choosing those three
on ``sentiment/val.tsv`` made the val figure optimistic (0.749 on val, 0.717 on a public
held-out test of the same task), so they are chosen here out of fold on the training tweets:

* the head's out-of-fold scores: MiniLM is fine-tuned with the shipped recipe
  (`socialpulse.ai.finetune`) on all folds but one and embeds the held-out fold with int8
  weights in ONNX Runtime, as the analyser runs it (`head_out_of_fold`, PyTorch needed);
* the default model's out-of-fold decisions: its own C and stratified folds
  (`default_out_of_fold`), with the polarity prior the analyser adds;
* alpha maximises the out-of-fold macro-recall of ``default + alpha x head`` once offsets are
  tuned; the temperature minimises the out-of-fold log-loss.

The head's out-of-fold scores ship (``accurate/minilm_head_oof.npz``) so that `calibrate`
redoes the calibration without PyTorch whenever the default model is retrained.
``val.tsv`` is never read here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai import polarity
from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.features import F32, featurize
from socialpulse.ai.finetune import fine_tune
from socialpulse.ai.minilm import EncoderDelta, MiniLM
from socialpulse.ai.multi_head import log_softmax
from socialpulse.ai.training.datasets import Dataset, kfold_indices, read_sentiment
from socialpulse.ai.training.fit import SENTIMENT_FOLDS, matrix, sentiment_out_of_fold
from socialpulse.ai.training.metrics import macro_recall, tune_offsets, tune_temperature

OOF_FILE = "minilm_head_oof.npz"
HEAD_FOLDS = 2
# A fold seed apart from the default model's, so neither fold split is tuned to the other.
HEAD_FOLD_SEED = 1
ALPHAS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
# Enough held-out texts for `fine_tune`'s export check, without a second full torch pass.
_CHECK_TEXTS = 256


class StaleOutOfFold(RuntimeError):
    """The shipped out-of-fold scores belong to other training data."""


def dataset_sha256(data: Dataset) -> str:
    digest = hashlib.sha256()
    for text, label in zip(data.texts, data.labels.tolist(), strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


@dataclass
class HeadOutOfFold:
    """Each training tweet's head log-probabilities from the MiniLM fine-tuned without it."""

    log_probs: F32
    fold: npt.NDArray[np.int8]
    train_sha256: str
    recipe: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            log_probs=self.log_probs.astype(np.float32),
            fold=self.fold.astype(np.int8),
            train_sha256=np.asarray(self.train_sha256),
            recipe=np.asarray(self.recipe, dtype=str),
        )

    @classmethod
    def load(cls, path: Path) -> HeadOutOfFold:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                log_probs=arrays["log_probs"].astype(np.float32),
                fold=arrays["fold"].astype(np.int8),
                train_sha256=str(arrays["train_sha256"]),
                recipe=[str(line) for line in arrays["recipe"]],
            )

    def check(self, train: Dataset) -> None:
        if len(self.log_probs) != len(train.texts) or self.train_sha256 != dataset_sha256(train):
            raise StaleOutOfFold(
                "the shipped MiniLM out-of-fold scores were computed on other training data: "
                "fine-tune again (socialpulse ai calibrate-accurate --refit)"
            )


def shipped_matches(path: Path, train_tsv: Path) -> bool:
    """Whether the out-of-fold scores in `path` were computed on the tweets in `train_tsv`."""
    if not path.is_file() or not train_tsv.is_file():
        return False
    try:
        HeadOutOfFold.load(path).check(read_sentiment(train_tsv))
    except StaleOutOfFold:
        return False
    return True


def head_out_of_fold(
    base: MiniLM,
    base_sha256: str,
    train: Dataset,
    folds: int = HEAD_FOLDS,
    epochs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> HeadOutOfFold:
    """Fine-tune `base` (a float numpy MiniLM) once per fold without that fold and score the
    fold with the tuned layers in int8 ONNX Runtime. About `folds` x 11 minutes on 2 cores
    for the 47k English tweets at two folds."""
    from socialpulse.ai.finetune import EPOCHS

    labels = train.labels
    log_probs = np.zeros((len(train.texts), 3), dtype=np.float32)
    fold_of = np.zeros(len(train.texts), dtype=np.int8)
    recipe: list[str] = []
    for k, held_out in enumerate(kfold_indices(labels, folds, seed=HEAD_FOLD_SEED)):
        rest = np.setdiff1d(np.arange(len(labels)), held_out)
        held_texts = [train.texts[i] for i in held_out]

        def report(done: int, total: int, what: str, k: int = k) -> None:
            if progress is not None:
                progress(done, total, f"fold {k + 1}/{folds}, {what}")

        tuned = fine_tune(
            base,
            [train.texts[i] for i in rest],
            labels[rest],
            held_texts[:_CHECK_TEXTS],
            epochs=epochs or EPOCHS,
            progress=report,
        )
        encoder = MiniLM(delta=EncoderDelta.between(base.layers, tuned.layers, base_sha256))
        embeddings = encoder.embed(held_texts)
        log_probs[held_out] = log_softmax(embeddings @ tuned.head_weights + tuned.head_bias)
        fold_of[held_out] = k
        recipe += [f"fold {k + 1}/{folds}: {line}" for line in tuned.log]
    return HeadOutOfFold(log_probs, fold_of, dataset_sha256(train), recipe)


def default_out_of_fold(bundle: ModelBundle, train: Dataset) -> F32:
    """The default English model's out-of-fold decisions at its shipped C (its own folds),
    plus the polarity prior the analyser adds."""
    model = bundle.sentiment
    c = float(bundle.metadata["metrics"]["sentiment"]["C"])
    batch = featurize(train.texts, bundle.spec)
    x = matrix(batch, model.idf)
    folds = kfold_indices(train.labels, SENTIMENT_FOLDS)
    decision = sentiment_out_of_fold(x, train.labels, c, folds)
    return decision + polarity.prior(train.texts, phrases=False)[0]


@dataclass
class Calibration:
    alpha: float
    offsets: F32
    temperature: float
    metrics: dict[str, Any]


def calibrate(default_oof: F32, head: HeadOutOfFold, labels: npt.NDArray[np.int64]) -> Calibration:
    """Alpha, offsets (macro-recall) and temperature (log-loss), all out of fold."""
    grid: dict[str, float] = {}
    best: tuple[float, float, F32] | None = None
    for alpha in ALPHAS:
        offsets, score = tune_offsets(default_oof + alpha * head.log_probs, labels)
        grid[str(alpha)] = round(score, 4)
        if best is None or score > best[0] + 1e-12:
            best = (score, alpha, offsets)
    assert best is not None
    score, alpha, offsets = best
    combined = default_oof + alpha * head.log_probs + offsets
    return Calibration(
        alpha=alpha,
        offsets=offsets,
        temperature=tune_temperature(combined, labels),
        metrics={
            "cv_folds": int(head.fold.max()) + 1,
            "cv_macro_recall": round(score, 4),
            "cv_macro_recall_by_alpha": grid,
            "cv_macro_recall_head_alone": round(
                macro_recall(labels, head.log_probs.argmax(axis=1)), 4
            ),
            "cv_macro_recall_default_alone": round(tune_offsets(default_oof, labels)[1], 4),
            "train_texts": len(labels),
        },
    )


def calibrate_from_file(bundle: ModelBundle, train: Dataset, path: Path) -> Calibration:
    """`calibrate` from shipped head scores against (a possibly retrained) `bundle`."""
    head = HeadOutOfFold.load(path)
    head.check(train)
    return calibrate(default_out_of_fold(bundle, train), head, train.labels)
