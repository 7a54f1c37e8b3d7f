"""What every request costs: health answered on the read engine with a throttled queue probe
and no INFO log line; an API read authenticated in the route's own transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import TextClause, event, text
from sqlalchemy.exc import OperationalError

from dashboard_pages import log_in
from factories import make_workspace
from socialpulse.app import HEALTH_CHECK_TTL_S
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.kit.ratelimit import RateLimiter
from socialpulse.worker.queue import huey


@pytest.fixture
def begins(db: Database) -> Iterator[list[str]]:
    """The transactions begun on the app's engines (write and, on SQLite, read)."""
    found: list[str] = []
    engines = [("write", db.engine)]
    if db.read_engine is not None:
        engines.append(("read", db.read_engine))
    listeners = []
    for name, engine in engines:

        def on_begin(conn: object, name: str = name) -> None:
            found.append(name)

        event.listen(engine, "begin", on_begin)
        listeners.append((engine, on_begin))
    yield found
    for engine, listener in listeners:
        event.remove(engine, "begin", listener)


@pytest.fixture
def uncached() -> Iterator[Callable[[FastAPI], None]]:
    """Turns the app's response cache off for the test: what the app itself costs (with it on,
    a repeated report read on SQLite is answered ahead of the app)."""
    apps: list[tuple[FastAPI, Settings]] = []

    def turn_off(app: FastAPI) -> None:
        apps.append((app, app.state.settings))
        app.state.settings = app.state.settings.model_copy(update={"response_cache": False})

    yield turn_off
    for app, settings in apps:
        app.state.settings = settings


