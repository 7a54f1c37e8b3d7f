"""What every dashboard page shares: the templates, flash messages, rendering and the layout
(user, workspace switcher, navigation) around a page's own content."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from socialpulse import __version__
from socialpulse.web.security import csrf_token
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role, User
from socialpulse.workspaces.tenancy import Subject

WEB_DIR = Path(__file__).parent
# Templates are compiled once per process and never checked for changes again (auto_reload
# would stat every template, base and includes, on each render); the bytecode cache spares each
# new process the parse. Editing a template therefore needs a restart, as editing code does.
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(),  # on for .html
        auto_reload=False,
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
    )
)


def precompile_templates() -> int:
    """Compile every dashboard template now (the bytecode cache makes it a load when a previous
    process compiled them), so no visitor's first page waits for it. Returns how many."""
    env = templates.env
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    return len(names)


# Navigation grows with each domain; an entry is (label, path, section key).
NAV: list[tuple[str, str, str]] = [
    ("Overview", "/", "overview"),
    ("Accounts", "/accounts", "accounts"),
    ("Inbox", "/inbox", "inbox"),
    ("Creators", "/creators", "creators"),
    ("Discovery", "/discovery", "discovery"),
    ("Publishing", "/publishing", "publishing"),
    ("Analytics", "/analytics/overview", "analytics"),
    ("Lists", "/lists", "lists"),
    ("Campaigns", "/campaigns", "campaigns"),
    ("Billing", "/billing", "billing"),
    ("API usage", "/usage", "usage"),
]


def human_minutes(minutes: float | None) -> str:
    """A duration as people say it: "45 min", "3 h 20 min", "28 d 5 h" ("n/a" for none)."""
    if minutes is None:
        return "n/a"
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


templates.env.filters["human_minutes"] = human_minutes


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


class Choices:
    """The options of a <select> that every row of a page repeats, rendered once per selected
    value and reused: 50 inbox rows each rendering their own member, sentiment and intent
    lists were a third of the page's rendering."""

    def __init__(self, pairs: Iterable[tuple[object, str]]) -> None:
        self.pairs = [(str(value), text) for value, text in pairs]
        self._rendered: dict[str, Markup] = {}

    def __call__(self, selected: object = None) -> Markup:
        key = "" if selected is None else str(selected)
        found = self._rendered.get(key)
        if found is None:
            found = self._rendered[key] = Markup("").join(
                Markup('<option value="{}"{}>{}</option>').format(
                    value, Markup(" selected") if value == key else "", text
                )
                for value, text in self.pairs
            )
        return found


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    base: dict[str, Any] = {
        "csrf_token": csrf_token(request),
        "nav": NAV,
        "version": __version__,
        "flashes": request.session.pop("flash", []),
    }
    return templates.TemplateResponse(request, template, base | context, status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(
        request, "error.html", {"status": status_code, "message": message}, status_code=status_code
    )


def layout(session: Session, auth: tuple[Subject, User], section: str) -> dict[str, Any]:
    """The context every logged-in page starts from; ``section`` marks the navigation entry."""
    subject, user = auth
    memberships = workspace_service.workspaces_for_user(session, user.id)
    current = next(ws for ws, _role in memberships if ws.id == subject.workspace_id)
    return {
        "user": user,
        "subject": subject,
        "workspace": current,
        "memberships": memberships,
        "section": section,
        "can_admin": subject.role.at_least(Role.admin),
    }
