"""Dashboard pages of the engagement inbox: the inbox, the reply queue and inbox analytics
(workflows and fan profiles: web.workflows, web.fans). Views call the same services as the
JSON API."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox import moderation
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import (
    Interaction,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    WorkflowStatus,
)
from socialpulse.inbox.replies import service as reply_service
from socialpulse.web.inbox_rows import inbox_rows
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
ANALYTICS_DAYS = (7, 30, 90)
SENTIMENTS = ("positive", "neutral", "negative")
BULK_ACTIONS = {
    "answered": "Mark answered",
    "ignored": "Ignore",
    "flagged": "Flag",
    "unread": "Mark unread",
    "add_label": "Add label…",
}


# --- the inbox ---------------------------------------------------------------------------------


def _filters(
    platform: str, status: str, sentiment: str, intent: str, superfan: str, account: str
) -> inbox_service.InteractionFilters:
    try:
        status_value = InteractionStatus(status) if status else None
    except ValueError as exc:
        raise InvalidInput(f"unknown status {status!r}") from exc
    if account and not account.isdigit():
        raise InvalidInput(f"unknown account {account!r}")
    return inbox_service.InteractionFilters(
        platform=platform or None,
        status=status_value,
        sentiment=sentiment or None,
        intent=intent or None,
        superfan={"yes": True, "no": False}.get(superfan),
        account_id=int(account) if account else None,
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    platform: str = "",
    status: str = "",
    sentiment: str = "",
    intent: str = "",
    superfan: str = "",
    account: str = "",
    fan: str = "",
    cursor: str = "",
    before: str = "",
) -> Response:
    subject, _ = auth
    filters = _filters(platform, status, sentiment, intent, superfan, account)
    # One fan's interactions ("Open their interactions" on the fan's page); 404 if not ours.
    fan_filter = fan_service.get_fan(session, subject, _fan_id(fan)) if fan else None
    if fan_filter is not None:
        filters = dataclasses.replace(filters, fan_id=fan_filter.id)
    page = inbox_service.list_inbox(
        session, subject, filters, limit=PAGE_SIZE, cursor=cursor or None, before=before or None
    )
    items = [entry.item for entry in page.entries]
    accounts = accounts_service.list_accounts(session, subject)
    current = {
        "platform": platform,
        "status": status,
        "sentiment": sentiment,
        "intent": intent,
        "superfan": superfan,
        "account": account,
        "fan": fan,
    }
    can_edit = subject.role.at_least(Role.editor)
    failures = moderation.failure_details(session, subject, items)
    context = layout(session, auth, "inbox") | {
        "rows": inbox_rows(page.entries, failures, can_edit),
        "platform_names": {
            p: accounts_service.platform_name(p) for p in {i.platform for i in items}
        },
        "accounts": accounts,
        "platforms": sorted({a.platform for a in accounts}),
        "statuses": [s.value for s in InteractionStatus],
        "sentiments": SENTIMENTS,
        "intents": inbox_service.known_intents(),
        "current": current,
        "pages": {
            "first": _page_query(current) if page.prev_cursor else None,
            "prev": _page_query(current, before=page.prev_cursor),
            "next": _page_query(current, cursor=page.next_cursor),
        },
        "bulk_actions": BULK_ACTIONS,
        "fan_filter": fan_filter,
        "can_edit": can_edit,
        "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "inbox.html", context)


def _fan_id(value: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) < 10):
        raise InvalidInput(f"unknown fan {value!r}")
    return int(value)


def _page_query(current: dict[str, str], **cursor: str | None) -> dict[str, str] | None:
    """The page's query: the filters and its cursor; None where that page does not exist."""
    if any(value is None for value in cursor.values()):
        return None
    return {k: v for k, v in current.items() if v} | {k: v for k, v in cursor.items() if v}


def _back(target: str) -> str:
    # Only our own inbox pages: anything else would be an open redirect.
    return target if target.startswith("/inbox") and not target.startswith("//") else "/inbox"


