"""The reply queue page: what waits (paginated, with totals and the account of each reply),
each account's limits in force, whether its next send is late and how long its backlog takes,
workflows auto-replying suspiciously often today, and retry / cancel (cancel asks first)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import Interaction, ReplyQueueItem, ReplyStatus
from socialpulse.inbox.replies import backlog
from socialpulse.inbox.replies import service as reply_service
from socialpulse.kit.routing import api_router
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # keeps the offset far inside the databases' integers


def _page_number(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE):
        raise InvalidInput(f"{name} must be a page number from 1 to {MAX_PAGE:,}, got {value!r}")
    return int(value)


def human_duration(span: dt.timedelta) -> str:
    """ "about 3 h 20 min", "about 4 min", "under a minute"."""
    minutes = math.ceil(span.total_seconds() / 60)
    if minutes <= 0:
        return "nothing waiting"
    if minutes == 1 and span.total_seconds() < 60:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    if days:
        parts[2] = ""  # minutes do not matter past a day
    return "about " + " ".join(part for part in parts if part)


def _limits_words(limits: Any) -> str:
    jitter = (
        f" + {limits.jitter_min_s:g}–{limits.jitter_max_s:g} s at random"
        if limits.jitter_max_s
        else ""
    )
    return (
        f"{limits.max_per_minute} a minute, {limits.max_per_hour} an hour, "
        f"at least {limits.min_interval_s:g} s apart{jitter}"
    )


@router.get("/inbox/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    waiting_page: str = "1",
    failed_page: str = "1",
    item: str = "",
) -> Response:
    subject, _ = auth
    now = utcnow()
    numbers = {
        "waiting_page": _page_number(waiting_page, "waiting_page"),
        "failed_page": _page_number(failed_page, "failed_page"),
    }
    stats = inbox_analytics.response_queue(session, subject)
    totals = {
        "waiting_page": stats.overall.pending + stats.overall.processing,
        "failed_page": stats.overall.failed,
    }

    def section(
        key: str, *statuses: ReplyStatus, newest: bool = False
    ) -> tuple[list[tuple[ReplyQueueItem, Interaction]], dict[str, Any]]:
        """One page of a section (one row more tells whether a next page exists), with the
        queries of its neighbour pages and where it stands; the other section keeps its page."""
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
        shown = rows[:PAGE_SIZE]
        start = (number - 1) * PAGE_SIZE
        where = {
            "total": totals[key],
            "first": start + 1 if shown else 0,
            "last": start + len(shown),
            "page": number,
            "pages": max(1, math.ceil(totals[key] / PAGE_SIZE)),
        }
        return shown, {"links": pages, "where": where}

    waiting, waiting_pages = section("waiting_page", ReplyStatus.pending, ReplyStatus.processing)
    failed, failed_pages = section("failed_page", ReplyStatus.failed, newest=True)
    accounts = backlog.account_backlogs(session, subject, now)
    handles = {a.account_id: f"@{a.handle}" for a in accounts}
    selected = None
    if item:
        if not (item.isascii() and item.isdigit() and len(item) <= 10):
            raise InvalidInput(f"unknown reply {item!r}")
        chosen = reply_service.get_item(session, subject, int(item))
        selected = (chosen, inbox_service.get_interaction(session, subject, chosen.interaction_id))
    context = layout(session, auth, "inbox") | {
        "waiting": waiting,
        "waiting_pages": waiting_pages,
        "failed": failed,
        "failed_pages": failed_pages,
        "sent": reply_service.queue_with_interactions(
            session, subject, (ReplyStatus.sent,), newest=True, limit=20
        ),
        "stats": stats,
        "backlogs": [
            {
                "account": a,
                "limits": _limits_words(a.limits),
                "time_to_clear": human_duration(a.time_to_clear),
                "platform": accounts_service.platform_name(a.platform),
            }
            for a in accounts
        ],
        "handles": handles,
        "warnings": backlog.auto_reply_warnings(session, subject, now),
        "selected": selected,
        "can_edit": subject.role.at_least(Role.editor),
        "now": now,
    }
    return render(request, "inbox_queue.html", context)


@router.post(
    "/inbox/queue/{item_id}/{action}", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
def queue_action(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    item_id: int,
    action: str,
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Retry, or cancel (asked to confirm first: a page without JavaScript, a dialog with it)."""
    subject, _ = auth
    if action == "cancel":
        item = reply_service.get_item(session, subject, item_id)
        interaction = inbox_service.get_interaction(session, subject, item.interaction_id)
        if confirmed != "1":
            context = layout(session, auth, "inbox") | {
                "heading": f"Cancel the reply to @{interaction.author_handle}?",
                "explain": "It will not be sent.",
                "quote": item.text,
                "action": f"/inbox/queue/{item_id}/cancel",
                "confirm_text": "Cancel the reply",
                "back": "/inbox/queue",
                "keep_text": "Keep it queued",
                "fields": {},
            }
            return render(request, "inbox/confirm.html", context)
        reply_service.cancel_item(session, subject, item_id)
        message = f"The reply to @{interaction.author_handle} is cancelled: it will not be sent."
    elif action == "retry":
        item = reply_service.retry_item(session, subject, item_id)
        interaction = inbox_service.get_interaction(session, subject, item.interaction_id)
        message = f"The reply to @{interaction.author_handle} is queued again."
    else:
        raise InvalidInput(f"unknown queue action {action!r}: retry or cancel")
    flash(request, message, "success")
    return RedirectResponse("/inbox/queue", status_code=303)
