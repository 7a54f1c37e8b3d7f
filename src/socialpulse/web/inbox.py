"""Dashboard pages of the engagement inbox: the inbox and inbox analytics; the inbox's actions
are `web.inbox_actions`, the reply queue `web.inbox_queue`, workflows `web.workflows` and fan
profiles `web.fans`. Views call the same services as the JSON API."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.inbox.models import WorkflowStatus
from socialpulse.kit.routing import api_router
from socialpulse.web import inbox_listing
from socialpulse.web.inbox_actions import router as actions_router
from socialpulse.web.inbox_queue import router as queue_router
from socialpulse.web.pages import layout, render
from socialpulse.web.security import WebAuth
from socialpulse.workspaces.deps import DbSession

router = api_router(include_in_schema=False)
router.include_router(actions_router)
router.include_router(queue_router)

ANALYTICS_DAYS = (7, 30, 90)


# --- the inbox ---------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    """Filters, full-text search, a result count and pages of interactions, each with its
    account, post and thread; actions happen in place (`web.inbox_actions`)."""
    subject, _ = auth
    params = {k: v for k, v in request.query_params.items()}
    context = layout(session, auth, "inbox") | inbox_listing.listing(session, subject, params)
    return render(request, "inbox.html", context)


# --- inbox analytics -------------------------------------------------------------------------


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
