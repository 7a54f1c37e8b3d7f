"""The BERT-family transformer encoder in numpy, shared by MiniLM (`minilm`) and the hf
backend (`hf`).

Post-LN layers as transformers runs them at inference (dropout off), in float32: embeddings
(word + position + token type, then LayerNorm); per layer, self-attention with padding masked
out, add and LayerNorm, GELU feed-forward, add and LayerNorm. What differs between the two
callers is data, not code: the LayerNorm epsilon, the GELU form, the score given to padding,
the position ids (BERT numbers 0..L-1, RoBERTa from ``pad_token_id + 1``) and what is read
from the last hidden states (mean pooling for MiniLM, the first token for a classifier).

Weights are read with the ``safetensors`` package (`read_safetensors`), installed with the
optional backends (``make accurate``); the default backend never needs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from socialpulse.ai.base import BackendUnavailable

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
Tensors = Mapping[str, npt.NDArray[np.generic]]


def read_safetensors(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    """The tensors of a ``.safetensors`` file; ValueError for a file that is not one."""
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise BackendUnavailable(
            "reading model weights needs the safetensors package: make accurate "
            "(or pip install safetensors)"
        ) from exc
    try:
        return load_file(path)
    except (SafetensorError, TypeError) as exc:  # TypeError: a dtype numpy cannot hold
        raise ValueError(str(exc)) from exc


def layer_norm(x: F32, weight: F32, bias: F32, eps: float = 1e-12) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


def gelu_tanh(x: F32) -> F32:
    """The tanh form of GELU (transformers' "gelu_new"; max deviation from the erf form about
    1e-3). MiniLM runs it too: its heads are trained on these very embeddings."""
    inner = np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)
    return np.asarray(np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner)), dtype=np.float32)


def _erf(x: F32) -> F32:
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7): numpy has no erf."""
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * 1.061405429))
        )
    )
    return np.asarray(np.sign(x) * (np.float32(1.0) - poly * np.exp(-a * a)), dtype=np.float32)


def gelu_erf(x: F32) -> F32:
    return np.asarray(
        np.float32(0.5) * x * (np.float32(1.0) + _erf(x * np.float32(1.0 / math.sqrt(2.0)))),
        dtype=np.float32,
    )


@dataclass(frozen=True)
class EncoderConfig:
    hidden: int
    layers: int
    heads: int
    inner: int  # the feed-forward width
    positions: int
    types: int
    eps: float
    gelu: Callable[[F32], F32]
    masked: float  # attention score given to padding: far below any real score


class WeightError(ValueError):
    """A tensor the config implies is missing or has another shape."""


class Weights:
    """Named tensors of a checkpoint, as float32 arrays of the shape the config implies."""

    def __init__(self, tensors: Tensors, source: Path, hint: str = "") -> None:
        self.tensors = tensors
        self.source = source
        self.hint = hint  # appended to the message of a missing tensor

    def find(self, name: str) -> npt.NDArray[np.generic]:
        found = self.tensors.get(name)
        if found is None and "LayerNorm" in name:
            # Checkpoints converted from TensorFlow name LayerNorm's parameters gamma, beta.
            old = name.replace(".weight", ".gamma").replace(".bias", ".beta")
            found = self.tensors.get(old)
        if found is None:
            raise WeightError(f"{self.source}: no tensor {name!r} in the weights{self.hint}")
        return found

    def get(self, name: str, shape: tuple[int, ...], transpose: bool = False) -> F32:
        found = self.find(name)
        if tuple(found.shape) != shape:
            raise WeightError(
                f"{self.source}: {name} has shape {tuple(found.shape)}, config.json implies {shape}"
            )
        array = found.T if transpose else found
        return np.ascontiguousarray(array, dtype=np.float32)


