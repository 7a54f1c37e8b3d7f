"""Workflow rules that are text: RE2 patterns (the `regex` and `keywords` conditions). Reply
templates are `socialpulse.kit.templates` (shared with the AI domain's response templates).

Regular expressions run on RE2 (`google-re2`), whose matching time is linear in the text
whatever the pattern: Python's `re` backtracks, and one pattern like `(.|.)*~` held the GIL, and
so every request of the process, for minutes. See the package docstring for what RE2 refuses.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_REGEX_LENGTH = 512
REGEX_CACHE_SIZE = 128  # compiled patterns kept per process


# Word characters as Python's `re` sees them in str patterns (letters and digits of every
# script, and "_"); RE2's own \w is ASCII-only, so the keyword boundary spells them out.
_WORD_CHARS = r"\p{L}\p{N}_"

# What RE2's compile errors mean for someone who wrote a Perl/Python-style pattern.
_RE2_HINTS = (
    ("invalid perl operator: (?=", "lookahead (?=...) is not supported"),
    ("invalid perl operator: (?!", "negative lookahead (?!...) is not supported"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...) is not supported"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...) is not supported"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported"),
    ("bad repetition operator:", "possessive quantifiers (a++, a*+) are not supported"),
    ("invalid escape sequence: \\Z", r"\Z is written \z here (end of text)"),
    ("invalid repetition size:", "a repetition count is above 1000"),
    ("pattern too large", "the pattern is too large once compiled; simplify it"),
)


def _re2_options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    # RE2's (?i) folds case the Unicode way, like `re.IGNORECASE` on str patterns.
    options.case_sensitive = not ignore_case
    # A rejected pattern is answered to its author (422); it is not worth a line on stderr.
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=REGEX_CACHE_SIZE)
def compiled_regex(pattern: str, ignore_case: bool) -> Any:
    """The pattern compiled by RE2 (linear-time: no backtracking whatever the pattern or text);
    bounded cache, as each RE2 object may hold up to 8 MiB of automaton."""
    return re2.compile(pattern, _re2_options(ignore_case))


def explain_re2_error(pattern: str, exc: Exception) -> str:
    raw = exc.args[0] if exc.args else str(exc)
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    why = None
    if "(?P=" in pattern and detail.startswith("invalid perl operator: (?P"):
        why = "backreferences like (?P=name) are not supported"
    elif detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
        why = f"backreferences like {detail.rpartition(' ')[2]} are not supported"
    else:
        why = next((hint for prefix, hint in _RE2_HINTS if detail.startswith(prefix)), None)
    if why is None:
        return f"invalid regex: {detail}"
    shown = f"/{pattern if len(pattern) <= 60 else pattern[:57] + '...'}/ " if pattern else ""
    return (
        f"regex {shown}cannot be used: {why}; patterns run on RE2, a linear-time engine "
        f"(RE2 says: {detail})"
    )


def check_regex(pattern: str) -> None:
    """Raise ValueError with a user-facing message when RE2 cannot run the pattern (invalid
    syntax, or a backtracking-only feature: backreferences, lookarounds) or it is too long."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ValueError(
            f"regex is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}"
        )
    try:
        compiled_regex(pattern, True)
    except re2.error as exc:
        raise ValueError(explain_re2_error(pattern, exc)) from exc


@functools.lru_cache(maxsize=REGEX_CACHE_SIZE)
def keywords_regex(words: tuple[str, ...]) -> Any:
    # Whole words: the keyword needs a non-word character (or the edge of the text) on both
    # sides, so keywords that start or end with a symbol ("$$$", "c++") work too. RE2 has no
    # lookarounds, so the boundary characters are consumed and the keyword is group 1; for
    # "is there a match" that is the same as Python's (?<!\w)...(?!\w). Longest first: at one
    # position "money back" wins over "money".
    alternatives = "|".join(re2.escape(w) for w in sorted(words, key=len, reverse=True))
    return re2.compile(
        rf"(?:^|[^{_WORD_CHARS}])({alternatives})(?:[^{_WORD_CHARS}]|$)", _re2_options(True)
    )
