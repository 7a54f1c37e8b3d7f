"""Requests and responses of the outbound webhooks API (``/api/v1/webhooks``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from socialpulse.webhooks.models import DeliveryStatus

EventType = Literal[
    "post.scheduled",
    "post.published",
    "post.failed",
    "interaction.received",
    "reply.sent",
    "creator.report_ready",
    "alert.fired",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# Sent by "send a test event" to one subscription, whatever it subscribed to.
TEST_EVENT = "webhook.test"

URL_MAX = 2048


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(types: list[EventType]) -> list[EventType]:
    return list(dict.fromkeys(types))


class SubscriptionCreate(_Strict):
    url: str = Field(
        min_length=1,
        max_length=URL_MAX,
        description="Where events are POSTed: http(s), on the public internet (addresses in a "
        "private network, loopback or link-local are refused unless the operator allowed them "
        "with SOCIALPULSE_EGRESS_ALLOW).",
        examples=["https://hooks.example.com/socialpulse"],
    )
    description: str = Field(default="", max_length=255)
    event_types: list[EventType] = Field(min_length=1, description="The events to receive.")
    enabled: bool = True
    secret: SecretStr | None = Field(
        default=None,
        description="Your own signing secret (`whsec_` + base64 of 24 to 64 bytes); by default "
        "one is generated. Either way it is returned once, in this response.",
    )

    _dedupe = field_validator("event_types")(_unique)


class SubscriptionUpdate(_Strict):
    url: str | None = Field(default=None, min_length=1, max_length=URL_MAX)
    description: str | None = Field(default=None, max_length=255)
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    enabled: bool | None = Field(
        default=None, description="false pauses deliveries; true resumes and clears the reason."
    )

    @field_validator("event_types")
    @classmethod
    def _dedupe(cls, types: list[EventType] | None) -> list[EventType] | None:
        return None if types is None else _unique(types)


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why it was disabled automatically (410 Gone, days of failures)."
    )
    failing_since: dt.datetime | None = Field(
        description="Start of the current run of failed attempts; null since a success."
    )
    created_by_user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Shown once: only its ciphertext is kept."
    )


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: int
    event_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    response_excerpt: str | None = Field(description="The start of the receiver's answer.")
    duration_ms: int | None
    replay_of_id: int | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null on the last page."
    )
