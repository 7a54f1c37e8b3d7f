"""Praise: thanks together with a strong positive evaluation is praise, confident enough for an
auto-response; thanks inside a question, a complaint or a purchase enquiry stays politeness."""

from __future__ import annotations

import pytest

from socialpulse.ai import intent_rules
from socialpulse.ai.base import Analyzer


@pytest.mark.parametrize(
    "text",
    [
        "This retreat was absolutely life-changing! Thank you!",
        "Absolutely loved this, thank you so much!",
        "This changed my life, thanks!",
        "This was truly life changing. Thank you!",
        "Best trip ever, thanks guys!",
        "Thank you so much for the help, you are the best!",
        "Thank you for the amazing workshop, it was wonderful!",
    ],
)
def test_thanks_with_strong_praise_is_confident_praise(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze([text])[0]
    assert result.sentiment.label == "positive"
    assert result.intent == "praise"
    praise = result.intents["praise"]
    assert praise.score >= 0.83  # 0.6 + 0.3 x P(positive): the default 0.85 when clear
    assert any(e.value.startswith("gratitude: ") for e in praise.evidence)


def test_the_users_example_reaches_the_default_auto_response_threshold(
    analyzer: Analyzer,
) -> None:
    result = analyzer.analyze(["This retreat was absolutely life-changing! Thank you!"])[0]
    assert result.intents["praise"].score >= 0.85
    values = [e.value for e in result.intents["praise"].evidence]
    assert "gratitude: thank you" in values
    assert "praise_lexicon: life-changing" in values


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Thanks, but my order never arrived", "complaint"),
        ("Thanks. It still doesn't work.", "complaint"),
        ("Thanks! Where can I buy it?", "purchase_intent"),
        ("Thanks, this is amazing! Where can I buy it?", "purchase_intent"),
        ("Thank you! How do I sign up?", "question"),
        ("Thank you, amazing video! How do I sign up?", "question"),
        ("Thanks, love this! Would you like to collab on a sponsorship?", "collaboration"),
    ],
)
def test_thanks_in_a_question_or_complaint_is_not_praise(
    analyzer: Analyzer, text: str, intent: str
) -> None:
    result = analyzer.analyze([text])[0]
    assert result.intent == intent
    assert not any(e.value.startswith("gratitude: ") for e in result.intents["praise"].evidence)


@pytest.mark.parametrize("text", ["Thanks for the reply", "thanks", "Thanks for nothing"])
def test_thanks_alone_is_not_praise(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze([text])[0]
    assert result.intents["praise"].fired is False


def test_thank_you_so_much_alone_keeps_its_old_weight() -> None:
    """ "thank you so much" is both a compliment phrase and thanks: on its own it is not also
    counted as the evaluation that thanks strengthen."""
    found = intent_rules.praise("Thank you so much for the reply", 1.0)
    assert found.score == pytest.approx(0.75)
    assert found.fired


@pytest.mark.parametrize(
    "text",
    [
        "¡Qué maravilla! Sigue así 🥹",
        "How cute!!",
        "How beautiful is this 😍",
        "Wie schön!",
        "Quelle belle photo !",
        "Quel talent !",
        "Che bello!",
        "What beautiful colours",
    ],
)
def test_an_exclaimed_compliment_is_praise_not_a_question(analyzer: Analyzer, text: str) -> None:
    # "¡Qué maravilla!" starts with an interrogative word and used to be labelled a question,
    # so a workflow routing questions got compliments and auto-thanks missed them.
    result = analyzer.analyze([text])[0]
    assert not result.intents["question"].fired
    assert result.intent == "praise"
    assert any(
        e.value.startswith("praise_exclamation: ") for e in result.intents["praise"].evidence
    )


@pytest.mark.parametrize(
    "text",
    [
        "Quanto sei bella!",  # a short sentence ending in "!"
        "Quelle horreur",  # an exclaimed evaluation, not a compliment
        "How sad",
        "qué aburrido, antes subías cosas mejores",
    ],
)
def test_other_exclamations_are_not_questions(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze([text])[0].intents["question"].fired


@pytest.mark.parametrize(
    "text",
    [
        "How do you edit your videos",
        "How did you film this!",  # a whole question that ends in "!" is still asked
        "How good is the battery",
        "how long did this take",
        "What camera do you use",
        "Qué cámara usas",
        "Cómo lo hiciste",
        "Wie hast du das gemacht",
        "Dove l'hai comprato",
        "Which lens is this",
    ],
)
def test_questions_without_a_question_mark_are_still_questions(
    analyzer: Analyzer, text: str
) -> None:
    question = analyzer.analyze([text])[0].intents["question"]
    assert question.fired
    assert any(e.value.startswith("interrogative_start: ") for e in question.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "Wie immer der beste Content, weiter so!",  # "wie immer": "as always", not "how"
        "Sigue así, felicidades",
        "Che meraviglia, complimenti!",
        "Que perfeito! Você arrasa",
    ],
)
def test_keep_it_up_in_other_languages_is_praise(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze([text])[0]
    assert not result.intents["question"].fired
    assert result.intent == "praise"


@pytest.mark.parametrize(
    "text",
    [
        "You never miss with these recipes",
        "Best tutorial I've ever watched",
        "Keep going, you're doing great",
    ],
)
def test_social_media_compliments_are_praise(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze([text])[0].intent == "praise"


@pytest.mark.parametrize("text", ["not the best video I've seen", "this isn't the best trip ever"])
def test_a_negated_superlative_is_not_praise(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze([text])[0].intents["praise"].fired


@pytest.mark.parametrize(
    "text", ["Just bought the blue one after watching this", "just ordered mine!!"]
)
def test_a_purchase_the_post_brought_about_is_purchase_intent(
    analyzer: Analyzer, text: str
) -> None:
    assert analyzer.analyze([text])[0].intent == "purchase_intent"


def test_an_order_that_never_arrived_stays_a_complaint(analyzer: Analyzer) -> None:
    assert analyzer.analyze(["I ordered two weeks ago and it never arrived"])[0].intent == (
        "complaint"
    )
