"""Language-aware hashed features for the multilingual sentiment model (`sentiment_multi`).

The multilingual model reads the same hashed features as the English one (`features`), folded
into a smaller space so its weights stay small, and each feature fires twice: once in a column
shared by every language, once in a column conjoined with the text's language ("feature
augmentation", Daumé 2007). The shared columns carry what the languages have in common (emoji,
emoticons, "jaja"/"haha", cognates), the language columns what each one says its own way, and
one weight matrix holds both.

Folding: a word column ``c`` (of ``2**word_bits``) goes to ``c mod 2**fold_word_bits``, a char
column likewise into the char block after it; the language copy of a column is its hash with the
language's seed, in the same block. Collisions cost little: the model sees ~25,000 tweets.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai.features import F32, FeatureBatch, FeatureSpec, _mix, featurize
from socialpulse.ai.linear import LinearModel

# The languages whose tweets the multilingual model learned from, besides English (XLM-T's UMSAB).
MULTI_LANGUAGES = frozenset({"ar", "de", "es", "fr", "hi", "it", "pt"})


@dataclass(frozen=True)
class FoldSpec:
    """The folded space of the multilingual model: ``2**word_bits + 2**char_bits`` columns."""

    word_bits: int = 17
    char_bits: int = 18

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(word_bits=self.word_bits, char_bits=self.char_bits)

    def to_json(self) -> dict[str, int]:
        return {"word_bits": self.word_bits, "char_bits": self.char_bits}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> FoldSpec:
        return cls(word_bits=int(data["word_bits"]), char_bits=int(data["char_bits"]))


def language_seed(code: str) -> np.uint64:
    return np.uint64(zlib.crc32(f"lang:{code}".encode()) | 1)


def language_batch(batch: FeatureBatch, codes: Sequence[str], fold: FoldSpec) -> FeatureBatch:
    """`batch` (any spec) in the folded space, each row once shared and once conjoined with
    its text's language ``codes[doc]``. Occurrences are kept for both copies, so the model's
    evidence still reads as the words that pushed."""
    spec = fold.spec
    n_word = batch.spec.n_word
    is_char = batch.col >= n_word
    local = np.where(is_char, batch.col - n_word, batch.col).astype(np.uint64)
    mask = np.where(is_char, np.uint64(spec.n_char - 1), np.uint64(spec.n_word - 1))
    base = np.where(is_char, spec.n_word, 0).astype(np.int64)
    shared = base + (local & mask).astype(np.int64)
    seeds = np.asarray([language_seed(code) for code in codes], dtype=np.uint64)
    conjoined = base + (_mix(local ^ seeds[batch.doc]) & mask).astype(np.int64)
    n_rows = len(batch.col)
    return FeatureBatch(
        n_docs=batch.n_docs,
        spec=spec,
        doc=np.concatenate((batch.doc, batch.doc)),
        col=np.concatenate((shared, conjoined)),
        count=np.concatenate((batch.count, batch.count)),
        occ_row=np.concatenate((batch.occ_row, batch.occ_row + n_rows)),
        occ_term=np.concatenate((batch.occ_term, batch.occ_term)),
        term_doc=batch.term_doc,
        tokens=batch.tokens,
        n_tokens=batch.n_tokens,
    )


@dataclass
class MultiSentiment:
    """The shipped multilingual model: its weights over the folded space, the fold, and the
    offsets chosen per language by cross-validation (metadata ``offsets_by_language``)."""

    model: LinearModel
    fold: FoldSpec
    offsets: dict[str, F32]

    @classmethod
    def of(cls, model: LinearModel, meta: dict[str, Any]) -> MultiSentiment:
        offsets = {
            str(code): np.asarray(values, dtype=np.float32)
            for code, values in meta.get("offsets_by_language", {}).items()
        }
        return cls(model, FoldSpec.from_json(meta["fold"]), offsets)

    def reads(self, code: str) -> bool:
        return code in self.offsets

    def scores(self, batch: FeatureBatch, codes: Sequence[str]) -> tuple[FeatureBatch, F32, F32]:
        """The language batch of `batch` (featurised with the default spec), its tf-idf values
        and the decision with each language's offsets (before the temperature). A text whose
        code the model does not read scores zero offsets: the caller ignores its row."""
        batch = language_batch(batch, codes, self.fold)
        values = self.model.values(batch)
        zero = np.zeros(3, dtype=np.float32)
        shift = np.stack([self.offsets.get(code, zero) for code in codes]) if codes else zero
        return batch, values, self.model.decision(batch, values) + shift

    def without_offsets(self, decision: F32, codes: Sequence[str]) -> F32:
        """`decision` (from `scores`, prior added or not) less each language's offsets."""
        zero = np.zeros(3, dtype=np.float32)
        if not codes:
            return decision
        return np.asarray(
            decision - np.stack([self.offsets.get(code, zero) for code in codes]), dtype=np.float32
        )

    def scores_of(
        self, texts: Sequence[str], codes: Sequence[str], spec: FeatureSpec
    ) -> tuple[FeatureBatch, F32, F32]:
        return self.scores(featurize(texts, spec), codes)


def only_docs(batch: FeatureBatch, keep: npt.NDArray[np.bool_]) -> FeatureBatch:
    """`batch` with the feature rows of the texts outside `keep` dropped (the texts stay,
    featureless), so a second model can score a few texts of a batch without featurising
    them again."""
    rows = keep[batch.doc]
    rank = np.cumsum(rows) - 1
    occurrences = rows[batch.occ_row]
    return FeatureBatch(
        n_docs=batch.n_docs,
        spec=batch.spec,
        doc=batch.doc[rows],
        col=batch.col[rows],
        count=batch.count[rows],
        occ_row=rank[batch.occ_row[occurrences]],
        occ_term=batch.occ_term[occurrences],
        term_doc=batch.term_doc,
        tokens=batch.tokens,
        n_tokens=batch.n_tokens,
    )
