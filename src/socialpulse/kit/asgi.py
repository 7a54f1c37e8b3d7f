"""Pure ASGI middleware: security headers, request context, body size limit, compression.

Pure ASGI rather than `BaseHTTPMiddleware` / `@app.middleware("http")`: those run the app in a
separate task, buffer nothing we need, and turn every exception into an ExceptionGroup; these
only wrap `receive` and `send`.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

import anyio
import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialpulse.errors import error_body
from socialpulse.kit.metrics import HTTP_LATENCY

log = structlog.get_logger(__name__)

# What the dashboard and the API need: scripts and styles from this origin only. Inline style
# attributes stay allowed: templates size bars and colour heat-map cells from data with
# `style="width: 40%"`; a style cannot run script, and with img-src/font-src limited a style
# cannot send data elsewhere except as an https image the page could show anyway. Images may come
# from https: post thumbnails and fan avatars are the platforms' CDN URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

# A request at least this slow is always logged at INFO (see RequestContextMiddleware).
SLOW_REQUEST_S = 0.5

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def safe_request_id(supplied: str | None) -> str:
    """The client's X-Request-ID when it is short and plain, else a fresh one: the id lands in
    every log line and response of the request, so it must not carry newlines, markup or
    megabytes."""
    if supplied is not None and _REQUEST_ID.fullmatch(supplied):
        return supplied
    return uuid.uuid4().hex


_VARY_ACCEPT_ENCODING = (b"vary", b"Accept-Encoding")


def _accepts_gzip(scope: Scope) -> bool:
    return any(name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])


def _weak_etag_when_gzipped(send: Send) -> Send:
    """A strong ETag names one exact byte sequence; the gzipped bytes are another, so the tag
    they carry becomes weak (as nginx does). Conditional requests still match: If-None-Match
    compares weakly, here and in StaticFiles."""

    async def send_weakened(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            if (b"content-encoding", b"gzip") in headers:
                message["headers"] = [
                    (name, b"W/" + value)
                    if name == b"etag" and value.startswith(b'"')
                    else (name, value)
                    for name, value in headers
                ]
        await send(message)

    return send_weakened


class CompressionMiddleware:
    """Starlette's gzip for the clients that accept it (browsers, httpx, requests), nothing in
    the way of the others: its pass-through for them still parsed every request's and
    response's headers, a fifth of a cached report read. Their responses only get the
    ``Vary: Accept-Encoding`` a shared cache needs to keep the two forms apart."""

    def __init__(self, app: ASGIApp, *, minimum_size: int, compresslevel: int) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _accepts_gzip(scope):
            await self.gzip(scope, receive, _weak_etag_when_gzipped(send))
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), _VARY_ACCEPT_ENCODING]
            await send(message)

        await self.app(scope, receive, send_with_vary)


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response; a response that set its own
    Content-Security-Policy (the API docs page) keeps it."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Raw header pairs: MutableHeaders' setdefault re-scanned the list per header.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in self.raw if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestContextMiddleware:
    """Binds a request id to the logs, times the request by route template, logs it, and turns
    an unhandled exception into the error-shape 500.

    The exception is logged once, here, from a worker thread: formatting a traceback reads
    source files, and on the event loop three crashing requests stalled every other one
    (`/api/health` waited 84 s). Nothing is re-raised to the server when the 500 was sent,
    so it is not logged a second time.

    Requests to `quiet_paths` (probes a load balancer sends every second) are logged at DEBUG
    only: at INFO their lines drowned the others and cost more than answering them. Of the
    successful GETs faster than `SLOW_REQUEST_S`, 1 in `sample()` is logged at INFO (the rest at
    DEBUG): formatting a line cost a fifth of a cached read. Errors, slow requests and writes are
    always logged; the latency metric counts every request."""

    def __init__(
        self,
        app: ASGIApp,
        quiet_paths: frozenset[str] = frozenset(),
        sample: Callable[[], int] = lambda: 1,
    ) -> None:
        self.app = app
        self.quiet_paths = quiet_paths
        self.sample = sample
        self._routine = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = safe_request_id(Headers(scope=scope).get("x-request-id"))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            status = 500
            await anyio.to_thread.run_sync(
                functools.partial(
                    log.error, "http.request.crashed", path=_loggable_path(scope), exc_info=exc
                )
            )
            if response_started:
                raise  # the status line is gone; only the server can drop the connection
            response = JSONResponse(
                error_body("internal_error", "internal server error; the incident was logged"),
                status_code=500,
            )
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", "unmatched")
            HTTP_LATENCY.labels(scope["method"], template, str(status)).observe(elapsed)
            emit = log.info if self._worth_a_line(scope, status, elapsed) else log.debug
            emit(
                "http.request",
                method=scope["method"],
                path=_loggable_path(scope),
                status=status,
                ms=round(elapsed * 1000, 2),
            )

    def _worth_a_line(self, scope: Scope, status: int, elapsed: float) -> bool:
        if scope["path"] in self.quiet_paths:
            return False
        if status >= 400 or elapsed >= SLOW_REQUEST_S or scope["method"] != "GET":
            return True
        every = self.sample()
        self._routine += 1
        return every == 1 or self._routine % every == 1


class RouteShortcut:
    """Answers GET `route.path` with `endpoint` (a coroutine: it must not block) before the
    middleware inside this one and before the router: a probe of one fixed path needs no
    session cookie, body limit or walk past every other route. Other methods fall through to
    the app's own route, which documents the path and answers them as before. Sets
    `scope["route"]` as the router would, for the middleware outside (latency by route
    template, logs)."""

    def __init__(
        self, app: ASGIApp, route: Route, endpoint: Callable[[], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.route = route
        self.path = route.path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "GET":
            scope["route"] = self.route
            response = await self.endpoint()
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _loggable_path(scope: Scope) -> str:
    """The request path, or its route template when the path carries a secret (an invitation
    link's token): logs are read by more people than the links are meant for."""
    template = getattr(scope.get("route"), "path", "")
    return str(template) if "{token}" in template else str(scope["path"])


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes the limit. An HTTPException so FastAPI's body
    parsing lets it through to the app's error handlers (the error shape) instead of turning
    it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodySizeLimitMiddleware:
    """Refuses bodies over `limit()` bytes with 413: at once when Content-Length says so (the
    body is never read), and for chunked bodies as soon as the bytes received pass it (the rest
    is never read). A 60 MB body used to be read in full before it was refused."""

    def __init__(
        self,
        app: ASGIApp,
        limit: Callable[[], int],
        path_limits: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        # Routes that take files (a post's video) allow more than the default, per exact path.
        self.path_limits = path_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        if self.path_limits is not None:
            limit = self.path_limits().get(scope.get("path", ""), limit)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watch_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watch_send)
        except BodyTooLarge:
            # Read outside a route (no handler on the way): answered here.
            if response_started:
                raise
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = JSONResponse(
            error_body("payload_too_large", f"request body is larger than {limit} bytes"),
            status_code=413,
            # The unread rest of the body would otherwise have to be drained before the
            # connection could serve another request.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
