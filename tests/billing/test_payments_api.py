"""Top-ups and plan subscriptions through the API, paid on the fake Stripe, fulfilled by its
signed webhooks (both databases)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from billing.stripe_fake import Delivery, StripeFake, sign
from factories import WorkspaceFixture, make, make_workspace
from socialpulse.billing import service as billing
from socialpulse.billing import wallets as billing_wallets
from socialpulse.billing.models import LedgerEntry, LedgerKind, Plan, Wallet
from socialpulse.billing.payments_models import PaymentEvent, PaymentEventStatus
from socialpulse.db import Database
from socialpulse.kit import egress
from socialpulse.workspaces.models import Membership, Role, User

CHECKOUT = "/api/v1/billing/checkout"
WEBHOOK = "/api/v1/billing/webhooks/stripe"
PAYMENTS = "/api/v1/billing/payments"


def _deliver(client: TestClient, payload: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = client.post(WEBHOOK, content=payload, headers=headers)
    return response.status_code, response.text


@pytest.fixture
def fake(app: FastAPI, client: TestClient, db: Database) -> Iterator[StripeFake]:
    """The app configured for the fake Stripe (as an operator would: keys, API base, egress
    allowed to loopback), its webhooks posted to the app, the paid plans priced in it."""
    previous = egress.set_policy(egress.parse_allow("127.0.0.1"))
    settings = app.state.settings
    with StripeFake() as running:
        app.state.settings = settings.model_copy(update=running.settings())
        running.deliver = lambda payload, headers: _deliver(client, payload, headers)
        running.price_plans(db)
        try:
            yield running
        finally:
            app.state.settings = settings
            egress.set_policy(previous)


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme")


def _plan(db: Database, workspace_id: int, code: str) -> None:
    with db.session() as session:
        billing.set_plan(session, workspace_id, code, reason="test setup")


def _wallet(db: Database, workspace_id: int) -> Wallet:
    with db.session() as session:
        wallet = billing_wallets.wallet_for(session, workspace_id)
        session.expunge(wallet)
        return wallet


def _ledger(db: Database, workspace_id: int, kind: LedgerKind) -> list[LedgerEntry]:
    with db.session(readonly=True) as session:
        rows = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.workspace_id == workspace_id, LedgerEntry.kind == kind)
            .order_by(LedgerEntry.id)
        ).all()
        session.expunge_all()
        return list(rows)


def _events(db: Database) -> list[PaymentEvent]:
    with db.session(readonly=True) as session:
        rows = session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)).all()
        session.expunge_all()
        return list(rows)


def _checkout(client: TestClient, ws: WorkspaceFixture, **body: str) -> dict[str, Any]:
    response = client.post(CHECKOUT, json=body, headers=ws.headers())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _ack(delivery: Delivery) -> dict[str, Any]:
    assert delivery.status == 200, delivery.body
    body: dict[str, Any] = json.loads(delivery.body)
    return body


# --------------------------------------------------------------------------- top-ups


def test_a_top_up_checkout_asks_stripe_for_the_package_price_for_this_workspace(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "standard")
    answer = _checkout(client, acme, topup="credits_2500")

    assert answer["kind"] == "topup"
    assert answer["url"] == f"{fake.url}/checkout/{answer['id']}"
    assert (answer["amount_cents"], answer["credits"], answer["discount_pct"]) == (12_500, 2500, 0)
    [call] = fake.api_calls("POST", "/v1/checkout/sessions")
    assert call.params["mode"] == "payment"
    assert call.params["client_reference_id"] == str(acme.workspace_id)
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "12500"
    assert call.params["metadata"]["credits"] == "2500"
    # Back to the dashboard the payer came from (SOCIALPULSE_BASE_URL is not set here).
    assert call.params["success_url"] == (
        "http://testserver/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}"
    )
    assert call.params["cancel_url"] == "http://testserver/billing?checkout=cancelled"
    # Nothing is credited before Stripe says it was paid.
    assert _wallet(db, acme.workspace_id).balance == 0


def test_the_payer_returns_to_the_public_base_url_when_the_operator_set_one(
    client: TestClient, app: FastAPI, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"base_url": "https://pulse.example.com"}
    )
    _checkout(client, acme, topup="credits_1000")
    [call] = fake.api_calls("POST", "/v1/checkout/sessions")
    assert call.params["success_url"].startswith("https://pulse.example.com/billing?checkout=")


def test_premium_pays_twenty_percent_less_for_a_top_up(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "premium")
    answer = _checkout(client, acme, topup="credits_1000")

    assert (answer["amount_cents"], answer["discount_pct"]) == (4000, 20)
    [call] = fake.api_calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "4000"


def test_a_paid_top_up_is_credited_once_with_its_ledger_row_and_a_replay_credits_nothing(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    answer = _checkout(client, acme, topup="credits_1000")
    [delivery] = fake.pay(answer["id"])

    assert _ack(delivery)["status"] == "fulfilled"
    assert _wallet(db, acme.workspace_id).balance == 1000
    [row] = _ledger(db, acme.workspace_id, LedgerKind.topup)
    assert (row.amount, row.balance_after) == (1000, 1000)
    assert row.reference == f"stripe:{answer['id']}"
    assert row.idempotency_key == f"stripe:{delivery.event['id']}"

    # The captured request posted again, and Stripe's own redelivery (signed anew).
    replay = client.post(WEBHOOK, content=delivery.payload, headers=delivery.headers)
    redelivery = fake.send(delivery.event)

    for response_status, body in (
        (replay.status_code, replay.text),
        (redelivery.status, redelivery.body),
    ):
        assert response_status == 200
        assert json.loads(body)["status"] == "duplicate"
    assert _wallet(db, acme.workspace_id).balance == 1000
    assert len(_ledger(db, acme.workspace_id, LedgerKind.topup)) == 1
    assert [e.status for e in _events(db)] == [PaymentEventStatus.fulfilled]


def test_the_hosted_checkouts_pay_button_credits_and_returns_to_the_billing_page(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    import httpx

    answer = _checkout(client, acme, topup="credits_1000")
    paid = httpx.post(f"{answer['url']}/pay", follow_redirects=False)

    assert paid.status_code == 303
    assert paid.headers["location"] == (
        f"http://testserver/billing?checkout=success&session_id={answer['id']}"
    )
    assert _wallet(db, acme.workspace_id).balance == 1000


def test_a_badly_signed_webhook_is_refused_and_stores_and_credits_nothing(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    answer = _checkout(client, acme, topup="credits_1000")
    fake.deliver = lambda payload, headers: (0, "not sent")
    [unsent] = fake.pay(answer["id"])
    forged = json.dumps(unsent.event).encode()

    wrong_secret = client.post(
        WEBHOOK, content=forged, headers={"Stripe-Signature": sign(forged, "whsec_attacker")}
    )
    unsigned = client.post(WEBHOOK, content=forged)
    altered = client.post(
        WEBHOOK,
        content=unsent.payload.replace(b'"credits": "1000"', b'"credits": "9000"'),
        headers=unsent.headers,
    )

    for response in (wrong_secret, unsigned, altered):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_signature"
    assert _events(db) == []
    assert _wallet(db, acme.workspace_id).balance == 0


def test_a_webhook_with_a_stale_timestamp_is_refused(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    answer = _checkout(client, acme, topup="credits_1000")
    fake.deliver = lambda payload, headers: (0, "not sent")
    [unsent] = fake.pay(answer["id"])
    payload, headers = fake.signed(unsent.event, timestamp=int(time.time()) - 3600)

    response = client.post(WEBHOOK, content=payload, headers=headers)

    assert response.status_code == 400
    assert "tolerance" in response.json()["error"]["message"]
    assert _events(db) == [] and _wallet(db, acme.workspace_id).balance == 0


def test_a_paid_checkout_for_an_unknown_workspace_is_stored_ignored_and_credits_nobody(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    answer = _checkout(client, acme, topup="credits_1000")
    fake.sessions[answer["id"]]["client_reference_id"] = "999999"
    fake.sessions[answer["id"]]["metadata"]["workspace_id"] = "999999"

    [delivery] = fake.pay(answer["id"])

    ack = _ack(delivery)
    assert ack["status"] == "ignored"
    assert "999999" in ack["message"]
    [event] = _events(db)
    assert (event.status, event.workspace_id) == (PaymentEventStatus.ignored, None)
    assert _wallet(db, acme.workspace_id).balance == 0
    assert _ledger(db, acme.workspace_id, LedgerKind.topup) == []


def test_an_unpaid_completed_checkout_credits_when_its_async_payment_succeeds(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    answer = _checkout(client, acme, topup="credits_1000")
    session = {**fake.sessions[answer["id"]], "status": "complete", "payment_status": "unpaid"}
    session = {k: v for k, v in session.items() if not k.startswith("_")}

    pending = fake.send_event("checkout.session.completed", session)
    assert _ack(pending)["status"] == "ignored"
    assert _wallet(db, acme.workspace_id).balance == 0

    succeeded = fake.send_event(
        "checkout.session.async_payment_succeeded", {**session, "payment_status": "paid"}
    )
    assert _ack(succeeded)["status"] == "fulfilled"
    assert _wallet(db, acme.workspace_id).balance == 1000


# --------------------------------------------------------------------------- plans


def _subscribe(
    client: TestClient, fake: StripeFake, ws: WorkspaceFixture, plan: str
) -> tuple[dict[str, Any], list[Delivery]]:
    answer = _checkout(client, ws, plan=plan)
    deliveries = fake.pay(answer["id"])
    return answer, deliveries


def test_a_plan_checkout_subscribes_at_stripe_and_the_plan_follows_the_payment(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    answer = _checkout(client, acme, plan="standard")

    assert (answer["kind"], answer["plan"], answer["amount_cents"]) == (
        "subscription",
        "standard",
        19_900,
    )
    [call] = fake.api_calls("POST", "/v1/checkout/sessions")
    assert call.params["mode"] == "subscription"
    assert call.params["line_items"] == [{"quantity": "1", "price": "price_standard"}]
    assert call.params["client_reference_id"] == str(acme.workspace_id)
    assert _wallet(db, acme.workspace_id).plan_code == "free"

    deliveries = fake.pay(answer["id"])

    acks = [_ack(d) for d in deliveries]
    assert [d.event["type"] for d in deliveries] == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    assert acks[0]["message"] == "plan set to standard"
    assert acks[1]["message"] == "already on standard: nothing changed"
    assert acks[2]["status"] == "ignored"  # the first invoice: the plan events applied it
    wallet = _wallet(db, acme.workspace_id)
    session = fake.sessions[answer["id"]]
    assert wallet.plan_code == "standard"
    assert (wallet.payment_customer_id, wallet.payment_subscription_id) == (
        session["customer"],
        session["subscription"],
    )
    # One plan change (free -> standard) besides the setup's, not one per event.
    changes = _ledger(db, acme.workspace_id, LedgerKind.plan_change)
    assert [c.description.split(":")[0] for c in changes][-1] == "plan free -> standard"
    assert len([c for c in changes if "-> standard" in c.description]) == 1


def test_a_subscribed_workspace_changes_plan_through_a_subscription_update(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    first, _ = _subscribe(client, fake, acme, "standard")
    subscription_id = fake.sessions[first["id"]]["subscription"]

    change = _checkout(client, acme, plan="premium")
    fake.wait_for_webhooks()

    assert (change["kind"], change["id"], change["url"]) == (
        "subscription_change",
        subscription_id,
        None,
    )
    [update] = fake.api_calls("POST", f"/v1/subscriptions/{subscription_id}")
    assert update.params["items"][0]["price"] == "price_premium"
    assert len(fake.api_calls("POST", "/v1/checkout/sessions")) == 1  # no second checkout
    assert fake.deliveries[-1].event["type"] == "customer.subscription.updated"
    assert _ack(fake.deliveries[-1])["message"] == "plan set to premium"
    assert _wallet(db, acme.workspace_id).plan_code == "premium"


def test_cancelling_or_a_deleted_subscription_moves_the_workspace_to_free(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    _subscribe(client, fake, acme, "premium")
    assert _wallet(db, acme.workspace_id).plan_code == "premium"

    cancel = _checkout(client, acme, plan="free")
    fake.wait_for_webhooks()

    assert cancel["kind"] == "subscription_cancel"
    assert fake.deliveries[-1].event["type"] == "customer.subscription.deleted"
    assert _ack(fake.deliveries[-1])["status"] == "fulfilled"
    wallet = _wallet(db, acme.workspace_id)
    assert (wallet.plan_code, wallet.payment_subscription_id) == ("free", None)


def test_a_subscription_ending_below_the_members_seats_is_refused_and_recorded(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    answer, _ = _subscribe(client, fake, acme, "standard")
    with db.session() as session:
        user = make(session, User)
        make(session, Membership, workspace_id=acme.workspace_id, user_id=user.id, role=Role.editor)
    subscription = fake.subscriptions[fake.sessions[answer["id"]]["subscription"]]

    delivery = fake.send_event(
        "customer.subscription.deleted", {**subscription, "status": "canceled"}
    )

    ack = _ack(delivery)  # 200: Stripe must not retry what cannot succeed by retrying
    assert ack["status"] == "rejected"
    assert "1 seats" in ack["message"] and "2" in ack["message"]
    assert _wallet(db, acme.workspace_id).plan_code == "standard"
    event = _events(db)[-1]
    assert (event.status, event.workspace_id) == (PaymentEventStatus.rejected, acme.workspace_id)
    assert not any(
        "-> free" in c.description
        for c in _ledger(db, acme.workspace_id, LedgerKind.plan_change)[1:]
    )


def test_a_plan_too_small_for_the_members_is_refused_before_any_payment(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "premium")
    with db.session() as session:
        for _ in range(2):
            user = make(session, User)
            make(
                session,
                Membership,
                workspace_id=acme.workspace_id,
                user_id=user.id,
                role=Role.editor,
            )

    response = client.post(CHECKOUT, json={"plan": "standard"}, headers=acme.headers())

    assert response.status_code == 409
    assert "2 seats" in response.json()["error"]["message"]
    assert fake.requests == []


def test_a_paid_renewal_invoice_starts_a_new_allowance_cycle(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    answer, _ = _subscribe(client, fake, acme, "standard")
    before = _wallet(db, acme.workspace_id).cycle_anchor

    renewal = fake.renew(fake.sessions[answer["id"]]["subscription"])

    assert _ack(renewal)["message"] == "standard renewed: a new allowance cycle started"
    wallet = _wallet(db, acme.workspace_id)
    assert wallet.plan_code == "standard"
    assert wallet.cycle_anchor > before
    assert _events(db)[-1].amount_cents == 19_900
    # The same invoice delivered again renews nothing.
    assert _ack(fake.send(renewal.event))["status"] == "duplicate"
    assert _wallet(db, acme.workspace_id).cycle_anchor == wallet.cycle_anchor


def test_a_subscription_for_a_price_no_plan_has_is_rejected(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    answer, _ = _subscribe(client, fake, acme, "standard")
    subscription = fake.subscriptions[fake.sessions[answer["id"]]["subscription"]]
    fake.price("price_mystery", 1)
    item = {**subscription["items"]["data"][0], "price": fake.prices["price_mystery"]}
    changed = {**subscription, "metadata": {}, "items": {**subscription["items"], "data": [item]}}

    ack = _ack(fake.send_event("customer.subscription.updated", changed))

    assert ack["status"] == "rejected"
    assert "price_mystery" in ack["message"]
    assert _wallet(db, acme.workspace_id).plan_code == "standard"


# --------------------------------------------------------------------------- bad input


def test_without_stripe_configured_checkout_and_webhooks_answer_503(
    client: TestClient, db: Database, acme: WorkspaceFixture
) -> None:
    response = client.post(CHECKOUT, json={"topup": "credits_1000"}, headers=acme.headers())
    assert response.status_code == 503
    assert response.json()["error"]["message"] == (
        "payments are not configured; ask the instance operator (socialpulse credits grant)"
    )
    payload = b'{"id": "evt_1", "type": "checkout.session.completed"}'
    webhook = client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": "t=1,v1=0"})
    assert webhook.status_code == 503
    assert _events(db) == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"topup": "credits_7"}, 422, "unknown top-up package 'credits_7'; known: credits_1000"),
        ({"plan": "platinum"}, 404, "unknown plan 'platinum'"),
        ({"topup": "credits_1000", "plan": "premium"}, 422, "exactly one"),
        ({}, 422, "exactly one"),
        ({"plan": "free"}, 422, "no paid subscription to cancel"),
    ],
    ids=["unknown-package", "unknown-plan", "both", "neither", "free-without-subscription"],
)
def test_bad_checkout_requests_are_refused_before_stripe_is_called(
    client: TestClient,
    fake: StripeFake,
    acme: WorkspaceFixture,
    body: dict[str, str],
    status: int,
    message: str,
) -> None:
    response = client.post(CHECKOUT, json=body, headers=acme.headers())
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert fake.requests == []


def test_a_plan_without_a_stripe_price_is_refused_with_the_operators_fix(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    _plan(db, acme.workspace_id, "free")
    with db.session() as session:
        plan = session.scalar(select(Plan).where(Plan.code == "standard"))
        assert plan is not None
        plan.stripe_price_id = None
    response = client.post(CHECKOUT, json={"plan": "standard"}, headers=acme.headers())
    assert response.status_code == 422
    assert "PUT /api/v1/admin/plans/standard" in response.json()["error"]["message"]
    assert fake.requests == []


def test_only_admins_and_owners_start_a_checkout(
    client: TestClient, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    response = client.post(
        CHECKOUT, json={"topup": "credits_1000"}, headers=acme.headers(Role.editor)
    )
    assert response.status_code == 403
    assert (
        client.post(
            CHECKOUT, json={"topup": "credits_1000"}, headers=acme.headers(Role.admin)
        ).status_code
        == 200
    )


def test_stripe_down_is_a_502_and_nothing_is_bought(
    client: TestClient, app: FastAPI, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    fake.fail_next(10)
    app.state.settings = app.state.settings.model_copy(update={"stripe_max_retries": 1})
    response = client.post(CHECKOUT, json={"topup": "credits_1000"}, headers=acme.headers())
    assert response.status_code == 502
    assert "Stripe refused checkout.create (500)" in response.json()["error"]["message"]
    assert fake.sessions == {}


# --------------------------------------------------------------------------- reads, tenancy


def test_the_payments_list_shows_only_the_callers_workspace(
    client: TestClient, db: Database, fake: StripeFake, acme: WorkspaceFixture
) -> None:
    other = make_workspace(db, "other")
    mine = _checkout(client, acme, topup="credits_1000")
    theirs = _checkout(client, other, topup="credits_2500")
    fake.pay(mine["id"])
    fake.pay(theirs["id"])

    page = client.get(PAYMENTS, headers=acme.headers(Role.viewer)).json()

    assert page["total"] == 1
    [item] = page["items"]
    assert (item["type"], item["status"], item["credits"], item["object_id"]) == (
        "checkout.session.completed",
        "fulfilled",
        1000,
        mine["id"],
    )
    own = client.get(f"{PAYMENTS}/{item['id']}", headers=acme.headers())
    assert own.status_code == 200 and own.json()["credits"] == 1000
    [their_item] = client.get(PAYMENTS, headers=other.headers()).json()["items"]
    assert their_item["credits"] == 2500
    leaked = client.get(f"{PAYMENTS}/{their_item['id']}", headers=acme.headers())
    assert leaked.status_code == 404


def test_an_event_type_socialpulse_does_not_use_is_stored_ignored(
    client: TestClient, db: Database, fake: StripeFake
) -> None:
    ack = _ack(fake.send_event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    assert ack["status"] == "ignored"
    assert "charge.refunded" in ack["message"]
    assert _wallet_count(db) == 0


def _wallet_count(db: Database) -> int:
    with db.session(readonly=True) as session:
        return len(session.scalars(select(Wallet)).all())
