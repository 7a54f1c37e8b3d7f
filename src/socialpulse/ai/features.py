"""Hashed word and character n-gram features, shared by training and inference.

The same code turns text into features at training time (building a sparse matrix for
scikit-learn) and at inference time (numpy only), so the shipped weights always see the
features they were trained on. No vocabulary ships: every feature is hashed into a fixed
number of columns.

Pipeline for one text:

1. `normalize`: decode literal ``\\uXXXX`` escapes (an artefact of the tweet corpora), unescape
   HTML entities, replace URLs by ``<url>`` and @handles by ``@user``, shorten letters repeated
   three or more times to two ("soooo" -> "soo"), lower-case.
2. `tokenize`: URLs, mentions, hashtags, emoticons, emoji clusters, words (apostrophes kept),
   runs of ``!``/``?`` and single punctuation marks. With negation marking, word tokens after a
   negation cue ("not", "never", "don't" ...) up to the next punctuation mark get a ``_neg``
   suffix for hashing.
3. Word block: unigrams and bigrams of the tokens, hashed with CRC-32 and mixed with
   splitmix64 into ``2**word_bits`` columns.
4. Character block: n-grams (``char_min``..``char_max``) inside each token padded with one space
   on each side (like scikit-learn's ``char_wb``), hashed with a polynomial rolling hash and
   splitmix64 into ``2**char_bits`` columns after the word block.
5. Counts per (text, column) -> sublinear tf ``1 + ln(count)`` -> times the model's idf -> L2
   normalised per block. Those values times the model's weights give the scores.

Each feature occurrence remembers the token it came from, so a model can say which words (and
word pairs) pushed a text towards its label: char n-gram weights are credited to their token.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from socialpulse.ai.extract import EMOJI_RE, URL_RE

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class FeatureSpec:
    word_bits: int = 19
    char_bits: int = 20
    char_min: int = 2
    char_max: int = 5
    word_bigrams: bool = True
    negation: bool = True

    @property
    def n_word(self) -> int:
        return 1 << self.word_bits

    @property
    def n_char(self) -> int:
        return 1 << self.char_bits

    @property
    def n_features(self) -> int:
        return self.n_word + self.n_char

    def to_json(self) -> dict[str, int | bool]:
        return {
            "word_bits": self.word_bits,
            "char_bits": self.char_bits,
            "char_min": self.char_min,
            "char_max": self.char_max,
            "word_bigrams": self.word_bigrams,
            "negation": self.negation,
        }

    @classmethod
    def from_json(cls, data: dict[str, int | bool]) -> FeatureSpec:
        return cls(
            word_bits=int(data["word_bits"]),
            char_bits=int(data["char_bits"]),
            char_min=int(data["char_min"]),
            char_max=int(data["char_max"]),
            word_bigrams=bool(data["word_bigrams"]),
            negation=bool(data["negation"]),
        )


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_MENTION = re.compile(r"(?<![\w@])@\w+")
_ELONGATION = re.compile(r"(\w)\1{2,}")
_PUNCT_RUN = re.compile(r"([!?.])\1{2,}")

_EMOTICON = (
    r"(?:[<>]?[:;=8][\-o\*']?[\)\]\(\[dDpP/\\\}\{@\|3]+"
    r"|[\)\]\(\[dDpP/\\\}\{@\|]+[\-o\*']?[:;=8][<>]?"
    r"|<3+|</3|\^_*\^|-_+-|o_o|t_t)"
)
_TOKEN = re.compile(
    r"<url>|@user|[#＃]\w+|"
    + _EMOTICON
    + r"|"
    + EMOJI_RE.pattern
    + r"|\w+(?:['’]\w+)*|[!?]+|[^\w\s]"
)
_NEGATORS = frozenset(
    "not no never nothing nobody none neither nor cannot without nowhere hardly "
    "dont cant wont isnt arent wasnt werent doesnt didnt aint couldnt shouldnt wouldnt "
    "havent hasnt hadnt".split()
)
_SCOPE_END = frozenset(".,!?;:") | {"!!", "??", "?!", "!?", "<url>"}


def _decode_escape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return "" if 0xD800 <= code <= 0xDFFF else chr(code)


def _decode_pair(match: re.Match[str]) -> str:
    high = int(match.group(1), 16)
    low = int(match.group(2), 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def clean(text: str) -> str:
    """Undo the transport artefacts (literal escapes, HTML entities) without changing case."""
    if "\\u" in text:
        text = _SURROGATE_PAIR.sub(_decode_pair, text)
        text = _U_ESCAPE.sub(_decode_escape, text)
    if "&" in text:
        text = html.unescape(text)
    if '""' in text:
        text = text.replace('""', '"')
    if "\x00" in text or "\ufeff" in text:
        text = text.replace("\x00", "").replace("\ufeff", "")
    return text


def normalize(text: str) -> str:
    text = clean(text)
    if "." in text or "://" in text:
        text = URL_RE.sub(" <url> ", text)
    if "@" in text:
        text = _MENTION.sub(" @user ", text)
    text = _ELONGATION.sub(r"\1\1", text)
    text = _PUNCT_RUN.sub(r"\1\1", text)
    return text.lower()


def tokenize(normalized: str) -> list[str]:
    return _TOKEN.findall(normalized)


def _is_negator(token: str) -> bool:
    return token in _NEGATORS or token.endswith(("n't", "n’t"))


def mark_negation(tokens: list[str]) -> list[str]:
    """Suffix ``_neg`` to the word tokens in a negation's scope (cue to next punctuation)."""
    out: list[str] = []
    negated = False
    for token in tokens:
        if token in _SCOPE_END:
            negated = False
            out.append(token)
        elif negated:
            out.append(token + "_neg")
        else:
            out.append(token)
            if _is_negator(token):
                negated = True
    return out


