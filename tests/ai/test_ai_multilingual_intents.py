"""Intents and toxicity of comments in the audience's other languages (Spanish, Portuguese,
French, German, Italian): complaints found by the cue rules (the complaint model learned English
only and is not asked), purchase intent, collaboration requests, threats and insults as in
English. The sentences are not the demo's: the rules must know the language, not our
templates."""

from __future__ import annotations

import pytest

from socialpulse.ai.base import Analyzer


@pytest.mark.parametrize(
    "text",
    [
        "Mi pedido todavía no ha llegado y nadie responde",
        "La app no funciona desde ayer",
        "Meu pedido ainda não chegou",
        "A tampa quebrou no primeiro dia",
        "Colis jamais reçu, je veux un remboursement",
        "Le site ne fonctionne pas depuis hier",
        "Das Ladekabel ist nach einer Woche kaputt",
        "Paket nie angekommen, ich will mein Geld zurück",
        "Il pacco non è mai arrivato",
        "Prodotto difettoso, voglio il rimborso",
    ],
)
def test_complaints_in_other_languages_are_complaints(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze([text])[0]
    complaint = result.intents["complaint"]
    assert complaint.fired, (text, complaint)
    assert result.intent == "complaint"
    values = [e.value for e in complaint.evidence]
    assert any(v.startswith("complaint_cue: ") for v in values)
    # The English-only model's word is not taken for another language.
    assert "complaint_model" not in values
    assert any(v.startswith("unsupported_language:") for v in values)


@pytest.mark.parametrize(
    "text",
    [
        "Onde você comprou esse vestido?",
        "Wo hast du die Jacke gekauft?",
        "Vocês entregam em Portugal?",
        "Hast du das selbst genäht?",
    ],
)
def test_questions_in_other_languages_are_not_complaints(analyzer: Analyzer, text: str) -> None:
    # The English complaint model called these complaints.
    result = analyzer.analyze([text])[0]
    assert not result.intents["complaint"].fired
    assert result.intent in {"question", "purchase_intent"}


@pytest.mark.parametrize(
    "text",
    [
        "Wo kann ich die kaufen?",
        "Dove si può comprare questa borsa?",
        "Où est-ce qu'on peut le commander ?",
        "Onde posso comprar?",
        "Was kostet der Kurs?",
        "¿Tienes un código de descuento?",
        "necesito uno ya",
    ],
)
def test_purchase_intent_in_other_languages(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze([text])[0].intent == "purchase_intent"


@pytest.mark.parametrize(
    "text",
    [
        "Temos interesse em uma parceria com você",
        "Intéressés par un partenariat avec notre marque",
        "Lust auf eine Zusammenarbeit mit unserer Marke?",
        "Offen für Kooperationen? Schreib uns",
    ],
)
def test_collaboration_requests_in_other_languages(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze([text])[0].intent == "collaboration"


def test_english_complaints_still_ask_the_model(analyzer: Analyzer) -> None:
    result = analyzer.analyze(["my order never arrived and support ignores me"])[0]
    complaint = result.intents["complaint"]
    assert complaint.fired
    assert "complaint_model" in [e.value for e in complaint.evidence]


@pytest.mark.parametrize(
    "text",
    [
        "Eres un idiota",
        "te voy a matar",
        "Você é um babaca",
        "vou te matar",
        "T'es trop nul",
        "je vais te tuer",
        "Du bist so dumm",
        "ich bring dich um",
        "Sei proprio un coglione",
        "ti ammazzo",
    ],
)
def test_threats_and_insults_in_other_languages_are_toxic(analyzer: Analyzer, text: str) -> None:
    toxicity = analyzer.analyze([text])[0].toxicity
    assert toxicity.toxic, (text, toxicity)
    assert toxicity.evidence


@pytest.mark.parametrize(
    "text",
    [
        "Stirb langsam ist ein guter Film",  # "Die Hard"
        "je crève de faim",  # "I'm starving"
        "ele se mata de trabalhar",  # "he works himself to death"
        "o deficiente físico",  # "deficiente" names a disability in Portuguese and Spanish
        "Sei bellissima",
        "Du bist toll",
        "Eres increíble",
    ],
)
def test_everyday_words_in_other_languages_are_not_toxic(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze([text])[0].toxicity.toxic


@pytest.mark.usefixtures("accurate_backend")
def test_the_accurate_backend_reads_the_same_intents_in_other_languages() -> None:
    # It routes sentiment its own way (MiniLM for English, the e5 head for these languages);
    # the complaint cue rules and the exclamation rule must hold there too.
    from socialpulse.ai.backends import get_analyzer

    texts = [
        "Meu pedido ainda não chegou",
        "Das Ladekabel ist nach einer Woche kaputt",
        "¡Qué maravilla! Sigue así",
        "Onde você comprou esse vestido?",
    ]
    intents = [result.intent for result in get_analyzer("accurate").analyze(texts)]
    assert intents == ["complaint", "complaint", "praise", "question"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("كيف صورت هذا الفيديو", "question"),  # "how did you film this video"
        ("هل يوجد توصيل إلى مصر؟", "question"),  # the Arabic question mark
        ("بكم هذا؟", "purchase_intent"),  # "how much is this?"
        ("kaise banaya ye", "question"),
        ("ye kitne ka hai", "purchase_intent"),
        ("kya baat hai bhai", "praise"),  # "what a thing!": praise, not a question
    ],
)
def test_arabic_and_romanised_hindi_questions(analyzer: Analyzer, text: str, intent: str) -> None:
    assert analyzer.analyze([text])[0].intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("طلبي لم يصل بعد", "complaint"),  # "my order has not arrived yet"
        ("التطبيق لا يعمل", "complaint"),  # "the app does not work"
        ("order abhi tak nahi aaya", "complaint"),
        ("mera paisa wapas do", "complaint"),  # "give me my money back"
        ("ما شاء الله جميل جدا", "praise"),
        ("أحسنت يا بطل", "praise"),  # "well done, champion"
        ("zabardast yaar", "praise"),
    ],
)
def test_arabic_and_romanised_hindi_complaints_and_praise(
    analyzer: Analyzer, text: str, intent: str
) -> None:
    assert analyzer.analyze([text])[0].intent == intent
