"""Request-scoped dependencies: the unit of work and the authenticated subject.

Every dependency here that does no I/O is `async def`: FastAPI runs a plain `def` dependency
in the thread pool, a hop that costs more than the work of most of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Annotated

import anyio
from anyio import CancelScope, CapacityLimiter
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.errors import NotAuthenticated, PermissionDenied, TooManyRequests
from socialpulse.kit.ratelimit import RateLimiter
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.report_cache import ReportCache
from socialpulse.workspaces.tenancy import Subject

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The signed session cookie's key for the dashboard session token (see web/security.py).
SESSION_TOKEN_KEY = "sid"

_bearer = HTTPBearer(auto_error=False, description="A workspace API key: sp_<prefix>_<secret>")


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error.

    Opening the unit of work only builds a Session (no connection until the first query), so
    it happens on the event loop. Its end talks to the database, so it takes a thread, except
    for a read on SQLite (`reads_on_loop`), where it only releases a snapshot. That thread runs
    shielded from cancellation and outside the thread pool's limit, as FastAPI does for `def`
    generators: a request whose client left still gives its connection back, and a full pool
    of routes waiting for connections cannot block the ones returning them."""
    db = get_db(request)
    readonly = request.method in SAFE_METHODS
    unit = db.session(readonly=readonly)
    session = unit.__enter__()
    on_loop = readonly and reads_on_loop(request)
    try:
        yield session
    except BaseException as exc:
        if not await _end(unit, on_loop, type(exc), exc, exc.__traceback__):
            raise
    else:
        await _end(unit, on_loop, None, None, None)


async def _end(
    unit: AbstractContextManager[Session],
    on_loop: bool,
    kind: type[BaseException] | None,
    exc: BaseException | None,
    traceback: TracebackType | None,
) -> bool | None:
    if on_loop:
        return unit.__exit__(kind, exc, traceback)
    with CancelScope(shield=True):
        suppressed = await anyio.to_thread.run_sync(
            unit.__exit__, kind, exc, traceback, limiter=CapacityLimiter(1)
        )
    return suppressed


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


def touch_if_stale(request: Request, found: workspace_service.ActiveSession) -> bool:
    """Records the session's use, at most every few minutes per session, in a write of its own
    (a read transaction cannot write on SQLite). Says whether it wrote."""
    if not found.stale:
        return False
    with get_db(request).session() as session:
        workspace_service.touch_session(session, found.id)
    return True


def _see_own_touch(session: Session) -> None:
    # The route's read transaction began (and, on SQLite, took its snapshot) before the touch
    # committed in another: end it, so the route reads the touch. It has read, never written.
    session.rollback()


# The write that records a caller's use (an API key's last_used_at, a dashboard session's
# last_seen_at), when one is due: it takes the write engine, so it never runs on the event loop.
RecordUse = Callable[[Session], None]


def _identify(
    request: Request,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    token: str | None,
) -> tuple[Subject | None, RecordUse | None]:
    """Who calls, read in `session`: the subject (None: a logged-in user with no access to the
    workspace), and the write that records the use if one is due."""
    if credentials is not None:
        subject, stale = workspace_service.subject_for_api_key(session, credentials.credentials)
        key_id = subject.api_key_id
        if stale and key_id is not None:
            return subject, lambda writer: workspace_service.touch_api_key(writer, key_id)
        return subject, None
    assert token is not None
    found = active_session(request, session, token)
    if found is None:
        # Logged out, expired, or the user was deactivated: the copy of the cookie is dead.
        raise NotAuthenticated("your dashboard session ended; log in again or send an API key")
    member = workspace_service.subject_for_user(session, found.user.id, request.session.get("wid"))
    if found.stale:
        return member, lambda writer: workspace_service.touch_session(writer, found.id)
    return member, None


def _record_use(request: Request, record: RecordUse) -> None:
    with get_db(request).session() as writer:
        record(writer)


def _admit(
    request: Request, credentials: HTTPAuthorizationCredentials | None, subject: Subject | None
) -> Subject:
    if subject is None:
        raise NotAuthenticated("missing API key: send 'Authorization: Bearer <API key>'")
    if credentials is not None:
        # Counted after the key is verified: a wrong secret must not spend a real key's budget.
        limiter: RateLimiter = request.app.state.api_rate_limiter
        retry_after = limiter.hit(f"key:{subject.api_key_id}")
        if retry_after is not None:
            raise TooManyRequests(
                f"rate limit of this API key reached; try again in {retry_after} seconds",
                retry_after=retry_after,
            )
    return subject


