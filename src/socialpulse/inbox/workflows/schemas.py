"""Workflow conditions and actions as written by users, and the request and response models of
the workflow API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args

import re2
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from socialpulse.ai.schemas import INTENT_LABELS
from socialpulse.inbox.models import WorkflowStatus, WorkflowTrigger
from socialpulse.inbox.workflows.rules import check_regex, explain_re2_error, keywords_regex
from socialpulse.kit.params import Count, Id
from socialpulse.kit.templates import MAX_TEMPLATE_LENGTH, template_variables

SentimentValue = Literal["positive", "neutral", "negative"]
PlatformValue = Literal["youtube", "instagram", "tiktok", "bluesky", "mastodon", "simulated"]
IntentValue = Literal[
    "question", "complaint", "praise", "purchase_intent", "collaboration", "spam", "other"
]
assert set(get_args(IntentValue)) == set(INTENT_LABELS), "keep in step with socialpulse.ai"
LanguageCode = Annotated[str, Field(pattern=r"^(?:[a-z]{2,3}|und)$")]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


# --------------------------------------------------------------------------- conditions


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlatformCondition(_Strict):
    type: Literal["platform"]
    values: list[PlatformValue] = Field(min_length=1)


class AccountCondition(_Strict):
    type: Literal["account_id"]
    values: list[Id] = Field(min_length=1)


class SentimentCondition(_Strict):
    type: Literal["sentiment"]
    values: list[SentimentValue] = Field(min_length=1)
    min_confidence: Confidence | None = None


class IntentCondition(_Strict):
    type: Literal["intent"]
    values: list[IntentValue] = Field(min_length=1)
    min_confidence: Confidence | None = None


class LanguageCondition(_Strict):
    type: Literal["language"]
    values: list[LanguageCode] = Field(min_length=1)


class KeywordsCondition(_Strict):
    """Any of the words or phrases, case-insensitive, as whole words."""

    type: Literal["keywords"]
    words: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=200
    )

    @field_validator("words")
    @classmethod
    def _strip(cls, words: list[str]) -> list[str]:
        cleaned = [w.strip() for w in words]
        if any(not w for w in cleaned):
            raise ValueError("keywords cannot be blank")
        try:
            keywords_regex(tuple(cleaned))  # compiled now, so a set RE2 cannot hold is a 422
        except re2.error as exc:
            raise ValueError(explain_re2_error("", exc)) from exc
        return cleaned


class RegexCondition(_Strict):
    type: Literal["regex"]
    pattern: str = Field(min_length=1)
    ignore_case: bool = True

    @field_validator("pattern")
    @classmethod
    def _safe(cls, pattern: str) -> str:
        check_regex(pattern)
        return pattern


class ToxicCondition(_Strict):
    type: Literal["toxic"]
    value: bool = True


class SuperfanCondition(_Strict):
    type: Literal["superfan"]
    value: bool = True


class FanFollowersCondition(_Strict):
    type: Literal["fan_followers"]
    min: Count | None = None
    max: Count | None = None

    @model_validator(mode="after")
    def _bounds(self) -> FanFollowersCondition:
        if self.min is None and self.max is None:
            raise ValueError("fan_followers needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"fan_followers min ({self.min}) is greater than max ({self.max})")
        return self


Condition = Annotated[
    PlatformCondition
    | AccountCondition
    | SentimentCondition
    | IntentCondition
    | LanguageCondition
    | KeywordsCondition
    | RegexCondition
    | ToxicCondition
    | SuperfanCondition
    | FanFollowersCondition,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- actions

TemplateText = Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_LENGTH)]


class _TemplateAction(_Strict):
    template: TemplateText | None = Field(
        default=None,
        description="The reply, with {fan_name}, {fan_handle}, {platform}, {post_url}; left "
        "out or null: the workspace's response template for the interaction's intent and "
        "language (GET /api/v1/ai/response-templates), skipped for intents never answered.",
    )

    @field_validator("template")
    @classmethod
    def _variables(cls, template: str | None) -> str | None:
        if template is None:
            return None
        if not template.strip():
            raise ValueError("template cannot be blank")
        template_variables(template)
        return template


class AutoReplyAction(_TemplateAction):
    """Queue the reply without approval (paced by the reply queue)."""

    type: Literal["auto_reply"]


class SendToApprovalAction(_TemplateAction):
    """Draft the reply for a human to approve."""

    type: Literal["send_to_approval"]


class FlagAction(_Strict):
    type: Literal["flag"]


class LabelAction(_Strict):
    type: Literal["label"]
    name: str = Field(min_length=1, max_length=50)

    @field_validator("name")
    @classmethod
    def _strip(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("label name cannot be blank")
        return name


class AssignAction(_Strict):
    type: Literal["assign"]
    user_id: Id


class IgnoreAction(_Strict):
    type: Literal["ignore"]


class HideAction(_Strict):
    type: Literal["hide"]


class SetPriorityAction(_Strict):
    type: Literal["set_priority"]
    priority: int = Field(ge=0, le=100)


Action = Annotated[
    AutoReplyAction
    | SendToApprovalAction
    | FlagAction
    | LabelAction
    | AssignAction
    | IgnoreAction
    | HideAction
    | SetPriorityAction,
    Field(discriminator="type"),
]

CONDITIONS: TypeAdapter[list[Condition]] = TypeAdapter(list[Condition])
ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])


# --------------------------------------------------------------------------- schemas


TRIGGER_DESCRIPTION = (
    "new_interaction: when an interaction is imported; unanswered_for: once it has waited "
    "trigger_hours unanswered (see trigger_hours)."
)
TRIGGER_HOURS_DESCRIPTION = (
    "For unanswered_for: the hours an interaction must have waited, counted from when it was "
    "posted on the platform (posted_at), not from when socialpulse imported it (ingested_at), "
    "while it is still unread or awaiting approval with no reply queued. A comment posted 30 h "
    "ago and imported 1 h ago is unanswered for 30 h."
)


class _TriggerRule(BaseModel):
    @model_validator(mode="after")
    def _trigger_hours(self) -> Any:
        trigger = getattr(self, "trigger", None)
        hours = getattr(self, "trigger_hours", None)
        if trigger == WorkflowTrigger.unanswered_for and hours is None:
            raise ValueError("trigger unanswered_for needs trigger_hours (e.g. 24)")
        if trigger == WorkflowTrigger.new_interaction and hours is not None:
            raise ValueError("trigger_hours only applies to the unanswered_for trigger")
        return self


class WorkflowDefinition(_TriggerRule):
    """A workflow as written by a user; also the body of a dry run (name optional there)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="Draft workflow", min_length=1, max_length=200)
    status: WorkflowStatus = WorkflowStatus.active
    priority: int = Field(default=100, ge=0, le=10_000)
    trigger: WorkflowTrigger = Field(
        default=WorkflowTrigger.new_interaction, description=TRIGGER_DESCRIPTION
    )
    trigger_hours: float | None = Field(
        default=None, gt=0, le=24 * 90, description=TRIGGER_HOURS_DESCRIPTION
    )
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    actions: list[Action] = Field(min_length=1, max_length=20)
    stop_processing: bool = True


