"""What the inbox's rows show beside an interaction's own text: its account, post and thread, the
AI's labels with their confidence and their evidence in words, the moderation state and buttons,
worked out in Python rather than in the template (each attribute chain, call and filter costs
several times more there, fifty rows a page)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, NamedTuple

from socialpulse.accounts import service as accounts_service
from socialpulse.inbox import moderation
from socialpulse.inbox.context import ItemContext
from socialpulse.inbox.models import Interaction
from socialpulse.inbox.service import InboxEntry
from socialpulse.inbox.workflows.builder import LANGUAGES

# Below this confidence a label is shown as uncertain (dashed, and the word "uncertain").
UNCERTAIN_BELOW = 0.6
EVIDENCE_LINES = 5

# Models that say how likely a label is (their weight is a probability).
MODEL_NAMES = {
    "spam_model": "Spam model",
    "complaint_model": "Complaint model",
    "minilm_head": "Language model (MiniLM)",
    # Romanised Hindi: the English model reads its English words too (ai/multilingual.py).
    "english_vote": "English model, for the English words in it",
}
# Rules whose evidence is a score, not a matched text.
RULE_PHRASES = {
    "positive_sentiment_gate": "The text reads as positive",
    "no_intent_fired": "No intent rule matched",
    "empty_text": "The text is empty",
}
TOKENS = {
    "<url>": "a link",
    "<mention>": "a mention",
    "<number>": "a number",
    "<emoji>": "an emoji",
}


def words(name: str) -> str:
    """An intent, status or rule name in words: purchase_intent → purchase intent."""
    return name.replace("_", " ").strip()


def _token(value: str) -> str:
    return TOKENS.get(value, f"“{value}”")


def _feature_subject(value: str) -> tuple[str, bool]:
    """How a model feature is named in a sentence, and whether it is plural: "A link", "The
    word “love”", "The words “quelle belle”", "The sign “!”", "The emoji “🥹”"."""
    if value in TOKENS:
        return TOKENS[value].capitalize(), False
    if not any(ch.isalnum() for ch in value):
        emoji = any(unicodedata.category(ch) == "So" for ch in value)
        return f"The {'emoji' if emoji else 'sign'} “{value}”", False
    if " " in value.strip():
        return f"The words “{value}”", True
    return f"The word “{value}”", False


def _strength(weight: float) -> str:
    weight = abs(weight)
    return "strongly" if weight >= 1 else "moderately" if weight >= 0.3 else "slightly"


def _likely(value: float) -> str:
    return f"{value:.0%}".replace("%", " %")


def evidence_phrase(item: dict[str, Any]) -> str:
    """One piece of the AI's evidence as a person would say it ("Spam model: 78 % likely",
    "Rule “where to buy” matched “where can i buy”") instead of `spam_model (+0.78)`."""
    source = str(item.get("source", ""))
    value = str(item.get("value", ""))
    try:
        weight = float(item.get("weight", 0))
    except (TypeError, ValueError):
        weight = 0.0
    if source == "model":
        if value.startswith("hf:"):
            return f"Hugging Face model {value[3:]}: {_likely(weight)} likely"
        if value in MODEL_NAMES:
            return f"{MODEL_NAMES[value]}: {_likely(weight)} likely"
        if value.startswith("sentiment_multi:"):
            # Its weight is how sure the detector was of the language that chose the model.
            name = language_name(value.partition(":")[2])
            return f"Multilingual model, read as {name} ({_likely(weight)} sure of the language)"
        return f"Model {words(value)}: {_likely(weight)}"
    if source == "rule":
        if value in RULE_PHRASES:
            return RULE_PHRASES[value]
        name, _, matched = value.partition(": ")
        if name.startswith("unsupported_language:"):
            code = name.partition(":")[2]
            # The language by name: "Portuguese", not "pt" ("ja" where the list has no name).
            return f"{language_name(code)} is not a language the model was trained on"
        if name == "sentiment" and matched:
            return f"The text reads as {matched}"
        if matched:
            return f"Rule “{words(name)}” matched {_token(matched)}"
        return f"Rule “{words(name)}” matched"
    if source == "term":
        kind, _, term = value.partition(": ")
        if term:
            return f"{words(kind).capitalize()}: {_token(term)}"
        return f"Term {_token(value)}"
    if source == "feature":
        direction = "towards" if weight >= 0 else "away from"
        subject, plural = _feature_subject(value)
        verb = "point" if plural else "points"
        return f"{subject} {verb} {_strength(weight)} {direction} this label"
    return words(value) or "no detail recorded"


