"""Response templates and a workspace's AI settings: what to answer to each intent, in each
language, and from which confidence the analysis proposes that answer as an auto-response.

Intents that expect an answer (`base.RESPONSE_INTENTS`: question, complaint, praise,
purchase_intent, collaboration) have built-in templates in English, Spanish, Portuguese,
French, German and Italian (`BUILTIN_TEMPLATES`). A workspace may replace any of them, or add
one for another language the analyser detects (an ISO 639-1 code), with its own text
(`ai_response_templates`, one row per intent and language); setting the text to null
removes its own and brings the built-in one back.

The template for an intent and a detected language is, in order: the workspace's for that
language, the built-in one for it, the workspace's English one, the built-in English one. A
Spanish comment is answered in Spanish by the built-in text rather than in the workspace's
English, since the commenter's language matters more than the wording.

Read by `POST /ai/analyze` (its ``auto_response``) and by the inbox's intent-based suggested
replies, each loading a workspace's templates once per request or ingestion pass (`load`).
The auto-response threshold (`ai_settings`, 0.85 when unset) applies to the analysis API; the
inbox's suggestions keep their own threshold in the inbox settings
(``suggestion_min_confidence``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from socialpulse.ai.base import INTENT_LABELS, RESPONSE_INTENTS, TextAnalysis
from socialpulse.ai.models import AiSettings, ResponseTemplate
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.kit.templates import render_template
from socialpulse.kit.upsert import upsert
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, scoped

DEFAULT_AUTO_RESPONSE_THRESHOLD = 0.85
MIN_AUTO_RESPONSE_THRESHOLD = 0.5
FALLBACK_LANGUAGE = "en"
BUILTIN_LANGUAGES = ("en", "es", "pt", "fr", "de", "it")
# The codes `language.detect` can return are ISO 639-1 (or "und"). Norwegian is always "no":
# Bokmål (nb) and Nynorsk (nn) are folded into it, so a template for them would never be used.
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nd ne ng nl no nr nv ny oc "
    "oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st "
    "su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za "
    "zh zu".split()
)

BUILTIN_TEMPLATES: dict[str, dict[str, str]] = {
    "praise": {
        "en": "Thank you so much, {fan_name}! Comments like yours make our day.",
        "es": "¡Muchas gracias, {fan_name}! Comentarios como el tuyo nos alegran el día.",
        "pt": "Muito obrigado, {fan_name}! Comentários como o seu fazem o nosso dia.",
        "fr": "Merci beaucoup, {fan_name} ! Des commentaires comme le vôtre illuminent "
        "notre journée.",
        "de": "Vielen Dank, {fan_name}! Kommentare wie deiner machen uns den Tag.",
        "it": "Grazie mille, {fan_name}! Commenti come il tuo ci migliorano la giornata.",
    },
    "question": {
        "en": "Great question, {fan_name}! We'll get back to you with the details shortly.",
        "es": "¡Buena pregunta, {fan_name}! Te respondemos con los detalles muy pronto.",
        "pt": "Ótima pergunta, {fan_name}! Vamos te responder com os detalhes em breve.",
        "fr": "Bonne question, {fan_name} ! Nous revenons vers vous très vite avec les détails.",
        "de": "Gute Frage, {fan_name}! Wir melden uns in Kürze mit den Details.",
        "it": "Ottima domanda, {fan_name}! Ti rispondiamo a breve con tutti i dettagli.",
    },
    "complaint": {
        "en": "We're really sorry about this, {fan_name}. Thank you for telling us: we're "
        "looking into it and will make it right.",
        "es": "Lamentamos mucho lo ocurrido, {fan_name}. Gracias por avisarnos: lo estamos "
        "revisando y lo vamos a solucionar.",
        "pt": "Sentimos muito por isso, {fan_name}. Obrigado por nos avisar: já estamos "
        "verificando e vamos resolver.",
        "fr": "Nous sommes vraiment désolés, {fan_name}. Merci de nous l'avoir signalé : nous "
        "examinons le problème et allons arranger les choses.",
        "de": "Das tut uns wirklich leid, {fan_name}. Danke für den Hinweis: Wir kümmern uns "
        "darum und bringen das in Ordnung.",
        "it": "Ci dispiace davvero, {fan_name}. Grazie per avercelo segnalato: stiamo "
        "verificando e sistemeremo tutto.",
    },
    "purchase_intent": {
        "en": "Thanks for your interest, {fan_name}! Send us a message and we'll help you "
        "get yours.",
        "es": "¡Gracias por tu interés, {fan_name}! Escríbenos un mensaje y te ayudamos a "
        "conseguir el tuyo.",
        "pt": "Obrigado pelo interesse, {fan_name}! Manda uma mensagem para a gente e "
        "ajudamos você a garantir o seu.",
        "fr": "Merci pour votre intérêt, {fan_name} ! Envoyez-nous un message et nous vous "
        "aiderons à obtenir le vôtre.",
        "de": "Danke für dein Interesse, {fan_name}! Schreib uns eine Nachricht und wir "
        "helfen dir gerne weiter.",
        "it": "Grazie per l'interesse, {fan_name}! Scrivici un messaggio e ti aiutiamo a "
        "ottenere il tuo.",
    },
    "collaboration": {
        "en": "Thanks for reaching out, {fan_name}! Send us a message with the details and "
        "we'll get back to you.",
        "es": "¡Gracias por escribirnos, {fan_name}! Envíanos un mensaje con los detalles y "
        "te respondemos.",
        "pt": "Obrigado pelo contato, {fan_name}! Manda uma mensagem com os detalhes e a "
        "gente te responde.",
        "fr": "Merci de nous avoir contactés, {fan_name} ! Envoyez-nous un message avec les "
        "détails et nous reviendrons vers vous.",
        "de": "Danke für deine Anfrage, {fan_name}! Schick uns eine Nachricht mit den Details "
        "und wir melden uns.",
        "it": "Grazie per averci contattato, {fan_name}! Mandaci un messaggio con i dettagli "
        "e ti risponderemo.",
    },
}
assert set(BUILTIN_TEMPLATES) == RESPONSE_INTENTS, "every intent answered has a default"


def requires_response(intent: str) -> bool:
    return intent in RESPONSE_INTENTS


def check_intent(intent: str) -> str:
    """The intent, or ValueError saying which intents take a template."""
    if intent in RESPONSE_INTENTS:
        return intent
    answered = ", ".join(label for label in INTENT_LABELS if label in RESPONSE_INTENTS)
    if intent in INTENT_LABELS:
        raise ValueError(f"{intent} is never answered, so it has no template; use {answered}")
    raise ValueError(f"unknown intent {intent!r}; use {answered}")


def check_language(code: str) -> str:
    """The code, or ValueError when the analyser never reports it."""
    if code in ISO_639_1:
        return code
    if code in ("nb", "nn"):
        raise ValueError(f'Norwegian is detected as "no", never as {code!r}; use no')
    raise ValueError(
        f"{code!r} is not a language code the analyser reports; use a lower-case ISO 639-1 "
        "code such as en, es, pt, fr or de"
    )


@dataclass(frozen=True)
class EffectiveTemplate:
    intent: str
    language: str
    text: str
    is_default: bool
    default_text: str | None  # the built-in text for this intent and language, if any
    updated_at: dt.datetime | None  # when the workspace last set its own


@dataclass(frozen=True)
class ResponseTemplates:
    """One workspace's templates and auto-response threshold, read once per request or pass."""

    workspace_id: int
    auto_response_threshold: float
    overrides: Mapping[tuple[str, str], str]

    @classmethod
    def builtin(cls, workspace_id: int) -> ResponseTemplates:
        """The defaults, as for a workspace that changed nothing."""
        return cls(workspace_id, DEFAULT_AUTO_RESPONSE_THRESHOLD, {})

    def text_for(self, intent: str | None, language: str | None) -> str | None:
        """The template to answer `intent` in `language` (see the module docstring), or None
        for intents that are not answered."""
        if intent not in RESPONSE_INTENTS:
            return None
        builtin = BUILTIN_TEMPLATES[intent]
        for code in dict.fromkeys((language or FALLBACK_LANGUAGE, FALLBACK_LANGUAGE)):
            text = self.overrides.get((intent, code)) or builtin.get(code)
            if text:
                return text
        return None  # pragma: no cover - every answered intent has an English default

    def auto_response(
        self, analysis: TextAnalysis, variables: Mapping[str, str] | None = None
    ) -> str | None:
        """The rendered template when the top intent is answered and its score reaches the
        workspace's threshold; variables not given stay as {placeholders} for the caller."""
        intent = analysis.intent
        found = analysis.intents.get(intent)
        if found is None or found.score < self.auto_response_threshold:
            return None
        template = self.text_for(intent, analysis.language.code)
        if template is None:
            return None
        return render_template(template, dict(variables or {}), keep_missing=True)


