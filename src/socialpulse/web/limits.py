"""Dashboard settings that were API-only: inbox thresholds (superfans, suggestions), reply
limits per account and API budgets per platform. Each form keeps what was typed after an
error and says what is wrong next to the field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.schemas import BudgetUpdate
from socialpulse.errors import InvalidInput
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.replies import pacing
from socialpulse.inbox.replies import service as reply_service
from socialpulse.inbox.schemas import InboxSettingsUpdate, ReplyLimitsBody
from socialpulse.kit.routing import api_router
from socialpulse.web import forms
from socialpulse.web.forms import FormField
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession

router = api_router(include_in_schema=False)

INBOX_FIELDS = [
    FormField(
        "superfan_window_days",
        "Window (days)",
        "int",
        "How far back a fan's comments count towards superfan status and their scores.",
    ),
    FormField(
        "superfan_min_interactions",
        "Comments at least",
        "int",
        "A superfan wrote at least this many comments in the window…",
    ),
    FormField(
        "superfan_min_positive_ratio",
        "Positive share at least (%)",
        "percent",
        "…and at least this share of them positive. Changing a threshold re-scores every fan.",
    ),
    FormField(
        "suggestion_min_confidence",
        "Suggest replies from (% sure)",
        "percent",
        "A reply is suggested when the AI is at least this sure of the comment's intent.",
    ),
    FormField(
        "max_replies_per_tick",
        "Replies sent per run, at most",
        "int",
        "How many queued replies one run of the sender may send (the reply limits below pace "
        "each account).",
    ),
]
LIMIT_FIELDS = [
    FormField("max_per_hour", "Per hour", "int"),
    FormField("max_per_minute", "Per minute", "int"),
    FormField("min_interval_s", "Gap (s)", "float"),
    FormField("jitter_min_s", "Delay from (s)", "float"),
    FormField("jitter_max_s", "Delay to (s)", "float"),
]
BUDGET_FIELDS = [
    FormField("daily_units", "Daily units", "int"),
    FormField("safety_margin", "Work stops at (%)", "percent"),
]


def _typed(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v or "" for k, v in values.items()}


# --- inbox: superfan thresholds and suggestions ------------------------------------------


def _inbox_page(
    request: Request,
    session: DbSession,
    auth: Any,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    subject, _ = auth
    current = inbox_service.get_inbox_settings(session, subject)
    values = typed or {f.name: f.shown(getattr(current, f.name)) for f in INBOX_FIELDS}
    context = layout(session, auth, "settings") | {
        "fields": INBOX_FIELDS,
        "values": values,
        "errors": errors or {},
        "summary": forms.summary(INBOX_FIELDS, errors or {}),
    }
    return render(request, "settings_inbox.html", context, 422 if errors else 200)


@router.get("/settings/inbox", response_class=HTMLResponse)
def inbox_settings(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return _inbox_page(request, session, auth)


@router.post("/settings/inbox", response_class=HTMLResponse, dependencies=[CsrfChecked])
def inbox_settings_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    superfan_window_days: Annotated[str, Form()] = "",
    superfan_min_interactions: Annotated[str, Form()] = "",
    superfan_min_positive_ratio: Annotated[str, Form()] = "",
    suggestion_min_confidence: Annotated[str, Form()] = "",
    max_replies_per_tick: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    typed = _typed(
        {
            "superfan_window_days": superfan_window_days,
            "superfan_min_interactions": superfan_min_interactions,
            "superfan_min_positive_ratio": superfan_min_positive_ratio,
            "suggestion_min_confidence": suggestion_min_confidence,
            "max_replies_per_tick": max_replies_per_tick,
        }
    )
    body, errors = forms.parse(InboxSettingsUpdate, INBOX_FIELDS, typed)
    if body is None:
        return _inbox_page(request, session, auth, typed, errors)
    inbox_service.update_settings(session, subject, body.model_dump(exclude_none=True))
    flash(request, "Inbox settings saved; every fan was scored again.", "success")
    return RedirectResponse("/settings/inbox", status_code=303)


# --- reply limits, per account ------------------------------------------------------------


def _limits_page(
    request: Request,
    session: DbSession,
    auth: Any,
    failed: tuple[int, dict[str, str], dict[str, str]] | None = None,
) -> Response:
    """Every account's limits; `failed` is (account id, as typed, errors) of a refused form."""
    subject, _ = auth
    rows = []
    for account in accounts_service.list_accounts(session, subject):
        _account, limits, custom = reply_service.get_limits(session, subject, account.id)
        values = {f.name: f.shown(getattr(limits, f.name)) for f in LIMIT_FIELDS}
        errors: dict[str, str] = {}
        if failed is not None and failed[0] == account.id:
            values, errors = failed[1], failed[2]
        rows.append(
            {
                "account": account,
                "platform": accounts_service.platform_name(account.platform),
                "custom": custom,
                "values": values,
                "errors": errors,
                "summary": forms.summary(LIMIT_FIELDS, errors),
            }
        )
    context = layout(session, auth, "settings") | {"fields": LIMIT_FIELDS, "rows": rows}
    return render(request, "settings_reply_limits.html", context, 422 if failed else 200)


