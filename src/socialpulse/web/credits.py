"""What the dashboard's priced pages share: the credit gate of a dashboard form, prices and
amounts as the pages say them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request

from socialpulse.billing import gate
from socialpulse.billing.schemas import Quote
from socialpulse.errors import InvalidInput
from socialpulse.web.security import WebAuth
from socialpulse.workspaces.deps import DbSession, get_db


async def _deferred_releases(request: Request) -> AsyncIterator[list[int]]:
    # As the API's gate does: a hold the page did not settle is released after the page's own
    # transaction ended (scope "request"), never while it may hold the locks a release needs.
    held: list[int] = []
    yield held
    if held:
        await anyio.to_thread.run_sync(
            gate.release_unsettled, get_db(request), held, "the page ended without charging"
        )


def _web_credit_gate(
    request: Request,
    auth: WebAuth,
    session: DbSession,
    deferred: Annotated[list[int], Depends(_deferred_releases, scope="request")],
) -> gate.CreditGate:
    """The credit gate of a dashboard form: the logged-in member spends (the API's gate
    authenticates API keys, and cookies only for reads). A form may carry an idempotency key
    of its own (``idempotency_key``), so a double submission is charged once."""
    return gate.CreditGate(get_db(request), auth[0], None, deferred, session)


WebCredits = Annotated[gate.CreditGate, Depends(_web_credit_gate)]


def form_key(gate_: gate.CreditGate, key: str) -> None:
    """Use the form's idempotency key (a random token the page rendered) for this spend."""
    if key:
        if len(key) > 200 or not key.isascii():
            raise InvalidInput("the form's idempotency key is not valid; reload the page")
        gate_.idempotency_key = key


def money(cents: int | None, currency: str = "USD") -> str:
    """Cents as a person reads an amount: "$1,250.00", "€40.00", "12.50 GBP"."""
    if cents is None:
        return "–"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency.upper())
    amount = f"{cents / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def price_text(quote: Quote) -> str:
    """What an action will take, as the confirm step says it."""
    if quote.funding.value == "free":
        return f"free ({quote.free_remaining} free this month)"
    if quote.funding.value == "allowance":
        left = quote.allowance_remaining
        return f"1 from your plan's allowance ({left:,} left this cycle), 0 credits"
    return f"{quote.credits:,} credits"
