"""People's corrections of the AI's labels ("wrong label"), per workspace.

The model's labels stay on the interaction, with the evidence that explains them; a correction
is kept beside them and wins wherever a label is used: the inbox shows it ("corrected by you")
and filters by it (`service._filtered`), and workflow conditions match it (`workflows.engine`).
Re-analysing an interaction with a newer model never undoes a correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.ai import schemas as ai_schemas
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox.models import AiLabelCorrection, Interaction
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped

log = structlog.get_logger(__name__)

# Labels a correction may set: the model's own label sets.
SENTIMENTS: tuple[str, ...] = ("positive", "neutral", "negative")
INTENTS: tuple[str, ...] = tuple(ai_schemas.INTENT_LABELS)


@dataclass(frozen=True, slots=True)
class Labels:
    """The labels in force on an interaction: a correction's where there is one, else the
    model's (confidence 1.0 for a corrected label: a person said so)."""

    sentiment: str | None
    sentiment_confidence: float | None
    intent: str | None
    intent_confidence: float | None
    sentiment_corrected: bool
    intent_corrected: bool


def labels_of(item: Interaction, correction: AiLabelCorrection | None) -> Labels:
    sentiment = correction.sentiment if correction is not None else None
    intent = correction.intent if correction is not None else None
    return Labels(
        sentiment=sentiment or item.ai_sentiment,
        sentiment_confidence=1.0 if sentiment else item.ai_sentiment_confidence,
        intent=intent or item.ai_intent,
        intent_confidence=1.0 if intent else item.ai_intent_confidence,
        sentiment_corrected=sentiment is not None,
        intent_corrected=intent is not None,
    )


def correct_labels(
    session: Session,
    subject: Subject,
    interaction_id: int,
    *,
    sentiment: str | None = None,
    intent: str | None = None,
) -> AiLabelCorrection:
    """Record the right sentiment and/or intent of an interaction (editor). A label not given
    keeps what an earlier correction (or the model) said."""
    subject.require(Role.editor)
    if sentiment is None and intent is None:
        raise InvalidInput("give the right sentiment, the right intent, or both")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInput(f"unknown sentiment {sentiment!r}: one of {', '.join(SENTIMENTS)}")
    if intent is not None and intent not in INTENTS:
        raise InvalidInput(f"unknown intent {intent!r}: one of {', '.join(INTENTS)}")
    item = get_scoped(session, Interaction, interaction_id, subject)
    row = correction_of(session, subject, item.id)
    if row is None:
        row = AiLabelCorrection(workspace_id=subject.workspace_id, interaction_id=item.id)
        session.add(row)
    if sentiment is not None:
        row.sentiment = sentiment
        row.model_sentiment = item.ai_sentiment
    if intent is not None:
        row.intent = intent
        row.model_intent = item.ai_intent
    row.corrected_by_user_id = subject.user_id
    row.corrected_by = subject.actor
    row.corrected_at = utcnow()
    session.flush()
    log.info(
        "inbox.label.corrected",
        interaction_id=item.id,
        sentiment=row.sentiment,
        intent=row.intent,
    )
    return row


def correction_of(
    session: Session, subject: Subject, interaction_id: int
) -> AiLabelCorrection | None:
    return session.scalar(
        select(AiLabelCorrection).where(
            AiLabelCorrection.workspace_id == subject.workspace_id,
            AiLabelCorrection.interaction_id == interaction_id,
        )
    )


def corrections_for(
    session: Session, workspace_id: int, interaction_ids: Sequence[int]
) -> dict[int, AiLabelCorrection]:
    """The corrections of these interactions of one workspace, by interaction id."""
    found: dict[int, AiLabelCorrection] = {}
    unique = sorted(set(interaction_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        found.update(
            (row.interaction_id, row)
            for row in session.scalars(
                select(AiLabelCorrection).where(
                    AiLabelCorrection.workspace_id == workspace_id,
                    AiLabelCorrection.interaction_id.in_(chunk),
                )
            )
        )
    return found