def _resolve(
    request: Request,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    token: str | None,
) -> Subject:
    subject, record = _identify(request, session, credentials, token)
    if record is not None:
        _record_use(request, record)
        _see_own_touch(session)
    return _admit(request, credentials, subject)


def _resolve_apart(
    request: Request, credentials: HTTPAuthorizationCredentials | None, token: str | None
) -> Subject:
    with get_db(request).session(readonly=True) as session:
        return _resolve(request, session, credentials, token)


def reads_on_loop(request: Request) -> bool:
    """Whether a short read (a caller's lookup, the end of a read transaction) runs on the event
    loop: only when the database is a file in this process (SQLite), where one indexed read
    costs microseconds, less than the thread hop it would take (about half of a small
    authenticated read's cost). Writes, and every read over a network (PostgreSQL), still run
    in a thread."""
    return get_db(request).dialect == "sqlite"


def _identifies_on_loop(request: Request) -> bool:
    # The key's rate limit must count in memory too: with Redis, `hit` is a network call.
    limiter: RateLimiter = request.app.state.api_rate_limiter
    return reads_on_loop(request) and limiter.memory is not None


async def current_subject(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    route_session: DbSession,
) -> Subject:
    """API callers authenticate with a bearer key. A logged-in dashboard session may also read
    (safe methods only: mutations through cookies would need CSRF tokens the API does not use).

    A read authenticates in the route's own read transaction: one transaction for both, and on
    the embedded default no thread hop of its own (`_identifies_on_loop`). A write
    authenticates in a short read-only unit of work of its own: the route's write transaction
    (on SQLite, the database's one write lock) begins only at its first query, so routes that
    call a platform first hold no lock meanwhile."""
    if credentials is None and request.headers.get("authorization"):
        raise NotAuthenticated("unsupported Authorization scheme: use 'Bearer <API key>'")
    token = session_token(request) if credentials is None else None
    if credentials is None and (token is None or request.method not in SAFE_METHODS):
        raise NotAuthenticated("missing API key: send 'Authorization: Bearer <API key>'")
    if request.method not in SAFE_METHODS:
        return await anyio.to_thread.run_sync(_resolve_apart, request, credentials, token)
    if not _identifies_on_loop(request):
        return await anyio.to_thread.run_sync(_resolve, request, route_session, credentials, token)
    subject, record = _identify(request, route_session, credentials, token)
    if record is not None:
        await anyio.to_thread.run_sync(_record_use, request, record)
        _see_own_touch(route_session)
    return _admit(request, credentials, subject)


CurrentSubject = Annotated[Subject, Depends(current_subject)]


def instance_admin(request: Request, route_session: DbSession, subject: CurrentSubject) -> Subject:
    """The caller, if its user is an instance administrator; 403 otherwise (a workspace
    owner included: the role is the instance's, granted by `socialpulse admin grant`).

    Like `current_subject`, a write checks in a short read-only unit of work of its own, so
    the route's write transaction (SQLite's write lock) is not taken by the check."""
    if request.method in SAFE_METHODS:
        admin = workspace_service.instance_admin_user_id(route_session, subject)
    else:
        with get_db(request).session(readonly=True) as session:
            admin = workspace_service.instance_admin_user_id(session, subject)
    if admin is None:
        raise PermissionDenied(
            "this action needs an instance administrator (granted with `socialpulse admin "
            "grant EMAIL`); a workspace role is not enough"
        )
    return subject


# Instance-wide repairs and crawl settings: `_: InstanceAdmin` in the route's parameters.
InstanceAdmin = Annotated[Subject, Depends(instance_admin)]


async def report_cache(
    request: Request, session: DbSession, subject: CurrentSubject
) -> ReportCache:
    # async: it only builds an object, and a plain `def` would cost a thread hop per read.
    return ReportCache(request, session, subject.workspace_id, subject.api_key_id)


# Report routes answer through it: `return cache.respond(Model, lambda: service.report(...))`.
CachedReads = Annotated[ReportCache, Depends(report_cache)]
