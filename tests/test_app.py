"""Health, metrics, request ids, error shapes, OpenAPI."""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from conftest import make_settings
from factories import make_workspace
from socialpulse.app import create_app
from socialpulse.config import ConfigError, Settings
from socialpulse.db import Database
from socialpulse.migrations import runner
from socialpulse.workspaces.deps import DbSession


def test_health_reports_database_and_queue(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["queue"] == {"ok": True, "backend": "memory", "pending": 0}


def test_health_is_503_when_the_queue_is_unreachable(
    db: Database, tmp_path: Path, database_url: str
) -> None:
    # Nothing listens on port 1: the Redis queue is down, and health must say so.
    settings = make_settings(tmp_path, database_url, tasks_url="redis://127.0.0.1:1/0")
    app = create_app(settings, start_worker=False)
    try:
        with TestClient(app) as client:
            response = client.get("/api/health")
        assert response.status_code == 503
        assert response.json()["queue"]["ok"] is False
        assert response.json()["database"]["ok"] is True
    finally:
        create_app(make_settings(tmp_path, database_url), start_worker=False)


def _health_on_revision(client: TestClient, db: Database, revision: str) -> httpx.Response:
    """/api/health while the database records `revision` (restored to head afterwards)."""
    head = runner.head_revision(db)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    try:
        return client.get("/api/health")
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_health_is_503_with_the_way_out_when_the_schema_is_behind_the_code(
    client: TestClient, db: Database
) -> None:
    # A new version deployed and started before `socialpulse migrate`: every page would fail
    # on a missing column, so the load balancer must not send it traffic, and must say why.
    response = _health_on_revision(client, db, "0001")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"]["error"] == (
        f"the database schema is at revision 0001 and this version needs "
        f"{runner.head_revision(db)}: run `socialpulse migrate`"
    )


def test_health_stays_ok_on_a_schema_a_newer_version_migrated(
    client: TestClient, db: Database
) -> None:
    # A rolling upgrade: the new version migrated first, the old processes keep serving until
    # they are replaced, and the load balancer must not take them all out at once.
    response = _health_on_revision(client, db, "9999_newer")
    assert response.status_code == 200
    assert response.json()["database"]["ok"] is True


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert (
        client.get("/api/health", headers={"X-Request-ID": "abc123"}).headers["X-Request-ID"]
        == "abc123"
    )
    assert len(client.get("/api/health").headers["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    "supplied",
    ["x" * 65, "abc<script>", "a b", '{"json": 1}', "../../etc", "a;b", ""],
    ids=["too-long", "markup", "space", "json", "slashes", "semicolon", "empty"],
)
def test_an_unsafe_request_id_is_replaced(client: TestClient, supplied: str) -> None:
    response = client.get("/api/health", headers={"X-Request-ID": supplied})
    assert response.headers["X-Request-ID"] != supplied
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_a_safe_request_id_of_64_characters_is_kept(client: TestClient) -> None:
    supplied = "req-2024.01_" + "a" * 52
    assert (
        client.get("/api/health", headers={"X-Request-ID": supplied}).headers["X-Request-ID"]
        == supplied
    )


@pytest.fixture
def metrics_token(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> str:
    token = "scrape-me-0123456789"
    monkeypatch.setattr(app.state.settings, "metrics_token", SecretStr(token))
    return token


def test_metrics_expose_request_latency_by_route_template(
    client: TestClient, metrics_token: str
) -> None:
    client.get("/api/v1/jobs/12345")
    text = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}).text
    assert "socialpulse_http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/jobs/{job_id}"' in text
    assert "socialpulse_jobs_total" in text or "# HELP socialpulse_jobs" in text


def test_metrics_need_the_token_when_one_is_set(client: TestClient, metrics_token: str) -> None:
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "not_authenticated"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "permission_denied"
    right = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert right.status_code == 200
    assert "socialpulse_http_request_duration_seconds" in right.text


