"""Emoji and informal-phrase sentiment prior (`socialpulse.ai.polarity`)."""

from __future__ import annotations

import pytest

from socialpulse.ai import polarity
from socialpulse.ai.base import Analyzer


def test_esr_scores_follow_the_published_formula() -> None:
    # Kralj Novak et al. 2015: s = p(+) - p(-), Laplace-smoothed counts.
    neg, neu, pos = polarity.ESR_COUNTS["😊"]
    n = neg + neu + pos + 3
    assert polarity.EMOJI_SCORE["😊"] == round((pos + 1) / n - (neg + 1) / n, 3) == 0.644
    assert polarity.EMOJI_SCORE["😍"] > 0.6
    assert polarity.EMOJI_SCORE["😒"] < -0.3
    assert all(-1.0 <= s <= 1.0 for s in polarity.EMOJI_SCORE.values())


def test_emoji_variants_and_skin_tones_are_found() -> None:
    assert [e for e, _ in polarity.emoji_hits("nice ❤️ 👍🏽")] == ["❤", "👍"]
    assert polarity.emoji_hits("plain ascii :)") == []


def test_negated_phrase_does_not_count() -> None:
    assert polarity.phrase_hits(["so", "good"]) == ["so good"]
    assert polarity.phrase_hits(["not", "so", "good"]) == []
    assert polarity.phrase_hits(["i", "don't", "really", "love", "it"]) == []
    assert polarity.phrase_hits(["keep", "going", "underrated"]) == ["keep going", "underrated"]


def test_prior_pushes_positive_or_negative_and_explains_itself() -> None:
    adjust, evidence = polarity.prior(["wow 😍", "ugh 😒", "the meeting is at 3pm"])
    assert adjust[0, 2] > 1.0 and adjust[0, 0] == 0.0
    assert adjust[1, 0] > 0.5 and adjust[1, 2] == 0.0
    assert not adjust[2].any() and evidence[2] == []
    assert evidence[0][0][0].startswith("emoji 😍")


@pytest.mark.parametrize(
    "text",
    [
        "obsessed with this glow 😍💖🥹",
        "Such an underrated account, keep going! 😍🥹",
        "this is so good 😍😍",
        "wow 😍🔥👏",
        "love this look 💕✨",
        "yesss 🙌🙌 🎉",
    ],
)
def test_emoji_positive_comments_are_positive(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze([text])[0]
    assert result.sentiment.label == "positive"
    assert any(e.source == "term" for e in result.sentiment.evidence)


def test_underrated_keep_going_is_not_a_complaint(analyzer: Analyzer) -> None:
    for text in ("Such an underrated account, keep going!", "Such an underrated account 😍"):
        result = analyzer.analyze([text])[0]
        assert result.sentiment.label == "positive"
        assert not result.intents["complaint"].fired
        assert result.intent != "complaint"


def test_positive_gate_keeps_complaint_cues(analyzer: Analyzer) -> None:
    # The gate only caps the model's score: a named complaint cue still fires.
    result = analyzer.analyze(["Love this brand but my order never arrived, I want a refund"])[0]
    assert result.intents["complaint"].fired


def test_negative_emoji_text_is_not_positive(analyzer: Analyzer) -> None:
    result = analyzer.analyze(["worst update ever 😡😒"])[0]
    assert result.sentiment.label == "negative"


def test_praise_and_complaints_in_the_other_languages_push_the_prior() -> None:
    texts = [
        "Bellissimo questo video",
        "amei demais esse tutorial",
        "Très belle photo",
        "Das Licht ist wunderbar",
        "El enlace ya no funciona",
        "ça marche pas chez moi",
        "produto veio com defeito",
        "Ich bin echt enttäuscht",
    ]
    adjust, evidence = polarity.prior(texts)
    for row in range(4):
        assert adjust[row, 2] == polarity.PHRASE_WEIGHT and adjust[row, 0] == 0.0, texts[row]
        assert evidence[row][0][0].startswith("positive_phrase: ")
    for row in range(4, 8):
        assert adjust[row, 0] == polarity.PHRASE_WEIGHT and adjust[row, 2] == 0.0, texts[row]
        assert evidence[row] == [(evidence[row][0][0], -polarity.PHRASE_WEIGHT)]
        assert evidence[row][0][0].startswith("negative_phrase: ")
    assert evidence[5][0][0] == "negative_phrase: marche pas"


@pytest.mark.parametrize(
    "text",
    [
        "c'est pas génial",  # not great
        "no es precioso",
        "nicht wunderbar",
        "pas déçu du tout",  # not disappointed at all
        "nicht enttäuscht",
        # English words that look like the other languages' cues carry no push.
        "the death toll rose overnight",
        "thick mist over the hills",
        "Linda said the meeting moved",
    ],
)
def test_negated_or_look_alike_cues_do_not_push(text: str) -> None:
    adjust, evidence = polarity.prior([text])
    assert not adjust.any() and evidence == [[]], evidence


@pytest.mark.parametrize(
    ("text", "code", "label"),
    [
        ("Bellissimo, complimenti per il montaggio", "it", "positive"),
        ("Amei demais, ficou perfeito", "pt", "positive"),
        ("Le lien dans ta bio ne marche pas", "fr", "negative"),
        ("O link da bio não funciona", "pt", "negative"),
        ("Il link in bio non funziona", "it", "negative"),
    ],
)
def test_short_comments_in_the_other_languages_read_as_meant(
    analyzer: Analyzer, text: str, code: str, label: str
) -> None:
    """The multilingual model learned from tweets about politics and sport, where short
    praise and product complaints are rare; the prior's phrases carry them."""
    result = analyzer.analyze([text])[0]
    assert result.language.code == code  # so the multilingual model read it
    assert result.sentiment.label == label
    assert any(
        e.source == "term" and e.value.startswith(f"{label}_phrase: ")
        for e in result.sentiment.evidence
    )
