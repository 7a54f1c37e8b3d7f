"""What the dashboard's export forms share: the offer shown before the button (the price of
``bulk_export`` and the balance) and the download, charged once it is built."""

from __future__ import annotations

import secrets
from typing import Any, Literal, cast

from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialpulse.billing import usage as billing_usage
from socialpulse.billing.gate import CreditGate
from socialpulse.creators import exports as exports_service
from socialpulse.creators import exports_api
from socialpulse.errors import InvalidInput
from socialpulse.web.credits import form_key, price_text

EXPORT_ACTION = "bulk_export"


def export_offer(session: Session, workspace_id: int) -> dict[str, Any]:
    """The page context `_export_offer.html` reads."""
    quote = billing_usage.quote(session, workspace_id, EXPORT_ACTION)
    return {
        "export_quote": quote,
        "export_price": price_text(quote),
        "export_key": secrets.token_urlsafe(16),
    }


def file_format(fmt: str) -> Literal["csv", "json"]:
    if fmt not in ("csv", "json"):
        raise InvalidInput(f"unknown export format {fmt[:20]!r}: choose CSV or JSON")
    return cast(Literal["csv", "json"], fmt)


def priced_download(
    session: Session,
    credits: CreditGate,
    export: exports_service.Export,
    fmt: Literal["csv", "json"],
    idempotency_key: str,
) -> Response:
    """The file, charged in `session`'s transaction as the page said; an empty export is free
    and a double submission (the form's key) is charged once."""
    if not export.rows:
        return exports_api.download(export, fmt)
    form_key(credits, idempotency_key)
    with credits.spend(EXPORT_ACTION, reference=f"{export.source}.{fmt}") as hold:
        response = exports_api.download(export, fmt)
        hold.settle(session)
    return response
