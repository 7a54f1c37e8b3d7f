"""Every request and response body of the publishing API.

Times: a ``scheduled_at`` without an offset (``2026-03-08T09:00``) is a wall-clock time in the
post's zone (``zone``, else the workspace's), read by the DST rules of
``publishing.recurrence``; with an offset it is that instant. Responses give UTC, and the
local time in the post's zone next to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from socialpulse.publishing.models import DeliveryStatus, PostStatus
from socialpulse.publishing.recurrence import MAX_COUNT

MAX_TEXT = 20_000
MAX_TARGETS = 50
MAX_MEDIA = 20


class RecurrenceIn(BaseModel):
    """Repeat by ``cron`` (``0 14 * * *``, in the post's zone) or ``every`` (``2h``, ``30m``,
    ``1d``, ``1w``); end at ``until`` or after ``count`` occurrences (or never)."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(default=None, max_length=120, examples=["0 14 * * 1-5"])
    every: str | None = Field(default=None, max_length=40, examples=["every 2h", "1d"])
    until: dt.datetime | None = Field(
        default=None, description="Last possible time (inclusive); no offset: post's zone."
    )
    count: int | None = Field(default=None, ge=1, le=MAX_COUNT)

    @model_validator(mode="after")
    def _one_kind(self) -> RecurrenceIn:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of cron or every")
        return self


class RecurrenceRead(BaseModel):
    cron: str | None
    every: str | None
    interval_s: int | None
    until: dt.datetime | None
    count: int | None


class TargetIn(BaseModel):
    """An account to publish to, with this platform's variant of the post."""

    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(ge=1)
    text: str | None = Field(
        default=None, max_length=MAX_TEXT, description="This platform's text instead."
    )
    title: str | None = Field(default=None, max_length=300)
    options: dict[str, Any] = Field(default_factory=dict)


class MediaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_id: int = Field(ge=1, description="An id from POST /api/v1/publishing/media.")
    alt_text: str = Field(default="", max_length=2000)


class _PostFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=MAX_TEXT)
    hashtags: list[str] = Field(default_factory=list, max_length=60)
    title: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")
    visibility: str | None = Field(default=None, max_length=32)
    content_warning: str | None = Field(default=None, max_length=500)
    zone: str | None = Field(default=None, max_length=64, examples=["Europe/Berlin"])
    scheduled_at: dt.datetime | None = None
    recurrence: RecurrenceIn | None = None
    targets: list[TargetIn] = Field(default_factory=list, max_length=MAX_TARGETS)
    media: list[MediaIn] = Field(default_factory=list, max_length=MAX_MEDIA)

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        cleaned = [tag.strip().lstrip("#") for tag in tags]
        for tag in cleaned:
            if not tag or len(tag) > 100 or any(ch.isspace() for ch in tag):
                raise ValueError(f"hashtag {tag!r} must be one word of 1-100 characters")
        return list(dict.fromkeys(cleaned))


class PostCreate(_PostFields):
    """A new post: a draft (``draft: true``: nothing is checked against the platforms yet) or
    scheduled at once (every check runs first: 422 listing each problem)."""

    draft: bool = False


