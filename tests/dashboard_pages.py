"""Helpers of the discovery, billing, lists and campaign page tests: log in through the form,
read a page's CSRF token, build analysed creators the way the product does (a simulated
build requested by another workspace, so the tested one starts with no access), and give a
workspace credits through the billing service."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.billing import service as billing_service
from socialpulse.creators import service as creators_service
from socialpulse.db import Database
from socialpulse.worker import jobs


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def log_in(client: TestClient, fixture: WorkspaceFixture) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": fixture.owner_email, "password": PASSWORD, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def post_form(
    client: TestClient, page_path: str, action: str, data: dict[str, str] | None = None
) -> object:
    """Posts ``data`` to ``action`` with the CSRF token of the page at ``page_path``."""
    token = csrf(client.get(page_path).text)
    return client.post(action, data={**(data or {}), "csrf_token": token}, follow_redirects=False)


def build_creators(db: Database, handles: list[str]) -> dict[str, int]:
    """Analysed creators of the instance (simulated builds, run inline), requested by a
    workspace of their own: the tests' workspaces start with preview access only."""
    scout = make_workspace(db, "scout-desk")
    ids = {}
    with db.session() as session:
        for handle in handles:
            ids[handle] = creators_service.request_report(
                session,
                platform="simulated",
                handle=handle,
                workspace_id=scout.workspace_id,
                user_id=scout.owner_id,
            ).id
    jobs.drain(db)
    return ids


def grant(db: Database, workspace_id: int, credits: int, reason: str = "test credits") -> None:
    with db.session() as session:
        billing_service.grant_credits(session, workspace_id, credits, reason=reason)


def set_plan(db: Database, workspace_id: int, plan: str) -> None:
    with db.session() as session:
        billing_service.set_plan(session, workspace_id, plan, reason="test plan")