def _settings_row(session: Session, subject: Subject) -> AiSettings | None:
    return session.get(AiSettings, subject.workspace_id)


def auto_response_threshold(session: Session, subject: Subject) -> float:
    row = _settings_row(session, subject)
    return row.auto_response_threshold if row is not None else DEFAULT_AUTO_RESPONSE_THRESHOLD


def _override_rows(session: Session, subject: Subject) -> list[ResponseTemplate]:
    stmt = scoped(select(ResponseTemplate), subject).order_by(
        ResponseTemplate.intent, ResponseTemplate.language
    )
    return list(session.scalars(stmt).all())


def load(session: Session, subject: Subject) -> ResponseTemplates:
    """The workspace's templates and threshold: two primary-key or indexed reads."""
    rows = _override_rows(session, subject)
    return ResponseTemplates(
        workspace_id=subject.workspace_id,
        auto_response_threshold=auto_response_threshold(session, subject),
        overrides={(row.intent, row.language): row.text for row in rows},
    )


def effective_templates(session: Session, subject: Subject) -> list[EffectiveTemplate]:
    """Every template in use: each answered intent in each built-in language, then the
    languages the workspace added; intents in `INTENT_LABELS` order."""
    rows = {(row.intent, row.language): row for row in _override_rows(session, subject)}
    out = []
    for intent in (label for label in INTENT_LABELS if label in RESPONSE_INTENTS):
        builtin = BUILTIN_TEMPLATES[intent]
        added = sorted(lang for i, lang in rows if i == intent and lang not in builtin)
        for language in (*BUILTIN_LANGUAGES, *added):
            own = rows.get((intent, language))
            default = builtin.get(language)
            text = own.text if own is not None else default
            if text is None:  # pragma: no cover - built-in languages all have a default
                continue
            out.append(
                EffectiveTemplate(
                    intent=intent,
                    language=language,
                    text=text,
                    is_default=own is None,
                    default_text=default,
                    updated_at=own.updated_at if own is not None else None,
                )
            )
    return out


