"""The accurate English head's calibration by cross-validation (`training.minilm_cv`): chosen
on out-of-fold scores of the training tweets, never on val.tsv."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from socialpulse.ai.base import WEIGHTS_DIR
from socialpulse.ai.cli import app
from socialpulse.ai.finetune import FineTuned
from socialpulse.ai.multi_head import log_softmax
from socialpulse.ai.training import minilm_cv
from socialpulse.ai.training.datasets import Dataset, read_sentiment
from socialpulse.ai.training.minilm_cv import (
    OOF_FILE,
    HeadOutOfFold,
    StaleOutOfFold,
    calibrate,
    dataset_sha256,
    shipped_matches,
)

pytest.importorskip("sklearn")

POSITIVE = ["love it", "great day", "so happy", "awesome work", "love this great"]
NEGATIVE = ["hate it", "awful day", "so sad", "terrible work", "hate this awful"]
NEUTRAL = ["it is tuesday", "the bus at noon", "report on page two", "meeting at ten"]


def _write_tsv(path: Path, rows: list[tuple[int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["label\ttext"] + [f"{label}\t{text}" for label, text in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rows(copies: int) -> list[tuple[int, str]]:
    rows = [(2, f"{t} {i}") for i in range(copies) for t in POSITIVE]
    rows += [(0, f"{t} {i}") for i in range(copies) for t in NEGATIVE]
    return rows + [(1, f"{t} {i}") for i in range(copies) for t in NEUTRAL]


def _informative_head(labels: np.ndarray, rng: np.random.Generator, hit: float) -> np.ndarray:
    """Log-probabilities that favour the true class for a share `hit` of the tweets."""
    scores = rng.normal(0.0, 0.3, size=(len(labels), 3))
    right = rng.random(len(labels)) < hit
    scores[np.arange(len(labels))[right], labels[right]] += 2.0
    return log_softmax(scores.astype(np.float32))


def test_calibration_weighs_an_informative_head_in_and_reports_out_of_fold_figures() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=3000)
    default = _informative_head(labels, rng, 0.45)
    head = HeadOutOfFold(_informative_head(labels, rng, 0.7), np.zeros(3000, np.int8), "x")
    head.fold[::2] = 1
    chosen = calibrate(default, head, labels)
    assert chosen.alpha >= 1.0
    metrics = chosen.metrics
    assert metrics["cv_folds"] == 2 and metrics["train_texts"] == 3000
    assert metrics["cv_macro_recall"] > metrics["cv_macro_recall_head_alone"]
    assert metrics["cv_macro_recall"] > metrics["cv_macro_recall_default_alone"]
    assert set(metrics["cv_macro_recall_by_alpha"]) == {str(a) for a in minilm_cv.ALPHAS}

    useless = HeadOutOfFold(
        log_softmax(rng.normal(size=(3000, 3)).astype(np.float32)), head.fold, "x"
    )
    assert calibrate(default, useless, labels).alpha <= 0.5


def test_out_of_fold_scores_round_trip_and_refuse_other_training_data(tmp_path: Path) -> None:
    data = Dataset(["a b", "c d", "e f"], np.asarray([0, 1, 2]))
    scores = HeadOutOfFold(
        log_softmax(np.eye(3, dtype=np.float32)),
        np.asarray([0, 1, 0], np.int8),
        dataset_sha256(data),
        ["fold 1/2: epoch 1: mean training loss 0.7"],
    )
    scores.save(tmp_path / OOF_FILE)
    loaded = HeadOutOfFold.load(tmp_path / OOF_FILE)
    assert np.array_equal(loaded.log_probs, scores.log_probs)
    assert loaded.fold.tolist() == [0, 1, 0] and loaded.recipe == scores.recipe
    loaded.check(data)

    relabelled = Dataset(data.texts, np.asarray([0, 1, 1]))
    with pytest.raises(StaleOutOfFold, match="fine-tune again"):
        loaded.check(relabelled)
    with pytest.raises(StaleOutOfFold):
        loaded.check(Dataset(data.texts[:2], data.labels[:2]))

    tsv = tmp_path / "train.tsv"
    _write_tsv(tsv, list(zip([0, 1, 2], data.texts, strict=True)))
    assert shipped_matches(tmp_path / OOF_FILE, tsv)
    _write_tsv(tsv, list(zip([0, 1, 1], data.texts, strict=True)))
    assert not shipped_matches(tmp_path / OOF_FILE, tsv)
    assert not shipped_matches(tmp_path / "missing.npz", tsv)


@pytest.mark.usefixtures("accurate_backend")
def test_each_fold_is_scored_by_a_model_that_never_trained_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialpulse.ai.minilm import MiniLM, model_dir
    from socialpulse.kit.files import file_sha256

    base = MiniLM(use_onnx=False)
    base_sha256 = file_sha256(model_dir() / "model.safetensors")
    rows = _rows(3)
    data = Dataset([t for _, t in rows], np.asarray([label for label, _ in rows]))
    seen: list[set[str]] = []

    def fake_fine_tune(encoder, texts, labels, check_texts, epochs, progress):  # type: ignore[no-untyped-def]
        seen.append(set(texts))
        assert not set(check_texts) & set(texts)
        weights = np.zeros((384, 3), np.float32)
        return FineTuned(
            layers=encoder.layers,
            head_weights=weights,
            head_bias=np.asarray([len(seen), 0.0, 0.0], np.float32),  # names the fold's model
            val_logits=np.zeros((len(check_texts), 3), np.float32),
            log=["epoch 1: mean training loss 0.5"],
        )

    monkeypatch.setattr(minilm_cv, "fine_tune", fake_fine_tune)
    scores = minilm_cv.head_out_of_fold(base, base_sha256, data, folds=2)
    assert len(seen) == 2
    for k in range(2):
        held_out = {data.texts[i] for i in np.flatnonzero(scores.fold == k)}
        assert held_out and not held_out & seen[k]
        assert held_out | seen[k] == set(data.texts)
        # Scored by fold k's own model: its bias is k + 1 on the negative class.
        expected = log_softmax(np.asarray([[k + 1.0, 0.0, 0.0]], np.float32))
        assert np.allclose(scores.log_probs[scores.fold == k], expected, atol=1e-6)
    assert scores.train_sha256 == dataset_sha256(data)
    assert scores.recipe == [
        "fold 1/2: epoch 1: mean training loss 0.5",
        "fold 2/2: epoch 1: mean training loss 0.5",
    ]


def _calibration_data(root: Path, val_labels_flipped: bool = False) -> tuple[Path, Path]:
    """A tiny data folder and a weights folder holding the shipped head with out-of-fold
    scores for that data's train.tsv."""
    from socialpulse.ai.accurate import ACCURATE_DIR

    data = root / "data"
    rows = _rows(4)
    _write_tsv(data / "sentiment" / "train.tsv", rows)
    val = [(2, "love this great day"), (0, "hate this awful day"), (1, "the bus on tuesday")]
    if val_labels_flipped:
        val = [(2 - label, text) for label, text in val]
    _write_tsv(data / "sentiment" / "val.tsv", val * 3)
    out = root / "weights" / "accurate"
    out.mkdir(parents=True)
    for name in ("metadata.json", "sentiment_head.npz", "encoder_delta.npz"):
        shutil.copy(ACCURATE_DIR / name, out / name)
    train = read_sentiment(data / "sentiment" / "train.tsv")
    rng = np.random.default_rng(1)
    fold = (np.arange(len(train.texts)) % 2).astype(np.int8)
    HeadOutOfFold(
        _informative_head(train.labels, rng, 0.8), fold, dataset_sha256(train), ["r"]
    ).save(out / OOF_FILE)
    return data, out


