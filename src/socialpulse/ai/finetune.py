"""Fine-tune all-MiniLM-L6-v2's transformer layers for sentiment (training only, PyTorch).

The accurate backend's sentence embeddings come from a model trained for semantic
similarity, which places "great game" and "awful game" close together; a head over frozen
embeddings reached 0.72 val macro-recall combined with the default model. Fine-tuning the
six transformer layers on ``sentiment/train.tsv`` moves sentiment into the embedding. The
word, position and LayerNorm embeddings stay frozen (11.7 M of the 22.7 M weights), so the
shipped file is only the layers' change (`socialpulse.ai.minilm.EncoderDelta`).

PyTorch is needed here only, never at run time: the tuned layers run in the same ONNX
Runtime graph as the package's. Install the CPU build with ``pip install torch`` (or
``make fine-tune``). The network is the numpy forward of `socialpulse.ai.encoder` written in
torch (tanh GELU, LayerNorm eps 1e-12, mean pooling and L2 normalisation); `fine_tune`
checks that the exported weights give the torch model's validation logits through numpy.

Recipe: class-balanced cross-entropy through a linear head on the pooled embedding (times
a fixed scale of 20, as the embedding has unit norm), AdamW (lr 5e-5 for the layers, 1e-3
for the head, weight decay 0.01), 6 % linear warm-up then linear decay, batches of 32 texts
sorted by length within shuffled pools, dropout 0.1 after each layer and before the head,
gradient norm clipped at 1, two epochs, seed 0, 2 threads.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai.encoder import F32
from socialpulse.ai.minilm import MiniLM

EPOCHS = 2
BATCH = 32
LAYER_LR = 5e-5
HEAD_LR = 1e-3
WEIGHT_DECAY = 0.01
WARMUP = 0.06
DROPOUT = 0.1
HEAD_SCALE = 20.0
SEED = 0
_PARAMETERS = (
    "qkv_w",
    "qkv_b",
    "out_w",
    "out_b",
    "ln1_w",
    "ln1_b",
    "in_w",
    "in_b",
    "ff_w",
    "ff_b",
    "ln2_w",
    "ln2_b",
)


class TorchUnavailable(RuntimeError):
    pass


@dataclass
class FineTuned:
    layers: list[dict[str, F32]]
    head_weights: F32
    head_bias: F32
    val_logits: F32
    log: list[str]


def require_torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise TorchUnavailable(
            "fine-tuning MiniLM needs PyTorch (CPU is enough): pip install torch"
        ) from exc


def length_pools(
    lengths: Sequence[int], batch: int, rng: np.random.Generator | None
) -> list[npt.NDArray[np.int64]]:
    """Batches of similar length (little padding); shuffled pools when `rng` is given."""
    order = rng.permutation(len(lengths)) if rng is not None else np.arange(len(lengths))
    batches: list[npt.NDArray[np.int64]] = []
    pool = batch * 50
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches += [chunk[j : j + batch] for j in range(0, len(chunk), batch)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def padded(
    encoded: Sequence[Sequence[int]], index: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], F32]:
    length = max(len(encoded[i]) for i in index)
    ids = np.zeros((len(index), length), dtype=np.int64)
    mask = np.zeros((len(index), length), dtype=np.float32)
    for row, i in enumerate(index):
        ids[row, : len(encoded[i])] = encoded[i]
        mask[row, : len(encoded[i])] = 1.0
    return ids, mask


def learning_rate_factor(step: int, total: int) -> float:
    warm = max(1, int(WARMUP * total))
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (total - step) / max(1, total - warm))


class _Network:
    """The numpy forward of `socialpulse.ai.minilm.MiniLM` in torch, with trainable layers
    and a linear head (plain tensors, no nn.Module: the training code stays typed)."""

    def __init__(self, torch: Any, encoder: MiniLM) -> None:
        self.torch = torch
        self.functional = torch.nn.functional
        bert = encoder.bert
        self.heads = bert.heads
        self.word = torch.tensor(bert.word)
        self.position = torch.tensor(bert.position)
        self.token_type = torch.tensor(bert.token_type[0])  # every text is segment 0
        self.emb_ln = [torch.tensor(value) for value in bert.emb_ln]
        self.layers = [
            {name: torch.tensor(weights[name].copy(), requires_grad=True) for name in _PARAMETERS}
            for weights in encoder.layers
        ]
        generator = torch.Generator().manual_seed(SEED)
        self.head_weights = (
            torch.randn(encoder.hidden, 3, generator=generator).mul_(0.02).requires_grad_()
        )
        self.head_bias = torch.zeros(3, requires_grad=True)
        self.training = True

    def layer_parameters(self) -> list[Any]:
        return [tensor for layer in self.layers for tensor in layer.values()]

    def head_parameters(self) -> list[Any]:
        return [self.head_weights, self.head_bias]

    def _dropout(self, x: Any) -> Any:
        return self.functional.dropout(x, DROPOUT, training=self.training)

    def _layer(self, w: dict[str, Any], x: Any, bias: Any) -> Any:
        torch, functional = self.torch, self.functional
        batch, length, hidden = x.shape
        dim = hidden // self.heads
        qkv = (x @ w["qkv_w"] + w["qkv_b"]).view(batch, length, 3, self.heads, dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dim) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, hidden)
        x = functional.layer_norm(
            x + context @ w["out_w"] + w["out_b"], (hidden,), w["ln1_w"], w["ln1_b"], 1e-12
        )
        inner = x @ w["in_w"] + w["in_b"]
        inner = 0.5 * inner * (1.0 + torch.tanh(0.7978845608 * (inner + 0.044715 * inner**3)))
        return functional.layer_norm(
            x + inner @ w["ff_w"] + w["ff_b"], (hidden,), w["ln2_w"], w["ln2_b"], 1e-12
        )

    def __call__(self, ids: npt.NDArray[np.int64], mask: F32) -> Any:
        torch = self.torch
        token_ids, token_mask = torch.from_numpy(ids), torch.from_numpy(mask)
        hidden = self.word.shape[1]
        with torch.no_grad():
            x = self.word[token_ids] + self.position[: ids.shape[1]] + self.token_type
            x = self.functional.layer_norm(x, (hidden,), *self.emb_ln, 1e-12)
        bias = ((1.0 - token_mask) * -1e4)[:, None, None, :]
        for layer in self.layers:
            x = self._dropout(self._layer(layer, x, bias))
        weights = token_mask[:, :, None]
        pooled = (x * weights).sum(1) / token_mask.sum(1, keepdim=True).clamp(min=1)
        pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
        return HEAD_SCALE * (self._dropout(pooled) @ self.head_weights + self.head_bias)


def fine_tune(
    encoder: MiniLM,
    train_texts: Sequence[str],
    train_labels: npt.NDArray[np.int64],
    val_texts: Sequence[str],
    epochs: int = EPOCHS,
    progress: Callable[[int, int, str], None] | None = None,
) -> FineTuned:
    """Fine-tune `encoder`'s layers (a float numpy `MiniLM`) and return the tuned weights."""
    torch = require_torch()
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    model = _Network(torch, encoder)
    train_ids = encoder.token_ids(train_texts)
    val_ids = encoder.token_ids(val_texts)
    counts = np.bincount(train_labels, minlength=3)
    class_weight = torch.tensor(len(train_labels) / (3 * counts), dtype=torch.float32)
    total = epochs * math.ceil(len(train_ids) / BATCH)
    optimizer = torch.optim.AdamW(
        [
            {
                "params": model.layer_parameters(),
                "lr": LAYER_LR,
                "weight_decay": WEIGHT_DECAY,
            },
            {"params": model.head_parameters(), "lr": HEAD_LR, "weight_decay": 0.0},
        ]
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, total)
    )
    log: list[str] = []
    started = time.perf_counter()
    lengths = [len(ids) for ids in train_ids]
    for epoch in range(epochs):
        model.training = True
        running = 0.0
        batches = length_pools(lengths, BATCH, rng)
        for number, index in enumerate(batches, start=1):
            ids, mask = padded(train_ids, index)
            logits = model(ids, mask)
            loss = torch.nn.functional.cross_entropy(
                logits, torch.from_numpy(train_labels[index]), weight=class_weight
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.layer_parameters() + model.head_parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            running += float(loss.item())
            if progress is not None and (number % 20 == 0 or number == len(batches)):
                progress(
                    epoch * len(batches) + number,
                    total,
                    f"epoch {epoch + 1}/{epochs}, loss {running / number:.3f}",
                )
        log.append(f"epoch {epoch + 1}: mean training loss {running / len(batches):.4f}")
    model.training = False
    val_logits = np.zeros((len(val_ids), 3), dtype=np.float32)
    with torch.no_grad():
        for index in length_pools([len(ids) for ids in val_ids], 64, None):
            ids, mask = padded(val_ids, index)
            val_logits[index] = model(ids, mask).numpy()
    layers = [
        {name: tensor.detach().numpy().astype(np.float32) for name, tensor in layer.items()}
        for layer in model.layers
    ]
    head_weights = model.head_weights.detach().numpy().astype(np.float32) * HEAD_SCALE
    head_bias = model.head_bias.detach().numpy().astype(np.float32) * HEAD_SCALE
    _check_export(encoder, layers, val_texts, val_logits, head_weights, head_bias)
    log.append(f"fine-tuned in {time.perf_counter() - started:.0f} s")
    return FineTuned(
        layers=layers,
        head_weights=head_weights,
        head_bias=head_bias,
        val_logits=val_logits,
        log=log,
    )


def _check_export(
    encoder: MiniLM,
    layers: list[dict[str, F32]],
    val_texts: Sequence[str],
    val_logits: F32,
    head_weights: F32,
    head_bias: F32,
) -> None:
    """The numpy forward with the exported layers must give torch's logits (on a sample)."""
    saved = encoder.layers
    encoder.layers = layers
    try:
        sample = list(val_texts[:64])
        logits = encoder.embed(sample) @ head_weights + head_bias
    finally:
        encoder.layers = saved
    gap = float(np.abs(logits - val_logits[: len(sample)]).max())
    if gap > 1e-2:
        raise RuntimeError(f"exported layers disagree with the trained network (gap {gap:.4f})")
