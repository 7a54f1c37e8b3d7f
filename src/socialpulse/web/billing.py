"""The billing page: the workspace's plan, its allowances this cycle, the credit balance, the
ledger (filters, pages), top-up buttons that go to the payment provider's checkout, and the
spending of the last months as a chart. Every figure comes from ``billing.reports`` and
``billing.pricing`` (the ledger is the counter); what is computed here is only the shape the
template and Chart.js want."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from socialpulse.billing import payments
from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import reports as billing_reports
from socialpulse.billing.models import LedgerKind
from socialpulse.billing.payments_schemas import CheckoutCreate
from socialpulse.billing.schemas import LedgerEntryRead, TopupRead, WalletSummary
from socialpulse.config import Settings
from socialpulse.errors import AppError, InvalidInput
from socialpulse.kit.asgi import CONTENT_SECURITY_POLICY
from socialpulse.kit.routing import api_router
from socialpulse.web.credits import money
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.deps import DbSession, get_db
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

LEDGER_PAGE_SIZE = 25
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
SPENDING_MONTHS = 6
# What each plan allowance pays for, as the page names it.
ALLOWANCE_LABELS = {
    "profiles": "Profile unlocks",
    "emails": "Contact e-mail unlocks",
    "posts": "Post analytics",
}


def _date(value: str, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date such as 2026-12-01, not {value!r}") from exc


def _ledger_filters(
    kind: str, action: str, date_from: str, date_to: str, page: str, actions: list[str]
) -> dict[str, Any]:
    """The ledger's filters from the query string, each refused with a sentence naming it."""
    if kind and kind not in {k.value for k in LedgerKind}:
        known = ", ".join(k.value for k in LedgerKind)
        raise InvalidInput(f"unknown kind {kind!r}; known: {known}")
    if action and action not in actions:
        raise InvalidInput(f"unknown action {action!r}; known: {', '.join(actions)}")
    start, end = _date(date_from, "from"), _date(date_to, "to")
    if start and end and start > end:
        raise InvalidInput("the 'from' date is after the 'to' date")
    if page and (not page.isdigit() or not 1 <= int(page) <= 100_000):
        raise InvalidInput(f"page must be a whole number from 1, not {page!r}")
    return {
        "kind": LedgerKind(kind) if kind else None,
        "action": action or None,
        "date_from": start,
        "date_to": end,
        "page": int(page) if page else 1,
    }


def _allowance_bars(summary: WalletSummary) -> list[dict[str, Any]]:
    bars = []
    for usage in summary.allowances.allowances:
        used = usage.used + usage.held
        limit = usage.included
        bars.append(
            {
                "key": usage.allowance.value,
                "label": ALLOWANCE_LABELS.get(usage.allowance.value, usage.allowance.value),
                "used": used,
                "limit": limit,
                "remaining": usage.remaining,
                "percent": min(100.0, round(100 * used / limit, 1)) if limit else 0.0,
            }
        )
    return bars


def _topups(topups: list[TopupRead]) -> list[dict[str, Any]]:
    shown = []
    for t in topups:
        pays = t.discounted_price_cents if t.discounted_price_cents is not None else t.price_cents
        shown.append(
            {
                "code": t.code,
                "credits": t.credits,
                "price": money(pays),
                "list_price": money(t.price_cents) if pays != t.price_cents else None,
            }
        )
    return shown


def _ledger_rows(
    entries: list[LedgerEntryRead], names: dict[int, str], zone: ZoneInfo
) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        local = e.created_at.astimezone(zone)
        if e.actor_user_id is None:
            actor = (
                "instance operator"
                if e.kind in (LedgerKind.grant, LedgerKind.plan_change)
                else None
            )
        else:
            actor = names.get(e.actor_user_id, "former member")
        rows.append(
            {
                "created": local.strftime("%Y-%m-%d %H:%M"),
                "created_iso": e.created_at.isoformat(),
                "kind": e.kind.value.replace("_", " "),
                "action": e.action.replace("_", " ") if e.action else None,
                "funding": e.funding.value if e.funding.value != "none" else "–",
                "amount": e.amount,
                "balance_after": e.balance_after,
                "actor": actor,
                "description": e.description,
                "reference": e.reference,
            }
        )
    return rows


def _page_query(current: dict[str, str], page: int) -> dict[str, str]:
    return {k: v for k, v in current.items() if v} | ({"page": str(page)} if page > 1 else {})


