"""Lexicon priors for sentiment: emoji polarity and strong informal positive phrases.

The default sentiment model learned from TweetEval-preprocessed tweets, which contain no
emoji at all (0 of 47469 training and 0 of 2000 validation tweets): emoji tokens get idf 0 and
carry no weight, so "obsessed with this glow 😍💖" is scored on its words alone. This module
adds a small, documented prior to the model's logits (before offsets and temperature):

* Emoji: the Emoji Sentiment Ranking v1.0 (Kralj Novak, Smailović, Sluban and Mozetič,
  "Sentiment of Emojis", PLoS ONE 10(12), 2015; data CC BY-SA 4.0, clarin.si handle
  11356/1048). `ESR_COUNTS` types in the published negative / neutral / positive occurrence
  counts of the most frequent emojis of that table (non-pictographic symbols such as box
  drawing, arrows and the replacement character left out). The sentiment score is the
  paper's: ``s = p(+) - p(-)`` with Laplace-smoothed ``p(c) = (N_c + 1) / (N + 3)``. A text's
  emoji score is the mean over its emoji occurrences found in the table (emojis newer than
  2015, e.g. 🥹 🥰 🤩, are not in it and count for nothing).
* Phrases: `POSITIVE_PHRASES`, strong informal praise ("love this", "obsessed", "so good",
  "keep going", "underrated" ...), matched on whole words; a phrase preceded by a negation
  within three words ("not so good", "don't love it") does not count.
* Idioms: `POSITIVE_IDIOMS`, praise made of words that read negative one by one ("take my
  money", "you never miss", "can't go wrong"): the model sees "take", "money", "never",
  "miss", and called "take my money" negative and "you never miss" a complaint. They match
  like phrases and push `IDIOM_WEIGHT` instead.
* Other languages: `OTHER_LANGUAGE_PRAISE` ("bellissimo", "amei", "très belle" ...) counts
  like the English phrases; `NEGATIVE_PHRASES` ("no funciona", "ça marche pas", "com
  defeito", "enttäuscht" ...) pushes ``logit(negative)`` by `PHRASE_WEIGHT`. The multilingual
  model learned from tweets about politics and sport and read such short comments as neutral.
  Negation words include theirs ("pas génial" and "nicht enttäuscht" do not count). Kept by
  nested cross-validation on the multilingual training tweets, whose offsets are chosen with
  this prior added (`benchmarks/multilingual_recipe.py`, MODEL_CARD.md).

Combination: ``logit(positive) += EMOJI_WEIGHT * s`` for ``s > 0``, ``logit(negative) +=
EMOJI_WEIGHT * |s|`` for ``s < 0``, and ``logit(positive) += PHRASE_WEIGHT`` when a phrase
matched (``IDIOM_WEIGHT`` when an idiom did), ``logit(negative) += PHRASE_WEIGHT`` when a
complaint phrase did. `EMOJI_WEIGHT` is calibrated without any
emoji-bearing data: appending the emoticon ":)" (which the model did learn from tweets) to
every validation tweet raises the positive
logit against the neutral one by 1.55 on average, and the ESR score of its emoji counterpart
😊 is 0.644, so an emoji of that score is given the same push: 1.55 / 0.644 = 2.4.
`PHRASE_WEIGHT` is the smallest of (0.5, 1.0, 1.5) that keeps the validation macro-recall
at or above the model's own (see MODEL_CARD.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from socialpulse.ai.features import F32, clean
from socialpulse.ai.lexicon import words_of

VERSION = "lex3"  # lex2: the idioms; lex3: praise and complaints in five more languages
EMOJI_WEIGHT = 2.4
PHRASE_WEIGHT = 1.0
# Three phrases' push: with one, "take my money" was still negative (P 0.61), with two barely
# positive (0.49 against 0.44).
IDIOM_WEIGHT = 3.0
NEGATION_WINDOW = 3

# Emoji Sentiment Ranking v1.0: emoji -> (negative, neutral, positive) occurrences.
ESR_COUNTS: dict[str, tuple[int, int, int]] = {
    "😂": (3614, 4163, 6845),
    "❤": (355, 1334, 6361),
    "♥": (252, 1942, 4950),
    "😍": (329, 1390, 4640),
    "😭": (2412, 1218, 1896),
    "😘": (193, 702, 2753),
    "😊": (189, 754, 2243),
    "👌": (274, 728, 1923),
    "💕": (99, 683, 1618),
    "👏": (243, 634, 1459),
    "😁": (278, 648, 1263),
    "☺": (128, 449, 1485),
    "♡": (102, 448, 1425),
    "👍": (213, 460, 1181),
    "😩": (1069, 336, 403),
    "🙏": (124, 648, 767),
    "✌": (173, 476, 885),
    "😏": (170, 676, 676),
    "😉": (151, 513, 857),
    "🙌": (152, 358, 996),
    "🙈": (238, 350, 868),
    "💪": (101, 424, 884),
    "😄": (191, 426, 781),
    "😒": (819, 266, 300),
    "💃": (59, 237, 1048),
    "💖": (54, 254, 955),
    "😃": (86, 361, 759),
    "😔": (559, 263, 383),
    "😱": (298, 319, 513),
    "🎉": (43, 207, 875),
    "😜": (115, 333, 587),
    "🌸": (37, 255, 654),
    "💜": (41, 241, 657),
    "💙": (29, 186, 697),
    "✨": (43, 463, 342),
    "😳": (277, 277, 292),
    "💗": (42, 201, 593),
    "☀": (21, 377, 388),
    "😡": (403, 81, 272),
    "😎": (79, 224, 451),
    "😢": (288, 168, 293),
    "💋": (28, 169, 537),
    "😋": (33, 203, 498),
    "🙊": (97, 197, 431),
    "😴": (303, 170, 245),
    "🎶": (67, 189, 445),
    "💞": (27, 123, 537),
    "😌": (93, 157, 415),
    "🔥": (80, 400, 171),
    "💯": (179, 202, 256),
    "🔫": (298, 126, 180),
    "💛": (25, 123, 454),
    "💁": (105, 159, 285),
    "💚": (41, 101, 395),
    "♫": (33, 313, 187),
    "😞": (255, 85, 192),
    "😆": (81, 148, 298),
    "😝": (65, 155, 276),
    "😪": (208, 105, 169),
    "😫": (227, 81, 159),
    "😅": (135, 109, 218),
    "👊": (121, 111, 226),
    "💀": (214, 123, 119),
    "😀": (37, 114, 288),
    "😚": (20, 81, 323),
    "😻": (28, 101, 288),
    "👀": (93, 198, 219),
    "💘": (18, 87, 290),
    "☕": (53, 182, 147),
    "👋": (60, 103, 219),
    "✋": (124, 82, 172),
    "🎊": (20, 59, 284),
    "🍕": (19, 166, 167),
    "❄": (34, 103, 212),
    "😥": (108, 83, 150),
    "😕": (205, 66, 69),
    "💥": (23, 234, 72),
    "💔": (136, 96, 96),
    "😤": (157, 82, 88),
    "😈": (66, 106, 153),
    "✈": (13, 161, 148),
    "🔝": (26, 106, 171),
    "😰": (132, 44, 126),
    "⚽": (15, 83, 201),
    "😑": (154, 85, 60),
    "👑": (12, 65, 221),
    "😹": (88, 77, 130),
    "👉": (20, 137, 135),
    "🎁": (11, 45, 232),
    "😠": (163, 49, 76),
    "🍀": (6, 186, 86),
    "🎈": (4, 68, 205),
    "😓": (118, 59, 96),
    "😣": (147, 35, 89),
    "😐": (150, 76, 44),
    "✊": (37, 79, 154),
    "😨": (117, 73, 79),
    "😖": (130, 50, 88),
    "💓": (15, 55, 189),
    "👎": (128, 51, 79),
    "😷": (117, 54, 75),
    "🙋": (30, 60, 146),
    "💩": (94, 68, 67),
    "🎵": (23, 64, 136),
    "😛": (18, 50, 152),
    "😬": (57, 58, 99),
    "💎": (11, 68, 230),
    "🎂": (16, 44, 141),
    "🌟": (11, 111, 77),
    "🏆": (6, 39, 149),
    "😙": (3, 34, 154),
    "♪": (15, 57, 118),
    "🌹": (3, 61, 108),
    "🙆": (15, 54, 102),
    "🍻": (17, 45, 103),
    "🙅": (76, 47, 42),
    "⭐": (5, 55, 99),
    "🎀": (6, 44, 106),
    "🙉": (26, 47, 77),
    "💅": (27, 36, 86),
    "🎤": (17, 40, 87),
    "🎧": (18, 46, 78),
    "😇": (9, 36, 90),
    "😿": (78, 29, 27),
    "😲": (50, 38, 41),
    "🎸": (1, 57, 67),
    "💫": (4, 51, 66),
    "💝": (8, 23, 84),
}

# Emoji score per character (the paper's sentiment score, Laplace-smoothed).
EMOJI_SCORE: dict[str, float] = {
    emoji: round((pos + 1) / (neg + neu + pos + 3) - (neg + 1) / (neg + neu + pos + 3), 3)
    for emoji, (neg, neu, pos) in ESR_COUNTS.items()
}

POSITIVE_PHRASES = (
    "love this",
    "love it",
    "love that",
    "love your",
    "loved it",
    "loving this",
    "loving it",
    "obsessed",
    "so good",
    "so cute",
    "so pretty",
    "so beautiful",
    "so talented",
    "so proud",
    "keep going",
    "keep it up",
    "keep up the good work",
    "underrated",
    "amazing",
    "awesome",
    "gorgeous",
    "stunning",
    "incredible",
    "fantastic",
    "wonderful",
    "brilliant",
    "masterpiece",
    "perfection",
    "goals",
    "iconic",
    "slay",
    "slayed",
    "killing it",
    "nailed it",
    "you rock",
    "proud of you",
    "well done",
    "great job",
    "need this",
    "can't wait",
    "cant wait",
    "best ever",
    "the best",
    "me encanta",
    "j'adore",
    "wunderschön",
    "mega schön",
)
POSITIVE_IDIOMS = (
    "take my money",
    "shut up and take my money",
    "you never miss",
    "can't go wrong",
    "cant go wrong",
)
# Praise in the multilingual model's other languages. That model learned from tweets about
# politics and sport, where short praise is rare: it read "bellissimo", "amei demais" and
# "Très belle photo" as neutral or negative. The prior reads every text, so words that are
# English words of another sense ("toll", "mist", "hammer", the name "Linda") are left out.
OTHER_LANGUAGE_PRAISE = (
    # Spanish
    "me encantó",
    "me encantan",
    "hermoso",
    "hermosa",
    "precioso",
    "preciosa",
    "maravilloso",
    "maravillosa",
    "buenísimo",
    "qué bonito",
    "qué bonita",
    "qué lindo",
    "felicidades",
    # Portuguese
    "amei",
    "adorei",
    "maravilhoso",
    "maravilhosa",
    "perfeito",
    "perfeita",
    "incrível",
    "parabéns",
    "sensacional",
    "que lindo",
    "que linda",
    # French
    "magnifique",
    "trop beau",
    "trop belle",
    "très beau",
    "très belle",
    "trop bien",
    "superbe",
    "génial",
    "trop mignon",
    "trop mignonne",
    "je kiffe",
    # German
    "ich liebe",
    "wunderbar",
    "super schön",
    "großartig",
    "grossartig",
    "weiter so",
    # Italian
    "bellissimo",
    "bellissima",
    "bellissimi",
    "stupendo",
    "stupenda",
    "meraviglioso",
    "meravigliosa",
    "che bello",
    "che bella",
    "fantastico",
    "bravissimo",
    "bravissima",
    "complimenti",
)
# Complaints and disappointment in those languages, which the multilingual model often read
# as neutral ("O link da bio não funciona", "produto veio com defeito, que decepção").
# English needs none: the English model learned its complaints.
NEGATIVE_PHRASES = (
    # Spanish
    "no funciona",
    "decepción",
    "decepcionado",
    "decepcionada",
    "estafa",
    "pésimo",
    "pésima",
    # Portuguese
    "não funciona",
    "nao funciona",
    "decepção",  # "decepcionado/a" as in Spanish
    "horrível",
    "péssimo",
    "péssima",
    "que chato",
    "com defeito",
    # French
    "marche pas",  # "ça ne marche pas", and without the "ne" as it is mostly written
    "c'est nul",
    "trop nul",
    "déçu",
    "déçue",
    "décevant",
    "arnaque",
    # German
    "funktioniert nicht",
    "enttäuscht",
    "enttäuschend",
    "schrecklich",
    "furchtbar",
    "langweilig",
    # Italian
    "non funziona",
    "delusione",
    "deluso",
    "delusa",
    "truffa",
    "orribile",
    "che schifo",
    "fa schifo",
)
_IDIOMS = frozenset(POSITIVE_IDIOMS)
_NEGATORS = frozenset(
    "not no never don't dont doesn't doesnt didn't didnt isn't isnt wasn't wasnt ain't "
    "can't cant won't wont hardly nothing "
    # The same in the other languages: "pas génial", "no es precioso", "nicht großartig".
    "pas jamais no nunca não nao nem nada nicht kein keine nie non mai".split()
)
Index = dict[str, list[tuple[str, ...]]]


def _index(phrases: Sequence[str]) -> Index:
    index: Index = {}
    for phrase in phrases:
        parts = tuple(words_of(phrase))
        index.setdefault(parts[0], []).append(parts)
    for candidates in index.values():
        candidates.sort(key=len, reverse=True)
    return index


_PHRASES = _index(POSITIVE_PHRASES + OTHER_LANGUAGE_PRAISE + POSITIVE_IDIOMS)
# A complaint phrase may hold a negation of its own ("ne marche pas", "no funciona"): one
# before it ("pas déçu", "nicht enttäuscht") still undoes it.
_NEGATIVE = _index(NEGATIVE_PHRASES)


def emoji_hits(text: str) -> list[tuple[str, float]]:
    """(emoji, ESR score) for every emoji occurrence in the table, in order."""
    if text.isascii():
        return []
    return [(ch, EMOJI_SCORE[ch]) for ch in text if ch in EMOJI_SCORE]


def phrase_hits(words: list[str], index: Index = _PHRASES) -> list[str]:
    """Positive phrases (those of `index`) in `words` (lower-cased) not governed by a
    negation up to three words before them ("not so good", "don't love it")."""
    found: list[str] = []
    for i, word in enumerate(words):
        candidates = index.get(word)
        if candidates is None:
            continue
        for parts in candidates:
            if len(parts) > 1 and tuple(words[i : i + len(parts)]) != parts:
                continue
            before = words[max(0, i - NEGATION_WINDOW) : i]
            if not any(w in _NEGATORS or w.endswith("n't") for w in before):
                phrase = " ".join(parts)
                if phrase not in found:
                    found.append(phrase)
            break  # the longest phrase starting here decides
    return found


def prior(texts: Sequence[str], phrases: bool = True) -> tuple[F32, list[list[tuple[str, float]]]]:
    """Logit adjustments (n, 3) for (negative, neutral, positive) and the evidence per text.

    `phrases=False` leaves the phrase part out (the accurate backend: its MiniLM head reads
    the words already, and `PHRASE_WEIGHT` was checked against the default model only).
    """
    adjust = np.zeros((len(texts), 3), dtype=np.float32)
    evidence: list[list[tuple[str, float]]] = []
    for i, raw in enumerate(texts):
        text = clean(raw)
        items: list[tuple[str, float]] = []
        emojis = emoji_hits(text)
        if emojis:
            score = sum(s for _, s in emojis) / len(emojis)
            push = EMOJI_WEIGHT * score
            if score > 0:
                adjust[i, 2] += push
            else:
                adjust[i, 0] -= push
            seen: dict[str, float] = dict(emojis)
            items += [(f"emoji {e} (ESR {s:+.3f})", round(push, 4)) for e, s in seen.items()]
        words = words_of(text) if phrases else []
        found = phrase_hits(words)
        if found:
            idiom = any(p in _IDIOMS for p in found)
            adjust[i, 2] += IDIOM_WEIGHT if idiom else PHRASE_WEIGHT
            items += [
                (f"positive_idiom: {p}", IDIOM_WEIGHT)
                if p in _IDIOMS
                else (f"positive_phrase: {p}", PHRASE_WEIGHT)
                for p in found
            ]
        complaints = phrase_hits(words, _NEGATIVE)
        if complaints:
            adjust[i, 0] += PHRASE_WEIGHT
            items += [(f"negative_phrase: {p}", -PHRASE_WEIGHT) for p in complaints]
        evidence.append(items)
    return adjust, evidence
