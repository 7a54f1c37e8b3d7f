"""Dashboard pages: login, overview, workspace switcher and accepting an invitation; the
dashboard's mounting, with its error pages. The settings pages are ``web.settings``."""

from __future__ import annotations

import os
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from starlette.routing import Match
from starlette.types import Scope

from socialpulse.config import Settings
from socialpulse.errors import AppError, InvalidInput, PermissionDenied
from socialpulse.kit.routing import api_router
from socialpulse.web.overview import overview_context
from socialpulse.web.pages import WEB_DIR, flash, layout, render, render_error
from socialpulse.web.security import (
    CsrfChecked,
    LoginRequired,
    LoginThrottle,
    WebAuth,
    login,
    web_subject,
)
from socialpulse.web.security import logout as end_login
from socialpulse.worker import service as worker_service
from socialpulse.workspaces import invitations
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.deps import DbSession, get_db, session_token
from socialpulse.workspaces.models import User

router = api_router(include_in_schema=False)


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


# --- auth ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    if session_token(request) is not None:
        # Only a session that still counts skips the form: a logged-out or expired cookie
        # would otherwise bounce between here and the page that sent it.
        try:
            web_subject(request)
        except (LoginRequired, PermissionDenied):
            pass
        else:
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
def logout(request: Request, session: DbSession) -> Response:
    end_login(request, session)
    return RedirectResponse("/login", status_code=303)