@router.post("/inbox/interactions/{interaction_id}/reply", dependencies=[CsrfChecked])
def inbox_reply(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    text: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/inbox",
) -> Response:
    subject, _ = auth
    item = reply_service.reply_to(session, subject, interaction_id, text)
    handle = inbox_service.get_interaction(session, subject, interaction_id).author_handle
    flash(request, f"Reply to @{handle} queued (#{item.id}).", "success")
    return RedirectResponse(_back(back), status_code=303)


@router.post("/inbox/interactions/{interaction_id}/suggestion", dependencies=[CsrfChecked])
def inbox_suggestion(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    decision: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/inbox",
) -> Response:
    """Approve (as drafted, or edited in the box) or reject a suggested reply."""
    subject, _ = auth
    handle = inbox_service.get_interaction(session, subject, interaction_id).author_handle
    if decision == "approve":
        item = reply_service.approve_suggestion(
            session, subject, interaction_id, text.strip() or None
        )
        message = f"Suggested reply to @{handle} approved and queued (#{item.id})."
    elif decision == "reject":
        reply_service.reject_suggestion(session, subject, interaction_id)
        message = f"Suggested reply to @{handle} rejected."
    else:
        raise InvalidInput(f"unknown decision {decision!r}: approve or reject")
    flash(request, message, "success")
    return RedirectResponse(_back(back), status_code=303)


@router.post("/inbox/interactions/{interaction_id}/hide", dependencies=[CsrfChecked])
def inbox_hide(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    back: Annotated[str, Form()] = "/inbox",
) -> Response:
    """Hide in the inbox now; the platform follows once this request commits."""
    subject, _ = auth
    item = moderation.request_hide(session, subject, interaction_id)
    platform = accounts_service.platform_name(item.platform)
    if moderation.HIDDEN_LABEL in (item.labels or []):
        message = f"The comment by @{item.author_handle} is hidden on {platform}."
    else:
        message = f"Hiding the comment by @{item.author_handle} on {platform}."
    flash(request, message, "success")
    return RedirectResponse(_back(back), status_code=303)


@router.post("/inbox/interactions/{interaction_id}/unhide", dependencies=[CsrfChecked])
def inbox_unhide(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    back: Annotated[str, Form()] = "/inbox",
) -> Response:
    """Show again in the inbox now; on the platform too if it was hidden there."""
    subject, _ = auth
    item = moderation.request_unhide(session, subject, interaction_id)
    platform = accounts_service.platform_name(item.platform)
    if moderation.HIDDEN_LABEL in (item.labels or []):
        message = f"Showing the comment by @{item.author_handle} on {platform} again."
    else:
        message = f"The comment by @{item.author_handle} is no longer hidden."
    flash(request, message, "success")
    return RedirectResponse(_back(back), status_code=303)


@router.post("/inbox/bulk", dependencies=[CsrfChecked])
def inbox_bulk(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    action: Annotated[str, Form()],
    ids: Annotated[list[int] | None, Form()] = None,
    label: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/inbox",
) -> Response:
    subject, _ = auth
    if not ids:
        raise InvalidInput("select at least one interaction")
    if action == "add_label":
        count = inbox_service.bulk_update(
            session, subject, ids, action="add_label", label=label.strip()
        )
    elif action in {s.value for s in InteractionStatus}:
        count = inbox_service.bulk_update(
            session, subject, ids, action="set_status", status=InteractionStatus(action)
        )
    else:
        raise InvalidInput(f"unknown bulk action {action!r}")
    flash(request, f"{BULK_ACTIONS.get(action, action).rstrip('…')}: {count} updated.", "success")
    return RedirectResponse(_back(back), status_code=303)


# --- the reply queue ---------------------------------------------------------------------------


MAX_PAGE = 1_000_000  # keeps the offset far inside the databases' integers


def _page_number(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE):
        raise InvalidInput(f"{name} must be a page number from 1 to {MAX_PAGE:,}, got {value!r}")
    return int(value)


