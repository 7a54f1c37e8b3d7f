"""The alerts API end to end: rules per account (defaults, validation, roles), evaluation after
each fetch, e-mail to owners and admins when SMTP is configured, acknowledging, the overview,
and another workspace seeing none of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.conftest import Inbox
from alerts.helpers import alerts, snapshot
from factories import Builder, WorkspaceFixture
from socialpulse.alerts.models import EmailStatus
from socialpulse.db import Database, utcnow
from socialpulse.workspaces import versions
from socialpulse.workspaces.models import Role


def rules_url(account_id: int) -> str:
    return f"/api/v1/accounts/{account_id}/alert-rules"


@pytest.fixture
def account_id(db: Database, ws: WorkspaceFixture) -> int:
    return Builder(db).account(ws.workspace_id, "garden_lab")


# --- rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"kind": "follower_drop"}, (5.0, None, None, 7)),
        ({"kind": "follower_drop", "count": 100}, (None, 100, None, 7)),
        ({"kind": "engagement_drop", "days": 14}, (30.0, None, None, 14)),
        ({"kind": "negative_spike"}, (None, 5, 3.0, 7)),
    ],
)
def test_a_rule_takes_its_kinds_defaults(
    client: TestClient,
    ws: WorkspaceFixture,
    account_id: int,
    body: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    created = client.post(rules_url(account_id), json=body, headers=ws.headers(Role.editor))
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["percent"], rule["count"], rule["multiplier"], rule["days"]) == expected
    assert rule["enabled"] is True and rule["active_since"] is None
    listed = client.get(rules_url(account_id), headers=ws.headers(Role.viewer)).json()
    assert [r["id"] for r in listed] == [rule["id"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "follower_drop", "multiplier": 2}, "multiplier does not apply"),
        ({"kind": "negative_spike", "percent": 10}, "percent does not apply"),
        ({"kind": "engagement_drop", "count": 3}, "count does not apply"),
        ({"kind": "follower_drop", "percent": 0}, "greater than 0"),
        ({"kind": "follower_drop", "percent": 150}, "less than or equal to 100"),
        ({"kind": "negative_spike", "multiplier": 0.5}, "greater than or equal to 1"),
        ({"kind": "follower_drop", "days": 0}, "greater than or equal to 1"),
        ({"kind": "follower_drop", "days": 365}, "less than or equal to 90"),
        ({"kind": "price_drop"}, "follower_drop"),
        ({"kind": "follower_drop", "colour": "red"}, "colour"),
    ],
)
def test_bad_rules_are_a_422_that_says_why(
    client: TestClient, ws: WorkspaceFixture, account_id: int, body: dict[str, Any], message: str
) -> None:
    response = client.post(rules_url(account_id), json=body, headers=ws.headers())
    assert response.status_code == 422, response.text
    assert message in response.text


def test_a_rule_is_changed_re_armed_and_deleted(
    client: TestClient, db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    rule = client.post(
        rules_url(account_id), json={"kind": "follower_drop"}, headers=ws.headers()
    ).json()
    url = f"{rules_url(account_id)}/{rule['id']}"
    # A follower_drop rule keeps a percent or a count.
    emptied = client.patch(url, json={"percent": None}, headers=ws.headers())
    assert emptied.status_code == 422
    assert "needs a percent, a count, or both" in emptied.json()["error"]["message"]
    changed = client.patch(url, json={"percent": None, "count": 25}, headers=ws.headers())
    assert changed.status_code == 200, changed.text
    assert (changed.json()["percent"], changed.json()["count"]) == (None, 25)
    paused = client.patch(url, json={"enabled": False}, headers=ws.headers())
    assert paused.json()["enabled"] is False
    assert client.delete(url, headers=ws.headers()).status_code == 204
    assert client.get(rules_url(account_id), headers=ws.headers()).json() == []
    assert client.delete(url, headers=ws.headers()).status_code == 404


def test_viewers_cannot_write_rules_or_acknowledge(
    client: TestClient, ws: WorkspaceFixture, account_id: int
) -> None:
    viewer = ws.headers(Role.viewer)
    response = client.post(rules_url(account_id), json={"kind": "follower_drop"}, headers=viewer)
    assert response.status_code == 403
    assert "editor" in response.json()["error"]["message"]


def test_rule_writes_and_acknowledgements_change_the_workspace_data_version(
    client: TestClient, db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    def version() -> int:
        with db.session(readonly=True) as session:
            return versions.current(session, ws.workspace_id)

    before = version()
    rule = client.post(rules_url(account_id), json={"kind": "follower_drop"}, headers=ws.headers())
    assert version() != before
    before = version()
    client.patch(
        f"{rules_url(account_id)}/{rule.json()['id']}", json={"days": 3}, headers=ws.headers()
    )
    assert version() != before


# --- after a fetch ------------------------------------------------------------------------------


def _tracked_with_a_drop(client: TestClient, db: Database, ws: WorkspaceFixture) -> int:
    """A simulated account whose follower count yesterday was twice today's."""
    added = client.post(
        "/api/v1/accounts",
        json={"ref": "https://simulated.invalid/@garden_lab"},
        headers=ws.headers(),
    )
    assert added.status_code == 201, added.text
    account = added.json()
    yesterday = utcnow().date() - dt.timedelta(days=1)
    snapshot(db, account["id"], yesterday, account["followers_count"] * 2)
    created = client.post(
        rules_url(account["id"]), json={"kind": "follower_drop"}, headers=ws.headers()
    )
    assert created.status_code == 201
    return int(account["id"])