@pytest.mark.parametrize("path", ["/api/v1/accounts", "/api/v1/jobs"])
def test_an_api_read_is_one_transaction_authentication_included(
    app: FastAPI,
    client: TestClient,
    db: Database,
    begins: list[str],
    uncached: Callable[[FastAPI], None],
    path: str,
) -> None:
    uncached(app)
    ws = make_workspace(db, "acme")
    # The first use of a key records it (a write of its own); later reads are one transaction.
    assert client.get(path, headers=ws.headers()).status_code == 200
    begins.clear()
    response = client.get(path, headers=ws.headers())
    assert response.status_code == 200
    assert begins == ["read" if db.read_engine is not None else "write"]


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions the app sent to a worker thread (FastAPI's own hops included)."""
    sent: list[str] = []
    original = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        named = getattr(func, "func", func)  # FastAPI sends partials
        sent.append(getattr(named, "__name__", repr(named)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return sent


def test_a_read_takes_one_thread_hop_on_sqlite_and_the_lookups_stay_in_threads_elsewhere(
    app: FastAPI,
    client: TestClient,
    db: Database,
    hops: list[str],
    uncached: Callable[[FastAPI], None],
) -> None:
    # A hop costs about as much as a small read's own work; on SQLite the caller's lookup and
    # the end of the read transaction are microseconds of in-process reads, done on the loop.
    uncached(app)
    ws = make_workspace(db, "acme")
    log_in(client, ws)
    reads = (
        ("/api/v1/accounts", ws.headers(), "list_accounts"),
        ("/api/v1/jobs", ws.headers(), "list_jobs"),  # its response is validated: on the loop
        ("/settings/workspace", {}, "workspace_settings"),
    )
    for path, headers, route in reads:
        assert client.get(path, headers=headers).status_code == 200  # records the use
        hops.clear()
        assert client.get(path, headers=headers).status_code == 200
        if db.dialect == "sqlite":
            assert hops == [route], path
        else:
            # Over a network each lookup is a round trip, which must not block the event loop.
            lookup = "_resolve" if headers else "web_subject"
            assert hops == [lookup, route, "__exit__"], path


def test_a_read_whose_use_is_due_records_it_in_a_thread_and_sees_it(
    app: FastAPI,
    client: TestClient,
    db: Database,
    hops: list[str],
    uncached: Callable[[FastAPI], None],
) -> None:
    uncached(app)
    ws = make_workspace(db, "acme")
    keys = client.get("/api/v1/api-keys", headers=ws.headers())
    # The write takes a thread even on SQLite (it may wait for the write lock), and the
    # route's own read sees it.
    assert hops[0] == ("_record_use" if db.dialect == "sqlite" else "_resolve")
    mine = [k for k in keys.json() if k["name"] == "owner key"]
    assert mine[0]["last_used_at"] is not None


def test_the_first_read_with_a_key_records_its_use_and_sees_it(
    client: TestClient, db: Database
) -> None:
    ws = make_workspace(db, "acme")
    keys = client.get("/api/v1/api-keys", headers=ws.headers()).json()
    mine = [k for k in keys if k["name"] == "owner key"]
    # Recorded in the same request that used the key, and visible to that request's read.
    assert mine[0]["last_used_at"] is not None


def test_a_write_authenticates_before_its_own_write_transaction(
    client: TestClient, db: Database, begins: list[str]
) -> None:
    ws = make_workspace(db, "acme")
    client.get("/api/v1/workspace", headers=ws.headers())
    begins.clear()
    response = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=ws.headers())
    assert response.status_code == 201
    # Authentication read apart (on SQLite: not under the write lock), then the route's write.
    assert begins == (["read", "write"] if db.read_engine is not None else ["write", "write"])


def test_health_reads_the_queue_depth_at_most_once_a_second(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []

    def counting() -> int:
        calls.append(time.monotonic())
        return 7

    monkeypatch.setattr(huey, "pending_count", counting)
    with TestClient(app) as client:
        for _ in range(5):
            body = client.get("/api/health").json()
            assert body["queue"]["pending"] == 7
        assert len(calls) == 1
        time.sleep(HEALTH_CHECK_TTL_S + 0.05)
        assert client.get("/api/health").status_code == 200
    assert len(calls) == 2


def test_health_checks_the_database_at_most_once_a_second_and_reports_a_failure(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []

    def counting(statement: str) -> TextClause:
        checks.append(statement)
        if len(checks) > 1:
            raise OperationalError(statement, {}, Exception("database is gone"))
        return text(statement)

    monkeypatch.setattr("socialpulse.app.text", counting)
    with TestClient(app) as client:
        answers = [client.get("/api/health") for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert len(checks) == 1
        time.sleep(HEALTH_CHECK_TTL_S + 0.05)
        down = client.get("/api/health")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    assert "database is gone" in down.json()["database"]["error"]


def test_health_answers_while_a_writer_holds_the_sqlite_write_lock(
    client: TestClient, db: Database
) -> None:
    if db.read_engine is None:
        pytest.skip("PostgreSQL has no database-wide write lock")
    with db.engine.connect() as writer:
        writer.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is held
        started = time.monotonic()
        response = client.get("/api/health")
        elapsed = time.monotonic() - started
        writer.rollback()
    assert response.status_code == 200
    # The write engine would have waited out the 15 s busy timeout, then failed.
    assert elapsed < 5


def test_health_is_not_logged_at_info_but_other_requests_are(
    client: TestClient, db: Database
) -> None:
    ws = make_workspace(db, "acme")
    with structlog.testing.capture_logs() as logs:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/v1/workspace", headers=ws.headers()).status_code == 200
    paths = [entry["path"] for entry in logs if entry["event"] == "http.request"]
    assert paths == ["/api/v1/workspace"]


def test_health_is_still_the_documented_route_and_other_methods_reach_it(
    client: TestClient,
) -> None:
    assert "get" in client.get("/api/openapi.json").json()["paths"]["/api/health"]
    response = client.post("/api/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_in_memory_rate_limits_are_moving_windows_without_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("socialpulse.kit.ratelimit.time.monotonic", lambda: now[0])
    threads = threading.active_count()
    limiter = RateLimiter("3/minute", "memory://", "test")
    for _ in range(3):
        assert limiter.hit("key:1") is None
        now[0] += 10
    # The oldest of the three hits leaves the window 60 s after it came: 30 s from now.
    assert limiter.hit("key:1") == 30
    assert limiter.hit("key:2") is None
    now[0] += 30
    assert limiter.hit("key:1") is None
    assert limiter.hit("key:1") is not None
    assert threading.active_count() == threads
    # Keys whose window emptied are forgotten.
    windows = limiter.memory
    assert windows is not None
    now[0] += 120
    windows._prune(now[0])
    assert windows._events == {}


def test_routine_reads_are_sampled_in_the_log_but_errors_and_writes_never(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    ws = make_workspace(db, "acme")
    app.state.settings = app.state.settings.model_copy(update={"request_log_sample": 3})
    try:
        with structlog.testing.capture_logs() as logs:
            for _ in range(6):
                assert client.get("/api/v1/workspace", headers=ws.headers()).status_code == 200
            assert client.get("/api/v1/workspace").status_code == 401
            assert client.post("/api/v1/api-keys", json={"name": "x"}, headers=ws.headers())
    finally:
        app.state.settings = app.state.settings.model_copy(update={"request_log_sample": 1})
    lines = [e for e in logs if e["event"] == "http.request"]
    info = [(e["method"], e["status"]) for e in lines if e["log_level"] == "info"]
    assert info == [("GET", 200), ("GET", 200), ("GET", 401), ("POST", 201)]