@router.post("/switch-workspace", dependencies=[CsrfChecked])
def switch_workspace(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    workspace_id: Annotated[int, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    _subject, user = auth
    target = workspace_service.subject_for_user(session, user.id, workspace_id)
    if target is None:
        return render_error(request, 404, "Workspace not found")
    request.session["wid"] = target.workspace_id
    return RedirectResponse(same_page_elsewhere(request.app, next), status_code=303)


def same_page_elsewhere(app: Any, target: str) -> str:
    """Where the page `target` lives in another workspace: the same page when it has no id
    (a list, a settings page), else the nearest page above it that exists without one
    (/accounts/12 -> /accounts, /inbox/fans/7 -> /inbox). Only our own dashboard pages:
    anything else (an absolute URL, //host, /api, a page that does not exist) is the overview.
    The query is dropped: it may hold the old workspace's ids (?account=3)."""
    path = urlsplit(_safe_next(target)).path
    if path.startswith(("/api", "/static", "/invite")):
        return "/"
    parts = path.strip("/").split("/")
    # Ids are numbers: the page above the first one is the list it came from.
    cut = next((i for i, part in enumerate(parts) if any(c.isdigit() for c in part)), len(parts))
    parts = parts[:cut]
    while parts:
        candidate = "/" + "/".join(parts)
        if _is_page(app, candidate):
            return candidate
        parts.pop()
    return "/"


def _is_page(app: Any, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


# --- overview -----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _user = auth
    # The layout first: it loads the workspace, which the chart's days then find in the session.
    context = layout(session, auth, "overview")
    by_status = worker_service.count_by_status(session, subject)
    per_day = worker_service.jobs_per_day(session, subject)
    members = len(workspace_service.list_members(session, subject))
    keys = [k for k in workspace_service.list_api_keys(session, subject) if k.revoked_at is None]
    context |= overview_context(session, subject) | {
        "job_counts": {status.value: count for status, count in by_status.items()},
        "chart": {
            "labels": [d.day.isoformat() for d in per_day],
            "values": [d.jobs for d in per_day],
        },
        "member_count": members,
        "key_count": len(keys),
    }
    return render(request, "overview.html", context)


# --- accepting an invitation -------------------------------------------------------------


def _invitee(request: Request) -> User | None:
    """The logged-in user, if any, on a page that does not need a login."""
    try:
        return web_subject(request)[1]
    except LoginRequired:
        return None
    except PermissionDenied:
        # web_subject found a valid login whose user is in no workspace yet (e.g. they left
        # their only one): exactly who may need to accept an invitation.
        token = session_token(request)
        if token is None:
            return None
        with get_db(request).session(readonly=True) as session:
            found = workspace_service.session_for_token(session, token)
            return found.user if found is not None else None


def _invite_page(
    request: Request, token: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    base = {"token": token, "error": None, "invitation": None, "viewer": None, "name": ""}
    response = render(request, "invite_accept.html", base | context, status_code=status_code)
    # The token is in this page's URL: keep it out of caches and of Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_page(request: Request, session: DbSession, token: str) -> Response:
    settings: Settings = request.app.state.settings
    try:
        invitation = invitations.view_invitation(
            session, token, invitations.InvitationSecrets.from_settings(settings)
        )
    except invitations.InvitationInvalid as exc:
        return _invite_page(request, token, {"error": exc.message, "invalid": True}, 410)
    return _invite_page(request, token, {"invitation": invitation, "viewer": _invitee(request)})


@router.post("/invite/{token}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def invite_accept(
    request: Request,
    session: DbSession,
    token: str,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    secrets = invitations.InvitationSecrets.from_settings(settings)
    viewer = _invitee(request)
    try:
        if viewer is not None:
            accepted = invitations.accept_as_user(session, token, viewer, secrets=secrets)
        else:
            if password != password_confirm:
                raise InvalidInput("the two passwords differ")
            accepted = invitations.accept_as_new_user(
                session, token, name=name, password=password, secrets=secrets
            )
    except invitations.InvitationInvalid as exc:
        return _invite_page(request, token, {"error": exc.message, "invalid": True}, 410)
    except AppError as exc:
        session.rollback()
        try:
            invitation = invitations.view_invitation(session, token, secrets)
        except invitations.InvitationInvalid as gone:
            return _invite_page(request, token, {"error": gone.message, "invalid": True}, 410)
        context = {"error": exc.message, "invitation": invitation, "viewer": viewer, "name": name}
        return _invite_page(request, token, context, exc.status_code)
    workspace = accepted.workspace
    if viewer is not None:
        request.session["wid"] = workspace.id
        message = (
            f"You joined {workspace.name} as {accepted.invitation.role.value}."
            if accepted.joined
            else f"You were already a member of {workspace.name}."
        )
        flash(request, message, "success")
        return RedirectResponse("/", status_code=303)
    flash(
        request,
        f"Welcome to {workspace.name}! Your account is ready: log in as {accepted.user.email}.",
        "success",
    )
    return RedirectResponse("/login", status_code=303)


_VALIDATION_WORDS = {
    "int_parsing": "should be a whole number",
    "float_parsing": "should be a number",
    "missing": "is missing: fill it in",
    "enum": "is not one of the choices",
    "bool_parsing": "should be yes or no",
}


def _validation_line(error: dict[str, Any]) -> str:
    """One FastAPI validation error as a sentence: "Priority: should be a whole number (you
    typed 'abc')." The field is the last part of its location, in words."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = (loc[-1] if loc else "value").replace("_", " ").capitalize()
    words = _VALIDATION_WORDS.get(str(error.get("type")), str(error.get("msg", "is not valid")))
    typed = error.get("input")
    shown = f" (you typed {typed!r})" if isinstance(typed, str) and len(typed) <= 100 else ""
    return f"{field} {words}{shown}."


def _safe_back(request: Request) -> str:
    """The page the request came from, when it is one of ours (for a "go back" link)."""
    referer = request.headers.get("referer")
    if not referer:
        return "/"
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/"
    return _safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


class RevalidatedStaticFiles(StaticFiles):
    """The dashboard's scripts, styles and vendored libraries, which keep their names from one
    release to the next: ``no-cache`` makes a browser ask (a cheap 304 by ETag) before reusing
    one, where the heuristic freshness it would otherwise give a file with only a
    Last-Modified could pair a new page or script with an old one for days after an upgrade."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_dashboard(app: FastAPI) -> None:

    settings: Settings = app.state.settings
    app.state.login_throttle = LoginThrottle(settings)
    app.mount("/static", RevalidatedStaticFiles(directory=str(WEB_DIR / "static")), name="static")
    from socialpulse.web.accounts import router as accounts_router
    from socialpulse.web.billing import router as billing_router
    from socialpulse.web.creators import router as creators_router
    from socialpulse.web.discovery import router as discovery_router
    from socialpulse.web.fans import router as fans_router
    from socialpulse.web.inbox import router as inbox_router
    from socialpulse.web.insights import router as insights_router  # issue #15 (F)
    from socialpulse.web.limits import router as limits_router
    from socialpulse.web.lists import router as lists_router
    from socialpulse.web.posts import router as posts_router  # issue #17 (C)
    from socialpulse.web.publishing import router as publishing_router  # issue #15 (F)
    from socialpulse.web.settings import router as settings_router
    from socialpulse.web.webhooks import router as webhooks_router  # issue #15
    from socialpulse.web.workflows import router as workflows_router

    app.include_router(router)
    app.include_router(settings_router)
    # Before the accounts pages: /accounts/compare is not an account id.
    app.include_router(posts_router)
    app.include_router(accounts_router)
    app.include_router(inbox_router)
    app.include_router(workflows_router)
    app.include_router(fans_router)
    app.include_router(limits_router)
    app.include_router(creators_router)
    app.include_router(discovery_router)
    app.include_router(billing_router)
    app.include_router(lists_router)
    app.include_router(webhooks_router)
    app.include_router(publishing_router)
    app.include_router(insights_router)

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

    previous_validation = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # A dashboard form or link with a value the route cannot read (a page number "abc", a
        # missing field) gets a page in words, never the API's JSON.
        if request.url.path.startswith("/api"):
            assert previous_validation is not None
            return await previous_validation(request, exc)  # type: ignore[misc]
        lines = [_validation_line(error) for error in exc.errors()]
        return render(
            request,
            "error.html",
            {
                "status": 422,
                "message": "Some of what was sent cannot be used:",
                "lines": lines,
                "back": _safe_back(request),
            },
            status_code=422,
        )
