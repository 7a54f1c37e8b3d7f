"""Payments: what the API takes and answers, what a payment provider is handed and answers,
and the errors a payment can end in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from socialpulse.billing.payments_models import PaymentEventStatus
from socialpulse.errors import AppError, ServiceUnavailable

NOT_CONFIGURED = (
    "payments are not configured; ask the instance operator (socialpulse credits grant)"
)

# --------------------------------------------------------------------------- errors


class PaymentsNotConfigured(ServiceUnavailable):
    def __init__(self, message: str = NOT_CONFIGURED) -> None:
        super().__init__(message)


class PaymentProviderError(AppError):
    """The provider refused a call or could not be reached: nothing was bought."""

    status_code = 502
    code = "payment_provider_error"


class WebhookRejected(AppError):
    """A webhook whose signature (or body) does not verify: answered 400, stored nowhere."""

    status_code = 400
    code = "invalid_signature"


# --------------------------------------------------------------------------- provider DTOs


@dataclass(frozen=True)
class CheckoutRequest:
    """One hosted checkout: a one-off payment of ``amount_cents`` (top-ups) or a subscription
    to ``price_id`` (plans). ``metadata`` comes back in the webhook events."""

    mode: Literal["payment", "subscription"]
    workspace_id: int
    description: str
    success_url: str
    cancel_url: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    amount_cents: int | None = None
    currency: str = "usd"
    price_id: str | None = None
    customer_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    amount_cents: int | None
    currency: str | None


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    status: str
    price_id: str | None


# --------------------------------------------------------------------------- API


class CheckoutCreate(BaseModel):
    """Exactly one of ``topup`` (a package code) or ``plan`` (a plan code)."""

    model_config = ConfigDict(extra="forbid")

    topup: str | None = Field(default=None, min_length=1, max_length=32, examples=["credits_1000"])
    plan: str | None = Field(default=None, min_length=1, max_length=32, examples=["premium"])

    @model_validator(mode="after")
    def _one_of(self) -> CheckoutCreate:
        if (self.topup is None) == (self.plan is None):
            raise ValueError('send exactly one of "topup" (a package code) or "plan" (a plan code)')
        return self


class CheckoutRead(BaseModel):
    kind: Literal["topup", "subscription", "subscription_change", "subscription_cancel"] = Field(
        description="topup and subscription: open `url` (the provider's hosted checkout); "
        "subscription_change / subscription_cancel: the existing subscription was changed "
        "at the provider, and the plan follows when its webhook arrives."
    )
    id: str = Field(description="The checkout session's (or the subscription's) id.")
    url: str | None = Field(description="Where the payer goes to pay; null for changes.")
    amount_cents: int | None = Field(description="What the payer is charged (discount applied).")
    currency: str | None = None
    credits: int | None = Field(default=None, description="Credits a top-up adds once paid.")
    plan: str | None = Field(default=None, description="The plan a subscription moves to.")
    discount_pct: int = Field(default=0, description="The plan's top-up discount applied.")


class PaymentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    event_id: str
    type: str
    status: PaymentEventStatus
    message: str
    object_id: str | None
    amount_cents: int | None
    currency: str | None
    credits: int | None
    plan_code: str | None
    received_at: dt.datetime


class PaymentEventPage(BaseModel):
    items: list[PaymentEventRead]
    total: int
    offset: int
    limit: int


class WebhookAck(BaseModel):
    received: bool = True
    event_id: str
    status: PaymentEventStatus | Literal["duplicate"] = Field(
        description="What this delivery did; duplicate: the event was handled before, nothing "
        "was done again."
    )
    message: str


def metadata_str(value: Any) -> str | None:
    """A metadata value as the provider returns it (strings), or None."""
    return value if isinstance(value, str) and value else None


__all__ = [
    "NOT_CONFIGURED",
    "CheckoutCreate",
    "CheckoutRead",
    "CheckoutRequest",
    "CheckoutSession",
    "PaymentEventPage",
    "PaymentEventRead",
    "PaymentProviderError",
    "PaymentsNotConfigured",
    "SubscriptionState",
    "WebhookAck",
    "WebhookRejected",
]