def test_metrics_without_a_token_answer_loopback_clients_only(app: FastAPI) -> None:
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        refused = remote.get("/metrics")
    assert refused.status_code == 403
    assert "SOCIALPULSE_METRICS_TOKEN" in refused.json()["error"]["message"]
    for loopback in ("127.0.0.1", "::1"):
        with TestClient(app, client=(loopback, 40000)) as local:
            assert local.get("/metrics").status_code == 200


EXPECTED_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def _assert_security_headers(response: httpx.Response) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value, name
    policy = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in policy, directive
    assert "unsafe-eval" not in policy
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src


def test_security_headers_on_api_dashboard_static_and_error_responses(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("socialpulse.app.huey.pending_count", crash)
    monkeypatch.setattr("socialpulse.app.text", crash)
    with TestClient(app, raise_server_exceptions=False) as client:
        responses = {
            "api": client.get("/api/v1/workspace"),  # 401
            "health": client.get("/api/health"),  # 503: both checks fail
            "dashboard": client.get("/login"),
            "redirect": client.get("/", follow_redirects=False),
            "not-found page": client.get("/no-such-page"),
            "static": client.get("/static/app.css"),
            "validation": client.post("/api/v1/ai/analyze", json={}),
            "too large": client.post("/api/v1/ai/analyze", content=b"x" * (3 * 1024 * 1024)),
        }
    assert responses["health"].status_code == 503
    assert responses["too large"].status_code == 413
    for name, response in responses.items():
        assert "X-Request-ID" in response.headers, name
        _assert_security_headers(response)


def test_dashboard_assets_are_revalidated_so_an_upgrade_never_mixes_old_and_new(
    client: TestClient,
) -> None:
    # The files keep their names across releases: a browser must ask before reusing one.
    first = client.get("/static/app.js")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    again = client.get("/static/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["Cache-Control"] == "no-cache"
    changed = client.get("/static/app.js", headers={"If-None-Match": '"an-older-release"'})
    assert changed.status_code == 200
    assert changed.content == first.content


def test_a_crash_answers_500_with_security_headers_and_request_id(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    ws = make_workspace(db, "acme")
    monkeypatch.setattr("socialpulse.workspaces.api.invitations.accept_as_new_user", crash)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/invitations/accept",
            json={"token": "inv_secret-link-token", "password": "a-password"},
            headers=ws.headers() | {"X-Request-ID": "crash-1"},
        )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["X-Request-ID"] == "crash-1"
    _assert_security_headers(response)


def test_api_docs_page_allows_only_its_own_inline_script(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    hashes = re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", policy)
    scripts = re.findall(r"<script>(.*?)</script>", response.text, flags=re.DOTALL)
    assert len(scripts) == 1
    expected = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert hashes == [expected]
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    # Everything else stays as strict as the site-wide policy.
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_api_path_has_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found", "details": None}
    }


def test_openapi_lists_the_v1_routes(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/api-keys" in paths
    assert "/api/health" in paths
    assert client.get("/docs").status_code == 200


def test_secret_key_is_generated_once_and_kept(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, secret_key=None)
    first = settings.resolved_secret_key()
    assert len(first) >= 48
    assert settings.resolved_secret_key() == first
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret_key"]  # no temp left


def _start_and_read_keys(data_dirs: list[str], barrier: Any, results: Any) -> None:
    # One process that starts twice (say the app, then the CLI) against each fresh data dir;
    # the barrier lines the 50 processes up on each dir, so each dir is a 50-way race.
    try:
        keys = []
        for data_dir in data_dirs:
            barrier.wait(timeout=120)
            for _start in range(2):
                settings = Settings(
                    _env_file=None,
                    data_dir=Path(data_dir),
                    secret_key=None,
                    tasks_url="memory://",
                )
                keys.append((data_dir, settings.resolved_secret_key()))
        results.put(keys)
    except BaseException as exc:
        results.put([("error", f"{type(exc).__name__}: {exc}")])


@pytest.mark.slow
def test_concurrent_first_starts_all_read_the_same_whole_key(tmp_path: Path) -> None:
    """Before: the key file was created empty and written afterwards; 260 of 3,000 concurrent
    first starts read an empty key (here a few in 3,000 on a busy two-core machine)."""
    context = multiprocessing.get_context("fork")
    data_dirs = [str(tmp_path / f"install-{n}" / "data") for n in range(30)]
    barrier = context.Barrier(50)
    results = context.Queue()
    workers = [
        context.Process(target=_start_and_read_keys, args=(data_dirs, barrier, results))
        for _ in range(50)
    ]
    for worker in workers:
        worker.start()
    read = [pair for _ in workers for pair in results.get(timeout=300)]
    for worker in workers:
        worker.join(timeout=60)
    assert len(read) == 50 * 30 * 2, [pair for pair in read if pair[0] == "error"][:1]
    for data_dir in data_dirs:
        on_disk = (Path(data_dir) / "secret_key").read_text()
        assert len(on_disk) >= 48
        assert {key for where, key in read if where == data_dir} == {on_disk}
        assert sorted(p.name for p in Path(data_dir).iterdir()) == ["secret_key"]


@pytest.mark.parametrize("content", ["", "\n", "short-key", "x" * 31])
def test_an_empty_or_short_key_file_stops_the_start(
    tmp_path: Path, database_url: str, content: str
) -> None:
    settings = make_settings(tmp_path, database_url, secret_key=None)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "secret_key").write_text(content)
    with pytest.raises(
        ConfigError, match="secret_key is [0-9]+ bytes long; it must be at least 32"
    ):
        settings.resolved_secret_key()
    # The app refuses to start at all, so no cookie signed with the empty key is ever checked.
    with pytest.raises(ConfigError):
        create_app(settings, start_worker=False)


@pytest.mark.parametrize("configured", ["", "too-short-for-a-key"])
def test_an_empty_or_short_configured_key_stops_the_start(
    tmp_path: Path, database_url: str, configured: str
) -> None:
    settings = make_settings(tmp_path, database_url, secret_key=configured)
    with pytest.raises(ConfigError, match="SOCIALPULSE_SECRET_KEY is [0-9]+ bytes long"):
        settings.resolved_secret_key()
    assert not (tmp_path / "data" / "secret_key").exists()


def _run_without_key(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "secret_key").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")}
    env |= {
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_TASKS_URL": "memory://",
        "PYTHONPATH": os.pathsep.join(sys.path),
        "COLUMNS": "80",
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "socialpulse", "serve", "--port", "0"],
        ["-m", "socialpulse", "fetch"],
        ["-c", "from socialpulse.app import get_app; get_app()"],
    ],
    ids=["serve", "cli", "app"],
)
def test_the_cli_and_the_app_say_why_in_one_line(tmp_path: Path, command: list[str]) -> None:
    result = _run_without_key(tmp_path, *command)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the secret key in ")
    assert "must be at least 32" in lines[0]
    if "fetch" not in command:  # the app checks the key before it touches anything
        assert not (tmp_path / "data" / "socialpulse.db").exists()


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.usefixtures("usual_umask")
def test_sqlite_database_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "app.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.session() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        wal, shm = path.with_name("app.db-wal"), path.with_name("app.db-shm")
        assert wal.exists() and shm.exists()  # pooled connections keep them
        assert [_mode(p) for p in (path, wal, shm)] == [0o600, 0o600, 0o600]
        assert _mode(path.parent) == 0o700
    finally:
        db.dispose()


