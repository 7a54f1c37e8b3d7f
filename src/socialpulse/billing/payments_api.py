"""Payment routes: start a checkout, receive the provider's webhooks, list the workspace's
payments.

The checkout prices the purchase in a short unit of work of its own and calls the provider
after it committed: no transaction (on SQLite, the write lock) is held during a network call.
The webhook route needs no API key (the provider cannot send one): its signature is its
authentication, checked before anything is read from the body; a bad one is a 400 that writes
nothing.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Header, Query, Request

from socialpulse.billing import payments, payments_webhooks
from socialpulse.billing.payments_schemas import (
    CheckoutCreate,
    CheckoutRead,
    PaymentEventPage,
    PaymentEventRead,
    WebhookAck,
    WebhookRejected,
)
from socialpulse.config import Settings
from socialpulse.errors import InvalidInput, error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import AppSettings, CurrentSubject, DbSession, get_db
from socialpulse.workspaces.models import Role

log = structlog.get_logger(__name__)

router = api_router(prefix="/api/v1/billing", tags=["billing"])

_PROVIDER_ERRORS = error_responses(
    502,
    503,
    descriptions={
        502: "The payment provider refused the call or could not be reached; nothing was bought",
        503: "Payments are not configured on this instance",
    },
)
MAX_IDEMPOTENCY_KEY = 200
# Stripe's largest event is far below this; a bigger body is not an event worth reading.
MAX_WEBHOOK_BYTES = 512 * 1024


async def _raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes sent: the body must not be parsed and re-encoded.
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise WebhookRejected("the webhook body is too large to be an event")
    return body


def _return_base(request: Request, settings: Settings) -> str:
    """Where the payer comes back after the hosted checkout: SOCIALPULSE_BASE_URL when the
    operator set it (the public address behind a proxy), else the address this request came
    to (the dashboard the payer is using)."""
    if "base_url" in settings.model_fields_set:
        return settings.base_url
    return str(request.base_url)


@router.post(
    "/checkout",
    response_model=CheckoutRead,
    responses={**error_responses(403, 404, 409), **_PROVIDER_ERRORS},
)
def create_checkout(
    body: CheckoutCreate,
    request: Request,
    subject: CurrentSubject,
    settings: AppSettings,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> CheckoutRead:
    """Buy a top-up package (`{"topup": code}`, at the plan's discount) or a plan
    (`{"plan": code}`): answers the provider's hosted checkout URL to send the payer to.
    Credits and plans change when the provider's webhook confirms the payment. A workspace
    that already subscribes changes (or, with the free plan, cancels) its subscription
    instead. Admins and owners only."""
    subject.require(Role.admin)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    provider = payments.provider_for(settings)
    with get_db(request).session() as session:
        prepared = payments.prepare_checkout(
            session,
            subject.workspace_id,
            body,
            base_url=_return_base(request, settings),
            idempotency_key=idempotency_key,
        )
    return payments.start_checkout(provider, prepared)


@router.post(
    "/webhooks/stripe",
    response_model=WebhookAck,
    responses=error_responses(400, 503),
)
def stripe_webhook(
    payload: Annotated[bytes, Depends(_raw_body)],
    session: DbSession,
    settings: AppSettings,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    """Stripe's webhook endpoint (no API key: the `Stripe-Signature` header, made with the
    endpoint's signing secret, is checked first). Fulfils checkout.session.completed (top-ups,
    new subscriptions), customer.subscription.created/updated/deleted (plan changes, the free
    plan when a subscription ends) and invoice.paid (a renewal starts a new allowance cycle),
    each event once: a redelivered event answers 200 `duplicate` and changes nothing."""
    provider = payments.provider_for(settings)
    try:
        event = provider.verify_webhook(payload, stripe_signature or "")
    except WebhookRejected as exc:
        # Anyone can post here: logged for the operator, never stored.
        log.warning("billing.webhook.rejected", reason=exc.message, size=len(payload))
        raise
    return payments_webhooks.handle_event(session, provider.name, event)


@router.get("/payments", response_model=PaymentEventPage, responses=error_responses(403))
def list_payments(
    session: DbSession,
    subject: CurrentSubject,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PaymentEventPage:
    """The workspace's payment events (top-ups paid, plan changes, refusals), newest first."""
    return payments.list_events(session, subject.workspace_id, offset=offset, limit=limit)


@router.get("/payments/{event_id}", response_model=PaymentEventRead, responses=error_responses(404))
def get_payment(event_id: Id, session: DbSession, subject: CurrentSubject) -> PaymentEventRead:
    """One payment event of the workspace (404 for another workspace's)."""
    return payments.get_event(session, subject.workspace_id, event_id)
