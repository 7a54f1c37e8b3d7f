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
from socialpulse.ai.word_vectors import StaticHead

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


# The English model's probabilities are floored before their log: a vote, not a veto.
_VOTE_FLOOR = 1e-6


@dataclass(frozen=True)
class EnglishVote:
    """The English sentiment model's log-probabilities, times a weight per language, added to
    the multilingual scores (metadata ``english_vote``). For romanised, code-mixed Hindi: its
    tweets share the Latin script and many words with English ("so sad yaar", "best movie
    ever"), which the English model learned from 47,000 tweets and the multilingual one from
    under 2,000. The English model never saw the multilingual labels, so its scores on them
    are out of sample; the weight is chosen by cross-validation (`training.multi`)."""

    model: LinearModel
    weights: dict[str, float]

    def weight(self, codes: Sequence[str]) -> F32:
        return np.asarray([self.weights.get(code, 0.0) for code in codes], dtype=np.float32)

    def probabilities(self, batch: FeatureBatch) -> F32:
        """The English model's P(negative, neutral, positive) of each text of `batch`."""
        return self.model.probabilities(self.model.decision(batch, self.model.values(batch)))

    def of(self, batch: FeatureBatch, codes: Sequence[str]) -> F32:
        """The vote of each text of `batch` (featurised with the default spec): zero for a
        language without a weight."""
        weight = self.weight(codes)
        if not weight.any():
            return np.zeros((batch.n_docs, 3), dtype=np.float32)
        probabilities = self.probabilities(only_docs(batch, weight > 0))
        return np.asarray(
            weight[:, None] * np.log(np.maximum(probabilities, _VOTE_FLOOR)), dtype=np.float32
        )


@dataclass
class MultiSentiment:
    """The shipped multilingual model: its weights over the folded space, the fold, the
    offsets chosen per language by cross-validation (metadata ``offsets_by_language``), and
    the English model's vote where a language takes it (``english_vote``) and the static
    word-vector head (``static``, `word_vectors`) where one was trained."""

    model: LinearModel
    fold: FoldSpec
    offsets: dict[str, F32]
    english: EnglishVote | None = None
    static: StaticHead | None = None

    @classmethod
    def of(
        cls,
        model: LinearModel,
        meta: dict[str, Any],
        english: LinearModel | None = None,
        static: StaticHead | None = None,
    ) -> MultiSentiment:
        offsets = {
            str(code): np.asarray(values, dtype=np.float32)
            for code, values in meta.get("offsets_by_language", {}).items()
        }
        weights = {str(code): float(w) for code, w in meta.get("english_vote", {}).items() if w}
        vote = EnglishVote(english, weights) if english is not None and weights else None
        return cls(model, FoldSpec.from_json(meta["fold"]), offsets, vote, static)

    def reads(self, code: str) -> bool:
        return code in self.offsets

    def scores(self, batch: FeatureBatch, codes: Sequence[str]) -> tuple[FeatureBatch, F32, F32]:
        """The language batch of `batch` (featurised with the default spec), its tf-idf values
        and the decision with the English vote, the static head and each language's offsets
        (before the temperature). A text whose code the model does not read scores zero
        offsets: the caller ignores its row."""
        vote = self.english_vote(batch, codes)
        if self.static is not None:
            vote = vote + self.static.of(batch, codes)
        batch = language_batch(batch, codes, self.fold)
        values = self.model.values(batch)
        zero = np.zeros(3, dtype=np.float32)
        shift = np.stack([self.offsets.get(code, zero) for code in codes]) if codes else zero
        return batch, values, self.model.decision(batch, values) + vote + shift

    def english_vote(self, batch: FeatureBatch, codes: Sequence[str]) -> F32:
        """What the English model adds to the scores of `batch` (default-spec features)."""
        if self.english is None:
            return np.zeros((batch.n_docs, 3), dtype=np.float32)
        return self.english.of(batch, codes)

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
