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
2. ``handle_event`` runs for each verified webhook, in the webhook request's transaction: the
   event's row in ``payment_events`` is inserted first (unique provider + event id: a
   redelivery, or a concurrent duplicate waiting on that row's lock, does nothing), then
   credits are granted (``grant_credits(kind="topup", idempotency_key=f"stripe:{event_id}")``)
   or the plan set (``set_plan``), so the event row, the ledger row and the balance or plan
   commit together or not at all. A refusal (a downgrade below the members' seats) rolls back
   its savepoint and is stored as ``rejected`` with the reason; an event for no workspace of
   this instance is stored ``ignored``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.billing import service as billing
from socialpulse.billing.models import Plan, TopupPackage, Wallet
from socialpulse.billing.payments_models import PaymentEvent, PaymentEventStatus
from socialpulse.billing.payments_schemas import (
    CheckoutCreate,
    CheckoutRead,
    CheckoutRequest,
    CheckoutSession,
    PaymentEventPage,
    PaymentEventRead,
    PaymentsNotConfigured,
    SubscriptionState,
    WebhookAck,
    WebhookRejected,
    metadata_str,
)
from socialpulse.config import Settings
from socialpulse.errors import AppError, Conflict, InvalidInput, NotFound
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Workspace

log = structlog.get_logger(__name__)

FREE_PLAN = "free"
# Subscription states in which the plan is paid for (Stripe's subscription.status values).
_PAID_STATES = frozenset({"active", "trialing"})
# States in which Stripe has given up: the workspace is back on the free plan.
_ENDED_STATES = frozenset({"canceled", "unpaid", "incomplete_expired"})


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
    wallet = billing.wallet_for(session, workspace_id)
    current = billing.get_plan(session, wallet.plan_code)
    success_url, cancel_url = _urls(base_url)
    # Scoped to the workspace, so two workspaces' identical keys never meet at the provider.
    provider_key = f"socialpulse-{workspace_id}-{idempotency_key}" if idempotency_key else None
    if body.topup is not None:
        package = _package(session, body.topup)
        pct = current.topup_discount_pct
        amount = billing.discounted_price(package.price_cents, current)
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
    plan = billing.get_plan(session, body.plan)
    subscription_id = _subscription_id(wallet)
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


def _subscription_id(wallet: Wallet) -> str | None:
    return wallet.payment_subscription_id or None


# --------------------------------------------------------------------------- webhooks


@dataclass
class _Outcome:
    status: PaymentEventStatus
    message: str
    workspace_id: int | None = None
    object_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    credits: int | None = None
    plan_code: str | None = None


def handle_event(session: Session, provider: str, event: Mapping[str, Any]) -> WebhookAck:
    """Fulfil one verified event, once: see the module's docstring."""
    event_id = event.get("id")
    event_type = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if (
        not isinstance(event_id, str)
        or not isinstance(event_type, str)
        or not isinstance(obj, Mapping)
    ):
        raise WebhookRejected("the webhook body is not an event (id, type, data.object)")
    row = PaymentEvent(
        provider=provider,
        event_id=event_id[:255],
        type=event_type[:100],
        status=PaymentEventStatus.ignored,
        message="received",
    )
    if _seen(session, provider, event_id):
        return _duplicate(event_id, event_type)
    try:
        # The claim: on PostgreSQL a concurrent delivery of the same event waits here for the
        # first one's commit, then fails the unique constraint and does nothing.
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return _duplicate(event_id, event_type)
    handler = _HANDLERS.get(event_type)
    if handler is None:
        outcome = _Outcome(
            PaymentEventStatus.ignored, f"event type {event_type} is not used by socialpulse"
        )
    else:
        outcome = handler(session, event_id, obj)
    row.status = outcome.status
    row.message = outcome.message[:2000]
    row.workspace_id = outcome.workspace_id
    row.object_id = outcome.object_id or _str(obj.get("id"))
    row.amount_cents = outcome.amount_cents
    row.currency = outcome.currency
    row.credits = outcome.credits
    row.plan_code = outcome.plan_code
    session.flush()
    logger = log.warning if outcome.status != PaymentEventStatus.fulfilled else log.info
    logger(
        f"billing.webhook.{outcome.status.value}",
        provider=provider,
        event_id=event_id,
        type=event_type,
        workspace_id=outcome.workspace_id,
        reason=outcome.message,
    )
    return WebhookAck(event_id=event_id, status=outcome.status, message=outcome.message)


def _seen(session: Session, provider: str, event_id: str) -> bool:
    found = session.scalar(
        select(PaymentEvent.id).where(
            PaymentEvent.provider == provider, PaymentEvent.event_id == event_id[:255]
        )
    )
    return found is not None


def _duplicate(event_id: str, event_type: str) -> WebhookAck:
    log.info("billing.webhook.duplicate", event_id=event_id, type=event_type)
    return WebhookAck(
        event_id=event_id,
        status="duplicate",
        message="this event was handled before; nothing was done again",
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 10:
        return int(value)
    return None


def _workspace(session: Session, raw: Any) -> int | None:
    workspace_id = _int(raw)
    if workspace_id is None or workspace_id > 2**31 - 1:
        return None
    return workspace_id if session.get(Workspace, workspace_id) is not None else None


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _unknown_workspace(raw: Any, object_id: str | None) -> _Outcome:
    return _Outcome(
        PaymentEventStatus.ignored,
        f"no workspace {raw!r} on this instance: nothing was credited",
        object_id=object_id,
    )


def _guarded(session: Session, outcome: _Outcome, apply: Callable[[], str]) -> _Outcome:
    """Run ``apply`` in a savepoint: its writes and ledger row stand together, or a refusal
    (an AppError: seats, an unknown plan) leaves nothing and is recorded as rejected."""
    try:
        with session.begin_nested():
            outcome.message = apply()
    except AppError as exc:
        outcome.status = PaymentEventStatus.rejected
        outcome.message = f"refused: {exc.message}"
        log.error(
            "billing.webhook.refused",
            workspace_id=outcome.workspace_id,
            object_id=outcome.object_id,
            reason=exc.message,
        )
    return outcome


def _checkout_completed(session: Session, event_id: str, obj: Mapping[str, Any]) -> _Outcome:
    metadata = _metadata(obj)
    object_id = _str(obj.get("id"))
    raw = obj.get("client_reference_id") or metadata.get("workspace_id")
    workspace_id = _workspace(session, raw)
    if workspace_id is None:
        return _unknown_workspace(raw, object_id)
    outcome = _Outcome(
        PaymentEventStatus.fulfilled,
        "",
        workspace_id=workspace_id,
        object_id=object_id,
        amount_cents=_int(obj.get("amount_total")),
        currency=_str(obj.get("currency")),
    )
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        outcome.status = PaymentEventStatus.ignored
        outcome.message = (
            f"payment not completed yet (payment_status {obj.get('payment_status')}); "
            "credited when checkout.session.async_payment_succeeded arrives"
        )
        return outcome
    kind = metadata.get("kind")
    if obj.get("mode") == "payment" and kind == "topup":
        return _topup(session, event_id, obj, metadata, outcome)
    if obj.get("mode") == "subscription" and kind == "plan":
        return _subscription_checkout(session, obj, metadata, outcome)
    outcome.status = PaymentEventStatus.ignored
    outcome.message = f"not a socialpulse checkout (mode {obj.get('mode')}, kind {kind})"
    return outcome


def _topup(
    session: Session,
    event_id: str,
    obj: Mapping[str, Any],
    metadata: Mapping[str, Any],
    outcome: _Outcome,
) -> _Outcome:
    credits = _int(metadata.get("credits"))
    package = metadata_str(metadata.get("package")) or "?"
    if credits is None or credits <= 0:
        outcome.status = PaymentEventStatus.rejected
        outcome.message = f"the checkout's metadata names no credits ({metadata.get('credits')!r})"
        return outcome
    outcome.credits = credits
    # Completed and async_payment_succeeded are two events for one payment: one credit.
    earlier = session.scalar(
        select(PaymentEvent.event_id).where(
            PaymentEvent.object_id == outcome.object_id,
            PaymentEvent.status == PaymentEventStatus.fulfilled,
            PaymentEvent.workspace_id == outcome.workspace_id,
        )
    )
    if earlier is not None:
        outcome.status = PaymentEventStatus.ignored
        outcome.message = f"checkout {outcome.object_id} was credited by event {earlier}"
        return outcome
    workspace_id = outcome.workspace_id
    assert workspace_id is not None

    def grant() -> str:
        entry = billing.grant_credits(
            session,
            workspace_id,
            credits,
            kind="topup",
            reason=f"top-up {package}: {credits:,} credits paid (checkout {outcome.object_id})",
            reference=f"stripe:{outcome.object_id}",
            idempotency_key=f"stripe:{event_id}",
        )
        return (
            f"{credits:,} credits added (ledger entry {entry.id}, balance {entry.balance_after:,})"
        )

    return _guarded(session, outcome, grant)


def _subscription_checkout(
    session: Session, obj: Mapping[str, Any], metadata: Mapping[str, Any], outcome: _Outcome
) -> _Outcome:
    plan_code = metadata_str(metadata.get("plan"))
    workspace_id = outcome.workspace_id
    assert workspace_id is not None
    outcome.plan_code = plan_code
    customer = _str(obj.get("customer"))
    subscription = _str(obj.get("subscription"))

    def apply() -> str:
        if plan_code is None:
            raise InvalidInput("the checkout's metadata names no plan")
        wallet = billing.wallet_for(session, workspace_id, lock=True)
        wallet.payment_customer_id = customer or wallet.payment_customer_id
        wallet.payment_subscription_id = subscription or wallet.payment_subscription_id
        return _move_to(session, wallet, plan_code, f"subscribed through checkout {obj.get('id')}")

    return _guarded(session, outcome, apply)


def _move_to(
    session: Session, wallet: Wallet, plan_code: str, reason: str, *, renew: bool = False
) -> str:
    """Set the plan unless the workspace is on it already (several events announce one
    change: checkout completed, subscription created), or restart its cycle on a renewal."""
    billing.get_plan(session, plan_code)  # NotFound for a plan this instance does not have
    if wallet.plan_code == plan_code and not renew:
        return f"already on {plan_code}: nothing changed"
    billing.set_plan(session, wallet.workspace_id, plan_code, reason=reason, restart_cycle=True)
    if renew:
        return f"{plan_code} renewed: a new allowance cycle started"
    return f"plan set to {plan_code}"


def _subscription_workspace(
    session: Session, obj: Mapping[str, Any], subscription_id: str | None
) -> tuple[int | None, Any]:
    """The workspace of a subscription: its metadata (set at checkout), else the wallet that
    recorded the subscription or its customer."""
    raw = _metadata(obj).get("workspace_id")
    workspace_id = _workspace(session, raw)
    if workspace_id is not None:
        return workspace_id, raw
    for column, value in (
        (Wallet.payment_subscription_id, subscription_id),
        (Wallet.payment_customer_id, _str(obj.get("customer"))),
    ):
        if value:
            found = session.scalar(select(Wallet.workspace_id).where(column == value))
            if found is not None:
                return found, raw
    return None, raw or subscription_id


def _price_of(obj: Mapping[str, Any]) -> str | None:
    items = obj.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        price = data[0].get("price")
        if isinstance(price, Mapping):
            return _str(price.get("id"))
        return _str(price)
    return None


def _plan_for_price(session: Session, price_id: str | None) -> str | None:
    if price_id is None:
        return None
    return session.scalar(select(Plan.code).where(Plan.stripe_price_id == price_id))


def _subscription_changed(session: Session, event_id: str, obj: Mapping[str, Any]) -> _Outcome:
    subscription_id = _str(obj.get("id"))
    workspace_id, raw = _subscription_workspace(session, obj, subscription_id)
    if workspace_id is None:
        return _unknown_workspace(raw, subscription_id)
    status = _str(obj.get("status")) or "?"
    price_id = _price_of(obj)
    # The price decides the plan (a change made in Stripe's own portal keeps our metadata).
    plan_code = _plan_for_price(session, price_id) or metadata_str(_metadata(obj).get("plan"))
    outcome = _Outcome(
        PaymentEventStatus.fulfilled,
        "",
        workspace_id=workspace_id,
        object_id=subscription_id,
        plan_code=plan_code,
    )
    if status in _ENDED_STATES:
        return _subscription_ended(session, obj, outcome)
    if status not in _PAID_STATES:
        outcome.status = PaymentEventStatus.ignored
        outcome.message = f"subscription is {status}: the plan stays until Stripe settles it"
        return outcome
    if plan_code is None:
        outcome.status = PaymentEventStatus.rejected
        outcome.message = f"no plan of this instance has the Stripe price {price_id!r}"
        return outcome

    def apply() -> str:
        wallet = billing.wallet_for(session, workspace_id, lock=True)
        current = _subscription_id(wallet)
        if current is not None and subscription_id is not None and current != subscription_id:
            return f"not the workspace's subscription ({current}): nothing changed"
        wallet.payment_subscription_id = subscription_id or wallet.payment_subscription_id
        wallet.payment_customer_id = _str(obj.get("customer")) or wallet.payment_customer_id
        reason = f"Stripe subscription {subscription_id} {status}"
        return _move_to(session, wallet, plan_code, reason)

    return _guarded(session, outcome, apply)


def _subscription_deleted(session: Session, event_id: str, obj: Mapping[str, Any]) -> _Outcome:
    subscription_id = _str(obj.get("id"))
    workspace_id, raw = _subscription_workspace(session, obj, subscription_id)
    if workspace_id is None:
        return _unknown_workspace(raw, subscription_id)
    outcome = _Outcome(
        PaymentEventStatus.fulfilled,
        "",
        workspace_id=workspace_id,
        object_id=subscription_id,
        plan_code=FREE_PLAN,
    )
    return _subscription_ended(session, obj, outcome)


def _subscription_ended(session: Session, obj: Mapping[str, Any], outcome: _Outcome) -> _Outcome:
    workspace_id = outcome.workspace_id
    assert workspace_id is not None
    subscription_id = outcome.object_id
    outcome.plan_code = FREE_PLAN

    def apply() -> str:
        wallet = billing.wallet_for(session, workspace_id, lock=True)
        current = _subscription_id(wallet)
        if current is not None and current != subscription_id:
            return f"an older subscription ended; the workspace's is {current}: nothing changed"
        message = _move_to(
            session, wallet, FREE_PLAN, f"Stripe subscription {subscription_id} ended"
        )
        wallet.payment_subscription_id = None
        return message

    return _guarded(session, outcome, apply)


def _invoice_paid(session: Session, event_id: str, obj: Mapping[str, Any]) -> _Outcome:
    subscription_id = _invoice_subscription(obj)
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    carrier = details if isinstance(details, Mapping) else {}
    workspace_id, raw = _subscription_workspace(
        session, {"metadata": _metadata(carrier), "customer": obj.get("customer")}, subscription_id
    )
    invoice_id = _str(obj.get("id"))
    if workspace_id is None:
        return _unknown_workspace(raw, invoice_id)
    outcome = _Outcome(
        PaymentEventStatus.fulfilled,
        "",
        workspace_id=workspace_id,
        object_id=invoice_id,
        amount_cents=_int(obj.get("amount_paid")),
        currency=_str(obj.get("currency")),
    )
    if obj.get("billing_reason") != "subscription_cycle":
        # The first invoice (subscription_create) and prorations: the checkout and
        # subscription events set the plan.
        outcome.status = PaymentEventStatus.ignored
        outcome.message = f"invoice for {obj.get('billing_reason')}: the plan events apply it"
        return outcome

    def apply() -> str:
        wallet = billing.wallet_for(session, workspace_id, lock=True)
        if subscription_id is None or _subscription_id(wallet) != subscription_id:
            return f"invoice of subscription {subscription_id}, not the workspace's: ignored"
        outcome.plan_code = wallet.plan_code
        return _move_to(
            session,
            wallet,
            wallet.plan_code,
            f"renewed: invoice {invoice_id} paid",
            renew=True,
        )

    return _guarded(session, outcome, apply)


def _invoice_subscription(obj: Mapping[str, Any]) -> str | None:
    # API versions from 2025-03-31 name it under parent.subscription_details; older ones at
    # the top level.
    parent = obj.get("parent")
    if isinstance(parent, Mapping):
        details = parent.get("subscription_details")
        if isinstance(details, Mapping) and _str(details.get("subscription")):
            return _str(details.get("subscription"))
    return _str(obj.get("subscription"))


_HANDLERS: dict[str, Callable[[Session, str, Mapping[str, Any]], _Outcome]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_deleted,
    "invoice.paid": _invoice_paid,
}


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
    "PaymentProvider",
    "PreparedCheckout",
    "require_plan_fits",
    "get_event",
    "handle_event",
    "list_events",
    "prepare_checkout",
    "provider_for",
    "start_checkout",
]