def test_a_fetch_evaluates_the_rules_and_e_mails_owners_and_admins(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    smtp_inbox: Inbox,
    environment: Callable[..., None],
) -> None:
    environment(smtp_url=smtp_inbox.url, smtp_from="alerts@socialpulse.test")
    account_id = _tracked_with_a_drop(client, db, ws)
    assert (
        client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers()).status_code == 202
    )

    [alert] = client.get("/api/v1/alerts", headers=ws.headers()).json()
    assert (alert["account_id"], alert["kind"], alert["account_handle"]) == (
        account_id,
        "follower_drop",
        "garden_lab",
    )
    assert alert["email_status"] == "sent" and alert["email_error"] is None
    [message] = smtp_inbox.messages
    assert message["X-Envelope-To"] == ws.owner_email
    assert message["From"] == "alerts@socialpulse.test"
    assert "follower drop on @garden_lab" in message["Subject"]
    assert alert["message"] in message.get_payload(decode=True).decode()

    # The next fetch finds the same drop: the same episode, no second alert or e-mail.
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    assert len(client.get("/api/v1/alerts", headers=ws.headers()).json()) == 1
    assert len(smtp_inbox.messages) == 1


def test_without_smtp_no_e_mail_is_sent_and_the_alert_says_so(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    smtp_inbox: Inbox,
    environment: Callable[..., None],
) -> None:
    account_id = _tracked_with_a_drop(client, db, ws)
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    [alert] = client.get("/api/v1/alerts", headers=ws.headers()).json()
    assert alert["email_status"] == "not_configured"
    assert smtp_inbox.messages == []


def test_a_mail_server_that_fails_costs_the_e_mail_not_the_alert(
    client: TestClient, db: Database, ws: WorkspaceFixture, environment: Callable[..., None]
) -> None:
    environment(smtp_url="smtp://127.0.0.1:9", smtp_timeout_s="2")  # nothing listens there
    account_id = _tracked_with_a_drop(client, db, ws)
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    [alert] = alerts(db)
    assert alert.email_status == EmailStatus.failed
    assert alert.email_error is not None and "127.0.0.1:9" in alert.email_error
    assert len(client.get("/api/v1/alerts", headers=ws.headers()).json()) == 1


# --- acknowledging, the overview, tenancy --------------------------------------------------------


def test_the_overview_lists_open_alerts_until_acknowledged(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    environment: Callable[..., None],
) -> None:
    account_id = _tracked_with_a_drop(client, db, ws)
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    [alert] = client.get("/api/v1/alerts", headers=ws.headers()).json()

    overview = client.get("/api/v1/analytics/overview", headers=ws.headers()).json()
    assert [a["id"] for a in overview["open_alerts"]] == [alert["id"]]
    assert overview["open_alerts"][0]["message"] == alert["message"]

    acked = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=ws.headers())
    assert acked.status_code == 200
    assert acked.json()["acknowledged_at"] is not None
    assert acked.json()["acknowledged_by_user_id"] is None  # an API key, not a user
    overview = client.get("/api/v1/analytics/overview", headers=ws.headers()).json()
    assert overview["open_alerts"] == []
    assert client.get("/api/v1/alerts", headers=ws.headers()).json() == []
    done = client.get("/api/v1/alerts?state=acknowledged", headers=ws.headers()).json()
    assert [a["id"] for a in done] == [alert["id"]]
    mine = client.get(f"/api/v1/alerts?state=all&account_id={account_id}", headers=ws.headers())
    assert [a["id"] for a in mine.json()] == [alert["id"]]


def test_another_workspace_cannot_read_acknowledge_or_change_any_of_it(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    other_ws: WorkspaceFixture,
    environment: Callable[..., None],
) -> None:
    account_id = _tracked_with_a_drop(client, db, ws)
    client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    [alert] = client.get("/api/v1/alerts", headers=ws.headers()).json()
    [rule] = client.get(rules_url(account_id), headers=ws.headers()).json()
    theirs = other_ws.headers()

    assert client.get("/api/v1/alerts?state=all", headers=theirs).json() == []
    assert client.get(f"/api/v1/alerts?account_id={account_id}", headers=theirs).status_code == 404
    assert (
        client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=theirs).status_code == 404
    )
    assert client.get(rules_url(account_id), headers=theirs).status_code == 404
    create = client.post(rules_url(account_id), json={"kind": "follower_drop"}, headers=theirs)
    assert create.status_code == 404
    url = f"{rules_url(account_id)}/{rule['id']}"
    assert client.patch(url, json={"enabled": False}, headers=theirs).status_code == 404
    assert client.delete(url, headers=theirs).status_code == 404
    overview = client.get("/api/v1/analytics/overview", headers=theirs).json()
    assert overview["open_alerts"] == []
    # Nothing changed for the owner.
    assert client.get("/api/v1/alerts", headers=ws.headers()).json()[0]["acknowledged_at"] is None
