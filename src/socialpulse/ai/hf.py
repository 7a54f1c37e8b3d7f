"""The "hf" backend: a local Hugging Face sequence-classification model, run in numpy.

For a model a user already has on disk (a checkout of cardiffnlp's twitter-roberta sentiment
model, a multilingual XLM-R one...), without torch or transformers. The directory holds:

* ``config.json``: ``model_type`` "bert", "roberta" or "xlm-roberta"; ``hidden_size``,
  ``num_hidden_layers``, ``num_attention_heads``, ``intermediate_size``, ``layer_norm_eps``,
  ``max_position_embeddings``, ``pad_token_id``, ``type_vocab_size``, ``hidden_act`` and
  ``id2label``.
* ``model.safetensors``, or the shards that ``model.safetensors.index.json`` lists, read with
  the ``safetensors`` package (`socialpulse.ai.encoder.read_safetensors`). A
  directory with only ``pytorch_model.bin`` is refused with the command that converts it:
  reading a ``.bin`` means unpickling it with torch, and unpickling runs code from the file.
* ``tokenizer.json``, the "fast" tokenizer file, read with the ``tokenizers`` package (Hugging
  Face's Rust tokenizer, installed by ``make accurate``). Its post-processor adds the [CLS] /
  ``<s>`` token the classifier reads; texts are truncated to the model's positions.

The forward pass is transformers' at inference (dropout off), in float32, run by the encoder
shared with MiniLM (`socialpulse.ai.encoder`):

* embeddings: word + position + token type, then LayerNorm. BERT numbers positions 0..L-1.
  RoBERTa and XLM-R number real tokens from ``pad_token_id + 1`` and give padding
  ``pad_token_id`` (transformers' ``create_position_ids_from_input_ids``), so a padded text
  gets the positions it has alone.
* post-LN layers: self-attention with padding masked out, add and LayerNorm, GELU
  feed-forward, add and LayerNorm. ``hidden_act`` "gelu" is the erf form (erf by Abramowitz and
  Stegun 7.1.26, absolute error below 1.5e-7: numpy has no erf); "gelu_new",
  "gelu_pytorch_tanh" and "gelu_fast" are the tanh form.
* heads: BERT, the pooler (dense + tanh on [CLS]) then ``classifier``; RoBERTa and XLM-R,
  ``classifier.dense`` + tanh on ``<s>`` then ``classifier.out_proj``. Softmax over the labels.

Labels (`label_columns`): ``id2label`` names are mapped case-insensitively, "negative"/"neg",
"neutral"/"neu", "positive"/"pos". The generic names LABEL_0, LABEL_1, LABEL_2 are read in the
order of cardiffnlp's twitter-roberta sentiment models, whose model cards state "0 -> Negative;
1 -> Neutral; 2 -> Positive". A negative/positive model gives neutral probability 0. Any other
label set (star ratings, emotions) is refused, its labels named.

`HFAnalyzer` (backend "hf") takes the sentiment from the model (evidence
``Evidence("model", "hf:<directory name>", p)``, p the label's probability) and everything else
from the default backend. Its model version appends ``/hf-<digest>`` to the default one:
SHA-256 over config.json, tokenizer.json, the weights' bytes and the languages routed to the
model. A content digest rather than size and mtime: workers with their own copy of a model must
agree on the version, or each would keep re-analysing what the others stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai.analysis import DefaultAnalyzer, ModelBundle
from socialpulse.ai.base import SENTIMENT_LABELS, BackendUnavailable, Evidence
from socialpulse.ai.encoder import (
    Encoder,
    EncoderConfig,
    WeightError,
    Weights,
    gelu_erf,
    gelu_tanh,
    read_safetensors,
)
from socialpulse.ai.features import F32, FeatureBatch, clean

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

I64 = npt.NDArray[np.int64]

MODEL_TYPES = ("bert", "roberta", "xlm-roberta")
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
BATCH = 16  # texts per padded batch, sorted by length (as for MiniLM)
MAX_TOKENS = 512
_ERF_GELU = frozenset({"gelu"})
_TANH_GELU = frozenset({"gelu_new", "gelu_pytorch_tanh", "gelu_fast"})
# id2label names -> index in SENTIMENT_LABELS (negative, neutral, positive).
_LABEL_NAMES = {"negative": 0, "neg": 0, "neutral": 1, "neu": 1, "positive": 2, "pos": 2}
# cardiffnlp/twitter-roberta-base-sentiment's generic names, in its model card's order.
_GENERIC_LABELS = {"label_0": 0, "label_1": 1, "label_2": 2}
# Attention to padding: far below any real score, still finite in float32.
_MASKED = -1e9


class HFModelError(BackendUnavailable):
    """The directory is not a model the hf backend can run; the message says what to do."""


def label_columns(id2label: dict[str, Any]) -> tuple[int, int | None, int]:
    """The model's output columns of (negative, neutral, positive); neutral None when the model
    has only negative and positive."""
    try:
        names = {int(key): str(value).strip().lower() for key, value in id2label.items()}
    except (TypeError, ValueError) as exc:
        raise HFModelError(f"config.json id2label has non-integer ids: {id2label}") from exc
    if sorted(names) != list(range(len(names))):
        raise HFModelError(f"config.json id2label must number its labels 0..n-1: {id2label}")
    table = _GENERIC_LABELS if set(names.values()) == set(_GENERIC_LABELS) else _LABEL_NAMES
    columns: dict[int, int] = {}
    for column, name in names.items():
        index = table.get(name)
        if index is None or index in columns:
            columns = {}
            break
        columns[index] = column
    if 0 not in columns or 2 not in columns:
        raise HFModelError(
            f"cannot map the labels {sorted(names.values())} to negative/neutral/positive: "
            "the hf backend reads sentiment models labelled negative, neutral, positive (or "
            "LABEL_0..LABEL_2 in that order, as cardiffnlp's twitter-roberta models are)"
        )
    return columns[0], columns.get(1), columns[2]


@dataclass(frozen=True)
class HFConfig:
    model_type: str
    hidden_size: int
    layers: int
    heads: int
    intermediate_size: int
    layer_norm_eps: float
    max_positions: int
    pad_token_id: int
    type_vocab_size: int
    hidden_act: str
    num_labels: int
    columns: tuple[int, int | None, int]

    @classmethod
    def read(cls, model_dir: Path) -> HFConfig:
        path = model_dir / CONFIG
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HFModelError(f"cannot read {path}: {exc}") from exc
        model_type = str(raw.get("model_type", ""))
        if model_type not in MODEL_TYPES:
            raise HFModelError(
                f"{path}: model_type {model_type!r} is not supported; the hf backend runs "
                f"{', '.join(MODEL_TYPES)} sequence-classification models"
            )
        hidden_act = str(raw.get("hidden_act", "gelu"))
        if hidden_act not in _ERF_GELU | _TANH_GELU:
            raise HFModelError(f"{path}: hidden_act {hidden_act!r} is not supported")
        id2label = raw.get("id2label")
        if not isinstance(id2label, dict) or not id2label:
            raise HFModelError(f"{path} has no id2label: it must be a classification model")
        try:
            config = cls(
                model_type=model_type,
                hidden_size=int(raw["hidden_size"]),
                layers=int(raw["num_hidden_layers"]),
                heads=int(raw["num_attention_heads"]),
                intermediate_size=int(raw["intermediate_size"]),
                layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
                max_positions=int(raw["max_position_embeddings"]),
                pad_token_id=int(raw.get("pad_token_id") or 0),
                type_vocab_size=int(raw.get("type_vocab_size", 2)),
                hidden_act=hidden_act,
                num_labels=len(id2label),
                columns=label_columns(id2label),
            )
        except KeyError as exc:
            raise HFModelError(f"{path} lacks {exc.args[0]!r}") from exc
        if config.hidden_size % config.heads:
            raise HFModelError(f"{path}: hidden_size is not a multiple of num_attention_heads")
        return config

    @property
    def encoder(self) -> EncoderConfig:
        return EncoderConfig(
            hidden=self.hidden_size,
            layers=self.layers,
            heads=self.heads,
            inner=self.intermediate_size,
            positions=self.max_positions,
            types=self.type_vocab_size,
            eps=self.layer_norm_eps,
            gelu=gelu_erf if self.hidden_act in _ERF_GELU else gelu_tanh,
            masked=_MASKED,
        )

    @property
    def roberta_like(self) -> bool:
        return self.model_type != "bert"

    @property
    def max_tokens(self) -> int:
        """Tokens per text, special ones included: RoBERTa's first position is pad + 1."""
        usable = self.max_positions - (self.pad_token_id + 1 if self.roberta_like else 0)
        return min(MAX_TOKENS, usable)