class WorkflowCreate(WorkflowDefinition):
    name: str = Field(min_length=1, max_length=200)


class WorkflowUpdate(BaseModel):
    """Every field optional: pause/resume with `status`, reorder with `priority`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: WorkflowStatus | None = None
    priority: int | None = Field(default=None, ge=0, le=10_000)
    trigger: WorkflowTrigger | None = Field(default=None, description=TRIGGER_DESCRIPTION)
    trigger_hours: float | None = Field(
        default=None, gt=0, le=24 * 90, description=TRIGGER_HOURS_DESCRIPTION
    )
    conditions: list[Condition] | None = Field(default=None, max_length=50)
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=20)
    stop_processing: bool | None = None


class WorkflowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: WorkflowStatus
    priority: int
    trigger: WorkflowTrigger = Field(description=TRIGGER_DESCRIPTION)
    trigger_hours: float | None = Field(description=TRIGGER_HOURS_DESCRIPTION)
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    stop_processing: bool
    triggered_count: int
    auto_responded_count: int
    flagged_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class WorkflowMatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    workflow_id: int
    interaction_id: int
    matched_at: dt.datetime
    reason: str
    actions_applied: list[str]
    auto_responded: bool
    flagged: bool


class DryRunResult(BaseModel):
    interaction_id: int
    platform: str
    author_handle: str
    excerpt: str
    matched: bool
    reason: str
    actions: list[str] = Field(description="What the workflow would do; empty when not matched.")
    already_applied: bool = False
