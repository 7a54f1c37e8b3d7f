"""The Stripe implementation of ``payments.PaymentProvider``, on the official ``stripe`` library.

* Top-ups: a Checkout Session in ``payment`` mode with inline ``price_data`` (the package's
  price after the plan's discount: the amount is ours, not a product configured in Stripe).
* Plans: a Checkout Session in ``subscription`` mode on the plan's ``stripe_price_id``; a
  workspace that already subscribes changes price with ``POST /v1/subscriptions/{id}`` (the
  library's ``Subscription.modify``, here through ``StripeClient.v1.subscriptions.update``) and
  cancels with ``DELETE /v1/subscriptions/{id}``. The plan itself changes when Stripe's
  webhook says the subscription did, never on our call's answer.
* Webhooks: ``stripe.Webhook.construct_event`` checks the ``Stripe-Signature`` HMAC with the
  endpoint's signing secret and refuses timestamps older than the tolerance (a captured
  delivery replayed later), https://docs.stripe.com/webhooks#verify-events.

Every call goes through ``EgressHttpClient``: httpx under the egress policy (kit.egress), with
the configured timeout; the library retries network failures, 409s and 5xx up to
``max_network_retries`` times, with the idempotency key it sends on every POST, so a retried
create never makes two sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import httpx
import stripe
import structlog

from socialpulse.billing.payments_schemas import (
    CheckoutRequest,
    CheckoutSession,
    PaymentProviderError,
    SubscriptionState,
    WebhookRejected,
)
from socialpulse.kit import egress

log = structlog.get_logger(__name__)


class EgressHttpClient(stripe.HTTPClient):
    """The library's HTTP client interface on an egress-checked ``httpx.Client``."""

    name = "socialpulse-egress-httpx"

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._client = egress.client(timeout=httpx.Timeout(timeout_s))

    def request(  # type: ignore[override]  # the base declares `_usage` the library never passes here
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = self._client.request(
                method, url, headers=dict(headers or {}), content=post_data or None
            )
        except egress.EgressRefused:
            raise  # the operator's policy: no retry can change it
        except httpx.HTTPError as exc:
            self._connection_error(exc)
        return response.content, response.status_code, response.headers

    def _connection_error(self, exc: Exception) -> NoReturn:
        # should_retry: the library's backoff loop retries it up to max_network_retries.
        raise stripe.APIConnectionError(
            f"network error talking to Stripe: {type(exc).__name__}: {exc}", should_retry=True
        ) from exc

    def close(self) -> None:
        self._client.close()


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str | None,
        api_base: str,
        timeout_s: float,
        max_retries: int,
        webhook_tolerance_s: int,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._tolerance = webhook_tolerance_s
        self._http = EgressHttpClient(timeout_s)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            max_network_retries=max_retries,
            http_client=self._http,
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ checkout

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        line: dict[str, Any]
        if request.mode == "payment":
            line = {
                "quantity": 1,
                "price_data": {
                    "currency": request.currency,
                    "unit_amount": request.amount_cents,
                    "product_data": {"name": request.description},
                },
            }
        else:
            line = {"quantity": 1, "price": request.price_id}
        params: dict[str, Any] = {
            "mode": request.mode,
            "line_items": [line],
            "client_reference_id": str(request.workspace_id),
            "metadata": dict(request.metadata),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        if request.mode == "subscription":
            # Copied onto the subscription, so its own events name the workspace and plan.
            params["subscription_data"] = {"metadata": dict(request.metadata)}
        if request.customer_id:
            params["customer"] = request.customer_id
        session = self._call(
            "checkout.create",
            lambda: self._client.v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]  # a plain dict of the documented fields
                self._options(request.idempotency_key),
            ),
        )
        return CheckoutSession(
            id=session.id,
            url=session.url,
            amount_cents=session.amount_total,
            currency=session.currency,
        )

    def change_subscription(
        self,
        subscription_id: str,
        price_id: str,
        *,
        metadata: Mapping[str, str],
        idempotency_key: str | None = None,
    ) -> SubscriptionState:
        current = self._call(
            "subscription.retrieve",
            lambda: self._client.v1.subscriptions.retrieve(subscription_id),
        )
        items = current["items"]["data"]
        if not items:
            raise PaymentProviderError(f"Stripe subscription {subscription_id} has no item")
        params: dict[str, Any] = {
            # Replace the one item's price (Stripe prorates by default), keep the workspace.
            "items": [{"id": items[0]["id"], "price": price_id}],
            "metadata": dict(metadata),
        }
        updated = self._call(
            "subscription.update",
            lambda: self._client.v1.subscriptions.update(
                subscription_id,
                params,  # type: ignore[arg-type]
                self._options(idempotency_key),
            ),
        )
        return _state(updated)

    def cancel_subscription(self, subscription_id: str) -> SubscriptionState:
        cancelled = self._call(
            "subscription.cancel",
            lambda: self._client.v1.subscriptions.cancel(subscription_id),
        )
        return _state(cancelled)

    # ------------------------------------------------------------------ webhooks

    def verify_webhook(self, payload: bytes, signature_header: str) -> dict[str, Any]:
        if not self._webhook_secret:
            raise WebhookRejected("no webhook signing secret is configured")
        try:
            event = stripe.Webhook.construct_event(
                payload, signature_header, self._webhook_secret, tolerance=self._tolerance
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"invalid Stripe signature: {exc.user_message or exc}") from exc
        except ValueError as exc:  # not UTF-8 or not JSON (checked after the signature)
            raise WebhookRejected(f"the webhook body is not a JSON event: {exc}") from exc
        body: dict[str, Any] = event.to_dict()
        return body

    # ------------------------------------------------------------------ helpers

    def _options(self, idempotency_key: str | None) -> stripe.RequestOptions:
        return {"idempotency_key": idempotency_key} if idempotency_key else {}

    def _call(self, what: str, call: Any) -> Any:
        try:
            return call()
        except egress.EgressRefused as exc:
            log.warning("billing.stripe.refused", call=what, error=str(exc))
            raise PaymentProviderError(f"cannot reach Stripe: {exc}") from exc
        except stripe.StripeError as exc:
            status = exc.http_status
            log.warning("billing.stripe.failed", call=what, status=status, error=str(exc))
            message = exc.user_message or str(exc)
            raise PaymentProviderError(
                f"Stripe refused {what}" + (f" ({status})" if status else "") + f": {message}",
                details={"status": status, "code": exc.code},
            ) from exc


def _state(subscription: Any) -> SubscriptionState:
    items = subscription["items"]["data"]
    price = items[0]["price"]["id"] if items else None
    return SubscriptionState(id=subscription.id, status=subscription.status, price_id=price)


__all__ = ["EgressHttpClient", "StripeProvider"]
