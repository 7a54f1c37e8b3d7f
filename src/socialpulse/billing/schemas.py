"""Every request and response schema of the billing domain."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from socialpulse.billing.models import Allowance, Funding, LedgerKind, ReservationStatus

ACTION_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
# Credits are whole numbers: a float, a string or a negative number in a body is a 422.
MAX_CREDITS = 10_000_000
MAX_QUANTITY = 1_000


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    price_cents: int
    seats: int
    profiles_per_month: int
    emails_per_month: int
    posts_per_month: int
    topup_discount_pct: int
    stripe_price_id: str | None
    active: bool
    sort_order: int
    updated_at: dt.datetime


class PlanUpdate(BaseModel):
    """An instance administrator's edit of a plan: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    seats: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    profiles_per_month: int | None = Field(default=None, ge=0, le=MAX_CREDITS, strict=True)
    emails_per_month: int | None = Field(default=None, ge=0, le=MAX_CREDITS, strict=True)
    posts_per_month: int | None = Field(default=None, ge=0, le=MAX_CREDITS, strict=True)
    topup_discount_pct: int | None = Field(default=None, ge=0, le=100, strict=True)
    stripe_price_id: str | None = Field(default=None, max_length=255)
    active: bool | None = None
    sort_order: int | None = Field(default=None, ge=0, le=1000, strict=True)


class PricingRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    credits: int
    free_per_month: int
    allowance: Allowance | None
    access_days: int | None
    description: str
    active: bool
    updated_at: dt.datetime


class PricingRuleUpdate(BaseModel):
    """An instance administrator's edit of a pricing rule: only the fields given change
    (``allowance`` and ``access_days`` may be set to null explicitly)."""

    model_config = ConfigDict(extra="forbid")

    credits: int | None = Field(default=None, ge=0, le=MAX_CREDITS, strict=True)
    free_per_month: int | None = Field(default=None, ge=0, le=MAX_CREDITS, strict=True)
    allowance: Allowance | None = None
    access_days: int | None = Field(default=None, ge=1, le=3650, strict=True)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class TopupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    credits: int
    price_cents: int
    # What this workspace pays: the plan's top-up discount applied.
    discounted_price_cents: int | None = None


class Quote(BaseModel):
    """What an action would cost now, and from what it would be paid."""

    action: str
    quantity: int
    credits: int = Field(description="Credits taken from the balance (0 when free/allowance).")
    funding: Funding
    price: int = Field(description="The action's list price in credits, times the quantity.")
    free_remaining: int
    allowance: Allowance | None
    allowance_remaining: int | None
    balance: int
    available: int = Field(description="The balance less credits held by actions in progress.")
    can_perform: bool
    reason: str | None
    access_days: int | None


class AllowanceUsage(BaseModel):
    allowance: Allowance
    included: int
    used: int
    held: int
    remaining: int


class FreeUsage(BaseModel):
    action: str
    included: int
    used: int
    remaining: int


class Allowances(BaseModel):
    plan: str
    cycle_start: dt.datetime
    cycle_end: dt.datetime
    timezone: str
    allowances: list[AllowanceUsage]
    free: list[FreeUsage]


class Balance(BaseModel):
    workspace_id: int
    plan: str
    balance: int = Field(description="Top-up credits.")
    held: int = Field(description="Credits held by actions in progress.")
    available: int
    cycle_start: dt.datetime
    cycle_end: dt.datetime


class LedgerEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: dt.datetime
    kind: LedgerKind
    action: str | None
    amount: int
    balance_after: int
    funding: Funding
    allowance: Allowance | None
    units: int
    cycle_start: dt.date
    reference: str
    actor_user_id: int | None = Field(description="The member who spent; null for an API key.")
    actor_api_key_id: int | None = Field(description="The API key that spent, if one did.")
    idempotency_key: str | None
    description: str


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead]
    total: int
    page: int
    page_size: int


class ReservationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    credits: int
    funding: Funding
    allowance: Allowance | None
    units: int
    reference: str
    status: ReservationStatus
    created_at: dt.datetime
    expires_at: dt.datetime
    ledger_entry_id: int | None


class ActionUsage(BaseModel):
    action: str
    units: int
    credits: int
    free_units: int
    allowance_units: int
    credit_units: int


class MonthlyUsage(BaseModel):
    cycle_start: dt.datetime
    cycle_end: dt.datetime
    actions: list[ActionUsage]
    credits_spent: int
    credits_added: int


class SpendingMonth(BaseModel):
    month: str = Field(description="YYYY-MM in the workspace's time zone.")
    credits_spent: int
    credits_added: int
    units: int


class Spending(BaseModel):
    months: list[SpendingMonth]


class WalletSummary(BaseModel):
    plan: PlanRead
    balance: Balance
    allowances: Allowances
    cycle_anchor: dt.datetime
    seats: int
    topups: list[TopupRead]
    held_reservations: int


class CreditsDashboard(BaseModel):
    summary: WalletSummary
    usage: MonthlyUsage
    recent: list[LedgerEntryRead]


class Pricing(BaseModel):
    rules: list[PricingRuleRead]
    plans: list[PlanRead]
    topups: list[TopupRead]


class CalculateItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, strict=True)


class Calculation(BaseModel):
    items: list[Quote]
    total_credits: int
    can_perform_all: bool = Field(
        description="Whether each item alone can be performed now (they are quoted separately)."
    )


class PlanCount(BaseModel):
    plan: str
    workspaces: int


class KindTotal(BaseModel):
    kind: LedgerKind
    entries: int
    credits: int


class SystemStats(BaseModel):
    wallets: int
    total_balance: int
    held_credits: int
    held_reservations: int
    plans: list[PlanCount]
    ledger: list[KindTotal]
    ledger_mismatches: int = Field(
        description="Wallets whose balance differs from the sum of their ledger: should be 0."
    )