def weights_files(model_dir: Path) -> list[Path]:
    single = model_dir / WEIGHTS
    if single.is_file():
        return [single]
    index = model_dir / WEIGHTS_INDEX
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            files = [model_dir / name for name in sorted(set(weight_map.values()))]
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise HFModelError(f"cannot read {index}: {exc}") from exc
        missing = [path.name for path in files if not path.is_file()]
        if missing:
            raise HFModelError(f"{index} lists missing files: {', '.join(missing)}")
        return files
    if any(model_dir.glob("pytorch_model*.bin")):
        raise HFModelError(
            f"{model_dir} has pytorch_model.bin but no {WEIGHTS}: reading .bin weights needs "
            "torch and unpickling (which can run code from the file), so socialpulse reads "
            "safetensors only. Convert it once where transformers and torch are installed: "
            'python -c "from transformers import AutoModelForSequenceClassification as M; '
            f"M.from_pretrained('{model_dir}').save_pretrained('{model_dir}', "
            'safe_serialization=True)"'
        )
    raise HFModelError(f"no {WEIGHTS} in {model_dir}")


def check_model_dir(model_dir: Path) -> HFConfig:
    """Everything but the weights' contents: the files are there, config.json is a model this
    backend runs, its labels map to sentiment. Cheap; what the settings validate."""
    if not model_dir.is_dir():
        raise HFModelError(f"{model_dir} is not a directory")
    if not (model_dir / CONFIG).is_file():
        raise HFModelError(f"no {CONFIG} in {model_dir}: not a Hugging Face model directory")
    config = HFConfig.read(model_dir)
    weights_files(model_dir)
    if not (model_dir / TOKENIZER).is_file():
        raise HFModelError(
            f"no {TOKENIZER} in {model_dir}: save the fast tokenizer once where transformers "
            'is installed: python -c "from transformers import AutoTokenizer as T; '
            f"T.from_pretrained('{model_dir}').save_pretrained('{model_dir}')\""
        )
    return config


