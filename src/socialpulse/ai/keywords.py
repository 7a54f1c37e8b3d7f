"""Keyword extraction: RAKE (Rose et al., 2010) over short social texts.

1. URLs, @mentions and hashtags are removed (they are reported separately), and the text is
   cut into candidate phrases at punctuation, emojis and stopwords (English, Spanish, French,
   German, Portuguese and Italian function words plus social filler such as "lol", "omg").
2. Words of fewer than three or more than thirty characters and numbers are dropped; runs
   longer than three words are cut into phrases of at most three.
3. A word scores degree / frequency (degree: the summed lengths of the phrases it occurs in),
   a phrase scores the sum of its words, and the top `MAX_KEYWORDS` distinct phrases are
   returned lower-cased, ties kept in order of appearance.
"""

from __future__ import annotations

import re

from socialpulse.ai.extract import EMOJI_RE, HASHTAG_RE, MENTION_RE, URL_RE

MAX_KEYWORDS = 5
MAX_PHRASE_WORDS = 3
MAX_WORD_CHARS = 30  # longer "words" are URLs without a scheme, base64, keyboard mashing

STOPWORDS = frozenset(
    # English
    "a about above after again against all almost also am an and any are aren't as at be "
    "because been before being below between both but by can can't cannot could couldn't did "
    "didn't do does doesn't doing don't down during each either else even ever every few for "
    "from further get gets getting go goes going gonna got had hadn't has hasn't have haven't "
    "having he he'd he'll he's her here here's hers herself him himself his how how's i i'd "
    "i'll i'm i've if in into is isn't it it's its itself just let's like make me more most "
    "much must mustn't my myself no nor not now of off on once only or other ought our ours "
    "ourselves out over own really same say says shan't she she'd she'll she's should "
    "shouldn't so some still such than that that's the their theirs them themselves then "
    "there there's these they they'd they'll they're they've this those though through to "
    "too under until up upon us very via was wasn't way we we'd we'll we're we've well were "
    "weren't what what's when when's where where's which while who who's whom why why's will "
    "with won't would wouldn't yet you you'd you'll you're you've your yours yourself "
    "yourselves one two new today tomorrow yesterday day days time times thing things lot "
    "im dont cant wont ive youre thats gotta wanna yeah yes yep ok okay oh lol lmao omg haha "
    "hahaha pls plz please thanks thank u ur ya rt amp via check "
    # Spanish
    "el la los las un una unos unas y o pero de del al en con por para sin sobre que qué "
    "es son fue ser estar está están este esta estos estas ese esa eso mi mis tu tus su sus "
    "lo le les se me te nos muy más ya como cuando donde hay también todo todos "
    # French
    "le les un une des et ou mais de du au aux en dans avec pour sur par que qui ce cette "
    "ces est sont être avoir a il elle ils elles je tu nous vous on ne pas plus très mon ma "
    "mes ton ta tes son sa ses leur leurs c'est tout tous "
    # German
    "der die das den dem des ein eine einer eines und oder aber von zu mit für auf aus "
    "bei nach im ist sind war wird werden ich du er sie es wir ihr nicht auch sehr noch "
    "schon mein dein sein kein "
    # Portuguese
    "o os as um uma uns umas e ou mas do da dos das no na nos nas com por para que é são "
    "foi ser estar está este esta isso meu minha seu sua muito mais também "
    # Italian
    "il lo gli i una e o ma di del della dei delle nel nella con per che è sono era essere "
    "questo questa mio mia suo sua molto più anche non".split()
)

_SPLIT = re.compile(r"[.,;:!?¡¿()\[\]{}\"“”«»|/\\…–—\n\t]+")
_WORD = re.compile(r"[^\W_][\w'’-]*")


def extract(text: str, limit: int = MAX_KEYWORDS) -> list[str]:
    if "." in text or "://" in text:
        text = URL_RE.sub(" . ", text)
    if "#" in text:
        text = HASHTAG_RE.sub(" . ", text)
    if "@" in text:
        text = MENTION_RE.sub(" . ", text)
    text = text.lower()
    if not text.isascii():
        text = EMOJI_RE.sub(" . ", text)

    phrases: list[list[str]] = []
    for chunk in _SPLIT.split(text):
        current: list[str] = []
        for word in _WORD.findall(chunk):
            word = word.strip("'’-")
            if word in STOPWORDS or not 3 <= len(word) <= MAX_WORD_CHARS or word.isdigit():
                if current:
                    phrases.append(current)
                current = []
            else:
                current.append(word)
        if current:
            phrases.append(current)
    # Long runs without a stopword are cut into phrases of at most MAX_PHRASE_WORDS words.
    phrases = [
        phrase[start : start + MAX_PHRASE_WORDS]
        for phrase in phrases
        for start in range(0, len(phrase), MAX_PHRASE_WORDS)
    ]
    if not phrases:
        return []

    frequency: dict[str, int] = {}
    degree: dict[str, int] = {}
    for phrase in phrases:
        for word in phrase:
            frequency[word] = frequency.get(word, 0) + 1
            degree[word] = degree.get(word, 0) + len(phrase)
    scored: dict[str, tuple[float, int]] = {}
    for order, phrase in enumerate(phrases):
        key = " ".join(phrase)
        if key not in scored:
            score = sum(degree[w] / frequency[w] for w in phrase)
            scored[key] = (score, order)
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[1][1]))
    return [key for key, _ in ranked[:limit]]
