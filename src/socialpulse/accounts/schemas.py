from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, SecretStr, field_validator

from socialpulse.accounts.models import AccountStatus, FetchStatus, MappingMethod
from socialpulse.kit.params import DB_INT_MAX, Id


def _credential_value(value: object) -> SecretStr | bool | int | float | None:
    if value is None or isinstance(value, SecretStr | bool | int | float):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    raise ValueError("a credential is text, a number or true/false")


# Every text credential (token, API key, app password) is a SecretStr: its repr is "**********",
# so a request body in a log line, a validation error or a traceback never shows it. Numbers
# (the simulated platform's knobs) and flags stay as they are.
CredentialValue = Annotated[
    SecretStr | bool | int | float | None,
    PlainValidator(_credential_value, json_schema_input_type=str | bool | int | float | None),
]
Credentials = dict[str, CredentialValue]

# Credentials that used to point the server at a URL of the user's choosing.
_OPERATOR_ONLY = {
    "appview_url": "the Bluesky AppView is an operator setting (SOCIALPULSE_BLUESKY_APPVIEW_URL)",
}


def _refuse_operator_settings(value: Credentials | None) -> Credentials | None:
    for key in value or {}:
        if key in _OPERATOR_ONLY:
            raise ValueError(f"credentials: {key!r} is not accepted; {_OPERATOR_ONLY[key]}")
    return value


def reveal_credentials(credentials: Mapping[str, Any] | None) -> dict[str, Any]:
    """Plain values, for the one place that needs them: handing them to the provider and
    encrypting them at rest."""
    return {
        key: value.get_secret_value() if isinstance(value, SecretStr) else value
        for key, value in (credentials or {}).items()
    }


class AccountCreate(BaseModel):
    # A validation error must not quote the submitted credentials back.
    model_config = ConfigDict(hide_input_in_errors=True)

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
    credentials: Credentials | None = Field(
        default=None,
        description="Platform credentials (YouTube api_key, Instagram access_token + ig_user_id,"
        " TikTok access_token). Stored encrypted; never returned.",
    )

    _no_operator_settings = field_validator("credentials")(_refuse_operator_settings)


class AccountUpdate(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    active: bool | None = None
    is_own: bool | None = None
    credentials: Credentials | None = Field(default=None, description="Reconnect the account.")

    _no_operator_settings = field_validator("credentials")(_refuse_operator_settings)


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


class FetchProgress(BaseModel):
    """Where an account's latest fetch stands: step 1 queued, 2 running, 3 finished."""

    account_id: int
    run_id: int | None = None
    status: FetchStatus | None = None
    active: bool = Field(description="Queued or running: a new fetch would follow this one.")
    step: int = Field(ge=0, le=3)
    steps: int = 3
    label: str
    last_fetched: str = Field(description="When the account's data was last read, or 'never'.")


class EndpointUsageRead(BaseModel):
    endpoint: str = Field(description="The platform call, e.g. youtube.videos.list.")
    requests: int
    quota_units: int


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
    endpoints: list[EndpointUsageRead] = Field(
        description="Per endpoint, most units first; adds up to requests and quota_units."
    )


class BudgetUpdate(BaseModel):
    daily_units: int = Field(gt=0, le=DB_INT_MAX)
    safety_margin: float = Field(default=0.8, gt=0, le=1)


class BudgetRead(BaseModel):
    daily_units: int
    safety_margin: float
    released_jobs: int = Field(
        description=(
            "What the budget had deferred (fetches, comment polls, queued replies, scheduled "
            "posts, creator report builds, hides) that the change made due at once; 0 when it "
            "lowered the budget or today's use still leaves no room."
        )
    )


# --- content mapping ---------------------------------------------------------------------------


class ContentItemCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    url: str | None = Field(
        default=None,
        max_length=1024,
        description="Where the content lives, e.g. a YouTube video or an article.",
        examples=["https://youtu.be/dQw4w9WgXcQ"],
    )
    body: str = Field(default="", max_length=200_000, description="Text, description, script.")


class ContentItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    url: str | None
    body: str
    created_at: dt.datetime


class MappedPost(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    url: str | None
    caption: str
    posted_at: dt.datetime


class ContentMappingRead(BaseModel):
    id: int
    content_item_id: int
    post_id: int
    method: MappingMethod
    confidence: float
    confirmed: bool
    details: dict[str, Any] = Field(description="The evidence: URL key, or fuzzy scores.")
    created_at: dt.datetime
    post: MappedPost


class ManualMapping(BaseModel):
    post_id: Id


class AutoMapRead(BaseModel):
    threshold: float = Field(description="Minimum caption-match confidence that was applied.")
    created: int
    updated: int
    removed: int = Field(description="Unconfirmed automatic mappings that no longer match.")
    kept_confirmed: int
    skipped_confirmed_elsewhere: int
    mappings: list[ContentMappingRead] = Field(description="All of the item's mappings now.")
