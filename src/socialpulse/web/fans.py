"""Dashboard page of one fan: who they are, their scores, what they wrote."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.db import utcnow
from socialpulse.inbox import fans as fan_service
from socialpulse.web.inbox_rows import chips
from socialpulse.web.pages import layout, render
from socialpulse.web.security import WebAuth
from socialpulse.workspaces.deps import DbSession

router = APIRouter(include_in_schema=False)


# --- fan profile -------------------------------------------------------------------------------


@router.get("/inbox/fans/{fan_id}", response_class=HTMLResponse)
def fan_page(request: Request, session: DbSession, auth: WebAuth, fan_id: int) -> Response:
    subject, _ = auth
    fan = fan_service.get_fan(session, subject, fan_id)
    recent = fan_service.recent_interactions_of(session, subject, fan_id, 20)
    positive_share = fan.positive_count / fan.interactions_count if fan.interactions_count else None
    context = layout(session, auth, "inbox") | {
        "fan": fan,
        "recent": recent,
        "chips": {i.id: chips(i, i.ai_evidence or {}) for i in recent},
        "positive_share": positive_share,
        "platform_name": accounts_service.platform_name(fan.platform),
        "since_days": (utcnow() - fan.superfan_since).days if fan.superfan_since else None,
        "score_window_days": fan_service.rule_for(session, subject.workspace_id).window_days,
        "today": dt.date.today(),
    }
    return render(request, "inbox_fan.html", context)
