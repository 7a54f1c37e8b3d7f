"""Discovery pages: every analysed creator of the instance with filters, the unlock step that
shows the price and the balance before anything is charged (a page of its own, so it works
without JavaScript), and the workspace's unlocked creators with the days each has left.

Reads go through ``creators.discovery`` and ``creators.unlocks``, prices through
``billing.usage.quote``; the unlock itself is charged through the credit gate exactly as the
API's ``POST /api/v1/discovery/unlock-profile`` is."""

from __future__ import annotations

import math
import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from socialpulse.billing import usage as billing_usage
from socialpulse.billing.schemas import Quote
from socialpulse.creators import discovery, unlocks
from socialpulse.creators import exports as exports_service
from socialpulse.creators import lists as lists_service
from socialpulse.creators import service as creators_service
from socialpulse.creators.schemas import (
    AccessState,
    CreatorPreview,
    DiscoveryCriteria,
    DiscoveryPage,
)
from socialpulse.errors import AppError, InvalidInput
from socialpulse.kit.routing import api_router
from socialpulse.providers import registry
from socialpulse.web.creators import creator_platforms
from socialpulse.web.credits import WebCredits, form_key, price_text
from socialpulse.web.exports import export_offer, file_format, priced_download
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.deps import DbSession, get_db
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

PAGE_SIZE = 24
UNLOCKED_PAGE_SIZE = 50
PAGINATION_ACTION = "discovery_pagination"
SORTS: list[tuple[str, str]] = [
    ("", "Best match, then followers"),
    ("followers", "Followers"),
    ("engagement_rate", "Engagement rate"),
    ("audience_quality", "Audience quality"),
    ("recent", "Recently analysed"),
    ("handle", "Handle"),
]
# The form's field as the error message names it.
LABELS = {
    "followers_min": "Followers (min)",
    "followers_max": "Followers (max)",
    "er_min": "Engagement rate (min)",
    "er_max": "Engagement rate (max)",
    "quality_min": "Audience quality (min)",
    "quality_max": "Audience quality (max)",
    "page": "Page",
}
CRITERIA_FIELDS = {
    "query": "Search text",
    "followers_min": LABELS["followers_min"],
    "followers_max": LABELS["followers_max"],
    "engagement_rate_min": LABELS["er_min"],
    "engagement_rate_max": LABELS["er_max"],
    "audience_quality_min": LABELS["quality_min"],
    "audience_quality_max": LABELS["quality_max"],
    "sort_by": "Sort by",
}


def _whole(raw: str, name: str) -> int | None:
    text = raw.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"{LABELS[name]} must be a whole number such as 10000, not {raw!r}")
    return int(text)


