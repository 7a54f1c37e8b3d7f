"""The dashboard's analytics overview lists the open alerts, as a list under a heading."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from alerts.helpers import add_rule, evaluate, snapshot
from factories import PASSWORD, Builder, WorkspaceFixture
from socialpulse.db import Database, utcnow


def _login(client: TestClient, ws: WorkspaceFixture) -> None:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    client.post(
        "/login",
        data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": match.group(1)},
    )


def _section(html: str) -> str:
    return html.split('data-testid="open-alerts"')[1].split("</section>")[0]


def test_the_overview_page_lists_open_alerts(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    account_id = Builder(db).account(ws.workspace_id, "garden_lab")
    add_rule(db, ws, account_id, kind="follower_drop")
    today = utcnow().date()
    snapshot(db, account_id, today - dt.timedelta(days=2), 1000)
    snapshot(db, account_id, today, 800)
    _login(client, ws)
    quiet = _section(client.get("/analytics/overview").text)
    assert "No open alerts." in quiet

    evaluate(db, account_id)
    html = client.get("/analytics/overview").text
    section = _section(html)
    assert '<h2 id="open-alerts-heading">Open alerts</h2>' in section
    assert "<li><strong>follower drop</strong> on @garden_lab" in section
    assert "lost 200 followers (20.0 %)" in section
    # A static list, not a live region that screen readers would interrupt with.
    assert 'role="alert"' not in html

    token = re.search(r'name="csrf_token" value="([^"]+)"', section)
    assert token
    action = re.search(r'action="(/analytics/alerts/\d+/acknowledge)"', section)
    assert action
    done = client.post(action.group(1), data={"csrf_token": token.group(1)})
    assert done.status_code == 200  # followed to the overview
    assert "No open alerts." in _section(done.text)