class Encoder:
    """The embeddings and layers, matrices transposed once for row-major matmuls."""

    def __init__(self, weights: Weights, prefix: str, config: EncoderConfig) -> None:
        self.config = config
        hidden, inner = config.hidden, config.inner
        e = prefix + "embeddings."
        self.word = np.ascontiguousarray(weights.find(e + "word_embeddings.weight"), np.float32)
        if self.word.ndim != 2 or self.word.shape[1] != hidden:
            raise WeightError(f"{weights.source}: the word embeddings are not {hidden} wide")
        get = weights.get
        self.position = get(e + "position_embeddings.weight", (config.positions, hidden))
        self.token_type = get(e + "token_type_embeddings.weight", (config.types, hidden))
        self.emb_ln = (get(e + "LayerNorm.weight", (hidden,)), get(e + "LayerNorm.bias", (hidden,)))
        self.layers: list[dict[str, F32]] = []
        for i in range(config.layers):
            p = f"{prefix}encoder.layer.{i}."
            qkv = [
                get(p + f"attention.self.{n}.weight", (hidden, hidden))
                for n in ("query", "key", "value")
            ]
            qkv_b = [
                get(p + f"attention.self.{n}.bias", (hidden,)) for n in ("query", "key", "value")
            ]
            self.layers.append(
                {
                    "qkv_w": np.ascontiguousarray(np.concatenate(qkv).T),
                    "qkv_b": np.concatenate(qkv_b),
                    "out_w": get(p + "attention.output.dense.weight", (hidden, hidden), True),
                    "out_b": get(p + "attention.output.dense.bias", (hidden,)),
                    "ln1_w": get(p + "attention.output.LayerNorm.weight", (hidden,)),
                    "ln1_b": get(p + "attention.output.LayerNorm.bias", (hidden,)),
                    "in_w": get(p + "intermediate.dense.weight", (inner, hidden), True),
                    "in_b": get(p + "intermediate.dense.bias", (inner,)),
                    "ff_w": get(p + "output.dense.weight", (hidden, inner), True),
                    "ff_b": get(p + "output.dense.bias", (hidden,)),
                    "ln2_w": get(p + "output.LayerNorm.weight", (hidden,)),
                    "ln2_b": get(p + "output.LayerNorm.bias", (hidden,)),
                }
            )

    @property
    def hidden(self) -> int:
        return self.config.hidden

    @property
    def heads(self) -> int:
        return self.config.heads

    def hidden_states(self, ids: I64, type_ids: I64, positions: I64, mask: F32) -> F32:
        """The last layer's output (batch, length, hidden) of one padded batch: ids, token
        types and positions (batch, length), mask 1 on real tokens."""
        config = self.config
        batch, length = ids.shape
        hidden, heads, eps = config.hidden, config.heads, config.eps
        dim, rows = hidden // heads, batch * length
        # Linear layers run on 2-D (rows x hidden) arrays: numpy sends those to BLAS GEMM in
        # one call, while 3-D @ 2-D loops over the batch.
        x = self.word[ids] + self.position[positions] + self.token_type[type_ids]
        x = layer_norm(x.reshape(rows, hidden), *self.emb_ln, eps=eps)
        bias = np.asarray((1.0 - mask) * np.float32(config.masked), dtype=np.float32)
        bias = bias[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(dim))
        for layer in self.layers:
            qkv = (x @ layer["qkv_w"] + layer["qkv_b"]).reshape(batch, length, 3, heads, dim)
            # Contiguous operands keep numpy's batched matmul on BLAS (strided ones are not).
            q = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3))
            kt = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))
            v = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
            scores = (q @ kt) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = np.asarray(
                (scores @ v).transpose(0, 2, 1, 3).reshape(rows, hidden), dtype=np.float32
            )
            x = layer_norm(
                x + context @ layer["out_w"] + layer["out_b"],
                layer["ln1_w"],
                layer["ln1_b"],
                eps=eps,
            )
            inner = config.gelu(x @ layer["in_w"] + layer["in_b"])
            x = layer_norm(
                x + inner @ layer["ff_w"] + layer["ff_b"], layer["ln2_w"], layer["ln2_b"], eps=eps
            )
        return x.reshape(batch, length, hidden)
