"""Lists and campaigns pages: saved creator lists (create, rename, add from discovery, remove,
delete) and campaigns (create, edit, creators with their fees, other costs, and the analysis,
whose price and the balance are shown before it is run). Views call ``creators.lists``,
``creators.campaigns`` and ``creators.campaign_analysis``; another workspace's list or
campaign is a 404 there."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from socialpulse.billing import usage as billing_usage
from socialpulse.creators import campaign_analysis as analysis_service
from socialpulse.creators import campaigns as campaigns_service
from socialpulse.creators import directory
from socialpulse.creators import exports as exports_service
from socialpulse.creators import lists as lists_service
from socialpulse.creators.campaigns_schemas import (
    CampaignAnalysis,
    CampaignCostIn,
    CampaignCreate,
    CampaignCreatorIn,
    CampaignUpdate,
)
from socialpulse.creators.lists_schemas import (
    CreatorListCreate,
    CreatorListUpdate,
    ListItemsAdd,
)
from socialpulse.creators.models import CampaignStatus
from socialpulse.errors import AppError, InvalidInput
from socialpulse.kit.routing import api_router
from socialpulse.web.credits import WebCredits, form_key, money, price_text
from socialpulse.web.exports import export_offer, file_format, priced_download
from socialpulse.web.pages import flash, layout, render, templates
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

PAGE_SIZE = 50
ANALYSIS_ACTION = "campaign_analysis"
MAX_CENTS = 10**15
M = TypeVar("M", bound=BaseModel)


def money_f(cents: float | None, currency: str = "USD") -> str:
    """A derived amount in cents that may have a fraction (a cost per engagement)."""
    return (
        "–" if cents is None else money(round(cents), currency) if cents >= 1 else f"{cents:.2f} ¢"
    )


templates.env.globals["money"] = money
templates.env.globals["money_f"] = money_f


def _validated(model: type[M], **values: Any) -> M:
    """A schema of the domain from form values; its first complaint as a sentence."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "form"
        raise InvalidInput(f"{field.replace('_', ' ')}: {first['msg']}") from exc


