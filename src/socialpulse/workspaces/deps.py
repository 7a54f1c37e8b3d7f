"""Request-scoped dependencies: the unit of work and the authenticated subject."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.errors import NotAuthenticated, TooManyRequests
from socialpulse.kit.ratelimit import RateLimiter
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.report_cache import ReportCache
from socialpulse.workspaces.tenancy import Subject

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The signed session cookie's key for the dashboard session token (see web/security.py).
SESSION_TOKEN_KEY = "sid"

_bearer = HTTPBearer(auto_error=False, description="A workspace API key: sp_<prefix>_<secret>")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with get_db(request).session(readonly=request.method in SAFE_METHODS) as session:
        yield session


# scope="function": the transaction commits when the route returns, before the response is
# sent. With FastAPI's default ("request") it committed after: a browser following the
# redirect of a login or a form could read the state before it (bounced back to the login
# page under load), and a failed commit came after a success had been answered.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def session_token(request: Request) -> str | None:
    """The dashboard session token of the signed cookie, if the request carries one."""
    if "session" not in request.scope:
        return None
    token = request.session.get(SESSION_TOKEN_KEY)
    return token if isinstance(token, str) and token else None


def active_session(
    request: Request, session: Session, token: str
) -> workspace_service.ActiveSession | None:
    """The cookie's server-side session if it still counts; notes its id on request.state."""
    found = workspace_service.session_for_token(session, token)
    if found is not None:
        request.state.user_session_id = found.id
    return found


def touch_if_stale(request: Request, found: workspace_service.ActiveSession) -> None:
    # A write of its own after the read, at most every few minutes per session.
    if found.stale:
        with get_db(request).session() as session:
            workspace_service.touch_session(session, found.id)


def current_subject(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Subject:
    """API callers authenticate with a bearer key. A logged-in dashboard session may also read
    (safe methods only: mutations through cookies would need CSRF tokens the API does not use).

    The lookup runs in its own short read-only unit of work: a route's transaction begins only
    at its first query, so routes that call a platform first hold no lock meanwhile."""
    db = get_db(request)
    if credentials is not None:
        with db.session(readonly=True) as session:
            subject, stale = workspace_service.subject_for_api_key(session, credentials.credentials)
        if stale and subject.api_key_id is not None:
            with db.session() as session:
                workspace_service.touch_api_key(session, subject.api_key_id)
        # Counted after the key is verified: a wrong secret must not spend a real key's budget.
        limiter: RateLimiter = request.app.state.api_rate_limiter
        retry_after = limiter.hit(f"key:{subject.api_key_id}")
        if retry_after is not None:
            raise TooManyRequests(
                f"rate limit of this API key reached; try again in {retry_after} seconds",
                retry_after=retry_after,
            )
        return subject
    if request.headers.get("authorization"):
        raise NotAuthenticated("unsupported Authorization scheme: use 'Bearer <API key>'")
    token = session_token(request)
    if token is not None and request.method in SAFE_METHODS:
        with db.session(readonly=True) as session:
            found = active_session(request, session, token)
            member = (
                workspace_service.subject_for_user(
                    session, found.user.id, request.session.get("wid")
                )
                if found is not None
                else None
            )
        if found is None:
            # Logged out, expired, or the user was deactivated: the copy of the cookie is dead.
            raise NotAuthenticated("your dashboard session ended; log in again or send an API key")
        touch_if_stale(request, found)
        if member is not None:
            return member
    raise NotAuthenticated("missing API key: send 'Authorization: Bearer <API key>'")


CurrentSubject = Annotated[Subject, Depends(current_subject)]


def report_cache(request: Request, session: DbSession, subject: CurrentSubject) -> ReportCache:
    return ReportCache(request, session, subject.workspace_id)


# Report routes answer through it: `return cache.respond(Model, lambda: service.report(...))`.
CachedReads = Annotated[ReportCache, Depends(report_cache)]