def _percent(raw: str, name: str) -> float | None:
    text = raw.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise InvalidInput(f"{LABELS[name]} must be a percentage from 0 to 100, not {raw!r}")
    return value


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def criteria_from(f: dict[str, str]) -> DiscoveryCriteria:
    """The filter form's values as the discovery service's criteria; a value that cannot be
    one is refused with a sentence naming the field (shown above the form, never a 500)."""
    known_platforms = {p["value"] for p in creator_platforms()}
    if f["platform"] and f["platform"] not in known_platforms:
        raise InvalidInput(f"unknown platform {f['platform']!r}")
    if f["unlocked"] not in ("", "yes", "no"):
        raise InvalidInput(f"Access must be any, unlocked or locked, not {f['unlocked']!r}")
    if f["sort"] not in {value for value, _label in SORTS}:
        raise InvalidInput(f"unknown sort order {f['sort']!r}")
    values: dict[str, Any] = {
        "query": f["q"].strip() or None,
        "platforms": [f["platform"]] if f["platform"] else [],
        "categories": [f["category"]] if f["category"] else [],
        "languages": [f["language"].strip().lower()] if f["language"].strip() else [],
        "followers_min": _whole(f["followers_min"], "followers_min"),
        "followers_max": _whole(f["followers_max"], "followers_max"),
        # The form takes percentages; creators' engagement rates are fractions (0.034).
        "engagement_rate_min": _fraction(_percent(f["er_min"], "er_min")),
        "engagement_rate_max": _fraction(_percent(f["er_max"], "er_max")),
        "audience_quality_min": _whole(f["quality_min"], "quality_min"),
        "audience_quality_max": _whole(f["quality_max"], "quality_max"),
        "unlocked": {"yes": True, "no": False}.get(f["unlocked"]),
        "sort_by": f["sort"] or None,
    }
    for low, high in (
        ("followers_min", "followers_max"),
        ("engagement_rate_min", "engagement_rate_max"),
        ("audience_quality_min", "audience_quality_max"),
    ):
        if values[low] is not None and values[high] is not None and values[low] > values[high]:
            raise InvalidInput(
                f"{CRITERIA_FIELDS[low]} is above {CRITERIA_FIELDS[high]}: nothing can match"
            )
    try:
        return DiscoveryCriteria(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = CRITERIA_FIELDS.get(str(first["loc"][0]), str(first["loc"][0]))
        raise InvalidInput(f"{field}: {first['msg']}") from exc


def _page_number(raw: str) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise InvalidInput(f"Page must be a whole number from 1 to 500, not {raw!r}")
    return int(raw)


def days_left(access: AccessState) -> int | None:
    """Whole days of access left, counting a started day (23 h left is "1 day left")."""
    if access.remaining_seconds is None:
        return None
    return math.ceil(access.remaining_seconds / 86_400)


def _wallet(quote: Quote) -> dict[str, Any]:
    return {"balance": quote.balance, "profiles": quote.allowance_remaining}


def _platform_names() -> dict[str, str]:
    return {name: info.display_name for name, info in registry.all_providers().items()}


def _card(preview: CreatorPreview, access: AccessState, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": preview.id,
        "handle": preview.handle,
        "display_name": preview.display_name,
        "platform_name": names.get(preview.platform, preview.platform),
        "avatar": preview.avatar,
        "verified": preview.verified,
        "followers": preview.followers_count,
        "engagement_rate": preview.engagement_rate,
        "audience_quality": preview.audience_quality,
        "category": preview.category,
        "language": preview.language,
        "state": access.state,
        "days_left": days_left(access) if access.state == "unlocked" else None,
    }


def _filter_values(
    q: str,
    platform: str,
    category: str,
    language: str,
    followers_min: str,
    followers_max: str,
    er_min: str,
    er_max: str,
    quality_min: str,
    quality_max: str,
    unlocked: str,
    sort: str,
) -> dict[str, str]:
    return {
        "q": q,
        "platform": platform,
        "category": category,
        "language": language,
        "followers_min": followers_min,
        "followers_max": followers_max,
        "er_min": er_min,
        "er_max": er_max,
        "quality_min": quality_min,
        "quality_max": quality_max,
        "unlocked": unlocked,
        "sort": sort,
    }


def _discovery_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    f: dict[str, str],
    *,
    found: DiscoveryPage | None = None,
    wanted_page: int = 1,
    charged: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    context = layout(session, auth, "discovery")
    names = _platform_names()
    results = [_card(i.creator, i.access, names) for i in found.items] if found else []
    page = found.page if found else wanted_page
    more = billing_usage.quote(session, subject.workspace_id, PAGINATION_ACTION)
    unlock_quote = billing_usage.quote(session, subject.workspace_id, unlocks.UNLOCK_ACTION)
    categories = discovery.categories(session, subject.workspace_id)
    context |= {
        "f": f,
        "query": {k: v for k, v in f.items() if v},
        "error": error,
        "results": results,
        "total": found.total if found else None,
        "page": page,
        "last_page": found.pages if found else None,
        # Pages after the first are priced: opened by a form that names the price (never a
        # link a prefetch or a reload could charge for).
        "page_price": price_text(more),
        "page_affordable": more.can_perform,
        "wanted_page": wanted_page if found is None and wanted_page > 1 else None,
        "charged": charged,
        "platforms": creator_platforms(),
        "categories": [{"value": c.category, "count": c.creators} for c in categories.items],
        "sorts": SORTS,
        "wallet": _wallet(unlock_quote),
        "access_days": unlock_quote.access_days or unlocks.DEFAULT_ACCESS_DAYS,
        "unlock_label": price_text(unlock_quote)
        if unlock_quote.funding.value == "credits"
        else "from your allowance",
        "lists": lists_service.list_lists(session, subject.workspace_id, limit=100).items,
        "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "idempotency_key": secrets.token_urlsafe(18),
    }
    return render(request, "discovery/index.html", context, status_code=status_code)


@router.get("/discovery", response_class=HTMLResponse)
def discovery_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    q: str = "",
    platform: str = "",
    category: str = "",
    language: str = "",
    followers_min: str = "",
    followers_max: str = "",
    er_min: str = "",
    er_max: str = "",
    quality_min: str = "",
    quality_max: str = "",
    unlocked: str = "",
    sort: str = "",
    page: str = "",
) -> Response:
    """Page 1 of the results (free). A link to a later page shows its price and a button."""
    subject, _ = auth
    f = _filter_values(
        q,
        platform,
        category,
        language,
        followers_min,
        followers_max,
        er_min,
        er_max,
        quality_min,
        quality_max,
        unlocked,
        sort,
    )
    try:
        criteria = criteria_from(f)
        number = _page_number(page)
        if number > 1:
            return _discovery_page(request, session, auth, f, wanted_page=number)
        found = discovery.search(
            session, subject.workspace_id, criteria, page=1, page_size=PAGE_SIZE
        )
    except AppError as exc:
        session.rollback()
        return _discovery_page(
            request, session, auth, f, error=exc.message, status_code=exc.status_code
        )
    return _discovery_page(request, session, auth, f, found=found)


