"""Tenancy of the dashboard: every page or form that takes an id answers another workspace's
id (or another user's session) as not found, like the API (see test_api.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from factories import PASSWORD, WorkspaceFixture

# Every dashboard route with an id in its path, and a valid form for it (for POST) or the
# other path parameters it needs.
ID_ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/accounts/{account_id}", {}),
    ("POST", "/accounts/{account_id}/fetch", {}),
    ("POST", "/accounts/{account_id}/delete", {}),
    # Live fetch progress, the removal confirmation and the post page (issue #17).
    ("GET", "/accounts/{account_id}/fetch-status", {}),
    ("GET", "/accounts/{account_id}/delete", {}),
    ("GET", "/posts/{post_id}", {}),
    ("POST", "/accounts/{account_id}/reconnect", {"credentials": "api_key=new"}),
    ("POST", "/inbox/interactions/{interaction_id}/reply", {"text": "Thanks!"}),
    ("POST", "/inbox/interactions/{interaction_id}/suggestion", {"decision": "reject"}),
    ("POST", "/inbox/interactions/{interaction_id}/hide", {}),
    ("POST", "/inbox/interactions/{interaction_id}/unhide", {}),
    # In-place inbox actions (issue #17 A).
    ("POST", "/inbox/interactions/{interaction_id}/status", {"status": "answered"}),
    ("POST", "/inbox/interactions/{interaction_id}/labels", {"label": "vip"}),
    ("POST", "/inbox/interactions/{interaction_id}/assign", {"user_id": ""}),
    ("POST", "/inbox/interactions/{interaction_id}/label-correction", {"intent": "praise"}),
    ("POST", "/inbox/workflows/{workflow_id}/toggle", {}),
    ("POST", "/inbox/queue/{item_id}/{action}", {"action": "cancel"}),
    ("GET", "/inbox/fans/{fan_id}", {}),
    # Fan labels and notes, reply limits (issue #17 B).
    ("POST", "/inbox/fans/{fan_id}/labels", {"label": "vip"}),
    ("POST", "/inbox/fans/{fan_id}/note", {"note": "met at a fair"}),
    (
        "POST",
        "/settings/reply-limits/{account_id}",
        {
            "max_per_hour": "20",
            "max_per_minute": "2",
            "min_interval_s": "10",
            "jitter_min_s": "1",
            "jitter_max_s": "5",
        },
    ),
    ("POST", "/settings/account/sessions/{session_id}/revoke", {}),
    ("POST", "/settings/invitations/{invitation_id}/resend", {}),
    ("POST", "/settings/invitations/{invitation_id}/revoke", {}),
    ("POST", "/settings/members/{member_id}/role", {"role": "viewer"}),
    ("POST", "/settings/members/{member_id}/remove", {}),
    ("POST", "/settings/api-keys/{key_id}/revoke", {}),
    # Outbound webhooks (web/webhooks.py, issue #15).
    ("POST", "/settings/webhooks/{subscription_id}/test", {}),
    ("POST", "/settings/webhooks/{subscription_id}/toggle", {}),
    ("POST", "/settings/webhooks/{subscription_id}/delete", {}),
    ("POST", "/settings/webhooks/deliveries/{webhook_delivery_id}/replay", {}),
    # Publishing and ROI pages (web/publishing.py, web/insights.py, issue #15).
    ("GET", "/publishing/posts/{publishing_post_id}/edit", {}),
    ("POST", "/publishing/posts/{publishing_post_id}/edit", {"text": "Mine", "action": "draft"}),
    ("POST", "/publishing/posts/{publishing_post_id}/cancel", {}),
    ("POST", "/publishing/queue/{delivery_id}/retry", {}),
    ("POST", "/analytics/roi/costs/{workspace_cost_id}/delete", {}),
    # Performance alerts on the overview (web/insights.py, issue #16).
    ("POST", "/analytics/alerts/{alert_id}/acknowledge", {}),
    ("GET", "/lists/{list_id}", {}),
    ("POST", "/lists/{list_id}", {"name": "Renamed"}),
    ("POST", "/lists/{list_id}/delete", {}),
    ("POST", "/lists/{list_id}/export", {"fmt": "csv"}),
    ("POST", "/lists/{list_id}/items/{creator_id}/remove", {}),
    ("GET", "/campaigns/{campaign_id}", {}),
    (
        "POST",
        "/campaigns/{campaign_id}",
        {"name": "Renamed", "starts_on": "2026-01-01", "ends_on": "2026-01-31"},
    ),
    ("POST", "/campaigns/{campaign_id}/analysis", {}),
    ("POST", "/campaigns/{campaign_id}/costs", {"label": "Ads", "amount": "10"}),
    ("POST", "/campaigns/{campaign_id}/costs/{cost_id}/remove", {}),
    ("POST", "/campaigns/{campaign_id}/creators", {"creator_id": "1", "fee": "5"}),
    ("POST", "/campaigns/{campaign_id}/creators/{creator_id}/remove", {}),
]
# Creators are public data shared by the instance: their ids are the same for every workspace,
# and what a workspace may see of them is its access (tests/web/test_creators_pages.py).
SHARED_ID_ROUTES = {
    ("GET", "/creators/{creator_id}"),
    ("GET", "/creators/{creator_id}/status"),
    ("POST", "/creators/{creator_id}/refresh"),
    ("GET", "/creators/{creator_id}/export.csv"),
    ("GET", "/creators/{creator_id}/export.json"),
    ("POST", "/creators/{creator_id}/email"),
    ("GET", "/discovery/unlock/{creator_id}"),
    ("POST", "/discovery/unlock/{creator_id}"),
}
# Path parameters that are not ids; the form gives their value.
NOT_IDS = {"action"}


def _routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI 0.165 keeps an included router whole (its routes carry their own paths:
        # the dashboard's routers have no prefix).
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def _dashboard_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in _routes(app.routes)
        if not route.path.startswith("/api")
        for method in route.methods
    }


def test_every_dashboard_route_with_an_id_is_covered_by_the_tenancy_table(app: FastAPI) -> None:
    with_ids = {(m, p) for m, p in _dashboard_routes(app) if "_id}" in p}
    assert with_ids - SHARED_ID_ROUTES == {(m, p) for m, p, _ in ID_ROUTES}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _flashes(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>', html)


@pytest.mark.parametrize(("method", "path", "form"), ID_ROUTES)
def test_other_workspace_ids_are_not_found(
    client: TestClient,
    two: tuple[WorkspaceFixture, WorkspaceFixture],
    other_ids: Callable[[WorkspaceFixture], dict[str, int]],
    method: str,
    path: str,
    form: dict[str, str],
) -> None:
    mine, other = two
    page = client.get("/login")
    login = {"email": mine.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303
    params: dict[str, Any] = other_ids(other) | {k: v for k, v in form.items() if k in NOT_IDS}
    url = path.format(**params)
    if method == "GET":
        response = client.get(url)
        assert response.status_code == 404, response.text
        return
    data = {k: v for k, v in form.items() if k not in NOT_IDS}
    csrf = _csrf(client.get("/").text)
    response = client.post(url, data=data | {"csrf_token": csrf}, follow_redirects=False)
    # A form's 404 is shown the dashboard's way: back to the page, with the error.
    assert response.status_code == 303, response.text
    errors = [text for kind, text in _flashes(client.get("/").text) if kind == "error"]
    # "... not found", or the lists' and campaigns' "no list 7 in this workspace".
    assert len(errors) == 1, errors
    assert errors[0].endswith(("not found", "in this workspace")), errors
