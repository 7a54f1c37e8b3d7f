"""The read pool: plain `def` reads run there in one hop; writes never wait for it."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from socialpulse.kit.routing import (
    SQLITE_READ_THREADS,
    PooledRoute,
    api_router,
    open_read_pool,
    read_pool_threads,
)

HOLD_S = 0.3


class Answer(BaseModel):
    thread: str


def pooled_app(threads: int, release: threading.Event) -> FastAPI:
    router = api_router()

    @router.get("/slow", response_model=Answer)
    def slow() -> dict[str, str]:
        release.wait(10)
        return {"thread": threading.current_thread().name}

    @router.get("/timed", response_model=Answer)
    def timed() -> dict[str, str]:
        time.sleep(HOLD_S)
        return {"thread": threading.current_thread().name}

    @router.get("/wrong", response_model=Answer)
    def wrong() -> dict[str, int]:
        return {"other": 1}

    @router.post("/write")
    def write() -> dict[str, bool]:
        return {"written": True}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        open_read_pool(threads)
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_write_is_answered_while_every_read_thread_is_busy(release: threading.Event) -> None:
    with TestClient(pooled_app(1, release)) as client, ThreadPoolExecutor(2) as pool:
        held = pool.submit(client.get, "/slow")
        time.sleep(0.2)  # the one read thread is now held
        queued = pool.submit(client.get, "/timed")
        assert client.post("/write").json() == {"written": True}
        assert not held.done() and not queued.done()
        release.set()
        assert held.result(5).status_code == 200
        assert queued.result(5).status_code == 200


@pytest.mark.parametrize(("threads", "overlap"), [(1, False), (2, True)])
def test_reads_run_as_many_at_once_as_the_pool_has_threads(
    release: threading.Event, threads: int, overlap: bool
) -> None:
    with TestClient(pooled_app(threads, release)) as client, ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        answers = list(pool.map(lambda _: client.get("/timed"), range(2)))
        elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200, 200]
    # Two reads of HOLD_S each: about HOLD_S side by side, at least twice that in turn.
    assert (elapsed < 2 * HOLD_S) is overlap


def test_a_pooled_read_is_still_validated_against_its_response_model(
    release: threading.Event,
) -> None:
    with TestClient(pooled_app(1, release), raise_server_exceptions=False) as client:
        assert client.get("/wrong").status_code == 500


def test_every_route_of_the_app_is_pooled(app: FastAPI) -> None:
    plain = [
        route.path
        for route in app.routes
        if isinstance(route, APIRoute) and not isinstance(route, PooledRoute)
    ]
    assert plain == []


def test_the_read_pool_is_small_on_sqlite_and_the_default_pool_elsewhere() -> None:
    assert read_pool_threads(None, "sqlite") == SQLITE_READ_THREADS
    assert read_pool_threads(None, "postgresql") == 0
    assert read_pool_threads(6, "sqlite") == 6
