"""Payments: top-ups and plan subscriptions bought through a payment provider, fulfilled from
its webhooks.

The provider is an interface (``PaymentProvider``); ``provider_for(settings)`` picks the
configured one (Stripe today, ``stripe_provider``) or raises ``PaymentsNotConfigured`` (503):
self-hosters without a provider grant credits and set plans from the CLI.

Buying is two steps, and only the second moves money-like state:

1. ``prepare_checkout`` (a short unit of work) prices what is bought: a top-up package at its
   price less the plan's ``topup_discount_pct`` (Premium pays 20 % less), or a plan's
   subscription. ``start_checkout`` then calls the provider outside any transaction (no lock
   is held while a network call runs) and answers the hosted checkout's URL. The workspace
   travels as ``client_reference_id`` and in the metadata (copied onto the subscription).
2. ``payments_webhooks.handle_event`` fulfils each verified webhook of the provider, once,
   in the webhook request's transaction: credits granted or the plan set.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.billing import pricing, wallets
from socialpulse.billing.models import Plan, TopupPackage, Wallet
from socialpulse.billing.payments_models import PaymentEvent
from socialpulse.billing.payments_schemas import (
    CheckoutCreate,
    CheckoutRead,
    CheckoutRequest,
    CheckoutSession,
    PaymentEventPage,
    PaymentEventRead,
    PaymentsNotConfigured,
    SubscriptionState,
)
from socialpulse.config import Settings
from socialpulse.errors import Conflict, InvalidInput, NotFound
from socialpulse.workspaces import service as workspace_service

log = structlog.get_logger(__name__)

FREE_PLAN = "free"


class PaymentProvider(Protocol):
    """What socialpulse needs of a payment provider (``stripe_provider.StripeProvider``)."""

    name: str

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """A hosted checkout page for a one-off payment or a new subscription."""
        ...

    def change_subscription(
        self,
        subscription_id: str,
        price_id: str,
        *,
        metadata: Mapping[str, str],
        idempotency_key: str | None = None,
    ) -> SubscriptionState:
        """Move an existing subscription to another price (the provider prorates)."""
        ...

    def cancel_subscription(self, subscription_id: str) -> SubscriptionState:
        """End a subscription now."""
        ...

    def verify_webhook(self, payload: bytes, signature_header: str) -> dict[str, Any]:
        """The event a webhook carries, once its signature verified; ``WebhookRejected``
        otherwise (bad or missing signature, stale timestamp, not an event)."""
        ...


# --------------------------------------------------------------------------- provider choice


def provider_for(settings: Settings) -> PaymentProvider:
    """The configured provider; 503 with the operator's way out when there is none."""
    if settings.stripe_secret_key is None or not settings.stripe_secret_key.get_secret_value():
        raise PaymentsNotConfigured()
    webhook_secret = (
        settings.stripe_webhook_secret.get_secret_value()
        if settings.stripe_webhook_secret is not None
        else None
    )
    return _stripe(
        settings.stripe_secret_key.get_secret_value(),
        webhook_secret or None,
        settings.stripe_api_base,
        settings.stripe_timeout_s,
        settings.stripe_max_retries,
        settings.stripe_webhook_tolerance_s,
    )


@functools.lru_cache(maxsize=4)
def _stripe(
    secret_key: str,
    webhook_secret: str | None,
    api_base: str,
    timeout_s: float,
    max_retries: int,
    tolerance_s: int,
) -> PaymentProvider:
    # One client (and its connection pool) per configuration, shared by every request.
    from socialpulse.billing.stripe_provider import StripeProvider

    return StripeProvider(
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        api_base=api_base,
        timeout_s=timeout_s,
        max_retries=max_retries,
        webhook_tolerance_s=tolerance_s,
    )


# --------------------------------------------------------------------------- checkout


@dataclass(frozen=True)
class PreparedCheckout:
    """What ``start_checkout`` asks the provider for, priced by ``prepare_checkout``."""

    read: CheckoutRead  # the answer, less what the provider fills in (id, url)
    request: CheckoutRequest | None = None  # a new hosted checkout
    subscription_id: str | None = None  # an existing subscription to change or cancel
    price_id: str | None = None
    metadata: Mapping[str, str] | None = None
    idempotency_key: str | None = None