@dataclass(frozen=True)
class TemplateChange:
    """Set the workspace's text for an intent and language; None brings the default back."""

    intent: str
    language: str
    text: str | None


def set_templates(
    session: Session, subject: Subject, changes: Sequence[TemplateChange]
) -> list[EffectiveTemplate]:
    """Apply the changes (admin): listed intents and languages only, the others stay as they
    are. Inputs are validated by the request schema; checked again here for other callers."""
    subject.require(Role.admin)
    now = utcnow()
    rows = []
    for change in changes:
        try:
            check_intent(change.intent)
            check_language(change.language)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        if change.text is None:
            session.execute(
                delete(ResponseTemplate).where(
                    ResponseTemplate.workspace_id == subject.workspace_id,
                    ResponseTemplate.intent == change.intent,
                    ResponseTemplate.language == change.language,
                )
            )
        else:
            rows.append(
                {
                    "workspace_id": subject.workspace_id,
                    "intent": change.intent,
                    "language": change.language,
                    "text": change.text,
                    "updated_at": now,
                }
            )
    # An upsert: two admins saving the same template at once both succeed, the last one wins.
    upsert(
        session,
        ResponseTemplate.__table__,  # type: ignore[arg-type]
        rows,
        conflict=("workspace_id", "intent", "language"),
        update=("text", "updated_at"),
    )
    session.flush()
    return effective_templates(session, subject)


def set_auto_response_threshold(session: Session, subject: Subject, threshold: float) -> float:
    """Change the threshold (admin); the schema bounds it to 0.5..1."""
    subject.require(Role.admin)
    if not MIN_AUTO_RESPONSE_THRESHOLD <= threshold <= 1.0:
        raise InvalidInput(f"auto_response_threshold must be between 0.5 and 1, not {threshold}")
    upsert(
        session,
        AiSettings.__table__,  # type: ignore[arg-type]
        [
            {
                "workspace_id": subject.workspace_id,
                "auto_response_threshold": threshold,
                "updated_at": utcnow(),
            }
        ],
        conflict=("workspace_id",),
        update=("auto_response_threshold", "updated_at"),
    )
    # populate_existing: a row this session read before the upsert still holds the old value.
    row = session.get(AiSettings, subject.workspace_id, populate_existing=True)
    assert row is not None
    return row.auto_response_threshold
