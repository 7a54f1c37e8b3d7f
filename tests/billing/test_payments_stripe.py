"""The Stripe provider against the local fake Stripe: what the library sends, retries, errors,
the egress policy and webhook signatures (no database)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from pydantic import ValidationError

from billing.stripe_fake import API_KEY, WEBHOOK_SECRET, StripeFake, sign
from socialpulse.billing.payments_schemas import (
    CheckoutRequest,
    PaymentProviderError,
    WebhookRejected,
)
from socialpulse.billing.stripe_provider import StripeProvider
from socialpulse.config import Settings
from socialpulse.kit.egress import EgressRefused


@pytest.fixture
def fake() -> Iterator[StripeFake]:
    with StripeFake() as running:
        yield running


def _provider(fake: StripeFake, *, key: str = API_KEY, retries: int = 2) -> StripeProvider:
    return StripeProvider(
        secret_key=key,
        webhook_secret=WEBHOOK_SECRET,
        api_base=fake.url,
        timeout_s=5,
        max_retries=retries,
        webhook_tolerance_s=300,
    )


def _topup(**overrides: object) -> CheckoutRequest:
    values: dict[str, object] = dict(
        mode="payment",
        workspace_id=7,
        description="1,000 socialpulse credits",
        amount_cents=4000,
        success_url="http://app.test/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://app.test/billing?checkout=cancelled",
        metadata={"workspace_id": "7", "kind": "topup", "credits": "1000"},
    )
    values.update(overrides)
    return CheckoutRequest(**values)  # type: ignore[arg-type]


def test_a_top_up_checkout_sends_stripe_the_amount_and_the_workspace(
    fake: StripeFake, egress_allow: Callable[[str], None]
) -> None:
    egress_allow("127.0.0.1")
    session = _provider(fake).create_checkout(_topup(idempotency_key="socialpulse-7-abc"))

    assert session.url == f"{fake.url}/checkout/{session.id}"
    assert session.amount_cents == 4000
    [call] = fake.api_calls("POST", "/v1/checkout/sessions")
    assert call.params["mode"] == "payment"
    assert call.params["client_reference_id"] == "7"
    assert call.params["metadata"] == {"workspace_id": "7", "kind": "topup", "credits": "1000"}
    line = call.params["line_items"][0]
    assert line["price_data"]["unit_amount"] == "4000"
    assert line["price_data"]["currency"] == "usd"
    assert line["price_data"]["product_data"]["name"] == "1,000 socialpulse credits"
    assert call.headers["Idempotency-Key"] == "socialpulse-7-abc"
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"


def test_a_plan_checkout_subscribes_to_the_plans_price_with_the_workspace_on_it(
    fake: StripeFake, egress_allow: Callable[[str], None]
) -> None:
    egress_allow("127.0.0.1")
    fake.price("price_premium", 49_900)
    session = _provider(fake).create_checkout(
        _topup(
            mode="subscription",
            amount_cents=None,
            price_id="price_premium",
            metadata={"workspace_id": "7", "kind": "plan", "plan": "premium"},
            customer_id="cus_known",
        )
    )
    assert session.amount_cents == 49_900
    [call] = fake.api_calls("POST", "/v1/checkout/sessions")
    assert call.params["mode"] == "subscription"
    assert call.params["line_items"] == [{"quantity": "1", "price": "price_premium"}]
    assert call.params["customer"] == "cus_known"
    # Copied onto the subscription, whose own events then name the workspace.
    assert call.params["subscription_data"]["metadata"]["workspace_id"] == "7"


def test_stripe_5xx_is_retried_a_bounded_number_of_times(
    fake: StripeFake, egress_allow: Callable[[str], None]
) -> None:
    egress_allow("127.0.0.1")
    fake.fail_next(2)
    session = _provider(fake, retries=2).create_checkout(_topup())
    assert session.id.startswith("cs_test_")
    calls = fake.api_calls("POST", "/v1/checkout/sessions")
    assert len(calls) == 3
    # One idempotency key for the retries: Stripe never makes two sessions of one request.
    assert len({c.headers["Idempotency-Key"] for c in calls}) == 1

    fake.fail_next(3)
    with pytest.raises(PaymentProviderError, match=r"\(500\)"):
        _provider(fake, retries=2).create_checkout(_topup())


def test_a_wrong_api_key_is_a_provider_error_naming_stripes_reason(
    fake: StripeFake, egress_allow: Callable[[str], None]
) -> None:
    egress_allow("127.0.0.1")
    with pytest.raises(PaymentProviderError, match="Invalid API Key") as caught:
        _provider(fake, key="sk_test_wrong").create_checkout(_topup())
    assert caught.value.status_code == 502


def test_a_private_api_base_is_refused_by_the_egress_policy(fake: StripeFake) -> None:
    # Loopback is not allowed by default: the fake is only reachable once an operator allows it.
    with pytest.raises(PaymentProviderError, match="private address") as caught:
        _provider(fake).create_checkout(_topup())
    assert isinstance(caught.value.__cause__, EgressRefused)
    assert fake.requests == []


def test_changing_a_subscription_replaces_its_items_price(
    fake: StripeFake, egress_allow: Callable[[str], None]
) -> None:
    egress_allow("127.0.0.1")
    fake.deliver = lambda payload, headers: (200, "ok")
    fake.price("price_standard", 19_900)
    fake.price("price_premium", 49_900)
    provider = _provider(fake)
    checkout = provider.create_checkout(
        _topup(mode="subscription", amount_cents=None, price_id="price_standard")
    )
    fake.pay(checkout.id)
    subscription_id = fake.sessions[checkout.id]["subscription"]
    item_id = fake.subscriptions[subscription_id]["items"]["data"][0]["id"]

    state = provider.change_subscription(
        subscription_id, "price_premium", metadata={"plan": "premium"}
    )

    assert (state.id, state.status, state.price_id) == (subscription_id, "active", "price_premium")
    [update] = fake.api_calls("POST", f"/v1/subscriptions/{subscription_id}")
    assert update.params["items"] == [{"id": item_id, "price": "price_premium"}]
    fake.wait_for_webhooks()
    assert fake.deliveries[-1].event["type"] == "customer.subscription.updated"


def test_a_webhook_signed_like_stripe_verifies_into_its_event(fake: StripeFake) -> None:
    event = fake.event("checkout.session.completed", {"id": "cs_test_1", "object": "x"})
    payload, headers = fake.signed(event)
    verified = _provider(fake).verify_webhook(payload, headers["Stripe-Signature"])
    assert verified["id"] == event["id"]
    assert verified["data"]["object"]["id"] == "cs_test_1"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda p, h: (p.replace(b"cs_test_1", b"cs_test_2"), h), "signature"),
        (lambda p, h: (p, sign(p, "whsec_someone_else")), "signature"),
        (lambda p, h: (p, sign(p, WEBHOOK_SECRET, int(time.time()) - 301)), "tolerance"),
        (lambda p, h: (p, ""), "No Stripe-Signature"),
        (lambda p, h: (p, "t=abc,v1=00"), "timestamp"),
    ],
    ids=["altered-body", "other-secret", "stale-timestamp", "missing", "garbled"],
)
def test_a_webhook_that_does_not_verify_is_rejected(
    fake: StripeFake,
    tamper: Callable[[bytes, str], tuple[bytes, str]],
    reason: str,
) -> None:
    event = fake.event("checkout.session.completed", {"id": "cs_test_1", "object": "x"})
    payload, headers = fake.signed(event)
    bad_payload, bad_header = tamper(payload, headers["Stripe-Signature"])
    with pytest.raises(WebhookRejected, match=reason) as caught:
        _provider(fake).verify_webhook(bad_payload, bad_header)
    assert caught.value.status_code == 400


def test_a_signed_body_that_is_not_json_is_rejected(fake: StripeFake) -> None:
    payload = b"not json"
    with pytest.raises(WebhookRejected, match="not a JSON event"):
        _provider(fake).verify_webhook(payload, sign(payload, WEBHOOK_SECRET))


def test_the_hosted_checkout_page_pays_sends_the_signed_webhook_and_returns(
    fake: StripeFake, egress_allow: Callable[[str], None]
) -> None:
    egress_allow("127.0.0.1")
    received: list[tuple[bytes, dict[str, str]]] = []

    def deliver(payload: bytes, headers: dict[str, str]) -> tuple[int, str]:
        received.append((payload, headers))
        return 200, "{}"

    fake.deliver = deliver
    checkout = _provider(fake).create_checkout(_topup())
    page = httpx.get(checkout.url or "")
    assert page.status_code == 200
    assert "Pay $40.00" in page.text and "<button" in page.text

    paid = httpx.post(f"{fake.url}/checkout/{checkout.id}/pay", follow_redirects=False)

    assert paid.status_code == 303
    assert paid.headers["location"] == (
        f"http://app.test/billing?checkout=success&session_id={checkout.id}"
    )
    [(payload, headers)] = received
    event = json.loads(payload)
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["payment_status"] == "paid"
    assert event["data"]["object"]["client_reference_id"] == "7"
    verified = _provider(fake).verify_webhook(payload, headers["Stripe-Signature"])
    assert verified["id"] == event["id"]
    # Paying twice is refused, as Stripe's completed sessions are.
    assert httpx.post(f"{fake.url}/checkout/{checkout.id}/pay").status_code == 400


def test_a_stripe_key_without_the_webhook_signing_secret_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="needs SOCIALPULSE_STRIPE_WEBHOOK_SECRET"):
        Settings(_env_file=None, stripe_secret_key=API_KEY)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="must be an http"):
        Settings(_env_file=None, stripe_api_base="api.stripe.com")  # type: ignore[call-arg]
