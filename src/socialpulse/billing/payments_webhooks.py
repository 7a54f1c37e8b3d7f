"""Payment webhooks: each verified event of the payment provider fulfilled once.

``handle_event`` runs for each verified webhook, in the webhook request's transaction: the
event's row in ``payment_events`` is inserted first (unique provider + event id: a
redelivery, or a concurrent duplicate waiting on that row's lock, does nothing), then
credits are granted (``grant_credits(kind="topup", idempotency_key=f"stripe:{event_id}")``)
or the plan set (``set_plan``), so the event row, the ledger row and the balance or plan
commit together or not at all. A refusal (a downgrade below the members' seats) rolls back
its savepoint and is stored as ``rejected`` with the reason; an event for no workspace of
this instance is stored ``ignored``. Buying, the step before, is in ``payments``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.billing import pricing, service, wallets
from socialpulse.billing.models import Plan, Wallet
from socialpulse.billing.payments import FREE_PLAN, current_subscription_id
from socialpulse.billing.payments_models import PaymentEvent, PaymentEventStatus
from socialpulse.billing.payments_schemas import WebhookAck, WebhookRejected, metadata_str
from socialpulse.errors import AppError, InvalidInput
from socialpulse.workspaces.models import Workspace

log = structlog.get_logger(__name__)

# Subscription states in which the plan is paid for (Stripe's subscription.status values).
_PAID_STATES = frozenset({"active", "trialing"})
# States in which Stripe has given up: the workspace is back on the free plan.
_ENDED_STATES = frozenset({"canceled", "unpaid", "incomplete_expired"})


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
        entry = service.grant_credits(
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
        wallet = wallets.wallet_for(session, workspace_id, lock=True)
        wallet.payment_customer_id = customer or wallet.payment_customer_id
        wallet.payment_subscription_id = subscription or wallet.payment_subscription_id
        return _move_to(session, wallet, plan_code, f"subscribed through checkout {obj.get('id')}")

    return _guarded(session, outcome, apply)


def _move_to(
    session: Session, wallet: Wallet, plan_code: str, reason: str, *, renew: bool = False
) -> str:
    """Set the plan unless the workspace is on it already (several events announce one
    change: checkout completed, subscription created), or restart its cycle on a renewal."""
    pricing.get_plan(session, plan_code)  # NotFound for a plan this instance does not have
    if wallet.plan_code == plan_code and not renew:
        return f"already on {plan_code}: nothing changed"
    service.set_plan(session, wallet.workspace_id, plan_code, reason=reason, restart_cycle=True)
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
        wallet = wallets.wallet_for(session, workspace_id, lock=True)
        current = current_subscription_id(wallet)
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
        wallet = wallets.wallet_for(session, workspace_id, lock=True)
        current = current_subscription_id(wallet)
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
        wallet = wallets.wallet_for(session, workspace_id, lock=True)
        if subscription_id is None or current_subscription_id(wallet) != subscription_id:
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

__all__ = ["handle_event"]
