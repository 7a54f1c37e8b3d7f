"""The FastAPI app factory: API, dashboard, health, metrics, and the embedded worker."""

from __future__ import annotations

import base64
import gc
import hashlib
import ipaddress
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from socialpulse import __version__
from socialpulse import models as _all_models  # noqa: F401  (every table before a flush)
from socialpulse.config import ConfigError, Settings, get_settings
from socialpulse.db import Database, init_database
from socialpulse.errors import AppError, TooManyRequests, error_body, error_responses
from socialpulse.kit.asgi import (
    CONTENT_SECURITY_POLICY,
    BodySizeLimitMiddleware,
    CompressionMiddleware,
    RequestContextMiddleware,
    RouteShortcut,
    SecurityHeadersMiddleware,
)
from socialpulse.kit.logging import configure_logging
from socialpulse.kit.params import INPUT_POLICY, reject_unstorable_text
from socialpulse.kit.ratelimit import RateLimiter, storage_uri
from socialpulse.kit.routing import PooledRoute, open_read_pool, read_pool_threads
from socialpulse.kit.ttl import Throttled
from socialpulse.migrations.runner import schema_problem
from socialpulse.startup import check_settings
from socialpulse.worker.queue import configure_tasks, huey
from socialpulse.workspaces.fast_reads import FastReads, ShortcutTable

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}
HEALTH_PATH = "/api/health"
# Responses smaller than this go as they are: gzip's header and a round trip cost more.
COMPRESS_MIN_BYTES = 1024
COMPRESS_LEVEL = 5
# A path no route matches: routing it once at start builds every route's context (_warm_up).
WARM_UP_PATH = "/.socialpulse-warm-up"
# How stale /api/health's readings may be: reading the database and the queue depth per request
# cost a thread hop, a pooled connection and a round trip to Huey's storage (on SQLite, its
# shared connection) for every probe; a load balancer probing each second still sees each change.
HEALTH_CHECK_TTL_S = 1.0


class HealthCheck(BaseModel):
    ok: bool
    backend: str | None = None
    latency_ms: float | None = None
    pending: int | None = Field(default=None, description="Tasks waiting in the queue.")
    error: str | None = None


class HealthReport(BaseModel):
    version: str
    status: Literal["ok", "unavailable"]
    database: HealthCheck
    queue: HealthCheck


def _api_routers() -> list[APIRouter]:
    from socialpulse.accounts.api import router as accounts_router
    from socialpulse.accounts.content_api import router as content_router
    from socialpulse.ai.api import router as ai_router
    from socialpulse.ai.drafting_api import router as drafting_router  # issue #15, part E
    from socialpulse.alerts.api import router as alerts_router  # issue #16: performance alerts
    from socialpulse.analytics.api import router as analytics_router
    from socialpulse.billing.admin_api import router as billing_admin_router
    from socialpulse.billing.api import router as credits_router
    from socialpulse.billing.payments_api import router as payments_router
    from socialpulse.creators.admin_api import router as creators_admin_router
    from socialpulse.creators.api import router as creators_router
    from socialpulse.creators.campaigns_api import router as campaigns_router
    from socialpulse.creators.discovery_api import router as discovery_router
    from socialpulse.creators.exports_api import router as exports_router
    from socialpulse.creators.lists_api import router as lists_router
    from socialpulse.inbox.analytics_api import router as inbox_analytics_router
    from socialpulse.inbox.api import router as inbox_router
    from socialpulse.inbox.reply_api import router as reply_queue_router
    from socialpulse.inbox.workflow_api import router as workflows_router
    from socialpulse.insights.api import router as insights_router  # issue #15 part D
    from socialpulse.publishing.api import router as publishing_router  # Publishing (#15)
    from socialpulse.webhooks.api import router as webhooks_router  # issue #15
    from socialpulse.worker.api import router as jobs_router
    from socialpulse.workspaces.api import router as workspaces_router

    return [
        workspaces_router,
        jobs_router,
        accounts_router,
        analytics_router,
        alerts_router,
        content_router,
        ai_router,
        drafting_router,  # issue #15, part E: /publishing/drafts/suggest
        inbox_router,
        workflows_router,
        reply_queue_router,
        inbox_analytics_router,
        creators_router,
        creators_admin_router,
        lists_router,
        campaigns_router,
        exports_router,
        discovery_router,
        credits_router,
        billing_admin_router,
        payments_router,
        publishing_router,
        insights_router,  # issue #15 part D: /analytics/overview, /roi, /costs
        webhooks_router,
    ]


