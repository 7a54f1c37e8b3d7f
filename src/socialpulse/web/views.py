"""Dashboard pages: login, overview, workspace switcher, members and API keys settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import SecretStr
from sqlalchemy import func, select

from socialpulse import __version__
from socialpulse.db import utcnow
from socialpulse.deps import DbSession
from socialpulse.errors import AppError
from socialpulse.web.security import (
    CsrfChecked,
    LoginRequired,
    LoginThrottle,
    WebAuth,
    csrf_token,
    login,
)
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import scoped

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))  # autoescape is on for .html


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

router = APIRouter(include_in_schema=False)

# Navigation grows with each domain; an entry is (label, path, section key).
NAV: list[tuple[str, str, str]] = [
    ("Overview", "/", "overview"),
    ("Accounts", "/accounts", "accounts"),
    ("Inbox", "/inbox", "inbox"),
    ("API usage", "/usage", "usage"),
]


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


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


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: an absolute URL here would be an open redirect.
    if (
        not target
        or urlsplit(target).netloc
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return "/"
    return target


def _layout(session: DbSession, auth: tuple[Any, Any], section: str) -> dict[str, Any]:
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


# --- auth ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    if request.session.get("uid"):
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
def login_submit(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form()],
    # SecretStr: printed (a log, a traceback, a repr) it reads '**********'.
    password: Annotated[SecretStr, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    try:
        throttle.check(email, client)
    except AppError as exc:
        return render(
            request, "login.html", {"next": next, "email": email, "error": exc.message}, 429
        )
    user = workspace_service.authenticate(session, email, password.get_secret_value())
    if user is None:
        throttle.failed(email, client)
        return render(
            request,
            "login.html",
            {"next": next, "email": email, "error": "Wrong email or password."},
            status_code=400,
        )
    login(request, session, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/switch-workspace", dependencies=[CsrfChecked])
def switch_workspace(
    request: Request, session: DbSession, auth: WebAuth, workspace_id: Annotated[int, Form()]
) -> Response:
    _subject, user = auth
    target = workspace_service.subject_for_user(session, user.id, workspace_id)
    if target is None:
        return render_error(request, 404, "Workspace not found")
    request.session["wid"] = target.workspace_id
    return RedirectResponse("/", status_code=303)


# --- overview -----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _user = auth
    since = utcnow() - dt.timedelta(days=14)
    by_status: dict[JobStatus, int] = {
        status: count
        for status, count in session.execute(
            scoped(select(Job.status, func.count()), subject).group_by(Job.status)
        ).all()
    }
    created = session.scalars(
        scoped(select(Job.created_at), subject).where(Job.created_at >= since)
    ).all()
    days = [(since + dt.timedelta(days=i + 1)).date() for i in range(14)]
    per_day = {day: 0 for day in days}
    for created_at in created:
        if created_at.date() in per_day:
            per_day[created_at.date()] += 1
    members = len(workspace_service.list_members(session, subject))
    keys = [k for k in workspace_service.list_api_keys(session, subject) if k.revoked_at is None]
    context = _layout(session, auth, "overview") | {
        "job_counts": {status.value: by_status.get(status, 0) for status in JobStatus},
        "chart": {"labels": [d.isoformat() for d in days], "values": list(per_day.values())},
        "member_count": members,
        "key_count": len(keys),
    }
    return render(request, "overview.html", context)


# --- settings: workspace ------------------------------------------------------------------


@router.get("/settings/workspace", response_class=HTMLResponse)
def workspace_settings(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return render(request, "settings_workspace.html", _layout(session, auth, "settings"))


@router.post("/settings/workspace", dependencies=[CsrfChecked])
def workspace_settings_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()],
    timezone: Annotated[str, Form()],
) -> Response:
    subject, _ = auth
    workspace_service.update_workspace(session, subject, name=name, timezone=timezone)
    flash(request, "Workspace settings saved.", "success")
    return RedirectResponse("/settings/workspace", status_code=303)


# --- settings: members --------------------------------------------------------------------


@router.get("/settings/members", response_class=HTMLResponse)
def members_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _ = auth
    context = _layout(session, auth, "settings") | {
        "members": workspace_service.list_members(session, subject),
        "roles": list(Role),
    }
    return render(request, "settings_members.html", context)


@router.post("/settings/members", dependencies=[CsrfChecked])
def members_add(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    email: Annotated[str, Form()],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    _membership, user = workspace_service.add_member(
        session, subject, email, role, password=password or None
    )
    flash(request, f"{user.email} added as {role.value}.", "success")
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/settings/members/{member_id}/role", dependencies=[CsrfChecked])
def members_role(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    member_id: int,
    role: Annotated[Role, Form()],
) -> Response:
    subject, _ = auth
    workspace_service.change_member_role(session, subject, member_id, role)
    flash(request, "Role updated.", "success")
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/settings/members/{member_id}/remove", dependencies=[CsrfChecked])
def members_remove(request: Request, session: DbSession, auth: WebAuth, member_id: int) -> Response:
    subject, _ = auth
    workspace_service.remove_member(session, subject, member_id)
    flash(request, "Member removed.", "success")
    return RedirectResponse("/settings/members", status_code=303)


# --- settings: API keys -------------------------------------------------------------------


@router.get("/settings/api-keys", response_class=HTMLResponse)
def api_keys_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _ = auth
    context = _layout(session, auth, "settings") | {
        "keys": workspace_service.list_api_keys(session, subject),
        "roles": [r for r in Role if subject.role.at_least(r)],
        "new_key": None,
    }
    return render(request, "settings_api_keys.html", context)


@router.post("/settings/api-keys", response_class=HTMLResponse, dependencies=[CsrfChecked])
def api_keys_create(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()],
    role: Annotated[Role, Form()] = Role.admin,
) -> Response:
    subject, _ = auth
    api_key, plaintext = workspace_service.create_api_key(session, subject, name, role)
    # Rendered directly (not redirected) so the secret never lands in the session cookie.
    context = _layout(session, auth, "settings") | {
        "keys": workspace_service.list_api_keys(session, subject),
        "roles": [r for r in Role if subject.role.at_least(r)],
        "new_key": {"name": api_key.name, "key": plaintext},
    }
    response = render(request, "settings_api_keys.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/api-keys/{key_id}/revoke", dependencies=[CsrfChecked])
def api_keys_revoke(request: Request, session: DbSession, auth: WebAuth, key_id: int) -> Response:
    subject, _ = auth
    api_key = workspace_service.revoke_api_key(session, subject, key_id)
    flash(request, f"Key {api_key.name} revoked.", "success")
    return RedirectResponse("/settings/api-keys", status_code=303)


def mount_dashboard(app: FastAPI) -> None:
    from socialpulse.config import Settings

    settings: Settings = app.state.settings
    app.state.login_throttle = LoginThrottle(settings)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    from socialpulse.web.accounts import router as accounts_router
    from socialpulse.web.inbox import router as inbox_router

    app.include_router(router)
    app.include_router(accounts_router)
    app.include_router(inbox_router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api"):
            return Response(status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    previous = app.exception_handlers.get(AppError)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        # Dashboard pages show errors as pages (or back on the form); the API keeps JSON.
        if not request.url.path.startswith("/api") and request.method == "GET":
            return render_error(request, exc.status_code, exc.message)
        if not request.url.path.startswith("/api"):
            flash(request, exc.message, "error")
            back = request.headers.get("referer")
            path = urlsplit(back).path if back else "/"
            return RedirectResponse(_safe_next(path), status_code=303)
        assert previous is not None
        return await previous(request, exc)  # type: ignore[misc]