@router.get("/inbox/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    waiting_page: str = "1",
    failed_page: str = "1",
) -> Response:
    subject, _ = auth
    numbers = {
        "waiting_page": _page_number(waiting_page, "waiting_page"),
        "failed_page": _page_number(failed_page, "failed_page"),
    }

    def section(
        key: str, *statuses: ReplyStatus, newest: bool = False
    ) -> tuple[list[tuple[ReplyQueueItem, Interaction]], dict[str, dict[str, str] | None]]:
        """One page of a section (one row more tells whether a next page exists), with the
        queries of its neighbour pages; the other section keeps its page."""
        number = numbers[key]
        rows = reply_service.queue_with_interactions(
            session,
            subject,
            statuses,
            newest=newest,
            limit=PAGE_SIZE + 1,
            offset=(number - 1) * PAGE_SIZE,
        )

        def at(page: int) -> dict[str, str]:
            return {k: str(v) for k, v in (numbers | {key: page}).items() if v != 1}

        pages = {
            "first": at(1) if number > 2 else None,
            "prev": at(number - 1) if number > 1 else None,
            "next": at(number + 1) if len(rows) > PAGE_SIZE else None,
        }
        return rows[:PAGE_SIZE], pages

    waiting, waiting_pages = section("waiting_page", ReplyStatus.pending, ReplyStatus.processing)
    failed, failed_pages = section("failed_page", ReplyStatus.failed, newest=True)
    context = layout(session, auth, "inbox") | {
        "waiting": waiting,
        "waiting_pages": waiting_pages,
        "failed": failed,
        "failed_pages": failed_pages,
        "sent": reply_service.queue_with_interactions(
            session, subject, (ReplyStatus.sent,), newest=True, limit=20
        ),
        "stats": inbox_analytics.response_queue(session, subject),
        "can_edit": subject.role.at_least(Role.editor),
        "now": utcnow(),
    }
    return render(request, "inbox_queue.html", context)


@router.post("/inbox/queue/{item_id}/{action}", dependencies=[CsrfChecked])
def queue_action(
    request: Request, session: DbSession, auth: WebAuth, item_id: int, action: str
) -> Response:
    subject, _ = auth
    if action == "cancel":
        item = reply_service.cancel_item(session, subject, item_id)
        message = f"Reply #{item.id} cancelled."
    elif action == "retry":
        item = reply_service.retry_item(session, subject, item_id)
        message = f"Reply #{item.id} queued again."
    else:
        raise InvalidInput(f"unknown queue action {action!r}: retry or cancel")
    flash(request, message, "success")
    return RedirectResponse("/inbox/queue", status_code=303)


# --- inbox analytics ---------------------------------------------------------------------------


@router.get("/inbox/analytics", response_class=HTMLResponse)
def analytics_page(request: Request, session: DbSession, auth: WebAuth, days: int = 30) -> Response:
    subject, _ = auth
    if days not in ANALYTICS_DAYS:
        days = 30
    overview = inbox_analytics.overview(session, subject, days)
    workflows = inbox_analytics.workflow_activity(session, subject, days).workflows
    queue = inbox_analytics.response_queue(session, subject)
    timeline = inbox_analytics.timeline(session, subject, days, by_sentiment=True)
    top_platform = max(overview.by_platform.values(), default=0)
    chart = {
        "labels": [d.date.isoformat() for d in timeline.timeline],
        "datasets": [
            {
                "label": label,
                "data": [(d.by_sentiment or {}).get(label, 0) for d in timeline.timeline],
                "backgroundColor": color,
                "borderColor": color,
                "stack": "sentiment",
            }
            for label, color in (
                ("positive", "#10b981"),
                ("neutral", "#9ca3af"),
                ("negative", "#ef4444"),
                ("unanalysed", "#c7d2fe"),
            )
        ],
    }
    context = layout(session, auth, "inbox") | {
        "days": days,
        "choices": ANALYTICS_DAYS,
        "overview": overview,
        "workflows": workflows,
        "active_workflows": sum(1 for w in workflows if w.status == WorkflowStatus.active),
        "queue": queue,
        "platform_bars": [
            {
                "platform": name,
                "name": accounts_service.platform_name(name),
                "count": count,
                "percent": round(100 * count / top_platform, 1) if top_platform else 0,
            }
            for name, count in overview.by_platform.items()
        ],
        "timeline_chart": chart,
    }
    return render(request, "inbox_analytics.html", context)