@pytest.mark.usefixtures("usual_umask")
def test_a_database_left_readable_by_an_older_version_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    Database(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600


@pytest.mark.usefixtures("usual_umask")
def test_the_embedded_task_queue_file_is_private(tmp_path: Path, database_url: str) -> None:
    from socialpulse.worker.queue import _storage_for

    settings = make_settings(tmp_path, database_url, tasks_url="")
    storage_class, kwargs, _immediate = _storage_for(settings)
    storage = storage_class("mode-test", **kwargs)
    storage.enqueue(b"job")
    files = sorted(settings.data_dir.glob("tasks.db*"))
    assert settings.data_dir / "tasks.db" in files
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    storage.close()


def test_a_request_commits_before_its_response_is_sent(db: Database) -> None:
    """A browser follows a redirect as soon as it arrives: the write must already be
    visible then (a login bounced back to the login page otherwise, under load)."""
    from fastapi import FastAPI
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    events: list[str] = []
    app = FastAPI()
    app.state.db = db

    @app.post("/write")
    def write(session: DbSession) -> dict[str, bool]:
        session.execute(text("SELECT 1"))
        return {"ok": True}

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def send_and_note(message: Any) -> None:
            if message["type"] == "http.response.start":
                events.append("response")
            await send(message)

        await app(scope, receive, send_and_note)

    def note_commit(session: Session) -> None:
        events.append("commit")

    event.listen(Session, "after_commit", note_commit)
    try:
        with TestClient(recording) as client:
            assert client.post("/write").status_code == 200
    finally:
        event.remove(Session, "after_commit", note_commit)
    assert events == ["commit", "response"]


def test_the_first_requests_after_a_start_build_nothing_the_start_could_have_built(
    db: Database, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastAPI analyses a route's dependencies the first time a request is matched against it,
    # and Jinja compiles a template the first time it renders: about a second that the first
    # visitor of a fresh process would wait. The start pays it instead, before listening.
    import fastapi.routing

    from socialpulse.web.pages import templates

    assert templates.env.cache is not None
    templates.env.cache.clear()  # as in a fresh process (the environment is module-wide)
    app = create_app(make_settings(tmp_path, database_url), start_worker=False)
    built: list[str] = []
    loaded: list[str] = []
    analyse = fastapi.routing.get_dependant
    read_source = templates.env.loader.get_source  # type: ignore[union-attr]

    def counting_analyse(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs.get("path", "?"))
        return analyse(*args, **kwargs)

    def counting_read(environment: Any, name: str) -> Any:
        loaded.append(name)
        return read_source(environment, name)

    with TestClient(app) as client:
        monkeypatch.setattr(fastapi.routing, "get_dependant", counting_analyse)
        monkeypatch.setattr(templates.env.loader, "get_source", counting_read)
        # The login page is the dashboard's, whose router comes after every API router.
        assert client.get("/login").status_code == 200
        assert client.get("/api/v1/accounts").status_code == 401
    assert built == []
    assert loaded == []


def test_large_responses_are_gzipped_for_clients_that_accept_it(
    client: TestClient, db: Database, tmp_path: Path, database_url: str
) -> None:
    # The 50-comment inbox page is about 330 KB of HTML; gzipped it is about 24 KB.
    schema = client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert schema.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in schema.headers["vary"].lower()
    assert int(schema.headers["content-length"]) < len(schema.content) / 4
    assert schema.json()["info"]["title"] == "socialpulse"
    plain = client.get("/api/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "accept-encoding" in plain.headers["vary"].lower()  # a shared cache keeps both apart
    assert plain.content == schema.content
    # Small bodies go as they are: gzip would cost more than it saves.
    assert "content-encoding" not in client.get("/api/health").headers
    # A strong ETag names the uncompressed bytes; the gzipped ones carry it weak, and a browser
    # revalidating with it still gets 304.
    script = client.get("/static/vendor/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"
    raw = client.get("/static/vendor/htmx.min.js", headers={"Accept-Encoding": "identity"})
    assert script.headers["etag"] == "W/" + raw.headers["etag"]
    revalidated = client.get(
        "/static/vendor/htmx.min.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": script.headers["etag"]},
    )
    assert revalidated.status_code == 304

    settings = make_settings(tmp_path, database_url, response_compression=False)
    with TestClient(create_app(settings, start_worker=False)) as uncompressed:
        answer = uncompressed.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in answer.headers
    assert answer.content == schema.content