def language_name(code: str) -> str:
    """A detected language's name ("Hindi"), or its code where the list has none."""
    return LANGUAGES.get(code, code)


def evidence_lines(items: list[dict[str, Any]] | None, limit: int = EVIDENCE_LINES) -> list[str]:
    return [evidence_phrase(item) for item in (items or [])[:limit] if isinstance(item, dict)]


class Chip(NamedTuple):
    """A sentiment / intent / toxicity / language label, its confidence and its evidence in words.
    (A tuple, not a dict: Jinja reads `chip.kind` as an attribute first, a caught exception on a
    dict.)"""

    kind: str
    text: str
    why: str  # one line (for places that show a tooltip)
    confidence: str = ""  # "78 %", "" where the model gives none
    uncertain: bool = False
    corrected: bool = False
    title: str = ""  # what the evidence panel calls it: "Sentiment: positive"
    evidence: tuple[str, ...] = ()


def _percent(value: float | None) -> str:
    return _likely(value) if value is not None else ""


def chips(
    item: Interaction,
    evidence: dict[str, Any],
    *,
    sentiment: str | None = None,
    intent: str | None = None,
) -> list[Chip]:
    """The labels of an interaction; `sentiment` / `intent` are a person's corrections, which
    replace the model's (and its evidence)."""
    chips: list[Chip] = []
    if sentiment or item.ai_sentiment:
        if sentiment:
            lines: tuple[str, ...] = ("Corrected by you",)
            confidence, uncertain = "", False
        else:
            lines = tuple(evidence_lines(evidence.get("sentiment"))) or ("no strong words",)
            score = item.ai_sentiment_confidence
            confidence = _percent(score)
            uncertain = score is not None and score < UNCERTAIN_BELOW
        label = sentiment or item.ai_sentiment or ""
        chips.append(
            Chip(
                f"sentiment-{label}",
                label,
                "; ".join(lines),
                confidence,
                uncertain,
                bool(sentiment),
                f"Sentiment: {label}",
                lines,
            )
        )
    intent_label = intent or item.ai_intent
    if intent_label and (intent_label != "other" or intent):
        if intent:
            lines, confidence, uncertain = ("Corrected by you",), "", False
        else:
            detail = (evidence.get("intents") or {}).get(intent_label) or {}
            lines = tuple(evidence_lines(detail.get("evidence"))) or ("no evidence recorded",)
            score = item.ai_intent_confidence
            confidence = _percent(score)
            uncertain = score is not None and score < UNCERTAIN_BELOW
        chips.append(
            Chip(
                "intent",
                words(intent_label),
                "; ".join(lines),
                confidence,
                uncertain,
                bool(intent),
                f"Intent: {words(intent_label)}",
                lines,
            )
        )
    if item.ai_toxic:
        lines = tuple(evidence_lines(evidence.get("toxicity"))) or ("flagged as toxic",)
        chips.append(Chip("toxic", "toxic", "; ".join(lines), title="Toxic", evidence=lines))
    if item.ai_language:
        code = item.ai_language
        chips.append(Chip("lang", language_name(code), f"detected language ({code})"))
    return chips