class PostUpdate(BaseModel):
    """Changes to a draft or a scheduled post (only the fields given change; ``recurrence:
    null`` makes it a one-off). Deliveries not yet started pick the changes up."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=MAX_TEXT)
    hashtags: list[str] | None = Field(default=None, max_length=60)
    title: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")
    visibility: str | None = Field(default=None, max_length=32)
    content_warning: str | None = Field(default=None, max_length=500)
    zone: str | None = Field(default=None, max_length=64)
    scheduled_at: dt.datetime | None = None
    recurrence: RecurrenceIn | None = None
    targets: list[TargetIn] | None = Field(default=None, max_length=MAX_TARGETS)
    media: list[MediaIn] | None = Field(default=None, max_length=MAX_MEDIA)


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: dt.datetime
    zone: str | None = Field(default=None, max_length=64)


class OccurrenceSkip(BaseModel):
    model_config = ConfigDict(extra="forbid")

    occurrence_at: dt.datetime = Field(description="The occurrence's time (UTC, or with offset).")


class OccurrenceEdit(BaseModel):
    """Change one occurrence of a series: its text, its time (no offset: the post's zone), or
    both."""

    model_config = ConfigDict(extra="forbid")

    occurrence_at: dt.datetime
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    scheduled_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _something(self) -> OccurrenceEdit:
        if self.text is None and self.scheduled_at is None:
            raise ValueError("give the occurrence's new text, its new time, or both")
        return self


class TargetRead(BaseModel):
    id: int
    account_id: int
    platform: str
    handle: str
    text: str | None
    title: str | None
    options: dict[str, Any]


class MediaRead(BaseModel):
    media_id: int
    position: int
    alt_text: str
    mime_type: str
    kind: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_s: float | None


class DeliveryRead(BaseModel):
    id: int
    post_id: int
    target_id: int
    account_id: int
    platform: str
    occurrence_at: dt.datetime
    scheduled_for: dt.datetime
    next_attempt_at: dt.datetime
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    publish_started_at: dt.datetime | None
    external_id: str | None
    url: str | None
    published_at: dt.datetime | None
    last_error: str | None


class OccurrenceRead(BaseModel):
    occurrence_at: dt.datetime
    scheduled_for: dt.datetime
    local_time: str
    skipped: bool
    edited: bool
    text: str | None


class PostRead(BaseModel):
    id: int
    status: PostStatus
    text: str
    hashtags: list[str]
    title: str | None
    language: str | None
    visibility: str | None
    content_warning: str | None
    zone: str
    scheduled_at: dt.datetime | None
    scheduled_at_local: str | None = Field(description="scheduled_at in the post's zone.")
    recurrence: RecurrenceRead | None
    targets: list[TargetRead]
    media: list[MediaRead]
    deliveries: list[DeliveryRead] = Field(description="The latest 100, newest occurrence first.")
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PostSummary(BaseModel):
    id: int
    status: PostStatus
    text: str
    zone: str
    scheduled_at: dt.datetime | None
    recurring: bool
    targets: int
    created_at: dt.datetime


class PostPage(BaseModel):
    items: list[PostSummary]
    total: int
    offset: int
    limit: int


class QueueItem(DeliveryRead):
    handle: str
    text: str


class QueuePage(BaseModel):
    items: list[QueueItem]
    total: int
    offset: int
    limit: int


class UploadRead(BaseModel):
    id: int
    sha256: str
    filename: str
    mime_type: str
    kind: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    created_at: dt.datetime


class BulkIssue(BaseModel):
    row: int = Field(description="1-based data row (the header is row 0).")
    column: str | None
    message: str


class BulkReport(BaseModel):
    dry_run: bool
    rows: int
    valid: bool
    created: int
    post_ids: list[int]
    errors: list[BulkIssue]


class GenerateIn(BaseModel):
    """Generate and schedule: the model drafts the post from ``brief`` for each account's
    platform; it is scheduled at ``scheduled_at`` (no offset: ``zone``'s wall clock) or, when
    omitted, at the first account's next best slot. ``draft: true`` keeps it a draft."""

    model_config = ConfigDict(extra="forbid")

    brief: str = Field(min_length=1, max_length=2_000)
    account_ids: list[int] = Field(min_length=1, max_length=MAX_TARGETS)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")
    tone: str | None = Field(default=None, max_length=60)
    zone: str | None = Field(default=None, max_length=64)
    scheduled_at: dt.datetime | None = None
    draft: bool = False

    @field_validator("account_ids")
    @classmethod
    def _distinct(cls, ids: list[int]) -> list[int]:
        if any(i < 1 for i in ids):
            raise ValueError("account ids are positive")
        return list(dict.fromkeys(ids))


# --------------------------------------------------------------------------- calendar (dashboard)


class CalendarEntry(BaseModel):
    """One occurrence of a post on the calendar: its deliveries together (one per account), or
    a planned occurrence of a series that has no deliveries yet, or a draft with a time."""

    post_id: int
    occurrence_at: dt.datetime | None = Field(description="Null for a draft.")
    start: dt.datetime = Field(description="When it is (or was) to be published, UTC.")
    status: str = Field(description="A delivery status, or planned / draft.")
    text: str
    handles: list[str]
    platforms: list[str]
    recurring: bool
    error: str | None = None
    url: str | None = None
