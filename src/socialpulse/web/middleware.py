"""Dashboard rate limit per logged-in user, answered with a friendly page.

Pure ASGI, inside SessionMiddleware (it reads the signed session's user id). The API limits
per key in `deps.current_subject`; static files, the docs and /metrics are not counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from socialpulse.kit.ratelimit import RateLimiter

_NOT_COUNTED = ("/api", "/static", "/docs", "/metrics")


class DashboardRateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: Callable[[], RateLimiter]) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NOT_COUNTED):
            await self.app(scope, receive, send)
            return
        user_id = scope.get("session", {}).get("uid")
        if user_id is None:
            await self.app(scope, receive, send)
            return
        limiter = self.limiter()
        # A thread: with Redis storage the count is a network round trip.
        retry_after = await anyio.to_thread.run_sync(
            functools.partial(limiter.hit, f"user:{user_id}")
        )
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        from socialpulse.web.views import render_error

        request = Request(scope, receive)
        response = render_error(
            request,
            429,
            f"You are going a little fast: too many pages in a short time. "
            f"Try again in {retry_after} seconds.",
        )
        response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)
