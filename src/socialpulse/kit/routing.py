"""Where a plain `def` route runs: reads in a small pool of threads of their own.

FastAPI runs a `def` route in anyio's thread pool (40 threads), then validates what it returned
in a second hop. On the embedded default every read is Python and SQLite in this process, and
16 reads at once in 16 threads spend much of their time handing the GIL to each other: the
sqlite3 module lets go of it around every statement step. `PooledRoute` runs a `def` GET or
HEAD route in the read pool instead (`SOCIALPULSE_READ_THREADS`; on SQLite 2 by default, so
one long report does not hold up every other page), in one hop, with the response validated
on the event loop. Writes and every other method keep anyio's pool: they may wait for
SQLite's write lock or a platform, and must not take a read's place.

Every router of the app is an `api_router()`, so every route gets the rule (a test checks).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import APIRouter
from fastapi.routing import APIRoute

READ_METHODS = frozenset({"GET", "HEAD"})
# The event loop's read pool; unset (a loop the app's lifespan did not start, as in a test
# client used without `with`) means anyio's default pool.
_read_pool: RunVar[CapacityLimiter | None] = RunVar("socialpulse_read_pool", default=None)


SQLITE_READ_THREADS = 2


def read_pool_threads(configured: int | None, dialect: str) -> int:
    """The read pool's size for a web process: as configured, else `SQLITE_READ_THREADS` on
    SQLite and anyio's default pool (0) elsewhere, where reads wait on the network."""
    if configured is not None:
        return configured
    return SQLITE_READ_THREADS if dialect == "sqlite" else 0


def open_read_pool(threads: int) -> None:
    """Gives the running event loop a read pool of `threads` threads (0: anyio's default)."""
    _read_pool.set(CapacityLimiter(threads) if threads > 0 else None)


def _in_read_pool(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        call = functools.partial(endpoint, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=_read_pool.get())

    return run


class PooledRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ("GET",)}
        if methods <= READ_METHODS and not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_read_pool(endpoint)
        super().__init__(path, endpoint, **kwargs)


def api_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes are `PooledRoute`s."""
    return APIRouter(route_class=PooledRoute, **kwargs)