@router.post("/discovery", response_class=HTMLResponse, dependencies=[CsrfChecked])
def discovery_page_paid(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    credits: WebCredits,
    page: Annotated[str, Form()],
    q: Annotated[str, Form()] = "",
    platform: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    followers_min: Annotated[str, Form()] = "",
    followers_max: Annotated[str, Form()] = "",
    er_min: Annotated[str, Form()] = "",
    er_max: Annotated[str, Form()] = "",
    quality_min: Annotated[str, Form()] = "",
    quality_max: Annotated[str, Form()] = "",
    unlocked: Annotated[str, Form()] = "",
    sort: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """A later page of the results, charged ``discovery_pagination`` as the API's browse is:
    held before the search, settled with it (a failed search charges nothing)."""
    subject, _ = auth
    f = _filter_values(
        q,
        platform,
        category,
        language,
        followers_min,
        followers_max,
        er_min,
        er_max,
        quality_min,
        quality_max,
        unlocked,
        sort,
    )
    try:
        subject.require(Role.editor)
        criteria = criteria_from(f)
        number = _page_number(page)
        if number == 1:
            found = discovery.search(
                session, subject.workspace_id, criteria, page=1, page_size=PAGE_SIZE
            )
            return _discovery_page(request, session, auth, f, found=found)
        discovery.check_criteria(criteria)
        form_key(credits, idempotency_key)
        with credits.spend(PAGINATION_ACTION, reference=f"discovery:browse:page:{number}") as hold:
            found = discovery.search(
                session, subject.workspace_id, criteria, page=number, page_size=PAGE_SIZE
            )
            entry = hold.settle(session)
    except AppError as exc:
        session.rollback()
        return _discovery_page(
            request,
            session,
            auth,
            f,
            wanted_page=_safe_page(page),
            error=exc.message,
            status_code=exc.status_code,
        )
    charged = (
        "free (one of this month's free pages)"
        if entry.funding.value == "free"
        else f"{-entry.amount:,} credits"
    )
    if hold.replayed:
        charged = "already paid by this same request"
    return _discovery_page(request, session, auth, f, found=found, charged=charged)


def _safe_page(raw: str) -> int:
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 500 else 1


def _back(target: str) -> str:
    # Only our own pages: anything else would be an open redirect.
    path = urlsplit(target).path if target else ""
    # A backslash counts: browsers read "/\\host" as "//host".
    if (
        not path.startswith("/")
        or path.startswith("//")
        or urlsplit(target).netloc
        or "\\" in target
    ):
        return "/discovery"
    return target


def _confirm_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    creator_id: int,
    back: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    preview = creators_service.preview(session, creators_service.get_creator(session, creator_id))
    access = unlocks.access_state(session, subject.workspace_id, creator_id)
    quote = billing_usage.quote(session, subject.workspace_id, unlocks.UNLOCK_ACTION)
    context = layout(session, auth, "discovery") | {
        "creator": preview,
        "state": access.state,
        "expires_at": access.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        if access.expires_at
        else "it is revoked",
        "quote": quote,
        "price_text": price_text(quote),
        "back": _back(back),
        "error": error,
        "idempotency_key": secrets.token_urlsafe(18),
    }
    return render(request, "discovery/confirm.html", context, status_code=status_code)


@router.get("/discovery/unlock/{creator_id}", response_class=HTMLResponse)
def unlock_confirm(
    request: Request, session: DbSession, auth: WebAuth, creator_id: int, back: str = ""
) -> Response:
    """The step before an unlock: what it costs, the balance before and after; nothing is
    charged until its form is posted."""
    return _confirm_page(request, session, auth, creator_id, back)


@router.post("/discovery/unlock/{creator_id}", dependencies=[CsrfChecked])
def unlock_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    credits: WebCredits,
    creator_id: int,
    back: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    subject, user = auth
    subject.require(Role.editor)
    try:
        form_key(credits, idempotency_key)
        # As the API's unlock-profile: nothing held when the workspace already has access;
        # the access and its charge commit together; a concurrent unlock of the same creator
        # by another member is this one too, and free.
        done = unlocks.unlock_via_gate(
            get_db(request),
            credits,
            workspace_id=subject.workspace_id,
            creator_id=creator_id,
            actor_user_id=user.id,
        )
    except AppError as exc:
        session.rollback()
        return _confirm_page(
            request,
            session,
            auth,
            creator_id,
            back,
            error=exc.message,
            status_code=exc.status_code,
        )
    until = done.access.expires_at.strftime("%Y-%m-%d") if done.access.expires_at else None
    if not done.charged:
        message = f"@{done.creator.handle} was already unlocked: nothing was charged."
    elif done.credits:
        message = f"Unlocked @{done.creator.handle} for {done.credits:,} credits"
    else:
        message = f"Unlocked @{done.creator.handle} from your plan's allowance"
    if done.charged and until:
        message += f", open to your team until {until}."
    elif done.charged:
        message += "."
    flash(request, message, "success")
    return RedirectResponse(f"/creators/{creator_id}", status_code=303)


@router.post("/discovery/unlocked/export", dependencies=[CsrfChecked])
def unlocked_export(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    credits: WebCredits,
    fmt: Annotated[str, Form()] = "csv",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Every creator the team holds open access to, as a CSV or JSON download, charged as the
    page said (``bulk_export``); a refusal goes back to the page with the reason."""
    subject, _ = auth
    try:
        subject.require(Role.editor)
        chosen = file_format(fmt)
        export = exports_service.unlocked_export(session, subject.workspace_id)
        return priced_download(session, credits, export, chosen, idempotency_key)
    except AppError as exc:
        session.rollback()
        flash(request, exc.message, "error")
        return RedirectResponse("/discovery/unlocked", status_code=303)


@router.get("/discovery/unlocked", response_class=HTMLResponse)
def unlocked_page(request: Request, session: DbSession, auth: WebAuth, page: str = "") -> Response:
    subject, _ = auth
    number = _page_number(page)
    found = unlocks.list_unlocked(
        session,
        subject.workspace_id,
        include_expired=True,
        page=number,
        page_size=UNLOCKED_PAGE_SIZE,
    )
    names = {user.id: user.email for _m, user in workspace_service.list_members(session, subject)}
    rows = []
    for item in found.items:
        c = item.creator
        rows.append(
            {
                "creator_id": c.id,
                "handle": c.handle,
                "display_name": c.display_name,
                "platform": _platform_names().get(c.platform, c.platform),
                "followers": c.followers_count,
                "granted_at": item.granted_at.strftime("%Y-%m-%d"),
                "granted_by": names.get(item.granted_by_user_id or 0),
                "expires_at": item.access.expires_at.strftime("%Y-%m-%d %H:%M UTC")
                if item.access.expires_at
                else None,
                "days_left": days_left(item.access),
                "state": item.access.state,
            }
        )
    last = max(1, -(-found.total // found.page_size))
    quote = billing_usage.quote(session, subject.workspace_id, unlocks.UNLOCK_ACTION)
    context = (
        layout(session, auth, "discovery")
        | export_offer(session, subject.workspace_id)
        | {
            "active": [r for r in rows if r["state"] == "unlocked"],
            "expired": [r for r in rows if r["state"] == "expired"],
            "wallet": _wallet(quote),
            "pages": {
                "first": {} if found.page > 2 else None,
                "prev": ({"page": str(found.page - 1)} if found.page > 2 else {})
                if found.page > 1
                else None,
                "next": {"page": str(found.page + 1)} if found.page < last else None,
            },
        }
    )
    return render(request, "discovery/unlocked.html", context)
