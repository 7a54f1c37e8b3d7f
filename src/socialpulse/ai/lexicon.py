"""Fast whole-word phrase lookup, shared by the topic, intent and toxicity lexicons.

Regular expressions with hundreds of alternatives are slow in Python's `re` (every position
tries every branch); here phrases are indexed by their first word, so a text costs one dict
lookup per word plus a comparison per candidate phrase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

WORD_RE = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")


def words_of(text: str) -> list[str]:
    """Lower-cased words (apostrophes and inner hyphens kept, curly apostrophes made plain)."""
    return [w.replace("’", "'") for w in WORD_RE.findall(text.lower())]


class PhraseMatcher(Generic[T]):
    """Maps phrases (one or more words) to payloads and finds them in a list of words."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._index: dict[str, list[tuple[tuple[str, ...], str, T]]] = {}
        for phrase, payload in entries:
            parts = tuple(words_of(phrase))
            if parts:
                self._index.setdefault(parts[0], []).append((parts, " ".join(parts), payload))
        for candidates in self._index.values():
            candidates.sort(key=lambda item: -len(item[0]))

    def find(self, words: list[str]) -> list[tuple[str, T]]:
        found: list[tuple[str, T]] = []
        index = self._index
        for i, word in enumerate(words):
            candidates = index.get(word)
            if candidates is None:
                continue
            for parts, phrase, payload in candidates:
                n = len(parts)
                if n == 1 or tuple(words[i : i + n]) == parts:
                    found.append((phrase, payload))
        return found
