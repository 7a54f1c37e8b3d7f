"""What the instance administrator's repair and crawl endpoints (and their CLI) answer."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from socialpulse.creators.models import BuildStep, CreatorStatus, RelatedStatus

MAX_FILTER_LENGTH = 256


class IncompleteCreator(BaseModel):
    id: int
    platform: str
    handle: str
    status: CreatorStatus
    missing: list[str] = Field(description="The completeness criteria it does not meet.")


class ScanResult(BaseModel):
    scanned: int = Field(description="Creators checked (after the username filter).")
    incomplete_count: int
    incomplete: list[IncompleteCreator] = Field(description="At most `limit` of them.")
    username_filter: str | None


class RepairRequest(BaseModel):
    dry_run: bool = Field(default=True, description="Say what would be queued; queue nothing.")
    limit: int | None = Field(default=None, ge=1, le=100_000, description="Creators at most.")
    username_filter: str | None = Field(
        default=None,
        max_length=MAX_FILTER_LENGTH,
        description="RE2 regular expression searched in the handle (linear time; no "
        "backreferences or lookarounds).",
    )


class RepairAction(BaseModel):
    id: int
    platform: str
    handle: str
    missing: list[str]
    action: str = Field(description="would_queue, queued or already_queued")
    job_id: int | None = None


class RepairResult(BaseModel):
    dry_run: bool
    scanned: int
    incomplete_count: int
    queued: int
    already_queued: int
    actions: list[RepairAction]


class CompletenessCheck(BaseModel):
    id: int
    platform: str
    handle: str
    status: CreatorStatus
    complete: bool
    criteria: dict[str, bool]
    missing: list[str]


class CrawlConfig(BaseModel):
    enabled: bool
    max_concurrent: int
    per_hour: int
    per_day: int
    min_followers: int
    max_retries: int
    retry_backoff_s: int


class CrawlStats(BaseModel):
    related: dict[str, int] = Field(description="Related profiles per status.")
    in_flight: int = Field(description="Crawl builds queued or running now.")
    queued_last_hour: int
    queued_last_day: int
    room_now: int = Field(description="Builds the limits would allow at once now.")
    held_back_by: str | None = Field(description="concurrent, hour, day or disabled")
    outcomes_last_day: dict[str, int] = Field(description="Finished crawl builds by outcome.")
    creators_total: int
    creators_complete: int


class InFlightBuild(BaseModel):
    creator_id: int | None
    platform: str
    handle: str | None
    job_id: int | None
    job_status: str | None
    build_step: BuildStep | None
    queued_at: dt.datetime
    run_after: dt.datetime | None = Field(description="Later than now: deferred (budget).")


class WaitingProfile(BaseModel):
    platform: str
    handle: str
    status: RelatedStatus
    followers_hint: int | None
    attempts: int
    next_attempt_at: dt.datetime | None
    status_message: str | None
    related_to: int = Field(description="How many stored creators point at it.")


class QueueStatus(BaseModel):
    in_flight: list[InFlightBuild]
    next_due: list[WaitingProfile] = Field(description="Due now, in the order they would go.")
    retry_waiting: int = Field(description="Profiles waiting for their next retry.")


class TriggerResult(BaseModel):
    creator_id: int
    platform: str
    handle: str
    pending_related: int = Field(description="Its related profiles waiting before the trigger.")
    queued: int = Field(description="Builds queued now (the limits still hold).")
    joined: int
    skipped: int
    held_back_by: str | None