@pytest.mark.usefixtures("accurate_backend")
def test_calibrating_the_shipped_head_reads_val_only_for_the_final_figure(tmp_path: Path) -> None:
    from socialpulse.ai.accurate import ACCURATE_DIR, SentimentHead
    from socialpulse.ai.train import calibrate_accurate

    results = []
    for flipped in (False, True):
        data, out = _calibration_data(tmp_path / str(flipped), val_labels_flipped=flipped)
        before = SentimentHead.load(out)
        files = {name: (out / name).read_bytes() for name in ("encoder_delta.npz", OOF_FILE)}
        found = calibrate_accurate(data, out)
        # The tuned layers and their out-of-fold scores come out byte for byte as they were.
        assert {name: (out / name).read_bytes() for name in files} == files
        assert found is not None
        after = SentimentHead.load(out)
        assert np.array_equal(after.weights, before.weights)  # the head itself is kept
        meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
        assert meta["calibrated_on"] == "out-of-fold train.tsv"
        assert meta["metrics"]["cv_folds"] == 2 and meta["cv_recipe"] == ["r"]
        shipped = json.loads((ACCURATE_DIR / "metadata.json").read_text(encoding="utf-8"))
        assert meta["recipe"] == shipped["recipe"]  # the fine-tuning it describes is unchanged
        assert after.version.startswith("minilm-ft-1+") and after.version == found["version"]
        results.append((after, meta["metrics"]))
    (plain, plain_metrics), (flipped_head, flipped_metrics) = results
    # Flipping val's labels changes the val figure, not a single calibration choice.
    assert plain.alpha == flipped_head.alpha and plain.temperature == flipped_head.temperature
    assert np.array_equal(plain.offsets, flipped_head.offsets)
    assert plain_metrics["cv_macro_recall"] == flipped_metrics["cv_macro_recall"]
    assert plain_metrics["val_macro_recall"] != flipped_metrics["val_macro_recall"]


@pytest.mark.usefixtures("accurate_backend")
def test_calibrate_accurate_cli_names_stale_scores_and_missing_data(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["calibrate-accurate", "--data", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "does not hold sentiment/train.tsv" in missing.stderr

    data, out = _calibration_data(tmp_path)
    empty = ["calibrate-accurate", "--data", str(data), "--out", str(tmp_path / "empty")]
    no_bundle = runner.invoke(app, empty)
    assert no_bundle.exit_code == 1 and "holds no trained models" in no_bundle.stderr

    _write_tsv(data / "sentiment" / "train.tsv", _rows(2))  # no longer what the scores saw
    weights = out.parent
    # The default bundle the head sits on.
    for path in WEIGHTS_DIR.iterdir():
        if path.is_file():
            shutil.copy(path, weights / path.name)
    stale = runner.invoke(app, ["calibrate-accurate", "--data", str(data), "--out", str(weights)])
    assert stale.exit_code == 1
    assert "computed on other training data" in stale.stderr

    before = (out / "metadata.json").read_text(encoding="utf-8")
    refused = runner.invoke(
        app,
        ["train", "--data", str(data), "--out", str(weights), "--calibrate-accurate"],
    )
    assert refused.exit_code == 1 and "calibrate-accurate --refit" in refused.stderr
    assert (out / "metadata.json").read_text(encoding="utf-8") == before
