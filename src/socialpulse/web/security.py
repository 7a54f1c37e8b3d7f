"""Dashboard sessions, CSRF tokens and login throttling.

A login is a `user_sessions` row; the signed cookie (Starlette's SessionMiddleware) carries
its random token, the CSRF token, the current workspace and flash messages. Every
authenticated request finds the row by the token's hash, so logout, a password change or a
deactivation ends a session even for someone who kept a copy of the cookie.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import time
from typing import Annotated

import anyio
from fastapi import Depends, Request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from socialpulse.config import Settings
from socialpulse.errors import AppError, PermissionDenied, TooManyRequests
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.deps import (
    SAFE_METHODS,
    SESSION_TOKEN_KEY,
    DbSession,
    active_session,
    get_db,
    reads_on_loop,
    session_token,
    touch_if_stale,
)
from socialpulse.workspaces.models import User
from socialpulse.workspaces.tenancy import Subject

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(AppError):
    status_code = 401
    code = "login_required"


def csrf_token(request: Request) -> str:
    """The session's CSRF secret as a page carries it: masked afresh on each call (a random pad,
    then the secret XOR the pad). Pages are gzipped and many echo what the visitor typed; an
    unmasked secret, the same in every page, could be read back from compressed sizes (BREACH).
    A masked one differs in every response."""
    secret = request.session.get("csrf")
    if not secret:
        secret = secrets.token_urlsafe(32)
        request.session["csrf"] = secret
    raw = str(secret).encode()
    pad = secrets.token_bytes(len(raw))
    masked = pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True))
    return base64.urlsafe_b64encode(masked).rstrip(b"=").decode()


def _unmasked(supplied: str) -> str | None:
    """The secret inside a token ``csrf_token`` made, or None for anything else."""
    try:
        masked = base64.urlsafe_b64decode(supplied + "=" * (-len(supplied) % 4))
    except (ValueError, binascii.Error):
        return None
    half, odd = divmod(len(masked), 2)
    if odd or not half:
        return None
    secret = bytes(a ^ b for a, b in zip(masked[:half], masked[half:], strict=True))
    return secret.decode("ascii", "replace")


async def verify_csrf(request: Request) -> None:
    """Every state-changing dashboard request carries the session's token (form or header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = request.session.get("csrf")
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not _csrf_matches(str(expected), supplied):
        raise PermissionDenied("the form expired or did not come from this site; reload the page")


def _csrf_matches(expected: str, supplied: str) -> bool:
    unmasked = _unmasked(supplied)
    if unmasked is not None and secrets.compare_digest(expected.encode(), unmasked.encode()):
        return True
    # A page rendered before tokens were masked carries the secret itself.
    return secrets.compare_digest(expected.encode(), supplied.encode())


def web_subject(request: Request, page_session: Session | None = None) -> tuple[Subject, User]:
    """The logged-in user and their current workspace. A page (GET) given its own read session
    looks them up in it: one transaction for both. Otherwise (a form post, or no session given)
    in a short read-only unit of work of their own, so a post's write transaction starts only
    at its first query."""
    token = _required_token(request)
    if page_session is not None and request.method in SAFE_METHODS:
        found, subject = _web_member(request, page_session, token)
    else:
        with get_db(request).session(readonly=True) as session:
            found, subject = _web_member(request, session, token)
    # The page's read transaction does not see this touch; the page may show the session's
    # previous "last seen" once, and its `user` stays loaded (never expired under it).
    touch_if_stale(request, found)
    return _admitted(request, found, subject)


def _required_token(request: Request) -> str:
    token = session_token(request)
    if token is None:
        raise LoginRequired("log in to continue")
    return token


def _admitted(
    request: Request, found: workspace_service.ActiveSession, subject: Subject | None
) -> tuple[Subject, User]:
    if subject is None:
        raise PermissionDenied("your account is not a member of any workspace")
    request.session["wid"] = subject.workspace_id
    return subject, found.user


def _web_member(
    request: Request, session: Session, token: str
) -> tuple[workspace_service.ActiveSession, Subject | None]:
    found = active_session(request, session, token)
    if found is None:
        request.session.clear()
        raise LoginRequired("your session ended; log in again")
    user_id = found.user.id
    subject = workspace_service.subject_for_user(
        session, user_id, request.session.get("wid")
    ) or workspace_service.subject_for_user(session, user_id, None)
    return found, subject


def current_session_id(request: Request) -> int:
    """The id of the request's `user_sessions` row; only after `web_subject` succeeded."""
    session_id: int = request.state.user_session_id
    return session_id


async def _web_auth(request: Request, route_session: DbSession) -> tuple[Subject, User]:
    if request.method not in SAFE_METHODS or not reads_on_loop(request):
        return await anyio.to_thread.run_sync(web_subject, request, route_session)
    # A page on the embedded default: the lookup on the event loop, as for API reads; only
    # the touch, a write, takes a thread.
    found, subject = _web_member(request, route_session, _required_token(request))
    if found.stale:
        await anyio.to_thread.run_sync(touch_if_stale, request, found)
    return _admitted(request, found, subject)


WebAuth = Annotated[tuple[Subject, User], Depends(_web_auth)]
CsrfChecked = Depends(verify_csrf)


class LoginThrottle:
    """Moving-window limits per email and per client address (memory, or Redis when the
    task queue is Redis so every web process shares the counts)."""

    def __init__(self, settings: Settings) -> None:
        uri = settings.tasks_url if settings.tasks_backend == "redis" else "memory://"
        self.storage = storage_from_string(uri)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.limits = parse_many(settings.login_rate_limit)

    def _keys(self, email: str, client: str) -> list[tuple[str, str]]:
        return [("login-email", email.strip().lower()), ("login-ip", client)]

    def check(self, email: str, client: str) -> None:
        for limit in self.limits:
            for namespace, key in self._keys(email, client):
                if not self.limiter.test(limit, namespace, key):
                    reset_at, _remaining = self.limiter.get_window_stats(limit, namespace, key)

                    retry = max(1, int(reset_at - time.time()))
                    raise TooManyRequests(
                        f"too many login attempts; try again in {retry} seconds",
                        retry_after=retry,
                    )

    def failed(self, email: str, client: str) -> None:
        for limit in self.limits:
            for namespace, key in self._keys(email, client):
                self.limiter.hit(limit, namespace, key)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login(request: Request, session: Session, user: User) -> None:
    """Start a server-side session and put only its token in a fresh cookie (a new token and
    a new CSRF token at each login: nothing from before the login carries over)."""
    settings: Settings = request.app.state.settings
    request.session.clear()
    request.session[SESSION_TOKEN_KEY] = workspace_service.start_session(
        session,
        user,
        lifetime=dt.timedelta(seconds=settings.session_max_age_s),
        user_agent=request.headers.get("user-agent", ""),
        ip=client_address(request),
    )
    subject = workspace_service.subject_for_user(session, user.id, None)
    if subject is not None:
        request.session["wid"] = subject.workspace_id
    csrf_token(request)


def logout(request: Request, session: Session) -> None:
    token = session_token(request)
    if token is not None:
        workspace_service.end_session(session, token)
    request.session.clear()