# splitmix64 constants; numpy wraps uint64 arithmetic silently, which is what a hash wants.
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_PRIME = np.uint64(1000003)
_SEED_UNI = np.uint64(0x9E3779B97F4A7C15)
_SEED_BI = np.uint64(0xC2B2AE3D27D4EB4F)
_SEED_CHAR = np.uint64(0x165667B19E3779F9)


def _mix(x: U64) -> U64:
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


@dataclass
class FeatureBatch:
    """Hashed features of a batch of texts.

    Rows (unique per text and column) are sorted by text. `occ_row` maps every feature
    occurrence to its row and `occ_term` to the term (token or token pair) it is credited to.
    """

    n_docs: int
    spec: FeatureSpec
    doc: I64
    col: I64
    count: F32
    occ_row: I64
    occ_term: I64
    term_doc: I64
    tokens: list[str]
    n_tokens: int

    def term_text(self, term: int) -> str:
        """Term ids below `n_tokens` are tokens; the rest are bigrams (token i, token i+1)."""
        if term < self.n_tokens:
            return self.tokens[term]
        first = term - self.n_tokens
        return f"{self.tokens[first]} {self.tokens[first + 1]}"


def featurize(texts: Sequence[str], spec: FeatureSpec) -> FeatureBatch:
    n_docs = len(texts)
    display: list[str] = []
    hashed: list[str] = []
    lengths = np.zeros(n_docs, dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = tokenize(normalize(text))
        lengths[i] = len(tokens)
        display.extend(tokens)
        hashed.extend(mark_negation(tokens) if spec.negation else tokens)
    n_tok = len(display)
    tok_doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    tok_index = np.arange(n_tok, dtype=np.int64)

    word_mask = np.uint64(spec.n_word - 1)
    char_mask = np.uint64(spec.n_char - 1)
    cols: list[I64] = []
    terms: list[I64] = []
    if n_tok:
        h = np.fromiter(
            (zlib.crc32(t.encode("utf-8")) for t in hashed), dtype=np.uint64, count=n_tok
        )
        cols.append((_mix(h ^ _SEED_UNI) & word_mask).astype(np.int64))
        terms.append(tok_index)
        if spec.word_bigrams and n_tok > 1:
            same = tok_doc[:-1] == tok_doc[1:]
            hb = _mix(h[:-1] * _PRIME + h[1:] + _SEED_BI)
            cols.append((hb[same] & word_mask).astype(np.int64))
            terms.append(n_tok + tok_index[:-1][same])

        # " tok1 \0 tok2 \0 ...": a window holding \0 crosses a token boundary.
        joined = " " + " \x00 ".join(display) + " \x00"
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        sep = codes == 0
        cum = np.concatenate(([0], np.cumsum(sep, dtype=np.int64)))
        pos_token = cum[:-1]
        n_codes = len(codes)
        for n in range(spec.char_min, spec.char_max + 1):
            width = n_codes - n + 1
            if width <= 0:
                continue
            valid = np.flatnonzero(cum[n : n + width] == cum[:width])
            if not len(valid):
                continue
            hc = codes[valid].copy()
            for j in range(1, n):
                hc = hc * _PRIME + codes[valid + j]
            hc = _mix(hc + _SEED_CHAR * np.uint64(n))
            cols.append(spec.n_word + (hc & char_mask).astype(np.int64))
            terms.append(pos_token[valid])

    if cols:
        occ_col = np.concatenate(cols)
        occ_term = np.concatenate(terms)
    else:
        occ_col = np.zeros(0, dtype=np.int64)
        occ_term = np.zeros(0, dtype=np.int64)
    term_doc = np.concatenate((tok_doc, tok_doc))
    occ_doc = term_doc[occ_term]
    key = occ_doc * spec.n_features + occ_col
    uniq, occ_row, counts = np.unique(key, return_inverse=True, return_counts=True)
    return FeatureBatch(
        n_docs=n_docs,
        spec=spec,
        doc=uniq // spec.n_features,
        col=uniq % spec.n_features,
        count=counts.astype(np.float32),
        occ_row=occ_row.astype(np.int64).reshape(-1),
        occ_term=occ_term,
        term_doc=term_doc,
        tokens=display,
        n_tokens=n_tok,
    )


def tfidf_values(batch: FeatureBatch, idf: F32) -> F32:
    """Sublinear tf times idf, L2-normalised separately for the word and the char block."""
    values = (1.0 + np.log(batch.count)) * idf[batch.col]
    block = (batch.col >= batch.spec.n_word).astype(np.int64)
    group = batch.doc * 2 + block
    norms = np.sqrt(np.bincount(group, weights=values * values, minlength=2 * batch.n_docs))
    norms[norms == 0.0] = 1.0
    return (values / norms[group]).astype(np.float32)


def document_frequency(batch: FeatureBatch) -> I64:
    return np.bincount(batch.col, minlength=batch.spec.n_features).astype(np.int64)
