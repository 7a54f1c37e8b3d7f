"""The API usage page: each platform's budget today and where its calls went, per endpoint."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from factories import PASSWORD, make_workspace
from socialpulse.db import Database


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_usage_page_shows_todays_calls_per_endpoint_and_the_default_budgets(
    client: TestClient, db: Database
) -> None:
    ws = make_workspace(db, "creator-co")
    page = client.get("/login")
    client.post(
        "/login",
        data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
    )
    added = client.post(
        "/api/v1/accounts",
        json={"ref": "https://simulated.invalid/@daily_vlog"},
        headers=ws.headers(),
    ).json()
    client.post(f"/api/v1/accounts/{added['id']}/fetch", headers=ws.headers())

    html = client.get("/usage").text
    table = re.search(r'<table[^>]*data-testid="endpoints-simulated".*?</table>', html, re.S)
    assert table is not None
    rows = dict(
        re.findall(
            r'<th scope="row"><code>([\w.]+)</code></th><td class="num">(\d+)</td>', table[0]
        )
    )
    # Validating the account and the fetch each read the profile once.
    assert rows["simulated.profile"] == "2"
    assert "simulated.posts" in rows
    assert '<th scope="col">Endpoint</th>' in table[0]
    # Platforms with a daily budget show it even before their first call.
    assert "work stops at 8,000" in html  # YouTube and Instagram: 10,000 a day
    assert "work stops at 16,000" in html  # TikTok: 20,000 a day
    assert 'data-testid="endpoints-youtube"' not in html  # no calls, no table
