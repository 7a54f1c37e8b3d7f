"""Dashboard rate limit per login, answered with a friendly page.

Pure ASGI, inside SessionMiddleware. It counts per login session (the signed cookie's session
token, hashed so the counter key never holds a credential) rather than per user: finding the
user would cost a query before the limit, and new logins are themselves throttled. The API limits
per key in `deps.current_subject`; static files, stored images, the docs and /metrics are not
counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from socialpulse.kit.ratelimit import RateLimiter
from socialpulse.kit.security import sha256_hex
from socialpulse.workspaces.deps import SESSION_TOKEN_KEY

# A report page loads dozens of /media/ images: counting them would spend the limit on pictures.
_NOT_COUNTED = ("/api", "/static", "/media/", "/docs", "/metrics")


class DashboardRateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: Callable[[], RateLimiter]) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NOT_COUNTED):
            await self.app(scope, receive, send)
            return
        token = scope.get("session", {}).get(SESSION_TOKEN_KEY)
        if not isinstance(token, str) or not token:
            await self.app(scope, receive, send)
            return
        limiter = self.limiter()
        # A thread: with Redis storage the count is a network round trip.
        retry_after = await anyio.to_thread.run_sync(
            functools.partial(limiter.hit, f"login:{sha256_hex(token)[:32]}")
        )
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        from socialpulse.web.pages import render_error

        request = Request(scope, receive)
        response = render_error(
            request,
            429,
            f"You are going a little fast: too many pages in a short time. "
            f"Try again in {retry_after} seconds.",
        )
        response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)
