"""Health, metrics, request ids, error shapes, OpenAPI."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from conftest import make_settings
from socialpulse.app import create_app
from socialpulse.db import Database
from socialpulse.deps import DbSession


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


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert (
        client.get("/api/health", headers={"X-Request-ID": "abc123"}).headers["X-Request-ID"]
        == "abc123"
    )
    assert len(client.get("/api/health").headers["X-Request-ID"]) == 32


def test_metrics_expose_request_latency_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/jobs/12345")
    text = client.get("/metrics").text
    assert "socialpulse_http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/jobs/{job_id}"' in text
    assert "socialpulse_jobs_total" in text or "# HELP socialpulse_jobs" in text


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


def test_a_request_commits_before_its_response_is_sent(db: Database) -> None:
    """A browser follows a redirect as soon as it arrives: the write must already be
    visible then (a login bounced back to the login page otherwise, under load)."""
    from typing import Any

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
