"""Comment quality: which sampled fan comments say something, by rules a person can check.

Each comment gets exactly one class, the first that applies, in this order:

1. ``spam``: a link (``http://``, ``https://``, ``www.``), a promotion phrase ("check my
   profile", "dm me", "follow back", "f4f", "link in bio", crypto and messenger invitations...)
   or three or more @mentions in one comment.
2. ``bot_like``: the same text of three or more words, normalised (lower case, letters, digits
   and emoji only), posted by three or more different commenters, or by one commenter on three
   or more posts, within the creator's sample. Real fans rarely write the same sentence as
   strangers; comment farms do. (Short stock words such as "nice" or a heart are not sentences:
   many real fans write them, so they fall to the classes below.)
3. ``emoji_only``: no letter and no digit, only emoji, symbols and punctuation.
4. ``generic``: at most four words, every one of them stock praise or filler ("nice", "great
   pic", "love it", "so cool", "first"): it could be under any post.
5. ``ok``: everything else.

The rules read only the text and who wrote it, so the same sample always gives the same classes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from socialpulse.creators.models import CommentQuality

_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w")
_PROMO = re.compile(
    r"\b(?:check (?:out )?my (?:profile|page|bio|channel|account)|dm (?:me|us)|"
    r"follow (?:me|back|for follow)|f4f|l4l|sub4sub|link in (?:my )?bio|promo(?:tion)? code|"
    r"whatsapp|telegram|crypto|bitcoin|forex|earn \$|make money|free followers|"
    r"send (?:me )?a (?:dm|message))\b",
    re.IGNORECASE,
)
GENERIC_WORDS = frozenset(
    """nice great good cool wow amazing awesome beautiful lovely love loved it this that so
    very super pic picture photo video post content vid shot first omg lol yes yay fire
    gorgeous perfect cute wonderful fantastic best ever such a the is what wooow woow""".split()
)
GENERIC_MAX_WORDS = 4
BOT_MIN_AUTHORS = 3
BOT_MIN_POSTS = 3
BOT_MIN_WORDS = 3


@dataclass(frozen=True, slots=True)
class CommentSample:
    """What the rules read of a comment."""

    text: str
    author: str
    post: int | str


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


def normalise(text: str) -> str:
    """Lower case, letters, digits and emoji only, single spaces: what "the same text" means."""
    kept = [char if _is_word_char(char) or _is_emoji(char) else " " for char in text.casefold()]
    return " ".join("".join(kept).split())


def _emoji_only(text: str) -> bool:
    return bool(text.strip()) and not any(_is_word_char(char) for char in text)


def _generic(text: str) -> bool:
    words = [
        "".join(char for char in word if _is_word_char(char)) for word in text.casefold().split()
    ]
    words = [word for word in words if word]
    return 0 < len(words) <= GENERIC_MAX_WORDS and all(word in GENERIC_WORDS for word in words)


def _sentence(normalised: str) -> bool:
    return normalised.count(" ") >= BOT_MIN_WORDS - 1 and any(c.isalpha() for c in normalised)


def _spam(text: str) -> bool:
    return bool(_LINK.search(text) or _PROMO.search(text)) or len(_MENTION.findall(text)) >= 3


def classify(comments: Sequence[CommentSample]) -> list[CommentQuality]:
    """One class per comment, in order (see the module's rules)."""
    authors: dict[str, set[str]] = defaultdict(set)
    posts_by_author: dict[tuple[str, str], set[int | str]] = defaultdict(set)
    normalised = [normalise(comment.text) for comment in comments]
    for comment, text in zip(comments, normalised, strict=True):
        if _sentence(text):
            authors[text].add(comment.author)
            posts_by_author[(text, comment.author)].add(comment.post)
    classes: list[CommentQuality] = []
    for comment, text in zip(comments, normalised, strict=True):
        if _spam(comment.text):
            classes.append(CommentQuality.spam)
        elif _sentence(text) and (
            len(authors[text]) >= BOT_MIN_AUTHORS
            or len(posts_by_author[(text, comment.author)]) >= BOT_MIN_POSTS
        ):
            classes.append(CommentQuality.bot_like)
        elif _emoji_only(comment.text):
            classes.append(CommentQuality.emoji_only)
        elif _generic(comment.text):
            classes.append(CommentQuality.generic)
        else:
            classes.append(CommentQuality.ok)
    return classes