def require_plan_fits(session: Session, workspace_id: int, plan: Plan) -> None:
    """409 before any payment when the plan has fewer seats than the workspace uses (the
    same rule ``set_plan`` applies when the payment's webhook arrives)."""
    workspace, usage = workspace_service.locked_seat_usage(session, workspace_id)
    if workspace.seat_limit is None and usage.used > plan.seats:
        raise Conflict(
            f"the {plan.name} plan has {plan.seats} seats but this workspace uses {usage.used} "
            f"({usage.members} members, {usage.pending_invitations} pending invitations); "
            "remove members or revoke invitations before changing plan",
            details={
                "plan": plan.code,
                "seats": plan.seats,
                "members": usage.members,
                "pending_invitations": usage.pending_invitations,
            },
        )


def _package(session: Session, code: str) -> TopupPackage:
    package = session.scalar(select(TopupPackage).where(TopupPackage.code == code))
    if package is None or not package.active:
        known = session.scalars(
            select(TopupPackage.code)
            .where(TopupPackage.active.is_(True))
            .order_by(TopupPackage.credits)
        ).all()
        raise InvalidInput(
            f"unknown top-up package {code!r}; known: {', '.join(known) or 'none'}",
            details={"topup": code, "known": list(known)},
        )
    return package


def _urls(base_url: str) -> tuple[str, str]:
    base = base_url.rstrip("/")
    # {CHECKOUT_SESSION_ID} is filled in by the provider (Stripe's documented placeholder).
    return (
        f"{base}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        f"{base}/billing?checkout=cancelled",
    )


def prepare_checkout(
    session: Session,
    workspace_id: int,
    body: CheckoutCreate,
    *,
    base_url: str,
    idempotency_key: str | None = None,
) -> PreparedCheckout:
    """Price a top-up or a plan for the workspace; raises before any provider call when the
    purchase could not be honoured (unknown code, a plan without a provider price, too few
    seats for the members)."""
    wallet = wallets.wallet_for(session, workspace_id)
    current = pricing.get_plan(session, wallet.plan_code)
    success_url, cancel_url = _urls(base_url)
    # Scoped to the workspace, so two workspaces' identical keys never meet at the provider.
    provider_key = f"socialpulse-{workspace_id}-{idempotency_key}" if idempotency_key else None
    if body.topup is not None:
        package = _package(session, body.topup)
        pct = current.topup_discount_pct
        amount = pricing.discounted_price(package.price_cents, current)
        metadata = {
            "workspace_id": str(workspace_id),
            "kind": "topup",
            "package": package.code,
            "credits": str(package.credits),
            "plan": current.code,
            "discount_pct": str(pct),
        }
        description = f"{package.credits:,} socialpulse credits"
        if pct:
            description += f" ({pct} % {current.name} discount)"
        return PreparedCheckout(
            read=CheckoutRead(
                kind="topup",
                id="",
                url=None,
                amount_cents=amount,
                currency="usd",
                credits=package.credits,
                discount_pct=pct,
            ),
            request=CheckoutRequest(
                mode="payment",
                workspace_id=workspace_id,
                description=description,
                amount_cents=amount,
                success_url=success_url,
                cancel_url=cancel_url,
                metadata=metadata,
                customer_id=_customer_id(wallet),
                idempotency_key=provider_key,
            ),
        )
    assert body.plan is not None
    plan = pricing.get_plan(session, body.plan)
    subscription_id = current_subscription_id(wallet)
    if not plan.active:
        raise InvalidInput(f"plan {plan.code!r} is not offered any more")
    if plan.code == FREE_PLAN or plan.price_cents == 0:
        if subscription_id is None:
            raise InvalidInput(
                f"this workspace has no paid subscription to cancel (it is on {current.name})"
            )
        require_plan_fits(session, workspace_id, plan)
        return PreparedCheckout(
            read=CheckoutRead(
                kind="subscription_cancel", id="", url=None, amount_cents=0, plan=plan.code
            ),
            subscription_id=subscription_id,
        )
    if plan.code == current.code and subscription_id is not None:
        raise Conflict(f"this workspace already subscribes to {plan.name}")
    if not plan.stripe_price_id:
        raise InvalidInput(
            f"plan {plan.code!r} has no payment provider price yet: the instance operator sets "
            f"its stripe_price_id (PUT /api/v1/admin/plans/{plan.code})"
        )
    # Refused before payment: a plan too small for the members would be paid and not applied.
    require_plan_fits(session, workspace_id, plan)
    metadata = {"workspace_id": str(workspace_id), "kind": "plan", "plan": plan.code}
    read = CheckoutRead(
        kind="subscription" if subscription_id is None else "subscription_change",
        id="",
        url=None,
        amount_cents=plan.price_cents,
        currency="usd",
        plan=plan.code,
    )
    if subscription_id is not None:
        return PreparedCheckout(
            read=read,
            subscription_id=subscription_id,
            price_id=plan.stripe_price_id,
            metadata=metadata,
            idempotency_key=provider_key,
        )
    return PreparedCheckout(
        read=read,
        request=CheckoutRequest(
            mode="subscription",
            workspace_id=workspace_id,
            description=f"socialpulse {plan.name}",
            price_id=plan.stripe_price_id,
            success_url=success_url,
            cancel_url=cancel_url,
            metadata=metadata,
            customer_id=_customer_id(wallet),
            idempotency_key=provider_key,
        ),
    )