def _billing_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    *,
    current: dict[str, str],
    topup_error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    context = layout(session, auth, "billing")
    workspace_id = subject.workspace_id
    summary = billing_reports.wallet_summary(session, workspace_id)
    actions = sorted(rule.action for rule in billing_pricing.list_rules(session))
    ledger_error = None
    try:
        filters = _ledger_filters(
            current["kind"],
            current["action"],
            current["from"],
            current["to"],
            current["page"],
            actions,
        )
    except InvalidInput as exc:
        ledger_error, status_code = exc.message, exc.status_code
        filters = _ledger_filters("", "", "", "", "", actions)
    zone = ZoneInfo(summary.allowances.timezone)
    start, end = filters["date_from"], filters["date_to"]
    # The form's days are the workspace's calendar days: from its first instant to the next
    # day's (the service's `until` is exclusive).
    ledger = billing_reports.transactions(
        session,
        workspace_id,
        page=filters["page"],
        page_size=LEDGER_PAGE_SIZE,
        kind=filters["kind"],
        action=filters["action"],
        since=dt.datetime.combine(start, dt.time(), zone) if start else None,
        until=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone) if end else None,
    )
    spending = billing_reports.spending(session, workspace_id, months=SPENDING_MONTHS)
    names = {user.id: user.email for _m, user in workspace_service.list_members(session, subject)}
    plan = summary.plan
    months = [
        {
            "label": dt.date.fromisoformat(f"{m.month}-01").strftime("%b %Y"),
            "credits": m.credits_spent,
            "added": m.credits_added,
            "units": m.units,
        }
        for m in spending.months
    ]
    last_page = max(1, -(-ledger.total // ledger.page_size))
    shown = {k: v for k, v in current.items() if k != "page"} if ledger_error is None else {}
    context |= {
        "plan": {
            "name": plan.name,
            "price": money(plan.price_cents),
            "seats": summary.seats,
            "discount": plan.topup_discount_pct,
        },
        "balance": summary.balance.balance,
        "cycle": {
            "start": summary.allowances.cycle_start.astimezone(zone).strftime("%Y-%m-%d"),
            "end": summary.allowances.cycle_end.astimezone(zone).strftime("%Y-%m-%d"),
        },
        "allowances": _allowance_bars(summary),
        "topups": _topups(summary.topups),
        "topup_error": topup_error,
        "can_buy": subject.role.at_least(Role.admin),
        "spending_months": SPENDING_MONTHS,
        "spending": months,
        "spending_chart": {
            "labels": [m["label"] for m in months],
            "datasets": [
                {
                    "label": "credits spent",
                    "data": [m["credits"] for m in months],
                    "backgroundColor": "rgba(79,70,229,0.55)",
                },
                {
                    "label": "credits added",
                    "data": [m["added"] for m in months],
                    "backgroundColor": "rgba(16,185,129,0.55)",
                },
            ],
        },
        "spending_summary": "Credits spent per month: "
        + ", ".join(f"{m['label']} {m['credits']}" for m in months),
        "kinds": [k.value for k in LedgerKind],
        "actions": actions,
        "lf": current,
        "filtered": any(current[k] for k in ("kind", "action", "from", "to")),
        "ledger": _ledger_rows(ledger.items, names, zone),
        "ledger_error": ledger_error,
        "pages": {
            "first": _page_query(shown, 1) if ledger.page > 2 else None,
            "prev": _page_query(shown, ledger.page - 1) if ledger.page > 1 else None,
            "next": _page_query(shown, ledger.page + 1) if ledger.page < last_page else None,
        },
    }
    response = render(request, "billing/index.html", context, status_code=status_code)
    response.headers["Content-Security-Policy"] = policy_with_checkout(request.app.state.settings)
    return response


def checkout_origin(settings: Settings) -> str | None:
    """Where the payment provider's hosted checkout lives: Stripe's own page for its API, else
    the configured API base's origin (a local fake or a Stripe mock serves its page there)."""
    if settings.stripe_secret_key is None:
        return None
    base = urlsplit(settings.stripe_api_base)
    if base.hostname == "api.stripe.com":
        return STRIPE_CHECKOUT_ORIGIN
    return f"{base.scheme}://{base.netloc}"


def policy_with_checkout(settings: Settings) -> str:
    """The site's policy with the checkout's origin added to form-action: a top-up form posts
    here and is redirected there, and Chromium applies form-action to that redirect too."""
    origin = checkout_origin(settings)
    if origin is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


@router.get("/billing", response_class=HTMLResponse)
def billing_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    kind: str = "",
    action: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    page: str = "",
    checkout: str = "",
) -> Response:
    if checkout == "success":
        # The provider's redirect comes back before or after its webhook: the balance shown
        # is the ledger's, which the webhook alone changes.
        flash(
            request,
            "Payment received: the credits appear as soon as the payment is confirmed.",
            "success",
        )
    elif checkout == "cancelled":
        flash(request, "Checkout cancelled: nothing was charged.", "info")
    current = {"kind": kind, "action": action, "from": date_from, "to": to, "page": page}
    return _billing_page(request, session, auth, current=current)


@router.post("/billing/topup", dependencies=[CsrfChecked])
def billing_topup(
    request: Request, session: DbSession, auth: WebAuth, code: Annotated[str, Form()]
) -> Response:
    """Sends the payer to the provider's hosted checkout, as ``POST /api/v1/billing/checkout``
    does: priced in a unit of work of its own, the provider called after it committed. The
    credits arrive with the provider's webhook, which alone writes the ledger row."""
    subject, _ = auth
    settings: Settings = request.app.state.settings
    try:
        subject.require(Role.admin)
        body = CheckoutCreate(topup=code or None)
        provider = payments.provider_for(settings)
        with get_db(request).session() as unit:
            prepared = payments.prepare_checkout(
                unit, subject.workspace_id, body, base_url=settings.base_url
            )
        checkout = payments.start_checkout(provider, prepared)
    except ValidationError:
        return _topup_refused(request, session, auth, "choose one of the top-up packages", 422)
    except AppError as exc:
        return _topup_refused(request, session, auth, exc.message, exc.status_code)
    if checkout.url is None:  # pragma: no cover - a top-up is always a hosted checkout
        return _topup_refused(request, session, auth, "the payment provider gave no page", 502)
    return RedirectResponse(checkout.url, status_code=303)


def _topup_refused(
    request: Request, session: DbSession, auth: WebAuth, message: str, status_code: int
) -> Response:
    empty = {"kind": "", "action": "", "from": "", "to": "", "page": ""}
    return _billing_page(
        request, session, auth, current=empty, topup_error=message, status_code=status_code
    )
