"""Malformed input is the caller's mistake: a 422 that names the field, never a 500.

Each case here was a 500 before: ids larger than the id columns (SQLite OverflowError,
PostgreSQL "integer out of range"), datetimes without a zone compared with stored aware ones,
a budget of 1e20, lone surrogates and NUL characters in text the databases cannot store."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.inbox.service import encode_cursor
from socialpulse.workspaces.models import Role

HUGE = 2**64 + 1  # past SQLite's and PostgreSQL's 8-byte integers
INT4 = 2**31  # past PostgreSQL's INTEGER id columns


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "input-co")


def _invalid(response: Any, where: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert where in error["message"], error["message"]
    return dict(error)


@pytest.mark.parametrize("big", [HUGE, INT4])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/accounts/{id}"),
        ("GET", "/api/v1/accounts/{id}/overview"),
        ("GET", "/api/v1/jobs/{id}"),
        ("GET", "/api/v1/posts/{id}/analysis"),
        ("GET", "/api/v1/inbox/interactions/{id}"),
        ("GET", "/api/v1/inbox/fans/{id}"),
        ("GET", "/api/v1/content-items/{id}"),
        ("DELETE", "/api/v1/content-mappings/{id}"),
        ("POST", "/api/v1/inbox/queue/{id}/cancel"),
        ("GET", "/api/v1/inbox/workflows/{id}"),
        ("DELETE", "/api/v1/api-keys/{id}"),
    ],
)
def test_path_ids_beyond_the_id_column_are_422(
    client: TestClient, ws: WorkspaceFixture, method: str, path: str, big: int
) -> None:
    response = client.request(method, path.format(id=big), headers=ws.headers())
    _invalid(response, "path.")


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        (
            "POST",
            "/api/v1/inbox/interactions/bulk",
            {"ids": [HUGE], "action": "add_label", "label": "x"},
            "body.ids.0",
        ),
        (
            "PATCH",
            "/api/v1/inbox/interactions/1",
            {"assignee_user_id": HUGE},
            "body.assignee_user_id",
        ),
        ("POST", "/api/v1/content-items/1/mappings", {"post_id": HUGE}, "body.post_id"),
        (
            "POST",
            "/api/v1/inbox/workflows",
            {
                "name": "big",
                "conditions": [{"type": "account_id", "values": [HUGE]}],
                "actions": [{"type": "flag"}],
            },
            "body.conditions.0",
        ),
        (
            "POST",
            "/api/v1/inbox/workflows/dry-run",
            {
                "conditions": [{"type": "fan_followers", "min": 10**30}],
                "actions": [{"type": "flag"}],
            },
            "body.conditions.0",
        ),
        ("PUT", "/api/v1/usage/budgets/youtube", {"daily_units": 1e20}, "body.daily_units"),
        ("PUT", "/api/v1/usage/budgets/youtube", {"daily_units": INT4}, "body.daily_units"),
    ],
)
def test_body_numbers_beyond_their_columns_are_422(
    client: TestClient,
    ws: WorkspaceFixture,
    method: str,
    path: str,
    body: dict[str, Any],
    where: str,
) -> None:
    response = client.request(method, path, json=body, headers=ws.headers())
    _invalid(response, where)


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (f"/api/v1/inbox/interactions?account_id={HUGE}", "query.account_id"),
        (f"/api/v1/inbox/interactions?assignee={HUGE}", "assignee"),
        (f"/api/v1/inbox/interactions?assignee={'9' * 5000}", "query.assignee"),
        (f"/api/v1/inbox/queue?account_id={HUGE}", "query.account_id"),
        (f"/api/v1/jobs?before_id={HUGE}", "query.before_id"),
        (f"/api/v1/content-items/1/auto-map?account_id={HUGE}", "query.account_id"),
        (f"/api/v1/analytics/compare?account_ids=1,{HUGE}", "account_ids"),
        (f"/api/v1/inbox/fans?offset={HUGE}", "query.offset"),
    ],
)
def test_query_ids_beyond_the_id_column_are_422(
    client: TestClient, ws: WorkspaceFixture, path: str, where: str
) -> None:
    method = "POST" if "auto-map" in path else "GET"
    response = client.request(method, path, headers=ws.headers())
    _invalid(response, where)


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_datetime_without_a_zone_is_422_and_with_one_is_accepted(
    client: TestClient, ws: WorkspaceFixture, name: str
) -> None:
    url = "/api/v1/inbox/interactions"
    naive = client.get(url, params={name: "2026-01-31T09:00:00"}, headers=ws.headers())
    error = _invalid(naive, f"query.{name}")
    assert "timezone" in json.dumps(error["details"])
    for aware in ("2026-01-31T09:00:00Z", "2026-01-31T10:00:00+01:00"):
        ok = client.get(url, params={name: aware}, headers=ws.headers())
        assert ok.status_code == 200, ok.text


def test_a_cursor_edited_to_a_naive_time_or_huge_id_is_422(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    url = "/api/v1/inbox/interactions"
    naive = encode_cursor(dt.datetime(2026, 1, 31, 9), 5)  # noqa: DTZ001 - the forged cursor
    _invalid(client.get(url, params={"cursor": naive}, headers=ws.headers()), "malformed cursor")
    huge = encode_cursor(dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC), HUGE)
    _invalid(client.get(url, params={"cursor": huge}, headers=ws.headers()), "malformed cursor")


# Raw JSON: an HTTP client would refuse to encode a lone surrogate itself.
@pytest.mark.parametrize(
    ("method", "path", "raw", "where"),
    [
        ("PATCH", "/api/v1/workspace", '{"name": "Caf\\ud800"}', "body.name"),
        ("POST", "/api/v1/api-keys", '{"name": "\\udfff key"}', "body.name"),
        ("POST", "/api/v1/content-items", '{"title": "t", "body": "a\\ud83d"}', "body.body"),
        (
            "POST",
            "/api/v1/inbox/workflows",
            '{"name": "w\\ud800", "conditions": [], "actions": [{"type": "flag"}]}',
            "body.name",
        ),
        (
            "POST",
            "/api/v1/inbox/workflows",
            '{"name": "w", "actions": [{"type": "auto_reply", "template": "hi \\ud800"}]}',
            "body.actions.0.template",
        ),
        ("POST", "/api/v1/ai/analyze", '{"text": "\\ud800"}', "body.text"),
        (
            "POST",
            "/api/v1/accounts",
            '{"ref": "@a", "credentials": {"\\ud800": 1}}',
            "body.credentials",
        ),
        ("PATCH", "/api/v1/workspace", '{"name": "nul\\u0000name"}', "body.name"),
    ],
)
def test_text_no_database_can_store_is_422(
    client: TestClient, ws: WorkspaceFixture, method: str, path: str, raw: str, where: str
) -> None:
    response = client.request(
        method,
        path,
        content=raw.encode(),
        headers={**ws.headers(), "Content-Type": "application/json"},
    )
    _invalid(response, where)


def test_a_valid_surrogate_pair_is_ordinary_text(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.patch(
        "/api/v1/workspace",
        content=b'{"name": "Garden \\ud83c\\udf31"}',
        headers={**ws.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Garden \N{SEEDLING}"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/inbox/interactions?q=a%00b",
        "/api/v1/inbox/interactions?label=a%00",
        "/api/v1/accounts?platform=%00",
        "/api/v1/usage/budgets/you%00tube",
    ],
)
def test_nul_in_a_query_or_path_parameter_is_422(
    client: TestClient, ws: WorkspaceFixture, path: str
) -> None:
    method = "PUT" if "budgets" in path else "GET"
    body = {"daily_units": 10} if method == "PUT" else None
    response = client.request(method, path, json=body, headers=ws.headers())
    _invalid(response, "NUL")


def test_the_openapi_declares_the_error_body_and_the_input_rules(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "UTC offset" in spec["info"]["description"]
    error_ref = "#/components/schemas/ErrorResponse"
    read_account = spec["paths"]["/api/v1/accounts/{account_id}"]["get"]
    for status in ("401", "404", "422"):
        schema = read_account["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": error_ref}, (status, schema)
    id_schema = read_account["parameters"][0]["schema"]
    assert (id_schema["minimum"], id_schema["maximum"]) == (1, 2**31 - 1)


def test_a_viewer_gets_the_declared_403(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.post(
        "/api/v1/content-items", json={"title": "t"}, headers=ws.headers(Role.viewer)
    )
    assert response.status_code == 403
    spec = client.get("/api/openapi.json").json()
    assert "403" in spec["paths"]["/api/v1/content-items"]["post"]["responses"]


@pytest.mark.parametrize("ref", ["[", "http://[", "https://bsky.app]/profile/a"])
def test_a_malformed_profile_url_is_422(client: TestClient, ws: WorkspaceFixture, ref: str) -> None:
    response = client.post("/api/v1/accounts", json={"ref": ref}, headers=ws.headers())
    _invalid(response, "profile URL")
