"""What `POST /api/v1/accounts` refuses before anything runs: the simulated platform outside the
demo workspaces (unless the operator allows it), simulated knobs that would make the server
sleep or fail, and profile URLs whose scheme is not http or https."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import service
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.demo import DEMO_SECOND_SLUG, DEMO_SLUG
from socialpulse.errors import PermissionDenied
from socialpulse.kit.security import SecretBox
from socialpulse.providers.http import reset_breakers

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
SIM_URL = "https://simulated.invalid/@garden_lab"


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "creator-co")


@pytest.fixture
def simulated_off(app: FastAPI, settings: Settings) -> Iterator[None]:
    """The server as an operator runs it: SOCIALPULSE_SIMULATED_PLATFORM left at its default."""
    original = app.state.settings
    app.state.settings = settings.model_copy(update={"simulated_platform": False})
    yield
    app.state.settings = original


def _add(client: TestClient, ws: WorkspaceFixture, ref: str, **extra: Any) -> httpx.Response:
    return client.post("/api/v1/accounts", json={"ref": ref, **extra}, headers=ws.headers())


def _message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"])


# --------------------------------------------------------------------------- demo-only gate


def test_simulated_platform_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALPULSE_SIMULATED_PLATFORM", raising=False)
    assert Settings(_env_file=None).simulated_platform is False  # type: ignore[call-arg]
    monkeypatch.setenv("SOCIALPULSE_SIMULATED_PLATFORM", "true")
    assert Settings(_env_file=None).simulated_platform is True  # type: ignore[call-arg]


@pytest.mark.usefixtures("simulated_off")
def test_simulated_account_outside_the_demo_workspace_is_refused_by_default(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = _add(client, ws, SIM_URL)
    assert response.status_code == 403, response.text
    assert "only available in the demo workspace" in _message(response)
    assert "SOCIALPULSE_SIMULATED_PLATFORM=true" in _message(response)
    assert client.get("/api/v1/accounts", headers=ws.headers()).json() == []
    # Naming the platform instead of using its URL is the same request.
    named = _add(client, ws, "garden_lab", platform="simulated")
    assert named.status_code == 403


@pytest.mark.usefixtures("simulated_off")
@pytest.mark.parametrize("slug", [DEMO_SLUG, DEMO_SECOND_SLUG])
def test_demo_workspaces_keep_the_simulated_platform(
    client: TestClient, db: Database, slug: str
) -> None:
    demo = make_workspace(db, slug)
    response = _add(client, demo, SIM_URL)
    assert response.status_code == 201, response.text
    assert response.json()["platform"] == "simulated"


def test_operator_setting_allows_simulated_accounts_everywhere(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    assert _add(client, ws, SIM_URL).status_code == 201


def test_service_refuses_when_told_the_platform_is_off(db: Database, ws: WorkspaceFixture) -> None:
    box = SecretBox("k" * 32)
    with pytest.raises(PermissionDenied):
        service.add_account(db, ws.subject, SIM_URL, box=box, allow_simulated=False)
    added = service.add_account(db, ws.subject, SIM_URL, box=box, allow_simulated=True)
    assert added.handle == "garden_lab"


# --------------------------------------------------------------------------- simulated knobs


@pytest.mark.parametrize(
    ("credentials", "named"),
    [
        ({"latency_ms": 90000}, "latency_ms must be a number from 0 to 2000"),
        ({"latency_ms": -1}, "latency_ms must be a number from 0 to 2000"),
        ({"latency_ms": "inf"}, "latency_ms must be a number from 0 to 2000"),
        ({"latency_ms": "nan"}, "latency_ms must be a number from 0 to 2000"),
        ({"latency_ms": True}, "latency_ms must be a number"),
        ({"error_rate": 1.5}, "error_rate must be a number from 0 to 1"),
        ({"error_rate": "-Infinity"}, "error_rate must be a number from 0 to 1"),
        ({"seed": "1e400"}, "seed must be a whole number"),
        ({"seed": -3}, "seed must be a whole number"),
        ({"seed": 2**64}, "seed must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"sleep": 5}, "unknown setting 'sleep'"),
    ],
)
def test_simulated_knobs_out_of_range_are_a_clear_422(
    client: TestClient, ws: WorkspaceFixture, credentials: dict[str, Any], named: str
) -> None:
    started = time.perf_counter()
    response = _add(client, ws, SIM_URL, credentials=credentials)
    assert response.status_code == 422, response.text
    assert "Simulated settings are invalid" in _message(response)
    assert named in _message(response)
    assert time.perf_counter() - started < 2.0  # refused before any simulated latency


def test_a_credential_that_is_not_a_scalar_is_a_clear_422(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = _add(client, ws, SIM_URL, credentials={"latency_ms": [5]})
    assert response.status_code == 422, response.text
    assert "credentials.latency_ms" in _message(response)
    assert "a credential is text, a number or true/false" in _message(response)


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_json_numbers_are_a_422_not_a_500(
    client: TestClient, ws: WorkspaceFixture, literal: str
) -> None:
    # Python's JSON reader accepts these literals, so they reach the platform's settings.
    body = f'{{"ref": "{SIM_URL}", "credentials": {{"latency_ms": {literal}}}}}'
    response = client.post(
        "/api/v1/accounts",
        content=body,
        headers={**ws.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "latency_ms" in response.text


def test_knobs_in_range_are_accepted_as_numbers_or_form_strings(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    as_numbers = _add(client, ws, SIM_URL, credentials={"seed": 7, "latency_ms": 1.5})
    assert as_numbers.status_code == 201, as_numbers.text
    as_strings = _add(
        client,
        ws,
        "https://simulated.invalid/@fit_with_maya",
        credentials={"seed": "7", "latency_ms": "2", "error_rate": "0"},
    )
    assert as_strings.status_code == 201, as_strings.text


@pytest.mark.parametrize(
    ("handle", "reason"),
    [
        ("a" * 300, "has no account"),
        ("two words", "has no account"),
        ("tab\there", "has no account"),
        # No database stores a NUL: refused with the request's other unstorable text.
        ("nul\x00", "contains a NUL character"),
    ],
)
def test_implausible_simulated_handles_are_unknown_accounts_not_500s(
    client: TestClient, ws: WorkspaceFixture, handle: str, reason: str
) -> None:
    response = _add(client, ws, handle, platform="simulated")
    assert response.status_code == 422, response.text
    assert reason in _message(response)


def test_updating_stored_knobs_is_checked_too(client: TestClient, ws: WorkspaceFixture) -> None:
    account_id = _add(client, ws, SIM_URL).json()["id"]
    response = client.patch(
        f"/api/v1/accounts/{account_id}",
        json={"credentials": {"latency_ms": 90000}},
        headers=ws.headers(),
    )
    assert response.status_code == 422, response.text
    assert "latency_ms must be a number from 0 to 2000" in _message(response)
    fine = client.patch(
        f"/api/v1/accounts/{account_id}",
        json={"credentials": {"latency_ms": 20}},
        headers=ws.headers(),
    )
    assert fine.status_code == 200, fine.text


# --------------------------------------------------------------------------- URL schemes


@pytest.mark.parametrize(
    ("ref", "scheme"),
    [
        ("javascript:alert(1)", "javascript"),
        ("JavaScript:alert(document.cookie)//https://bsky.app/profile/a.bsky.social", "javascript"),
        ("javascript://www.tiktok.com/@name%0aalert(1)", "javascript"),
        ("file:///etc/passwd", "file"),
        ("data:text/html,<script>alert(1)</script>", "data"),
        ("  \tvbscript:msgbox(1)", "vbscript"),
        ("ftp://mastodon.social/@alice", "ftp"),
    ],
)
def test_profile_urls_with_another_scheme_are_refused(
    client: TestClient, ws: WorkspaceFixture, ref: str, scheme: str
) -> None:
    response = _add(client, ws, ref)
    assert response.status_code == 422, response.text
    message = _message(response)
    assert f"uses the {scheme}: scheme" in message
    assert "must start with https:// or http://" in message


@pytest.mark.parametrize(
    ("ref", "platform"),
    [
        ("javascript://www.instagram.com/someone", "instagram"),
        ("javascript://www.tiktok.com/@someone", "tiktok"),
        ("javascript://simulated.invalid/@garden_lab", "simulated"),
        ("file:///bsky.app/profile/alice.bsky.social", "bluesky"),
    ],
)
def test_another_scheme_is_refused_when_the_platform_is_named(
    client: TestClient, ws: WorkspaceFixture, ref: str, platform: str
) -> None:
    response = _add(client, ws, ref, platform=platform)
    assert response.status_code == 422, response.text
    assert "must start with https:// or http://" in _message(response)


def test_dev_instance_with_a_port_is_still_read_as_a_url() -> None:
    from socialpulse.providers.registry import parse_account_ref

    platform, handle = parse_account_ref("localhost:3000/@alice")
    assert (platform.value, handle) == ("mastodon", "alice@localhost:3000")


# --------------------------------------------------------------------------- circuit breakers


@pytest.fixture
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


@pytest.mark.usefixtures("_fresh_breakers")
@respx.mock
def test_one_workspace_failing_upstream_does_not_pause_another_workspace(
    client: TestClient, db: Database
) -> None:
    """Workspace B's accounts on a dead Mastodon instance open that instance's breaker only."""
    lookup = json.loads((PAYLOADS / "mastodon" / "account_lookup.json").read_text())
    healthy = respx.get("https://mastodon.social/api/v1/accounts/lookup").mock(
        return_value=httpx.Response(200, json=lookup)
    )
    # Retry-After: 0 keeps the three attempts of each add from sleeping.
    dead = respx.get("https://down.example.social/api/v1/accounts/lookup").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "0"})
    )
    other = make_workspace(db, "workspace-b")
    for _ in range(2):
        failed = _add(client, other, "@someone@down.example.social")
        assert failed.status_code == 503, failed.text
    # Five consecutive failures opened the breaker; the sixth attempt was not even sent.
    assert dead.call_count == 5
    assert "calls are paused" in _message(failed)

    ws = make_workspace(db, "workspace-a")
    response = _add(client, ws, f"@{lookup['username']}@mastodon.social")
    assert response.status_code == 201, response.text
    assert healthy.call_count == 1