@router.get("/settings/reply-limits", response_class=HTMLResponse)
def reply_limits(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return _limits_page(request, session, auth)


@router.post(
    "/settings/reply-limits/{account_id}", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
def reply_limits_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    account_id: int,
    max_per_hour: Annotated[str, Form()] = "",
    max_per_minute: Annotated[str, Form()] = "",
    min_interval_s: Annotated[str, Form()] = "",
    jitter_min_s: Annotated[str, Form()] = "",
    jitter_max_s: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    typed = _typed(
        {
            "max_per_hour": max_per_hour,
            "max_per_minute": max_per_minute,
            "min_interval_s": min_interval_s,
            "jitter_min_s": jitter_min_s,
            "jitter_max_s": jitter_max_s,
        }
    )
    account = accounts_service.get_account(session, subject, account_id)  # 404 first
    body, errors = forms.parse(ReplyLimitsBody, LIMIT_FIELDS, typed)
    if body is not None:
        try:
            reply_service.set_limits(
                session, subject, account.id, pacing.ReplyLimits(**body.model_dump())
            )
        except InvalidInput as exc:
            errors = {"": _in_words(exc.message)}
    if errors:
        return _limits_page(request, session, auth, (account.id, typed, errors))
    flash(request, f"Reply limits of @{account.handle} saved.", "success")
    return RedirectResponse("/settings/reply-limits", status_code=303)


def _in_words(message: str) -> str:
    for field in LIMIT_FIELDS:
        message = message.replace(field.name, f"“{field.label.lower()}”")
    return message[:1].upper() + message[1:]


# --- API budgets, per platform ------------------------------------------------------------


def _budgets_page(
    request: Request,
    session: DbSession,
    auth: Any,
    failed: tuple[str, dict[str, str], dict[str, str]] | None = None,
) -> Response:
    subject, _ = auth
    rows = []
    for line in budget_service.usage_report(session, subject, days=1).today:
        current = line.budget
        values = {
            "daily_units": "" if current is None else str(current.daily_units),
            "safety_margin": BUDGET_FIELDS[1].shown(
                current.safety_margin if current else budget_service.DEFAULT_SAFETY_MARGIN
            ),
        }
        errors: dict[str, str] = {}
        if failed is not None and failed[0] == line.platform:
            values, errors = failed[1], failed[2]
        rows.append(
            {
                "platform": line.platform,
                "name": accounts_service.platform_name(line.platform),
                "budget": current,
                "used": line.quota_units,
                "values": values,
                "errors": errors,
                "summary": forms.summary(BUDGET_FIELDS, errors),
            }
        )
    context = layout(session, auth, "settings") | {"fields": BUDGET_FIELDS, "rows": rows}
    return render(request, "settings_budgets.html", context, 422 if failed else 200)


@router.get("/settings/budgets", response_class=HTMLResponse)
def budgets(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return _budgets_page(request, session, auth)


@router.post(
    "/settings/budgets/{platform}", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
def budgets_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    platform: str,
    daily_units: Annotated[str, Form()] = "",
    safety_margin: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    typed = _typed({"daily_units": daily_units, "safety_margin": safety_margin})
    body, errors = forms.parse(BudgetUpdate, BUDGET_FIELDS, typed)
    if body is None:
        return _budgets_page(request, session, auth, (platform, typed, errors))
    change = accounts_service.change_budget(
        session, subject, platform, body.daily_units, body.safety_margin
    )
    released = (
        f" {change.released} waiting job{'s' if change.released != 1 else ''} can run now."
        if change.released
        else ""
    )
    name = accounts_service.platform_name(platform)
    flash(request, f"{name} budget saved.{released}", "success")
    return RedirectResponse("/settings/budgets", status_code=303)
