"""Every request and response schema of the inbox API (workflow definitions are in
`inbox.workflows.schemas`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from socialpulse.inbox.models import InteractionKind, InteractionStatus, ReplyStatus, WorkflowStatus
from socialpulse.inbox.moderation import HideState, hide_state
from socialpulse.kit.params import Id

# Labels are short tags: letters, digits and - _ : . and spaces (they are searched as JSON text).
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[\w\-:. ]+$"),
]


class FanSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    handle: str
    display_name: str | None
    avatar_url: str | None
    followers_count: int | None
    interactions_count: int
    is_superfan: bool
    superfan_since: dt.datetime | None
    lifetime_value_score: int = Field(
        ge=0,
        le=100,
        description="An integer 0-100 over the superfan window (the same days as promotion): "
        "min(100, round(2 x interactions + 5 x positive + average priority)).",
    )
    sentiment_score: float = Field(
        ge=-1,
        le=1,
        description="(positive - negative) / interactions over the superfan window; 0 without "
        "interactions in it.",
    )


class FanRead(FanSummary):
    external_id: str
    first_seen_at: dt.datetime
    last_interaction_at: dt.datetime | None
    positive_count: int
    negative_count: int
    average_priority: float
    scores_updated_at: dt.datetime | None
    labels: list[str] = Field(description="The team's labels on this fan (dashboard).")
    note: str = Field(description="The team's private note on this fan (dashboard).")


class InteractionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    post_id: int | None
    fan_id: int | None
    platform: str
    kind: InteractionKind
    external_id: str
    parent_external_id: str | None
    parent_id: int | None
    author_external_id: str
    author_handle: str
    author_display_name: str | None
    text: str
    url: str | None
    like_count: int | None
    posted_at: dt.datetime
    ingested_at: dt.datetime
    status: InteractionStatus
    assignee_user_id: int | None
    labels: list[str]
    priority: int
    answered_at: dt.datetime | None
    ai_model_version: str | None
    ai_sentiment: str | None
    ai_sentiment_score: float | None
    ai_sentiment_confidence: float | None
    ai_language: str | None
    ai_intent: str | None
    ai_intent_confidence: float | None
    ai_toxic: bool | None
    matched_workflow_id: int | None
    suggested_reply: str | None
    hidden: bool = Field(description="Hidden in the inbox (and, once confirmed, on the platform).")

    @computed_field(  # type: ignore[prop-decorator]
        description=(
            "Where the platform stands: hidden (confirmed), hide_pending, hide_failed, "
            "unhide_pending, unhide_failed; null when the comment is visible everywhere."
        )
    )
    @property
    def hide_state(self) -> HideState | None:
        return hide_state(self.hidden, self.labels)


class InteractionPage(BaseModel):
    items: list[InteractionRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


class InteractionDetail(InteractionRead):
    ai_evidence: dict[str, Any] | None
    matched_reason: str | None = Field(description="Why the workflow matched, in words.")
    matched_workflow_name: str | None
    suggested_reply_source: str | None
    parent: InteractionRead | None
    replies: list[InteractionRead]
    fan: FanSummary | None
    hide_failure: str | None = Field(
        default=None, description="Why the platform refused, when hide_state is *_failed."
    )


class InteractionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: InteractionStatus | None = None
    assignee_user_id: Id | None = Field(
        default=None, description="A member of the workspace; null unassigns."
    )
    labels: list[Label] | None = Field(default=None, max_length=20, description="Replaces all.")
    priority: int | None = Field(default=None, ge=0, le=100)


class BulkAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Id] = Field(min_length=1, max_length=500)
    action: Literal["set_status", "add_label", "assign"]
    status: InteractionStatus | None = None
    label: Label | None = None
    assignee_user_id: Id | None = Field(default=None, description="For assign; null unassigns.")


class LabelCorrectionCreate(BaseModel):
    """The right labels of an interaction; a label left out keeps what it was."""

    model_config = ConfigDict(extra="forbid")

    sentiment: Literal["positive", "neutral", "negative"] | None = None
    intent: (
        Literal[
            "question", "complaint", "praise", "purchase_intent", "collaboration", "spam", "other"
        ]
        | None
    ) = None


class LabelCorrectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    interaction_id: int
    sentiment: str | None = Field(description="The corrected sentiment; null: the model's holds.")
    intent: str | None = Field(description="The corrected intent; null: the model's holds.")
    model_sentiment: str | None = Field(description="What the model said when corrected.")
    model_intent: str | None
    corrected_by: str = Field(description="user:ID or api_key:ID")
    corrected_at: dt.datetime


class BulkResult(BaseModel):
    updated: int


class FanDetail(FanRead):
    recent_interactions: list[InteractionRead]
    score_basis: str = Field(
        default=(
            "the superfan window (superfan_window_days, 90 by default), as for superfan status:"
            " lifetime_value_score = min(100, round(2 x interactions + 5 x positive + average"
            " priority)), an integer 0-100; sentiment_score = (positive - negative) /"
            " interactions. interactions_count, positive_count, negative_count and"
            " average_priority are lifetime totals."
        )
    )


class InboxSettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    superfan_window_days: int
    superfan_min_interactions: int
    superfan_min_positive_ratio: float
    suggestion_min_confidence: float
    max_replies_per_tick: int
    auto_reply_daily_warning: int = Field(
        description="The reply queue warns when one workflow auto-replied more often than this "
        "in a day (UTC)."
    )


class InboxSettingsUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    superfan_window_days: int | None = Field(default=None, ge=1, le=365)
    superfan_min_interactions: int | None = Field(default=None, ge=1, le=10_000)
    superfan_min_positive_ratio: float | None = Field(default=None, ge=0.0, le=1.0)
    suggestion_min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    max_replies_per_tick: int | None = Field(default=None, ge=1, le=1000)
    auto_reply_daily_warning: int | None = Field(default=None, ge=1, le=100_000)


class CommentPollQueued(BaseModel):
    account_id: int
    polls_queued: int
    poll_ids: list[int]


class MentionPollQueued(BaseModel):
    account_id: int
    job_id: int = Field(description="The durable job: GET /api/v1/jobs/{job_id} for its result.")


# --- inbox analytics -------------------------------------------------------------------------

MEDIAN_SAMPLE = 2000
RESPONSE_RATE_DEFINITION = (
    "interactions answered / all interactions posted in the period (any status)"
)
MEDIAN_DEFINITION = (
    "median of answered_at - posted_at over the answered interactions of the period "
    f"(at most the {MEDIAN_SAMPLE:,} most recently posted)"
)


class Period(BaseModel):
    days: int
    timezone: str
    start: dt.datetime = Field(description="first instant of the period (UTC)")
    end: dt.datetime = Field(description="the moment the figures were computed (UTC)")


class InboxOverview(BaseModel):
    period: Period
    total_interactions: int
    by_status: dict[str, int]
    by_platform: dict[str, int]
    by_sentiment: dict[str, int]
    answered: int
    response_rate: float | None = Field(description=RESPONSE_RATE_DEFINITION)
    response_rate_definition: str = RESPONSE_RATE_DEFINITION
    median_first_response_minutes: float | None = Field(description=MEDIAN_DEFINITION)
    median_sample_size: int
    median_definition: str = MEDIAN_DEFINITION


class WorkflowActivity(BaseModel):
    workflow_id: int
    workflow_name: str
    status: WorkflowStatus = Field(description="The workflow's status now (active, paused).")
    priority: int
    triggered_count: int = Field(description="Matches in the period.")
    auto_responded_count: int = Field(description="Matches in the period that queued a reply.")
    flagged_count: int = Field(description="Matches in the period that flagged the interaction.")


class WorkflowActivityReport(BaseModel):
    period: Period
    workflows: list[WorkflowActivity] = Field(
        description="Every workflow of the workspace, paused ones too, in priority order."
    )


class QueueCounts(BaseModel):
    total: int = 0
    pending: int = 0
    processing: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    next_scheduled: dt.datetime | None = None


class ResponseQueue(BaseModel):
    overall: QueueCounts
    by_platform: dict[str, QueueCounts]


class TimelineDay(BaseModel):
    date: dt.date = Field(description="The local day (workspace time zone), ISO 8601.")
    count: int = Field(description="Interactions posted on that day.")
    by_sentiment: dict[str, int] | None = Field(
        default=None, description="The day's count per sentiment; only with by_sentiment=true."
    )


class Timeline(BaseModel):
    period: Period
    timeline: list[TimelineDay] = Field(description="Every day of the period, oldest first.")


# --- the reply queue ---------------------------------------------------------------------------


class ReplyCreate(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    priority: int = Field(default=50, ge=0, le=100)


class ApproveBody(BaseModel):
    text: str | None = Field(default=None, max_length=10_000, description="Edited text")


class BulkApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Id] = Field(
        min_length=1, max_length=500, description="Interactions whose drafted reply to queue."
    )


BATCH_ID_DESCRIPTION = (
    "The action that queued the reply: replies queued together (a bulk approve, one workflow's "
    "run over one trigger pass) share it; a reply queued on its own (one manual reply or "
    "approve) has its own. Null only for replies queued before batches existed. Filter the "
    "queue with ?batch_id=."
)


class ReplyItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    interaction_id: int
    platform: str
    text: str
    status: ReplyStatus
    priority: int
    batch_id: str | None = Field(description=BATCH_ID_DESCRIPTION)
    scheduled_for: dt.datetime
    attempts: int
    max_attempts: int
    external_reply_id: str | None
    last_error: str | None
    created_by: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


class ReplyBatchRead(BaseModel):
    batch_id: str = Field(description=BATCH_ID_DESCRIPTION)
    items: list[ReplyItemRead] = Field(description="The queued replies, in the order asked.")


class InteractionDraftRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: InteractionStatus
    suggested_reply: str | None


class ReplyLimitsBody(BaseModel):
    max_per_hour: int = Field(ge=1, le=10_000)
    max_per_minute: int = Field(ge=1, le=1_000)
    min_interval_s: float = Field(ge=0, le=86_400)
    jitter_min_s: float = Field(ge=0, le=86_400)
    jitter_max_s: float = Field(ge=0, le=86_400)


class ReplyLimitsRead(ReplyLimitsBody):
    account_id: int
    platform: str
    custom: bool = Field(description="False: the platform defaults apply")
