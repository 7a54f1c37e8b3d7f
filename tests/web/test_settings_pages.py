"""Settings that were API-only, edited in the dashboard: inbox thresholds, reply limits per
account, API budgets per platform. A change shows in what the API returns; a mistake keeps what
was typed and says what is wrong, as a page (never JSON)."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboard_pages import csrf, log_in
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import budget
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database
from socialpulse.workspaces.models import Role


def login(app: FastAPI, ws: WorkspaceFixture) -> tuple[TestClient, str]:
    client = TestClient(app)
    log_in(client, ws)
    return client, csrf(client.get("/settings/workspace").text)


def _api(ws_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws_key}"}


def test_superfan_thresholds_edited_in_the_dashboard_are_what_the_api_returns(
    app: FastAPI, db: Database
) -> None:
    ws = make_workspace(db, "thresholds")
    client, token = login(app, ws)
    page = client.get("/settings/inbox")
    assert 'name="superfan_min_positive_ratio" value="' in page.text
    saved = client.post(
        "/settings/inbox",
        data={
            "csrf_token": token,
            "superfan_window_days": "30",
            "superfan_min_interactions": "4",
            "superfan_min_positive_ratio": "75",
            "suggestion_min_confidence": "90 %",
            "max_replies_per_tick": "5",
        },
    )
    assert saved.status_code == 200 and "Inbox settings saved" in saved.text
    api = client.get("/api/v1/inbox/settings", headers=_api(ws.keys[Role.owner])).json()
    assert api["superfan_window_days"] == 30
    assert api["superfan_min_interactions"] == 4
    assert api["superfan_min_positive_ratio"] == 0.75
    assert api["suggestion_min_confidence"] == 0.9
    assert 'name="superfan_min_positive_ratio" value="75"' in saved.text


def test_a_bad_threshold_keeps_what_was_typed_and_explains_it(app: FastAPI, db: Database) -> None:
    ws = make_workspace(db, "bad-thresholds")
    client, token = login(app, ws)
    form = {
        "csrf_token": token,
        "superfan_window_days": "abc",
        "superfan_min_interactions": "4",
        "superfan_min_positive_ratio": "150",
        "suggestion_min_confidence": "90",
        "max_replies_per_tick": "5",
    }
    page = client.post("/settings/inbox", data=form)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    text = html.unescape(page.text)
    assert "Window (days): 'abc' is not a whole number" in text
    assert 'name="superfan_window_days" value="abc"' in text
    form["superfan_window_days"] = "30"
    text = html.unescape(client.post("/settings/inbox", data=form).text)
    assert "Positive share at least (%): must be at most 100 %" in text
    assert 'name="superfan_min_positive_ratio" value="150"' in text
    api = client.get("/api/v1/inbox/settings", headers=_api(ws.keys[Role.owner])).json()
    assert api["superfan_min_interactions"] != 4  # nothing was half-saved


def test_reply_limits_edited_per_account_change_the_api_and_contradictions_are_explained(
    app: FastAPI, db: Database
) -> None:
    ws = make_workspace(db, "limits")
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=ws.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        account_id = account.id
    client, token = login(app, ws)
    page = client.get("/settings/reply-limits")
    assert "@studio" in page.text and "the platform&#39;s defaults" in page.text
    form = {
        "csrf_token": token,
        "max_per_hour": "20",
        "max_per_minute": "30",
        "min_interval_s": "10",
        "jitter_min_s": "1",
        "jitter_max_s": "5",
    }
    refused = client.post(f"/settings/reply-limits/{account_id}", data=form)
    assert refused.status_code == 422
    assert "“per minute” cannot exceed “per hour”" in html.unescape(refused.text)
    assert re.search(r'name="max_per_minute" value="30"', refused.text)
    saved = client.post(f"/settings/reply-limits/{account_id}", data=form | {"max_per_minute": "2"})
    assert "Reply limits of @studio saved." in saved.text
    assert "your limits" in saved.text
    api = client.get(
        f"/api/v1/inbox/reply-limits/{account_id}", headers=_api(ws.keys[Role.owner])
    ).json()
    assert (api["max_per_hour"], api["max_per_minute"], api["custom"]) == (20, 2, True)


def test_another_workspaces_account_limits_cannot_be_changed(app: FastAPI, db: Database) -> None:
    other = make_workspace(db, "limits-other")
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=other.workspace_id, platform="simulated", external_id="1", handle="x"
        )
        s.add(account)
        s.flush()
        other_id = account.id
    ws = make_workspace(db, "limits-mine")
    client, token = login(app, ws)
    form = {"csrf_token": token, "max_per_hour": "20", "max_per_minute": "2"}
    form |= {"min_interval_s": "10", "jitter_min_s": "1", "jitter_max_s": "5"}
    response = client.post(f"/settings/reply-limits/{other_id}", data=form)
    assert "not found" in response.text.lower()
    api = client.get(
        f"/api/v1/inbox/reply-limits/{other_id}", headers=_api(other.keys[Role.owner])
    ).json()
    assert api["custom"] is False


def test_api_budgets_edited_in_the_dashboard_are_what_the_api_returns(
    app: FastAPI, db: Database
) -> None:
    ws = make_workspace(db, "budgets")
    client, token = login(app, ws)
    assert 'href="/settings/budgets"' in client.get("/usage").text
    page = client.get("/settings/budgets")
    assert 'data-testid="budget-form-youtube"' in page.text
    bad = client.post(
        "/settings/budgets/youtube",
        data={"csrf_token": token, "daily_units": "ten thousand", "safety_margin": "80"},
    )
    assert bad.status_code == 422
    assert "Daily units: &#39;ten thousand&#39; is not a whole number" in bad.text
    assert 'value="ten thousand"' in bad.text
    saved = client.post(
        "/settings/budgets/youtube",
        data={"csrf_token": token, "daily_units": "5,000", "safety_margin": "60"},
    )
    assert "YouTube budget saved." in saved.text
    assert 'name="daily_units" value="5000"' in saved.text
    assert "work stops at 3,000" in client.get("/usage").text
    with db.session(readonly=True) as s:
        assert budget.budget_for(s, ws.workspace_id, "youtube") == budget.Budget(5000, 0.6)
