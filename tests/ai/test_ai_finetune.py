"""The parts of MiniLM fine-tuning that do not need PyTorch, and its absence."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from socialpulse.ai.cli import app
from socialpulse.ai.finetune import (
    TorchUnavailable,
    learning_rate_factor,
    length_pools,
    padded,
    require_torch,
)


def test_length_pools_cover_every_text_once_with_little_padding() -> None:
    lengths = list(np.random.default_rng(0).integers(3, 60, size=1000))
    batches = length_pools(lengths, 32, np.random.default_rng(1))
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(1000))
    assert max(len(batch) for batch in batches) == 32
    # Pools of 1,600 texts sorted by length: each batch spans a narrow range of lengths.
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert np.median(spread) <= 2


def test_length_pools_keep_input_order_without_a_generator() -> None:
    batches = length_pools([5, 4, 3, 2], 2, None)
    assert [batch.tolist() for batch in batches] == [[3, 2], [1, 0]]


def test_padded_batch_masks_the_padding() -> None:
    ids, mask = padded([[101, 7, 102], [101, 102]], np.array([0, 1]))
    assert ids.tolist() == [[101, 7, 102], [101, 102, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    factors = [learning_rate_factor(step, 1000) for step in range(1000)]
    assert factors[0] < 0.05 and max(factors) == pytest.approx(1.0)
    peak = int(np.argmax(factors))
    assert 50 <= peak <= 70
    assert all(a >= b for a, b in zip(factors[peak:], factors[peak + 1 :], strict=False))
    assert factors[-1] < 0.002


def _without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def guarded(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)
    import importlib

    real_module = importlib.import_module

    def guarded_module(name: str, package: str | None = None) -> Any:
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_module(name, package)

    monkeypatch.setattr(importlib, "import_module", guarded_module)


def test_missing_torch_is_named_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_torch(monkeypatch)
    with pytest.raises(TorchUnavailable, match="pip install torch"):
        require_torch()


def test_train_with_accurate_fails_before_training_without_torch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from socialpulse.ai import train as train_module

    calls: list[object] = []
    monkeypatch.setattr(train_module, "train", lambda *a, **k: calls.append(a))
    data = tmp_path / "data"
    (data / "sentiment").mkdir(parents=True)
    (data / "sentiment" / "train.tsv").write_text("label\ttext\n1\thello\n", encoding="utf-8")
    _without_torch(monkeypatch)
    result = CliRunner().invoke(
        app, ["train", "--data", str(data), "--out", str(tmp_path / "out"), "--accurate"]
    )
    assert result.exit_code == 1
    assert "PyTorch" in result.stderr
    assert calls == []  # nothing was trained, nothing was overwritten
