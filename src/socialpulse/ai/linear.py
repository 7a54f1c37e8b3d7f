"""Linear models over hashed features, stored as numpy arrays (no pickle).

Array format of one model file (``<name>.npz``, written with `numpy.savez_compressed`, read
with ``allow_pickle=False``):

============  ==================  ===========================================================
array         dtype, shape        meaning
============  ==================  ===========================================================
``weights``   float16 (F, K)      one column per class (K = 1 for a yes/no model); F is
                                  ``2**word_bits + 2**char_bits`` from the feature spec
``bias``      float32 (K,)        intercepts
``idf``       float16 (F,)        inverse document frequency per column; 0 for columns seen
                                  in fewer than ``min_df`` training texts (they are ignored)
============  ==================  ===========================================================

`metadata.json` beside it names the labels, whether scores go through a softmax
(``K > 1``) or a sigmoid, the per-class offsets and temperature chosen on validation data,
and the decision threshold of yes/no models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from socialpulse.ai.features import F32, I64, FeatureBatch, tfidf_values


@dataclass
class LinearModel:
    name: str
    labels: list[str]
    weights: F32
    bias: F32
    idf: F32
    offsets: F32
    temperature: float = 1.0
    threshold: float = 0.5
    _centred: F32 | None = field(default=None, repr=False)

    @property
    def centred(self) -> F32:
        """Weights minus their mean over classes: each feature's push towards each class."""
        if self._centred is None:
            self._centred = self.weights - self.weights.mean(axis=1, keepdims=True)
        return self._centred

    @property
    def binary(self) -> bool:
        return self.weights.shape[1] == 1

    @classmethod
    def load(cls, path: Path, meta: dict[str, object]) -> LinearModel:
        with np.load(path, allow_pickle=False) as arrays:
            weights = arrays["weights"].astype(np.float32)
            bias = arrays["bias"].astype(np.float32)
            idf = arrays["idf"].astype(np.float32)
        labels = [str(label) for label in meta["labels"]]  # type: ignore[attr-defined]
        k = weights.shape[1]
        offsets = np.asarray(meta.get("offsets", [0.0] * k), dtype=np.float32)
        return cls(
            name=str(meta["name"]),
            labels=labels,
            weights=weights,
            bias=bias,
            idf=idf,
            offsets=offsets,
            temperature=float(meta.get("temperature", 1.0)),  # type: ignore[arg-type]
            threshold=float(meta.get("threshold", 0.5)),  # type: ignore[arg-type]
        )

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            idf=self.idf.astype(np.float16),
        )

    def values(self, batch: FeatureBatch) -> F32:
        return tfidf_values(batch, self.idf)

    def decision(self, batch: FeatureBatch, values: F32) -> F32:
        """Raw scores (n_docs, K) before offsets and temperature."""
        gathered = self.weights[batch.col] * values[:, None]
        out = np.empty((batch.n_docs, self.weights.shape[1]), dtype=np.float32)
        for k in range(self.weights.shape[1]):
            out[:, k] = np.bincount(batch.doc, weights=gathered[:, k], minlength=batch.n_docs)
        return out + self.bias

    def probabilities(self, decision: F32) -> F32:
        logits = (decision + self.offsets) / self.temperature
        if self.binary:
            return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def explain(
        self,
        batch: FeatureBatch,
        values: F32,
        target: I64,
        sign: npt.NDArray[np.float32] | None = None,
        top: int = 5,
        only: npt.NDArray[np.bool_] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """The terms that pushed each text towards class ``target[doc]``, strongest first.

        For a softmax model a feature's push towards class k is its weight for k minus its
        mean weight over the classes; for a yes/no model it is the weight times ``sign[doc]``
        (+1 to explain "yes", -1 to explain "no"). Char n-gram pushes are credited to the
        token they sit in, so the evidence reads as words and word pairs. With `only`, texts
        outside the mask get no evidence (saves time where a label did not fire).
        """
        if self.binary:
            column = self.weights[:, 0]
            per_row = column[batch.col] * values
            if sign is not None:
                per_row = per_row * sign[batch.doc]
        else:
            per_row = self.centred[batch.col, target[batch.doc]] * values
        result: list[list[tuple[str, float]]] = [[] for _ in range(batch.n_docs)]
        if not len(batch.occ_term):
            return result
        per_occurrence = per_row[batch.occ_row] / batch.count[batch.occ_row]
        term_scores = np.bincount(
            batch.occ_term, weights=per_occurrence, minlength=len(batch.term_doc)
        )
        wanted = term_scores > 0
        if only is not None:
            wanted &= only[batch.term_doc]
        candidates = np.flatnonzero(wanted)
        if not len(candidates):
            return result
        docs = batch.term_doc[candidates]
        order = np.lexsort((-term_scores[candidates], docs))
        candidates = candidates[order]
        docs = docs[order]
        starts = np.searchsorted(docs, docs, side="left")
        rank = np.arange(len(docs)) - starts
        keep = rank < top * 2  # room for merging repeated words
        for term, doc in zip(candidates[keep].tolist(), docs[keep].tolist(), strict=True):
            result[doc].append((batch.term_text(term), float(term_scores[term])))
        for doc, items in enumerate(result):
            if items:
                merged: dict[str, float] = {}
                for text, score in items:
                    merged[text] = merged.get(text, 0.0) + score
                best = sorted(merged.items(), key=lambda item: -item[1])[:top]
                result[doc] = [(text, round(score, 4)) for text, score in best]
        return result