def _moderation_buttons(item: Interaction, state: str | None) -> list[tuple[str, str]]:
    """(action, button text) offered on an interaction: undo what is asked, retry a failure."""
    if state == "hide_failed":
        return [("hide", "Retry hide"), ("unhide", "Unhide")]
    if state == "unhide_failed":
        return [("unhide", "Retry unhide"), ("hide", "Keep hidden")]
    if item.hidden:
        return [("unhide", "Unhide")]
    hideable = moderation.can_hide(item.platform) and item.kind in moderation.HIDEABLE_KINDS
    return [("hide", "Hide")] if hideable else []


MODERATION_LABELS = frozenset(
    {moderation.HIDDEN_LABEL, moderation.FAILED_LABEL, moderation.UNHIDE_FAILED_LABEL}
)


@dataclass(frozen=True, slots=True)
class InboxRow:
    """What one row of the inbox shows, worked out once here: each attribute chain, method call
    and filter in a template costs several times what it costs in Python, fifty rows a page."""

    item: Interaction
    fan_id: int | None
    superfan_since: str | None  # "YYYY-MM-DD" ("?" unknown) for a superfan; None for others
    meta: str  # kind · posted
    account: str  # "@studio on YouTube"
    platform_name: str
    context: ItemContext | None  # post and thread
    status: str
    status_text: str
    reply_waiting: bool
    chips: list[Chip]
    evidence: list[Chip]  # the chips that have evidence to show in the "Why?" panel
    labels: list[str]  # the labels people gave it (moderation's own are shown as its state)
    hide_state: str | None
    hide_failure: str
    buttons: list[tuple[str, str]]  # moderation (action, text) offered to an editor
    suggestion: bool  # a suggested reply is offered to an editor
    done_status: str  # what "done" (e) sets: answered once replied, else ignored
    sentiment: str | None  # the labels in force (corrected or the model's), for the correction form
    intent: str | None


def inbox_rows(
    entries: list[InboxEntry],
    failures: dict[int, str],
    can_edit: bool,
    contexts: dict[int, ItemContext] | None = None,
) -> list[InboxRow]:
    """The rows of a page of entries; `failures` are `moderation.failure_details` by id,
    `contexts` the `inbox.context.page_context` of the page."""
    rows = []
    names: dict[str, str] = {}
    for entry in entries:
        item = entry.item
        state = moderation.hide_state(item.hidden, item.labels)
        superfan_since = None
        if entry.is_superfan:
            since = entry.superfan_since
            superfan_since = since.strftime("%Y-%m-%d") if since else "?"
        status = item.status.value
        context = (contexts or {}).get(item.id)
        platform = item.platform
        if platform not in names:
            names[platform] = accounts_service.platform_name(platform)
        handle = context.account_handle if context is not None else None
        labels = chips(
            item,
            entry.evidence,
            sentiment=entry.corrected_sentiment,
            intent=entry.corrected_intent,
        )
        rows.append(
            InboxRow(
                item=item,
                fan_id=entry.fan_id,
                superfan_since=superfan_since,
                meta=f"{words(item.kind.value)} · {item.posted_at.strftime('%Y-%m-%d %H:%M')} UTC",
                account=f"@{handle} on {names[platform]}" if handle else names[platform],
                platform_name=names[platform],
                context=context,
                status=status,
                status_text="reply pending" if entry.reply_waiting else words(status),
                reply_waiting=entry.reply_waiting,
                chips=labels,
                evidence=[chip for chip in labels if chip.evidence],
                labels=[label for label in item.labels if label not in MODERATION_LABELS],
                hide_state=state,
                hide_failure=failures.get(item.id, "no reason recorded"),
                buttons=_moderation_buttons(item, state) if can_edit else [],
                suggestion=can_edit and bool(item.suggested_reply) and not entry.replied,
                done_status="answered" if entry.replied else "ignored",
                sentiment=entry.corrected_sentiment or item.ai_sentiment,
                intent=entry.corrected_intent or item.ai_intent,
            )
        )
    return rows