def _upload_limits(settings: Settings) -> dict[str, int]:
    """Routes that take files (Publishing, #15): a post's media, and a CSV of posts."""
    from socialpulse.publishing.api import body_limits

    return body_limits(settings)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path == "/metrics" or path.startswith("/docs"))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        headers = {}
        if isinstance(exc, TooManyRequests) and exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = jsonable_encoder(
            [
                {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
                for err in exc.errors()
            ]
        )
        first = details[0] if details else {}
        where = ".".join(str(part) for part in first.get("loc", []))
        message = f"invalid request: {where}: {first.get('msg')}" if first else "invalid request"
        return JSONResponse(error_body("invalid_input", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_html(request):
            from socialpulse.web.pages import render_error

            return render_error(request, 404, "Page not found")
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    # An unhandled exception becomes the error-shape 500 in kit.asgi.RequestContextMiddleware,
    # which logs it off the event loop, once, without locals.


def _install_middleware(
    app: FastAPI,
    settings: Settings,
    secret_key: str,
    health: tuple[APIRoute, Callable[[], Awaitable[Response]]],
) -> None:
    """Pure ASGI middleware, outermost last: headers on every response (500s and 413s too),
    then request id, timing and crash handling, then /api/health answered at once, then gzip
    (when on), then cached report reads the database has not moved past
    (workspaces.fast_reads), then the body limit before anything reads a body, then the
    session, then the per-user dashboard limit that needs the session."""
    from socialpulse.web.middleware import DashboardRateLimitMiddleware

    app.add_middleware(DashboardRateLimitMiddleware, limiter=lambda: app.state.web_rate_limiter)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie="socialpulse_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    # Read from app.state.settings on each request, so a test may lower it.
    app.add_middleware(
        BodySizeLimitMiddleware,
        limit=lambda: app.state.settings.max_body_bytes,
        path_limits=lambda: _upload_limits(app.state.settings),
    )
    app.add_middleware(FastReads, state=app.state)
    if settings.response_compression:
        # Inside the health shortcut (its answer is small; probes skip the wrapping), outside
        # the cached reads (their bodies compress too). Level 5: the 50-row inbox page, 330 KB,
        # goes to 24 KB in about 2 ms; level 9 saves 3 KB more for twice the time.
        app.add_middleware(
            CompressionMiddleware, minimum_size=COMPRESS_MIN_BYTES, compresslevel=COMPRESS_LEVEL
        )
    app.add_middleware(RouteShortcut, route=health[0], endpoint=health[1])
    app.add_middleware(
        RequestContextMiddleware,
        quiet_paths=frozenset({HEALTH_PATH}),
        sample=lambda: app.state.settings.request_log_sample,
    )
    app.add_middleware(SecurityHeadersMiddleware)


def _docs_page() -> HTMLResponse:
    """Swagger UI from vendored assets. Its page starts the UI with an inline script, which the
    site-wide policy (script-src 'self') refuses: this page's policy allows that one script by
    its hash, and nothing else inline."""
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="socialpulse API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )
    body = bytes(page.body)
    inline = re.findall(rb"<script>(.*?)</script>", body, flags=re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in inline
    )
    policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})


def _metrics_refusal(request: Request, settings: Settings) -> Response | None:
    """None when the caller may read /metrics: with SOCIALPULSE_METRICS_TOKEN set, the bearer
    token; unset, only loopback clients (a scraper on the same host)."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if token:
        scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not supplied:
            return JSONResponse(
                error_body("not_authenticated", "send 'Authorization: Bearer <metrics token>'"),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not secrets.compare_digest(supplied.encode(), token.encode()):
            return JSONResponse(
                error_body("permission_denied", "wrong metrics token"), status_code=403
            )
        return None
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return JSONResponse(
        error_body(
            "permission_denied",
            "/metrics answers loopback clients only; set SOCIALPULSE_METRICS_TOKEN to scrape "
            "it from elsewhere",
        ),
        status_code=403,
    )


def _queue_check(settings: Settings) -> dict[str, Any]:
    try:
        pending = huey.pending_count()
    except Exception as exc:  # health must report, not raise
        return {
            "ok": False,
            "backend": settings.tasks_backend,
            "error": f"{type(exc).__name__}: {exc}",
        }
    return {"ok": True, "backend": settings.tasks_backend, "pending": pending}


def _database_check(db: Database) -> dict[str, Any]:
    # The read engine: on SQLite the write engine's BEGIN IMMEDIATE made every probe queue
    # behind (and block) the writers.
    engine = db.read_engine if db.read_engine is not None else db.engine
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            # Reachable is not enough: on a schema behind the code every page would fail.
            problem = schema_problem(conn, newer_ok=True)
    except Exception as exc:  # health must report, not raise
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if problem is not None:
        return {"ok": False, "backend": db.dialect, "error": problem}
    return {"ok": True, "backend": db.dialect, "latency_ms": latency_ms}


def _health_endpoint(
    database: Throttled[dict[str, Any]], queue: Throttled[dict[str, Any]]
) -> Callable[[], Awaitable[Response]]:
    """Both checks are read at most once per second each, in a thread; in between the probe is
    answered on the event loop from the last readings (a failure shows within a second)."""

    def read_both() -> tuple[dict[str, Any], dict[str, Any]]:
        return database.get(), queue.get()

    async def health() -> Response:
        """Database and task queue reachability; 503 when either fails."""
        fresh_db, fresh_queue = database.fresh(), queue.fresh()
        if fresh_db is None or fresh_queue is None:
            db_state, queue_state = await run_in_threadpool(read_both)
        else:
            db_state, queue_state = fresh_db, fresh_queue
        healthy = db_state["ok"] and queue_state["ok"]
        report = {
            "version": __version__,
            "database": db_state,
            "queue": queue_state,
            "status": "ok" if healthy else "unavailable",
        }
        return JSONResponse(report, status_code=200 if healthy else 503)

    return health


def _add_health(
    app: FastAPI, settings: Settings, db: Database
) -> tuple[APIRoute, Callable[[], Awaitable[Response]]]:
    """The documented /api/health route, first in the router; RouteShortcut answers its GETs
    before the router and the inner middleware are reached."""
    app.state.queue_check = Throttled(lambda: _queue_check(settings), HEALTH_CHECK_TTL_S)
    app.state.database_check = Throttled(lambda: _database_check(db), HEALTH_CHECK_TTL_S)
    endpoint = _health_endpoint(app.state.database_check, app.state.queue_check)
    app.add_api_route(
        HEALTH_PATH,
        endpoint,
        methods=["GET"],
        tags=["ops"],
        responses={200: {"model": HealthReport}, 503: {"model": HealthReport}},
    )
    route = app.router.routes.pop()
    assert isinstance(route, APIRoute)
    app.router.routes.insert(0, route)
    return route, endpoint


async def _warm_up(app: FastAPI) -> None:
    """Pay at start, before the server listens, what the first requests would otherwise pay
    (about a second on a 2-core machine: the first page, the first API call): the provider
    registry's imports, every dashboard template's compilation, and FastAPI's per-route
    contexts (dependency graphs and their validators), which it builds for every route a request
    is matched against on first use. A request no route matches is matched against all of them.
    Done before ``gc.freeze()``, so what it builds is frozen with the rest."""
    from socialpulse.providers.registry import all_providers
    from socialpulse.web.pages import precompile_templates

    all_providers()
    precompile_templates()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARM_UP_PATH,
        "raw_path": WARM_UP_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "server": None,
        "client": None,
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(message: Any) -> None:
        return None

    await app.router(scope, receive, discard)


def create_app(settings: Settings | None = None, *, start_worker: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    # First: a missing or weak key, or a bad setting, stops the start before any file or
    # database is touched.
    secret_key = settings.resolved_secret_key()
    check_settings(settings)
    configure_logging(settings.log_level, settings.log_json)
    db = init_database(settings.effective_database_url)
    configure_tasks(settings)
    run_embedded = settings.runs_embedded_worker
    if start_worker is not None:
        run_embedded = start_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from socialpulse.worker.consumer import start_embedded, stop_embedded
        from socialpulse.worker.schedule import load_tasks

        load_tasks()
        await _warm_up(app)
        consumer = start_embedded(settings.worker_threads) if run_embedded else None
        # What is loaded by now (modules, models, templates, the app) lives as long as the
        # process; frozen, it is out of the collector's sight, so the full collections that
        # requests' garbage triggers no longer walk it (~200k objects, tens of ms each).
        gc.freeze()
        open_read_pool(read_pool_threads(settings.read_threads, db.dialect))
        try:
            yield
        finally:
            if consumer is not None:
                stop_embedded(consumer)

    app = FastAPI(
        title="socialpulse",
        version=__version__,
        description="Social media analytics, engagement inbox, creator intelligence, publishing."
        f"\n\n{INPUT_POLICY}",
        lifespan=lifespan,
        docs_url=None,  # served below from vendored assets: no CDN request
        # No OpenTelemetry here (Prometheus at /metrics): FastAPI's check for a configured
        # provider otherwise runs on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        openapi_url="/api/openapi.json",
    )
    # The app's own routes (docs, metrics) run where every domain router's do.
    app.router.route_class = PooledRoute
    app.state.settings = settings
    app.state.db = db

    uri = storage_uri(settings)
    app.state.api_rate_limiter = RateLimiter(settings.api_rate_limit, uri, "api-key")
    app.state.web_rate_limiter = RateLimiter(settings.web_rate_limit, uri, "web-user")
    app.state.fast_reads = ShortcutTable(settings.response_cache_mb * 1024 * 1024)

    _install_error_handlers(app)
    _install_middleware(app, settings, secret_key, _add_health(app, settings, db))

    for router in _api_routers():
        # Every API route authenticates, is rate limited per key, refuses oversized bodies and
        # validates its input (text no database can store included); routes declare their
        # other error statuses. One error body for all.
        app.include_router(
            router,
            responses=error_responses(400, 401, 413, 422, 429),
            dependencies=[Depends(reject_unstorable_text)],
        )

    from socialpulse.media.api import router as media_router

    # Stored images are public data: no login, no API dependencies, not in the schema.
    app.include_router(media_router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return _docs_page()

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        refusal = _metrics_refusal(request, request.app.state.settings)
        if refusal is not None:
            return refusal
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    from socialpulse.web.views import mount_dashboard

    mount_dashboard(app)
    return app


def get_app() -> FastAPI:
    """Entry point for `uvicorn --factory socialpulse.app:get_app`: with the embedded default,
    the task consumer runs as threads of this process."""
    return _app_or_exit(start_worker=None)


def get_web_app() -> FastAPI:
    """Entry point of `socialpulse serve`'s web processes: the task consumer runs in a process
    of its own (serve's child, or `socialpulse worker`)."""
    return _app_or_exit(start_worker=False)


def _app_or_exit(start_worker: bool | None) -> FastAPI:
    try:
        return create_app(start_worker=start_worker)
    except ConfigError as exc:
        # One line and a non-zero exit, not a traceback out of the ASGI server.
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["Database", "create_app", "get_app", "get_web_app"]
