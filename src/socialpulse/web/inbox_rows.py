"""What the inbox's rows show beside an interaction's own text: the AI's chips with their
evidence, the moderation state and buttons, worked out in Python rather than in the template
(each attribute chain, call and filter costs several times more there, fifty rows a page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from socialpulse.inbox import moderation
from socialpulse.inbox.models import Interaction
from socialpulse.inbox.service import InboxEntry


def _why(items: list[dict[str, Any]] | None, limit: int = 4) -> str:
    words = [
        f"{item.get('value')} ({float(item.get('weight', 0)):+.2f})"
        for item in (items or [])[:limit]
    ]
    return ", ".join(words)


class Chip(NamedTuple):
    """A sentiment / intent / toxicity / language chip and the evidence shown on hover. (A tuple,
    not a dict: Jinja reads `chip.kind` as an attribute first, a caught exception on a dict.)"""

    kind: str
    text: str
    why: str


def chips(item: Interaction, evidence: dict[str, Any]) -> list[Chip]:
    """Sentiment / intent / toxicity / language chips with the evidence shown on hover."""
    chips: list[Chip] = []
    if item.ai_sentiment:
        confidence = item.ai_sentiment_confidence
        why = f"confidence {confidence:.0%}; " if confidence is not None else ""
        chips.append(
            Chip(
                f"sentiment-{item.ai_sentiment}",
                item.ai_sentiment,
                why + (_why(evidence.get("sentiment")) or "no strong words"),
            )
        )
    if item.ai_intent and item.ai_intent != "other":
        detail = (evidence.get("intents") or {}).get(item.ai_intent) or {}
        score = item.ai_intent_confidence
        chips.append(
            Chip(
                "intent",
                item.ai_intent.replace("_", " "),
                (f"score {score:.2f}; " if score is not None else "")
                + (_why(detail.get("evidence")) or "no evidence recorded"),
            )
        )
    if item.ai_toxic:
        chips.append(Chip("toxic", "toxic", _why(evidence.get("toxicity")) or "toxic"))
    if item.ai_language:
        chips.append(Chip("lang", item.ai_language, "detected language"))
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
    meta: str  # platform · kind · posted
    status: str
    status_text: str
    reply_waiting: bool
    chips: list[Chip]
    labels: list[str]  # the labels people gave it (moderation's own are shown as its state)
    hide_state: str | None
    hide_failure: str
    buttons: list[tuple[str, str]]  # moderation (action, text) offered to an editor
    suggestion: bool  # a suggested reply is offered to an editor


def inbox_rows(
    entries: list[InboxEntry], failures: dict[int, str], can_edit: bool
) -> list[InboxRow]:
    """The rows of a page of entries; `failures` are `moderation.failure_details` by id."""
    rows = []
    for entry in entries:
        item = entry.item
        state = moderation.hide_state(item.hidden, item.labels)
        superfan_since = None
        if entry.is_superfan:
            since = entry.superfan_since
            superfan_since = since.strftime("%Y-%m-%d") if since else "?"
        status = item.status.value
        rows.append(
            InboxRow(
                item=item,
                fan_id=entry.fan_id,
                superfan_since=superfan_since,
                meta=f"{item.platform} · {item.kind.value.replace('_', ' ')} · "
                f"{item.posted_at.strftime('%Y-%m-%d %H:%M')} UTC",
                status=status,
                status_text=status.replace("_", " "),
                reply_waiting=entry.reply_waiting,
                chips=chips(item, entry.evidence),
                labels=[label for label in item.labels if label not in MODERATION_LABELS],
                hide_state=state,
                hide_failure=failures.get(item.id, "no reason recorded"),
                buttons=_moderation_buttons(item, state) if can_edit else [],
                suggestion=can_edit and bool(item.suggested_reply) and not entry.replied,
            )
        )
    return rows
