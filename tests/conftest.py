"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL + Redis with
SOCIALPULSE_TEST_BACKEND=postgres (what `.ci/run` does). The schema is always built by the
Alembic migrations, never by `create_all`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from socialpulse.app import create_app
from socialpulse.billing.catalog import seed_defaults
from socialpulse.config import Settings
from socialpulse.db import Base, Database, init_database
from socialpulse.kit import egress, security
from socialpulse.kit.logging import configure_logging
from socialpulse.migrations import runner
from socialpulse.worker.schedule import load_tasks

# Logs go to stderr as in production (the app and the CLI configure the same), never to
# stdout where commands print their results: tests of a command's output read stdout alone.
configure_logging("INFO", json_logs=False)

# Production keeps argon2's RFC 9106 defaults; tests hash hundreds of passwords.
security.set_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))

TEST_SECRET_KEY = "test-secret-key-not-for-production-0123456789"
# Code that reads global settings (job handlers, the CLI) must see the test's secret and never
# write into the repository's ./data.
os.environ.setdefault("SOCIALPULSE_SECRET_KEY", TEST_SECRET_KEY)
os.environ.setdefault("SOCIALPULSE_DATA_DIR", tempfile.mkdtemp(prefix="socialpulse-test-"))
os.environ.setdefault("SOCIALPULSE_TASKS_URL", "memory://")
# The suite adds simulated accounts in every workspace; tests of the demo-only default turn it off.
os.environ.setdefault("SOCIALPULSE_SIMULATED_PLATFORM", "true")
# Seats follow the plan: Premium's five seats let tests invite a few members; tests of billing
# set the plan they need.
os.environ.setdefault("SOCIALPULSE_DEFAULT_PLAN", "premium")

# Job handlers are registered by load_tasks(), as at app, CLI and worker start.
load_tasks()

BACKEND = os.environ.get("SOCIALPULSE_TEST_BACKEND", "sqlite")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Under `pytest -n N` each worker process gets its own PostgreSQL database and Redis database
# (gw0, gw1...), so parallel workers never truncate or consume each other's rows and tasks.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _per_worker_redis(url: str) -> str:
    if not url or not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{int(XDIST_WORKER.removeprefix('gw')) + 1}"))


REDIS_URL = _per_worker_redis(os.environ.get("SOCIALPULSE_TEST_REDIS_URL", ""))


def require(condition: bool, reason: str) -> None:
    """Skip locally when a service is missing; in CI a missing service is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def shared_data_dir() -> Path:
    override = os.environ.get("SOCIALPULSE_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _per_worker_database(url: str) -> str:
    if not XDIST_WORKER:
        return url
    base = make_url(url)
    name = f"{base.database}_{XDIST_WORKER}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BACKEND == "postgres":
        url = os.environ.get("SOCIALPULSE_TEST_POSTGRES_URL", "")
        require(bool(url), "SOCIALPULSE_TEST_POSTGRES_URL is not set")
        return _per_worker_database(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def migrated_db(database_url: str) -> Iterator[Database]:
    db = init_database(database_url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    yield db
    db.dispose()


def truncate_all(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
        # The catalogue migration 0014 seeded (plans, pricing rules, top-ups), as it shipped.
        seed_defaults(conn)


@pytest.fixture
def db(migrated_db: Database) -> Iterator[Database]:
    # Re-bind the global in case a test (e.g. the CLI) initialised another database.
    init_database(migrated_db.url)
    yield migrated_db
    truncate_all(migrated_db)


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        data_dir=tmp_path / "data",
        media_root=tmp_path / "media",
        database_url=database_url,
        tasks_url="memory://",
        secret_key=TEST_SECRET_KEY,
        login_rate_limit="5/minute",
        simulated_platform=True,
        request_log_sample=1,  # tests read the request log line of each request
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    return make_settings(tmp_path_factory.mktemp("app"), database_url)


@pytest.fixture(scope="session")
def session_app(settings: Settings, migrated_db: Database) -> FastAPI:
    return create_app(settings, start_worker=False)


@pytest.fixture
def app(session_app: FastAPI, db: Database) -> FastAPI:
    # Login throttling is per app; a fresh window per test keeps tests independent.
    session_app.state.login_throttle.storage.reset()
    session_app.state.api_rate_limiter.reset()
    session_app.state.web_rate_limiter.reset()
    # /api/health reads the database and the queue depth at most once a second, per app.
    session_app.state.queue_check.clear()
    session_app.state.database_check.clear()
    session_app.state.fast_reads.clear()
    return session_app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def egress_allow() -> Iterator[Callable[[str], None]]:
    """Outbound requests refuse private addresses; a test that talks to a loopback server opts
    in as an operator would: ``egress_allow("127.0.0.1")`` (SOCIALPULSE_EGRESS_ALLOW syntax)."""
    previous = egress.set_policy(None)
    egress.set_policy(previous)

    def allow(spec: str) -> None:
        egress.set_policy(egress.parse_allow(spec))

    yield allow
    egress.set_policy(previous)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Logging in hashes a password on purpose, and a CI machine may share its two cores: Playwright's
# default 5 s wait for an element fails on a busy machine, not on a broken page.
BROWSER_WAIT_MS = 20_000
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def csp_violations(page: Any) -> list[str]:
    """Collects what a Content-Security-Policy refusal leaves in a Playwright page (Chromium
    logs "Refused to ... Content Security Policy directive ...") and uncaught script errors."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under `pytest -n N --dist loadgroup`, tests that drive Chromium or spawn and kill
    # processes share one worker: on a two-core machine two of them at once race their timeouts.
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("serial"))
