"""Dashboard page of one fan: who they are, their scores, what they wrote, and what the team
does about them: open their interactions, label them, keep a private note."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox import fans as fan_service
from socialpulse.kit.routing import api_router
from socialpulse.web.inbox_rows import chips
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)


def _fan_page(
    request: Request,
    session: DbSession,
    auth: Any,
    fan_id: int,
    typed: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
) -> Response:
    """The page; after a refused edit, `typed` holds what was typed and `error` says, per form
    ("label" or "note"), what is wrong."""
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
        "can_edit": subject.role.at_least(Role.editor),
        "typed": {"label": "", "note": fan.note or ""} | (typed or {}),
        "error": error or {},
        "max_note": fan_service.MAX_NOTE_LENGTH,
        "max_label": fan_service.MAX_LABEL_LENGTH,
    }
    return render(request, "inbox_fan.html", context, 422 if error else 200)


@router.get("/inbox/fans/{fan_id}", response_class=HTMLResponse)
def fan_page(request: Request, session: DbSession, auth: WebAuth, fan_id: int) -> Response:
    return _fan_page(request, session, auth, fan_id)


@router.post("/inbox/fans/{fan_id}/labels", response_class=HTMLResponse, dependencies=[CsrfChecked])
def fan_label(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    fan_id: int,
    label: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "add",
) -> Response:
    subject, _ = auth
    try:
        fan = fan_service.label_fan(session, subject, fan_id, label, add=action != "remove")
    except InvalidInput as exc:
        session.rollback()
        return _fan_page(request, session, auth, fan_id, {"label": label}, {"label": exc.message})
    done = "removed from" if action == "remove" else "added to"
    flash(request, f"Label “{label.strip()}” {done} @{fan.handle}.", "success")
    return RedirectResponse(f"/inbox/fans/{fan_id}", status_code=303)


@router.post("/inbox/fans/{fan_id}/note", response_class=HTMLResponse, dependencies=[CsrfChecked])
def fan_note(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    fan_id: int,
    note: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    try:
        fan = fan_service.set_fan_note(session, subject, fan_id, note)
    except InvalidInput as exc:
        session.rollback()
        return _fan_page(request, session, auth, fan_id, {"note": note}, {"note": exc.message})
    flash(request, f"Note on @{fan.handle} saved.", "success")
    return RedirectResponse(f"/inbox/fans/{fan_id}", status_code=303)
