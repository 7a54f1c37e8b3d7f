from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from socialpulse.accounts.models import AccountStatus, FetchStatus
from socialpulse.kit.params import DB_INT_MAX


class AccountCreate(BaseModel):
    ref: str = Field(
        min_length=1,
        max_length=500,
        description="A handle (@name, name@instance for Mastodon) or a profile URL.",
        examples=["https://bsky.app/profile/alice.bsky.social", "@alice@mastodon.social"],
    )
    platform: str | None = Field(
        default=None, description="Needed for a bare handle; inferred from a profile URL."
    )
    is_own: bool = Field(default=True, description="False for a competitor you only watch.")
    credentials: dict[str, Any] | None = Field(
        default=None,
        description="Platform credentials (YouTube api_key, Instagram access_token + ig_user_id,"
        " TikTok access_token). Stored encrypted; never returned.",
    )


class AccountUpdate(BaseModel):
    active: bool | None = None
    is_own: bool | None = None
    credentials: dict[str, Any] | None = Field(default=None, description="Reconnect the account.")


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    external_id: str
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    profile_url: str | None
    followers_count: int | None
    following_count: int | None
    posts_count: int | None
    verified: bool
    is_own: bool
    active: bool
    status: AccountStatus
    status_message: str | None
    created_at: dt.datetime
    last_fetched_at: dt.datetime | None


class FetchRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    job_id: int | None
    trigger: str
    status: FetchStatus
    posts_seen: int
    posts_new: int
    snapshots_written: int
    api_calls: int
    quota_units: int
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ApiUsageRead(BaseModel):
    platform: str
    day: dt.date
    requests: int
    successes: int
    failures: int
    average_latency_ms: float
    quota_units: int
    deferred: int
    daily_units: int | None = Field(description="The budget; null when the platform has none.")
    usable_units: int | None = Field(description="What work may use: budget x safety margin.")


class BudgetUpdate(BaseModel):
    daily_units: int = Field(gt=0, le=DB_INT_MAX)
    safety_margin: float = Field(default=0.8, gt=0, le=1)
