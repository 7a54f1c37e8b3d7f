"""Entities in a post: hashtags, mentions, URLs and emojis.

Emojis are found by Unicode ranges rather than the `emoji` package's full table: the ranges
below cover the Emoji 15 pictographs (Misc Symbols and Pictographs, Emoticons, Transport,
Supplemental Symbols, Symbols and Pictographs Extended-A), dingbats, regional-indicator flag
pairs and keycaps, and a cluster keeps its skin-tone modifiers, variation selectors and
zero-width-joiner sequences together, so "👩🏽‍💻" counts as one emoji.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PICTO = (
    "\U0001f300-\U0001f5ff"  # misc symbols and pictographs
    "\U0001f600-\U0001f64f"  # emoticons
    "\U0001f680-\U0001f6ff"  # transport and map
    "\U0001f700-\U0001f77f"
    "\U0001f780-\U0001f7ff"  # geometric shapes extended
    "\U0001f800-\U0001f8ff"
    "\U0001f900-\U0001f9ff"  # supplemental symbols and pictographs
    "\U0001fa70-\U0001faff"  # symbols and pictographs extended-A
    "\U0001f004\U0001f0cf\U0001f18e\U0001f191-\U0001f19a"
    "\U0001f201-\U0001f251"
    "\u2600-\u26ff"  # misc symbols (☀ ☕ ⚽ ...)
    "\u2700-\u27bf"  # dingbats (✂ ✅ ✨ ❤ ...)
    "\u2b50\u2b55\u2b1b\u2b1c\u2b05-\u2b07"
    "\u231a\u231b\u2328\u23cf\u23e9-\u23f3\u23f8-\u23fa"
    "\u2194-\u2199\u21a9\u21aa\u203c\u2049\u2122\u2139\u3030\u303d\u3297\u3299"
    "\u00a9\u00ae"
)
_MODIFIERS = "\U0001f3fb-\U0001f3ff\ufe0f\u20e3"
_EMOJI_CLUSTER = (
    rf"(?:[\U0001f1e6-\U0001f1ff]{{2}}"  # flag: two regional indicators
    rf"|[0-9#*]\ufe0f?\u20e3"  # keycap
    rf"|[{_PICTO}][{_MODIFIERS}]*(?:\u200d[{_PICTO}][{_MODIFIERS}]*)*)"
)
EMOJI_RE = re.compile(_EMOJI_CLUSTER)

URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|biz|info|me|ly|gl|tv|gg"
    r"|app|dev|shop|store|xyz|us|uk|de|fr|es|it|be)(?:/[^\s<>\"']*)?(?![\w.])",
    re.IGNORECASE,
)
# A mention is @handle not preceded by a word character (so e-mail addresses are skipped).
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")
# Hashtags may hold letters of any script, digits and underscores, but not only digits.
HASHTAG_RE = re.compile(r"(?<![\w&#])[#＃](\w*[^\W\d]\w*)")
_TRAILING_PUNCT = ".,;:!?)]}'\""


def hashtags(text: str) -> list[str]:
    """Hashtags without '#', lower-cased, first occurrence order, no duplicates."""
    if "#" not in text and "＃" not in text:
        return []
    return _dedupe(m.lower() for m in HASHTAG_RE.findall(text))


def mentions(text: str) -> list[str]:
    """Mentioned handles without '@', first occurrence order, no duplicates."""
    if "@" not in text:
        return []
    return _dedupe(MENTION_RE.findall(text))


def urls(text: str) -> list[str]:
    """URLs and bare domains, trailing sentence punctuation removed."""
    if "." not in text and "://" not in text:
        return []
    return _dedupe(m.rstrip(_TRAILING_PUNCT) for m in URL_RE.findall(text))


def emojis(text: str) -> list[str]:
    """Every emoji cluster in order, repeats kept (a row of 🔥🔥🔥 is a signal)."""
    if text.isascii():
        return []
    return EMOJI_RE.findall(text)


def strip_emojis(text: str) -> str:
    return text if text.isascii() else EMOJI_RE.sub(" ", text)


def strip_urls(text: str) -> str:
    if "." not in text and "://" not in text:
        return text
    return URL_RE.sub(" ", text)


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)