def _digest(model_dir: Path, weights: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in (model_dir / CONFIG, model_dir / TOKENIZER, *weights):
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _load_tokenizer(path: Path, config: HFConfig) -> Tokenizer:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise BackendUnavailable(
            "the hf backend reads tokenizer.json with the tokenizers package: make accurate "
            "(or pip install tokenizers)"
        ) from exc
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises plain Exception on a malformed file
        raise HFModelError(f"cannot read {path}: {exc}") from exc
    # Set once here and never again: encode calls from several threads then only read it.
    # Padding is done by `HFClassifier`, per length-sorted batch.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=config.max_tokens)
    probe = tokenizer.encode("probe")
    if not probe.special_tokens_mask or probe.special_tokens_mask[0] != 1:
        raise HFModelError(
            f"{path} adds no [CLS] / <s> token before the text (no post-processor): the "
            "classifier reads that token"
        )
    return tokenizer


class HFClassifier:
    """The model's weights (matrices transposed once for row-major matmuls) and tokenizer."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        config = self.config = check_model_dir(model_dir)
        files = weights_files(model_dir)
        raw: dict[str, npt.NDArray[np.generic]] = {}
        for path in files:
            try:
                raw.update(read_safetensors(path))
            except (OSError, ValueError) as exc:
                raise HFModelError(f"cannot read {path}: {exc}") from exc
        base = "bert." if config.model_type == "bert" else "roberta."
        if not any(name.startswith(base) for name in raw):
            base = ""  # saved without the task model's prefix
        hint = f"; is this a {config.model_type} sequence-classification checkpoint?"
        weights = Weights(raw, model_dir, hint)
        hidden, labels = config.hidden_size, config.num_labels
        head = (
            ("classifier.dense", "classifier.out_proj")
            if config.roberta_like
            else (base + "pooler.dense", "classifier")
        )
        try:
            self.encoder = Encoder(weights, base, config.encoder)
            self.head = {
                "dense_w": weights.get(head[0] + ".weight", (hidden, hidden), True),
                "dense_b": weights.get(head[0] + ".bias", (hidden,)),
                "out_w": weights.get(head[1] + ".weight", (labels, hidden), True),
                "out_b": weights.get(head[1] + ".bias", (labels,)),
            }
        except WeightError as exc:
            raise HFModelError(str(exc)) from exc
        self.tokenizer = _load_tokenizer(model_dir / TOKENIZER, config)
        vocab = self.tokenizer.get_vocab_size(with_added_tokens=True)
        if vocab > self.encoder.word.shape[0]:
            raise HFModelError(
                f"{model_dir}: tokenizer.json has {vocab} tokens, the model embeds "
                f"{self.encoder.word.shape[0]}"
            )
        self.digest = _digest(model_dir, files)

    def encode(self, texts: Sequence[str]) -> list[Encoding]:
        return list(self.tokenizer.encode_batch(list(texts)))

    def logits(self, ids: I64, type_ids: I64, mask: F32) -> F32:
        """Classifier logits of one padded batch: ids (batch, length), mask 1 on real tokens."""
        config = self.config
        batch, length = ids.shape
        if config.roberta_like:
            real = mask.astype(np.int64)
            positions = np.cumsum(real, axis=1) * real + config.pad_token_id
        else:
            positions = np.broadcast_to(np.arange(length, dtype=np.int64), (batch, length))
        first = self.encoder.hidden_states(ids, type_ids, positions, mask)[:, 0]
        pooled = np.tanh(first @ self.head["dense_w"] + self.head["dense_b"])
        return np.asarray(pooled @ self.head["out_w"] + self.head["out_b"], dtype=np.float32)

    def probabilities(self, texts: Sequence[str], batch_size: int = BATCH) -> F32:
        """P(negative, neutral, positive) per text, in input order."""
        encoded = self.encode(texts)
        out = np.zeros((len(texts), len(SENTIMENT_LABELS)), dtype=np.float32)
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")
        negative, neutral, positive = self.config.columns
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(encoded[i].ids) for i in chunk)
            ids = np.full((len(chunk), length), self.config.pad_token_id, dtype=np.int64)
            type_ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, index in enumerate(chunk):
                found = encoded[index]
                ids[row, : len(found.ids)] = found.ids
                type_ids[row, : len(found.ids)] = found.type_ids
                mask[row, : len(found.ids)] = 1.0
            logits = self.logits(ids, type_ids, mask)
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            out[chunk, 0] = p[:, negative]
            out[chunk, 2] = p[:, positive]
            if neutral is not None:
                out[chunk, 1] = p[:, neutral]
        return out


class HFAnalyzer(DefaultAnalyzer):
    """Sentiment from a local Hugging Face model, the rest from the default backend."""

    backend = "hf"

    def __init__(
        self,
        model_dir: Path,
        languages: Iterable[str] = ("en",),
        bundle: ModelBundle | None = None,
    ) -> None:
        super().__init__(bundle)
        self.classifier = HFClassifier(model_dir)
        self.languages = frozenset(languages)
        self.model_name = f"hf:{model_dir.resolve().name}"
        routed = ",".join(sorted(self.languages))
        digest = hashlib.sha256(f"{self.classifier.digest}|{routed}".encode()).hexdigest()
        self.model_version = f"{self.model_version}/hf-{digest[:10]}"

    def sentiment_probabilities(self, texts: Sequence[str]) -> F32:
        # The model reads the text as the platform meant it (no HTML entities, no literal
        # \uXXXX escapes), like the rules do.
        return self.classifier.probabilities([clean(text) for text in texts])

    def _model_sentiment(self, texts: Sequence[str]) -> tuple[F32, list[list[Evidence]]]:
        probabilities = self.sentiment_probabilities(texts)
        chosen = probabilities.max(axis=1)
        return probabilities, [
            [Evidence("model", self.model_name, round(float(p), 4))] for p in chosen
        ]

    def _sentiment(
        self, texts: Sequence[str], batch: FeatureBatch, explain: bool = True
    ) -> tuple[F32, list[list[Evidence]]]:
        return self._model_sentiment(texts)

    def _routed_sentiment(
        self, texts: Sequence[str], batch: FeatureBatch, routed: npt.NDArray[np.bool_]
    ) -> tuple[F32, list[list[Evidence]]]:
        # The encoder is most of the batch's cost: texts in other languages skip it.
        probabilities = np.zeros((len(texts), len(SENTIMENT_LABELS)), dtype=np.float32)
        evidence: list[list[Evidence]] = [[] for _ in texts]
        keep: list[int] = np.flatnonzero(routed).tolist()
        if keep:
            found, found_evidence = self._model_sentiment([texts[i] for i in keep])
            probabilities[keep] = found
            for row, index in enumerate(keep):
                evidence[index] = found_evidence[row]
        return probabilities, evidence
