"""Requests and responses of the alerts API: rules per account, and the alerts they fired."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from socialpulse.alerts.models import AlertKind, EmailStatus

MAX_DAYS = 90

Percent = Annotated[float, Field(gt=0, le=100, description="A drop in percent, above 0 to 100.")]
Threshold = Annotated[int, Field(ge=1, le=10**12)]
Multiplier = Annotated[float, Field(ge=1, le=1000)]
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]

KIND_HELP = (
    "follower_drop: followers fell by at least `percent` % or `count` followers, latest "
    "snapshot vs the oldest of the `days` days before it (default 5 %, 7 days). "
    "engagement_drop: the snapshot engagement rate fell by at least `percent` % below its "
    "average over the previous `days` days (default 30 %, 7 days). "
    "negative_spike: at least `count` negative comments on the account's posts in the last "
    "24 h, and at least `multiplier` × their daily average over the `days` days before "
    "(default 5, 3×, 7 days)."
)


class AlertState(enum.StrEnum):
    open = "open"  # not acknowledged yet
    acknowledged = "acknowledged"
    all = "all"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertRuleCreate(_Strict):
    kind: AlertKind = Field(description=KIND_HELP)
    percent: Percent | None = Field(
        default=None, description="follower_drop, engagement_drop: the drop that fires, in %."
    )
    count: Threshold | None = Field(
        default=None,
        description="follower_drop: followers lost that fire; negative_spike: the fewest "
        "negative comments in 24 h that fire.",
    )
    multiplier: Multiplier | None = Field(
        default=None, description="negative_spike only: times the previous daily average."
    )
    days: Days | None = Field(default=None, description="The comparison window, 1 to 90 days.")
    enabled: bool = True


class AlertRuleUpdate(_Strict):
    percent: Percent | None = None
    count: Threshold | None = None
    multiplier: Multiplier | None = None
    days: Days | None = None
    enabled: bool | None = None


class AlertRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    kind: AlertKind
    percent: float | None
    count: int | None
    multiplier: float | None
    days: int
    enabled: bool
    active_since: dt.datetime | None = Field(
        description="When the condition started to hold (its alert fired); null while armed."
    )
    last_evaluated_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class AlertRead(BaseModel):
    id: int
    account_id: int
    account_handle: str
    platform: str
    rule_id: int | None = Field(description="Null once the rule was deleted.")
    kind: AlertKind
    fired_at: dt.datetime
    measured_value: float = Field(description="What was measured, in `unit`.")
    threshold: float = Field(description="The value that fires, in `unit`.")
    baseline_value: float | None = Field(
        description="What the measure compares with: followers before the drop, the previous "
        "average engagement rate, the previous daily average of negative comments."
    )
    unit: str = Field(description="percent, followers or comments.")
    message: str
    cleared_at: dt.datetime | None = Field(
        description="When the condition stopped holding; null while it still holds."
    )
    acknowledged_at: dt.datetime | None
    acknowledged_by_user_id: int | None
    email_status: EmailStatus
    email_error: str | None
