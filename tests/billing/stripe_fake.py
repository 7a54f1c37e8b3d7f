"""A local fake of the part of Stripe socialpulse talks to, for tests (API and browser).

It is a real HTTP server (threaded, on 127.0.0.1 and a free port) that the `stripe` library
reaches through ``SOCIALPULSE_STRIPE_API_BASE``; nothing is mocked inside the app. It speaks:

* ``POST /v1/checkout/sessions`` (form-encoded, as the library sends it) → a Checkout Session
  object (https://docs.stripe.com/api/checkout/sessions/object), whose ``url`` is the fake's
  hosted checkout page; ``GET /v1/checkout/sessions/{id}``;
* ``GET /v1/subscriptions/{id}``, ``POST /v1/subscriptions/{id}`` (update: a new price on the
  item, https://docs.stripe.com/api/subscriptions/update) and ``DELETE /v1/subscriptions/{id}``
  (cancel), each followed by the webhook Stripe sends (``customer.subscription.updated`` /
  ``.deleted``, sent after the answer, as Stripe does: ``wait_for_webhooks()``);
* ``GET /checkout/{id}``: the hosted checkout page, an HTML form with a "Pay" button; posting it
  (``POST /checkout/{id}/pay``) completes the session, sends the signed webhooks Stripe sends
  (``checkout.session.completed``; for a subscription also ``customer.subscription.created``
  and ``invoice.paid``) and answers 303 to the session's ``success_url``.

Wrong API keys get Stripe's 401 error shape, unknown ids its 404 ``resource_missing``, and
``fail_next(n)`` makes the next n API calls answer 500 (the client's bounded retries).

Webhooks are signed exactly as Stripe signs them (``Stripe-Signature: t=<unix>,v1=<hex
HMAC-SHA256(secret, f"{t}.{payload}")>``, https://docs.stripe.com/webhooks#verify-manually) and
sent to ``webhook_url`` (a live server's ``.../api/v1/billing/webhooks/stripe``) or handed to
``deliver`` (a callable, e.g. a ``TestClient`` post) when set.

Use (in-process app: ``tests/billing/test_payments_api.py``'s ``fake`` fixture)::

    with StripeFake() as fake:
        fake.price_plans(db)    # standard/premium priced here, their stripe_price_id set
        app.state.settings = settings.model_copy(update=fake.settings())  # key, secret, base
        egress.set_policy(egress.parse_allow("127.0.0.1"))   # the app may reach loopback
        fake.deliver = post_to_app   # (payload, headers) -> (status, body), e.g. TestClient.post

or with a live server (browser tests)::

    with StripeFake() as fake, live_server(database_url, data_dir, **fake.env()) as base:
        fake.price_plans(db)
        fake.webhook_url = f"{base}/api/v1/billing/webhooks/stripe"
        # the page's top-up button -> POST /api/v1/billing/checkout -> {"url": fake's page};
        # the browser opens it and clicks "Pay": the webhook credits the workspace, then the
        # browser lands on <base>/billing?checkout=success&session_id=cs_test_...
        ...                     # the app creates a checkout; the browser opens its url, clicks Pay
        fake.requests           # every API request: Recorded(method, path, params)
        fake.deliveries         # every webhook sent: Delivery(event, status, body)
        fake.pay(session_id)    # what the Pay button does, without a browser
        fake.send_event("customer.subscription.deleted", subscription)  # any signed event
        fake.renew(subscription_id)   # a new billing cycle: invoice.paid (subscription_cycle)

Objects carry the fields socialpulse reads plus the documented ones around them; ``created``
and ids look like Stripe's (``cs_test_...``, ``sub_...``, ``evt_...``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from socialpulse.db import Database

API_KEY = "sk_test_socialpulse_fake"
WEBHOOK_SECRET = "whsec_socialpulse_fake_signing_secret"
API_VERSION = "2026-10-28.endive"


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.{text}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price_data][unit_amount]=4000``) as nested
    dicts and lists, the shape of the JSON the same call would carry."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            child: Any = value if last else ([] if following.isdigit() else {})  # type: ignore[union-attr]
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if node[position] is None or last:
                    node[position] = child
                node = node[position]
            else:
                if part not in node or last:
                    node[part] = child
                node = node[part]
    return root


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Delivery:
    event: dict[str, Any]
    status: int
    body: str
    # The exact request sent: posting it again is a replay of a captured delivery.
    payload: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StripeFake:
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    webhook_url: str | None = None
    # When set, webhooks go to this callable (payload, headers) -> (status, body) instead.
    deliver: Callable[[bytes, dict[str, str]], tuple[int, str]] | None = None
    requests: list[Recorded] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    _failures: list[int] = field(default_factory=list)
    _pending: list[threading.Thread] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> StripeFake:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None, "use StripeFake as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings(self) -> dict[str, Any]:
        """Settings overrides that point socialpulse at this fake (Settings.model_copy)."""
        from pydantic import SecretStr

        return {
            "stripe_secret_key": SecretStr(self.api_key),
            "stripe_webhook_secret": SecretStr(self.webhook_secret),
            "stripe_api_base": self.url,
        }

    def env(self) -> dict[str, str]:
        """Environment of a live ``socialpulse serve`` that pays here:
        ``live_server(database_url, data_dir, **fake.env())`` (loopback egress allowed)."""
        return {
            "SOCIALPULSE_STRIPE_SECRET_KEY": self.api_key,
            "SOCIALPULSE_STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "SOCIALPULSE_STRIPE_API_BASE": self.url,
            "SOCIALPULSE_EGRESS_ALLOW": "127.0.0.1",
        }

    def price_plans(self, db: Database) -> None:
        """Price the paid plans here (standard $199, premium $499 a month, as seeded) and name
        the prices on the plans, as an operator does with PUT /api/v1/admin/plans/{code}."""
        from sqlalchemy import select

        from socialpulse.billing.models import Plan

        with db.session() as session:
            for plan in session.scalars(select(Plan).where(Plan.price_cents > 0)):
                price_id = f"price_{plan.code}"
                self.price(price_id, plan.price_cents)
                plan.stripe_price_id = price_id

    # ------------------------------------------------------------------ test controls

    def price(self, price_id: str, unit_amount: int, currency: str = "usd") -> dict[str, Any]:
        """A recurring monthly price, as a plan's ``stripe_price_id`` names it."""
        price = {
            "id": price_id,
            "object": "price",
            "active": True,
            "currency": currency,
            "unit_amount": unit_amount,
            "type": "recurring",
            "recurring": {"interval": "month", "interval_count": 1},
            "livemode": False,
        }
        self.prices[price_id] = price
        return price

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """The next ``count`` API calls answer ``status`` with Stripe's api_error shape."""
        self._failures.extend([status] * count)

    def api_calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{int(time.time() * 1000) % 10**8:08d}"

    def event(
        self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An Event object (https://docs.stripe.com/api/events/object) around ``obj``."""
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        return {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }

    def signed(
        self, event: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the webhook request Stripe would send for ``event``."""
        payload = json.dumps(event, indent=2).encode()
        header = sign(payload, secret or self.webhook_secret, timestamp)
        return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}

    def post_webhook(self, payload: bytes, headers: dict[str, str]) -> tuple[int, str]:
        if self.deliver is not None:
            return self.deliver(payload, headers)
        if self.webhook_url is None:
            raise RuntimeError("StripeFake has neither webhook_url nor deliver set")
        response = httpx.post(self.webhook_url, content=payload, headers=headers, timeout=30)
        return response.status_code, response.text

    def send(self, event: dict[str, Any], **signing: Any) -> Delivery:
        payload, headers = self.signed(event, **signing)
        status, body = self.post_webhook(payload, headers)
        delivery = Delivery(event, status, body, payload, headers)
        self.deliveries.append(delivery)
        return delivery

    def send_event(
        self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> Delivery:
        return self.send(self.event(type_, obj, previous))

    # ------------------------------------------------------------------ Stripe's behaviour

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = params.get("mode")
        if mode not in ("payment", "subscription"):
            raise _StripeError(400, "invalid_request_error", "Invalid mode", param="mode")
        items = params.get("line_items") or []
        if not items:
            raise _StripeError(400, "invalid_request_error", "Missing line_items", "line_items")
        total = 0
        currency = "usd"
        for item in items:
            quantity = int(item.get("quantity", 1))
            if "price" in item:
                price = self.prices.get(item["price"])
                if price is None:
                    raise _StripeError(
                        400,
                        "invalid_request_error",
                        f"No such price: '{item['price']}'",
                        param="line_items[0][price]",
                        code="resource_missing",
                    )
                total += int(price["unit_amount"]) * quantity
                currency = price["currency"]
            else:
                data = item.get("price_data") or {}
                total += int(data.get("unit_amount", 0)) * quantity
                currency = data.get("currency", currency)
        session_id = self.new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": int(time.time()),
            "currency": currency,
            "customer": params.get("customer"),
            "customer_email": params.get("customer_email"),
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": params.get("success_url"),
            "url": f"{self.url}/checkout/{session_id}",
            # Kept for the Pay button; not part of Stripe's object.
            "_line_items": items,
            "_subscription_data": params.get("subscription_data") or {},
        }
        self.sessions[session_id] = session
        return session

    def pay(self, session_id: str) -> list[Delivery]:
        """Complete the session as a customer paying on the hosted page would, and send the
        webhooks Stripe sends for it (in Stripe's usual order)."""
        with self._lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                raise _StripeError(400, "invalid_request_error", "This session is not open")
            session["status"] = "complete"
            session["payment_status"] = "paid"
            session["customer"] = session["customer"] or self.new_id("cus")
            subscription = None
            if session["mode"] == "payment":
                session["payment_intent"] = self.new_id("pi")
            else:
                subscription = self._start_subscription(session)
                session["subscription"] = subscription["id"]
        deliveries = [self.send_event("checkout.session.completed", _public(session))]
        if subscription is not None:
            deliveries.append(self.send_event("customer.subscription.created", subscription))
            deliveries.append(
                self.send_event("invoice.paid", self._invoice(subscription, "subscription_create"))
            )
        return deliveries

    def _start_subscription(self, session: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        item = session["_line_items"][0]
        subscription_id = self.new_id("sub")
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "cancel_at_period_end": False,
            "canceled_at": None,
            "created": now,
            "currency": self.prices[item["price"]]["currency"],
            "customer": session["customer"],
            "ended_at": None,
            "items": {
                "object": "list",
                "data": [self._item(subscription_id, item["price"], now)],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
            "livemode": False,
            "metadata": dict(session["_subscription_data"].get("metadata") or {}),
            "start_date": now,
            "status": "active",
        }
        self.subscriptions[subscription_id] = subscription
        return subscription

    def _item(self, subscription_id: str, price_id: str, start: int) -> dict[str, Any]:
        return {
            "id": self.new_id("si"),
            "object": "subscription_item",
            "current_period_start": start,
            "current_period_end": start + 30 * 24 * 3600,
            "price": self.prices[price_id],
            "quantity": 1,
            "subscription": subscription_id,
        }

    def _invoice(self, subscription: dict[str, Any], reason: str) -> dict[str, Any]:
        item = subscription["items"]["data"][0]
        return {
            "id": self.new_id("in"),
            "object": "invoice",
            "amount_due": item["price"]["unit_amount"],
            "amount_paid": item["price"]["unit_amount"],
            "billing_reason": reason,
            "currency": item["price"]["currency"],
            "customer": subscription["customer"],
            "livemode": False,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": subscription["metadata"],
                    "subscription": subscription["id"],
                },
            },
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "status": "paid",
        }

    def update_subscription(self, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
        subscription = self._subscription(subscription_id)
        previous: dict[str, Any] = {}
        for change in params.get("items") or []:
            item = next(
                (i for i in subscription["items"]["data"] if i["id"] == change.get("id")), None
            )
            if item is None:
                raise _StripeError(
                    400,
                    "invalid_request_error",
                    f"No such subscription item: '{change.get('id')}'",
                    param="items[0][id]",
                    code="resource_missing",
                )
            if change.get("price") not in self.prices:
                raise _StripeError(
                    400,
                    "invalid_request_error",
                    f"No such price: '{change.get('price')}'",
                    param="items[0][price]",
                    code="resource_missing",
                )
            previous = {"items": json.loads(json.dumps(subscription["items"]))}
            item["price"] = self.prices[change["price"]]
        if "metadata" in params:
            subscription["metadata"].update(params["metadata"])
        if previous:
            self._send_later(self.event("customer.subscription.updated", subscription, previous))
        return subscription

    def cancel_subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = self._subscription(subscription_id)
        now = int(time.time())
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        self._send_later(self.event("customer.subscription.deleted", subscription))
        return subscription

    def _send_later(self, event: dict[str, Any]) -> None:
        # Stripe sends the webhooks of an API call after answering it, not during it: the
        # caller may still hold what the webhook's handling needs.
        snapshot = json.loads(json.dumps(event))
        thread = threading.Thread(target=self.send, args=(snapshot,), daemon=True)
        self._pending.append(thread)
        thread.start()

    def wait_for_webhooks(self, timeout: float = 30) -> list[Delivery]:
        """Wait until the webhooks of earlier API calls were delivered; returns all so far."""
        while self._pending:
            self._pending.pop(0).join(timeout)
        return self.deliveries

    def renew(self, subscription_id: str) -> Delivery:
        """A new billing period starts and its invoice is paid: ``invoice.paid`` with
        billing_reason ``subscription_cycle``."""
        subscription = self._subscription(subscription_id)
        item = subscription["items"]["data"][0]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] += 30 * 24 * 3600
        return self.send_event("invoice.paid", self._invoice(subscription, "subscription_cycle"))

    def _subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise _StripeError(
                404,
                "invalid_request_error",
                f"No such subscription: '{subscription_id}'",
                param="id",
                code="resource_missing",
            )
        return subscription


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}


class _StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, "param": param, "code": code}}


_CHECKOUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake Stripe Checkout</title></head>
<body><main>
<h1>Pay {amount}</h1>
<p>{description}</p>
<form method="post" action="/checkout/{id}/pay">
<button type="submit">Pay</button>
</form>
<p><a href="{cancel}">Cancel</a></p>
</main></body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    owner: StripeFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        return  # quiet: pytest shows failures, not every request

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", f"req_{int(time.time() * 1000)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        try:
            if path.startswith("/checkout/"):
                self._hosted(method, path)
                return
            self._api(method, path, body)
        except _StripeError as exc:
            self._json(exc.status, exc.body)

    def _hosted(self, method: str, path: str) -> None:
        fake = self.owner
        match = re.fullmatch(r"/checkout/([A-Za-z0-9_]+)(/pay)?", path)
        session = fake.sessions.get(match.group(1)) if match else None
        if match is None or session is None:
            self._send(404, b"no such checkout session", "text/plain")
            return
        if method == "GET" and not match.group(2):
            description = ", ".join(
                str((item.get("price_data") or {}).get("product_data", {}).get("name") or "")
                or str(item.get("price") or "")
                for item in session["_line_items"]
            )
            page = _CHECKOUT_PAGE.format(
                amount=html.escape(f"${session['amount_total'] / 100:,.2f}"),
                description=html.escape(description),
                id=html.escape(session["id"]),
                cancel=html.escape(str(session["cancel_url"] or "/")),
            )
            self._send(200, page.encode(), "text/html; charset=utf-8")
            return
        if method == "POST" and match.group(2):
            fake.pay(session["id"])
            target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
            self._send(303, b"", "text/plain", {"Location": target})
            return
        self._send(405, b"method not allowed", "text/plain")

    def _api(self, method: str, path: str, body: str) -> None:
        fake = self.owner
        params = decode_form(body) if body else dict(parse_qsl(urlsplit(self.path).query))
        fake.requests.append(Recorded(method, path, params, dict(self.headers.items())))
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            raise _StripeError(
                401,
                "invalid_request_error",
                "Invalid API Key provided: "
                + (self.headers.get("Authorization", "")[-4:] or "(none)"),
            )
        with fake._lock:
            if fake._failures:
                status = fake._failures.pop(0)
                raise _StripeError(status, "api_error", "Something went wrong on Stripe's end.")
            if method == "POST" and path == "/v1/checkout/sessions":
                self._json(200, _public(fake.create_session(params)))
                return
            match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", path)
            if method == "GET" and match:
                session = fake.sessions.get(match.group(1))
                if session is None:
                    raise _StripeError(
                        404, "invalid_request_error", "No such checkout.session", "id"
                    )
                self._json(200, _public(session))
                return
            match = re.fullmatch(r"/v1/subscriptions/([A-Za-z0-9_]+)", path)
            if match and method == "GET":
                self._json(200, fake._subscription(match.group(1)))
                return
        # Outside the lock: these send webhooks, whose handling may call back into the fake.
        if match and method == "POST":
            self._json(200, fake.update_subscription(match.group(1), params))
            return
        if match and method == "DELETE":
            self._json(200, fake.cancel_subscription(match.group(1)))
            return
        raise _StripeError(404, "invalid_request_error", f"Unrecognized request URL ({path}).")


__all__ = [
    "API_KEY",
    "WEBHOOK_SECRET",
    "Delivery",
    "Recorded",
    "StripeFake",
    "decode_form",
    "sign",
]