def _cents(raw: str, name: str, *, required: bool = False) -> int | None:
    """ "1,250.50" → 125050; more than two decimals, a sign or letters are refused."""
    text = raw.strip().replace(",", "")
    if not text:
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        raise InvalidInput(f"{name} must be an amount such as 1250.00, not {raw!r}")
    try:
        cents = int(Decimal(text) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise InvalidInput(f"{name} must be an amount such as 1250.00") from exc
    if cents > MAX_CENTS:
        raise InvalidInput(f"{name} is too large")
    return cents


def _day(raw: str, name: str, *, required: bool = True) -> dt.date | None:
    if not raw.strip():
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date such as 2026-12-01, not {raw!r}") from exc


def _page_number(raw: str) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise InvalidInput(f"page must be a whole number from 1, not {raw!r}")
    return int(raw)


def _pages(page: int, total: int) -> dict[str, Any]:
    last = max(1, -(-total // PAGE_SIZE))
    return {
        "first": {} if page > 2 else None,
        "prev": ({"page": str(page - 1)} if page > 2 else {}) if page > 1 else None,
        "next": {"page": str(page + 1)} if page < last else None,
    }


def _local_back(target: str, default: str) -> str:
    ok = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if ok else default


# --- lists -----------------------------------------------------------------------------------


def _lists_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    found = lists_service.list_lists(
        session, subject.workspace_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    context = layout(session, auth, "lists") | {
        "lists": found.items,
        "total": found.total,
        "pages": _pages(page, found.total),
        "form": form or {"name": "", "description": ""},
        "error": error,
    }
    return render(request, "lists/index.html", context, status_code=status_code)


@router.get("/lists", response_class=HTMLResponse)
def lists_page(request: Request, session: DbSession, auth: WebAuth, page: str = "") -> Response:
    return _lists_page(request, session, auth, page=_page_number(page))


@router.post("/lists", response_class=HTMLResponse, dependencies=[CsrfChecked])
def list_create(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    subject, user = auth
    subject.require(Role.editor)
    try:
        data = _validated(CreatorListCreate, name=name, description=description)
        created = lists_service.create_list(session, subject.workspace_id, data, user_id=user.id)
    except AppError as exc:
        session.rollback()
        form = {"name": name, "description": description}
        return _lists_page(
            request, session, auth, form=form, error=exc.message, status_code=exc.status_code
        )
    flash(request, f"List {created.name} created.", "success")
    return RedirectResponse(f"/lists/{created.id}", status_code=303)


# Before /lists/{list_id}: the router tries routes in order.
@router.post("/lists/add", dependencies=[CsrfChecked])
def list_add_creator(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    list_id: Annotated[int, Form()],
    creator_id: Annotated[int, Form()],
    back: Annotated[str, Form()] = "",
) -> Response:
    """The discovery card's "Save to list": back to the same results page."""
    subject, user = auth
    subject.require(Role.editor)
    data = _validated(ListItemsAdd, creator_ids=[creator_id])
    lst = lists_service.read_list(session, subject.workspace_id, list_id)
    added = lists_service.add_creators(
        session, subject.workspace_id, list_id, data, user_id=user.id
    )
    message = f"Saved to {lst.name}." if added.added else f"Already on {lst.name}: nothing changed."
    flash(request, message, "success")
    return RedirectResponse(_local_back(back, f"/lists/{list_id}"), status_code=303)


def _list_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    list_id: int,
    *,
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    lst = lists_service.read_list(session, subject.workspace_id, list_id)
    items = lists_service.list_items(
        session, subject.workspace_id, list_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    context = (
        layout(session, auth, "lists")
        | export_offer(session, subject.workspace_id)
        | {
            "lst": lst,
            "items": items.items,
            "total": items.total,
            "pages": _pages(page, items.total),
            "error": error,
        }
    )
    return render(request, "lists/detail.html", context, status_code=status_code)


@router.get("/lists/{list_id}", response_class=HTMLResponse)
def list_page(
    request: Request, session: DbSession, auth: WebAuth, list_id: int, page: str = ""
) -> Response:
    return _list_page(request, session, auth, list_id, page=_page_number(page))


@router.post("/lists/{list_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def list_update(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    list_id: int,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    try:
        data = _validated(CreatorListUpdate, name=name, description=description)
        lists_service.update_list(session, subject.workspace_id, list_id, data)
    except AppError as exc:
        session.rollback()
        return _list_page(
            request, session, auth, list_id, error=exc.message, status_code=exc.status_code
        )
    flash(request, "List saved.", "success")
    return RedirectResponse(f"/lists/{list_id}", status_code=303)


@router.post("/lists/{list_id}/export", dependencies=[CsrfChecked])
def list_export(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    credits: WebCredits,
    list_id: int,
    fmt: Annotated[str, Form()] = "csv",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """The list as a CSV or JSON download, charged as the page said (``bulk_export``); an empty
    list downloads free, a double submission is charged once."""
    subject, _ = auth
    subject.require(Role.editor)
    try:
        chosen = file_format(fmt)
        export = exports_service.list_export(session, subject.workspace_id, list_id)
        return priced_download(session, credits, export, chosen, idempotency_key)
    except AppError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise
        return _list_page(
            request, session, auth, list_id, error=exc.message, status_code=exc.status_code
        )


@router.post("/lists/{list_id}/delete", dependencies=[CsrfChecked])
def list_delete(request: Request, session: DbSession, auth: WebAuth, list_id: int) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    lst = lists_service.read_list(session, subject.workspace_id, list_id)
    lists_service.delete_list(session, subject.workspace_id, list_id)
    flash(request, f"List {lst.name} deleted.", "success")
    return RedirectResponse("/lists", status_code=303)


@router.post("/lists/{list_id}/items/{creator_id}/remove", dependencies=[CsrfChecked])
def list_remove_creator(
    request: Request, session: DbSession, auth: WebAuth, list_id: int, creator_id: int
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    lists_service.remove_creator(session, subject.workspace_id, list_id, creator_id)
    flash(request, "Removed from the list.", "success")
    return RedirectResponse(f"/lists/{list_id}", status_code=303)


# --- campaigns -------------------------------------------------------------------------------

STATUSES = [s.value for s in CampaignStatus]
EMPTY_CAMPAIGN = {
    "name": "",
    "description": "",
    "starts_on": "",
    "ends_on": "",
    "budget": "",
    "currency": "USD",
    "status": "draft",
}


def _campaign_values(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the campaign schema's; amounts in cents, dates as dates."""
    if form["status"] not in STATUSES:
        raise InvalidInput(f"unknown status {form['status']!r}; known: {', '.join(STATUSES)}")
    return {
        "name": form["name"],
        "description": form["description"],
        "starts_on": _day(form["starts_on"], "first day"),
        "ends_on": _day(form["ends_on"], "last day"),
        "budget_cents": _cents(form["budget"], "budget"),
        "currency": form["currency"].strip().upper(),
        "status": form["status"],
    }


def _campaigns_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    found = campaigns_service.list_campaigns(
        session, subject.workspace_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    context = layout(session, auth, "campaigns") | {
        "campaigns": found.items,
        "total": found.total,
        "pages": _pages(page, found.total),
        "form": form or EMPTY_CAMPAIGN,
        "statuses": STATUSES,
        "error": error,
    }
    return render(request, "lists/campaigns.html", context, status_code=status_code)


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, session: DbSession, auth: WebAuth, page: str = "") -> Response:
    return _campaigns_page(request, session, auth, page=_page_number(page))


def _campaign_form(
    name: str,
    description: str,
    starts_on: str,
    ends_on: str,
    budget: str,
    currency: str,
    status: str,
) -> dict[str, str]:
    return {
        "name": name,
        "description": description,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "budget": budget,
        "currency": currency,
        "status": status,
    }


@router.post("/campaigns", response_class=HTMLResponse, dependencies=[CsrfChecked])
def campaign_create(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
    budget: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "USD",
    status: Annotated[str, Form()] = "draft",
) -> Response:
    subject, user = auth
    subject.require(Role.editor)
    form = _campaign_form(name, description, starts_on, ends_on, budget, currency, status)
    try:
        data = _validated(CampaignCreate, **_campaign_values(form))
        created = campaigns_service.create_campaign(
            session, subject.workspace_id, data, user_id=user.id
        )
    except AppError as exc:
        session.rollback()
        return _campaigns_page(
            request, session, auth, form=form, error=exc.message, status_code=exc.status_code
        )
    flash(request, f"Campaign {created.name} created.", "success")
    return RedirectResponse(f"/campaigns/{created.id}", status_code=303)


def _campaign_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    campaign_id: int,
    *,
    analysis: CampaignAnalysis | None = None,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    camp = campaigns_service.read_campaign(session, subject.workspace_id, campaign_id)
    quote = billing_usage.quote(session, subject.workspace_id, ANALYSIS_ACTION)
    taking_part = {c.creator_id for c in camp.creators}
    unlocked, _total = directory.workspace_creators(session, subject.workspace_id, limit=500)
    shown = form or {
        "name": camp.name,
        "description": camp.description,
        "starts_on": camp.starts_on.isoformat(),
        "ends_on": camp.ends_on.isoformat(),
        "budget": f"{camp.budget_cents / 100:.2f}" if camp.budget_cents is not None else "",
        "currency": camp.currency,
        "status": camp.status.value,
    }
    context = layout(session, auth, "campaigns") | {
        "camp": camp,
        "analysis": analysis,
        "quote": quote,
        "analysis_price": price_text(quote),
        "idempotency_key": secrets.token_urlsafe(18),
        "candidates": [c for c in unlocked if c.id not in taking_part],
        "form": shown,
        "statuses": STATUSES,
        "error": error,
    }
    return render(request, "lists/campaign.html", context, status_code=status_code)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, session: DbSession, auth: WebAuth, campaign_id: int
) -> Response:
    return _campaign_page(request, session, auth, campaign_id)


@router.post("/campaigns/{campaign_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def campaign_update(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    campaign_id: int,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
    budget: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "USD",
    status: Annotated[str, Form()] = "draft",
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    form = _campaign_form(name, description, starts_on, ends_on, budget, currency, status)
    try:
        data = _validated(CampaignUpdate, **_campaign_values(form))
        campaigns_service.update_campaign(session, subject.workspace_id, campaign_id, data)
    except AppError as exc:
        session.rollback()
        return _campaign_page(
            request,
            session,
            auth,
            campaign_id,
            form=form,
            error=exc.message,
            status_code=exc.status_code,
        )
    flash(request, "Campaign saved.", "success")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post(
    "/campaigns/{campaign_id}/creators", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
def campaign_add_creator(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    campaign_id: int,
    creator_id: Annotated[int, Form()],
    fee: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    try:
        data = _validated(
            CampaignCreatorIn, creator_id=creator_id, fee_cents=_cents(fee, "fee") or 0
        )
        campaigns_service.add_creator(session, subject.workspace_id, campaign_id, data)
    except AppError as exc:
        session.rollback()
        return _campaign_page(
            request, session, auth, campaign_id, error=exc.message, status_code=exc.status_code
        )
    flash(request, "Creator added.", "success")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/creators/{creator_id}/remove", dependencies=[CsrfChecked])
def campaign_remove_creator(
    request: Request, session: DbSession, auth: WebAuth, campaign_id: int, creator_id: int
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    campaigns_service.remove_creator(session, subject.workspace_id, campaign_id, creator_id)
    flash(request, "Creator removed from the campaign.", "success")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post(
    "/campaigns/{campaign_id}/costs", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
def campaign_add_cost(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    campaign_id: int,
    label: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    incurred_on: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    try:
        data = _validated(
            CampaignCostIn,
            label=label,
            amount_cents=_cents(amount, "amount", required=True),
            incurred_on=_day(incurred_on, "date", required=False),
        )
        campaigns_service.add_cost(session, subject.workspace_id, campaign_id, data)
    except AppError as exc:
        session.rollback()
        return _campaign_page(
            request, session, auth, campaign_id, error=exc.message, status_code=exc.status_code
        )
    flash(request, "Cost added.", "success")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/costs/{cost_id}/remove", dependencies=[CsrfChecked])
def campaign_remove_cost(
    request: Request, session: DbSession, auth: WebAuth, campaign_id: int, cost_id: int
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    campaigns_service.delete_cost(session, subject.workspace_id, campaign_id, cost_id)
    flash(request, "Cost removed.", "success")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post(
    "/campaigns/{campaign_id}/analysis", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
def campaign_analysis(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    credits: WebCredits,
    campaign_id: int,
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Runs the priced analysis (the page showed its price and the balance before the button)
    and shows it in the answer to the post."""
    subject, _ = auth
    subject.require(Role.editor)
    try:
        # 404 for another workspace's campaign before anything is held.
        campaigns_service.summary(session, subject.workspace_id, campaign_id)
        form_key(credits, idempotency_key)
        with credits.spend(ANALYSIS_ACTION, reference=f"campaign:{campaign_id}") as hold:
            result = analysis_service.analysis(session, subject.workspace_id, campaign_id)
            hold.settle(session)
    except AppError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise
        return _campaign_page(
            request, session, auth, campaign_id, error=exc.message, status_code=exc.status_code
        )
    return _campaign_page(request, session, auth, campaign_id, analysis=result)