def start_checkout(provider: PaymentProvider, prepared: PreparedCheckout) -> CheckoutRead:
    """The provider call of a prepared checkout; run outside any database transaction."""
    if prepared.request is not None:
        created = provider.create_checkout(prepared.request)
        log.info(
            "billing.checkout.created",
            workspace_id=prepared.request.workspace_id,
            kind=prepared.read.kind,
            checkout_id=created.id,
            amount_cents=created.amount_cents,
        )
        return prepared.read.model_copy(
            update={
                "id": created.id,
                "url": created.url,
                "amount_cents": created.amount_cents
                if created.amount_cents is not None
                else prepared.read.amount_cents,
                "currency": created.currency or prepared.read.currency,
            }
        )
    assert prepared.subscription_id is not None
    if prepared.read.kind == "subscription_cancel":
        state = provider.cancel_subscription(prepared.subscription_id)
    else:
        assert prepared.price_id is not None
        state = provider.change_subscription(
            prepared.subscription_id,
            prepared.price_id,
            metadata=prepared.metadata or {},
            idempotency_key=prepared.idempotency_key,
        )
    log.info(
        "billing.subscription.changed",
        subscription_id=state.id,
        kind=prepared.read.kind,
        status=state.status,
    )
    return prepared.read.model_copy(update={"id": state.id})


def _customer_id(wallet: Wallet) -> str | None:
    return wallet.payment_customer_id or None


def current_subscription_id(wallet: Wallet) -> str | None:
    return wallet.payment_subscription_id or None


# --------------------------------------------------------------------------- reads


def list_events(
    session: Session, workspace_id: int, *, offset: int = 0, limit: int = 20
) -> PaymentEventPage:
    """The workspace's payment events, newest first."""
    where = PaymentEvent.workspace_id == workspace_id
    total = session.scalar(select(func.count()).select_from(PaymentEvent).where(where)) or 0
    rows = session.scalars(
        select(PaymentEvent)
        .where(where)
        .order_by(PaymentEvent.received_at.desc(), PaymentEvent.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return PaymentEventPage(
        items=[PaymentEventRead.model_validate(row) for row in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def get_event(session: Session, workspace_id: int, event_row_id: int) -> PaymentEventRead:
    row = session.scalar(
        select(PaymentEvent).where(
            PaymentEvent.id == event_row_id, PaymentEvent.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFound(f"payment event {event_row_id} not found")
    return PaymentEventRead.model_validate(row)


__all__ = [
    "FREE_PLAN",
    "PaymentProvider",
    "PreparedCheckout",
    "require_plan_fits",
    "current_subscription_id",
    "get_event",
    "list_events",
    "prepare_checkout",
    "provider_for",
    "start_checkout",
]
