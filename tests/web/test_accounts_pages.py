"""Account analytics pages: list, account page, add form, API usage."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import make_settings
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database
from socialpulse.demo import DEMO_ACCOUNTS, seed_demo_accounts


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
def seeded(
    db: Database, client: TestClient, tmp_path: object, database_url: str
) -> WorkspaceFixture:
    ws = make_workspace(db, "demo-like")
    seed_demo_accounts(db, make_settings(tmp_path, database_url), ws.workspace_id)  # type: ignore[arg-type]
    page = client.get("/login")
    client.post(
        "/login",
        data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
    )
    return ws


def test_accounts_page_lists_every_account_with_growth(
    client: TestClient, seeded: WorkspaceFixture
) -> None:
    html = client.get("/accounts").text
    for handle, _ in DEMO_ACCOUNTS:
        assert f"@{handle}" in html
    assert "competitor" in html
    assert "(likes + comments + shares) / followers" in html
    assert 'id="followers-chart-data"' in html


def test_account_page_shows_charts_top_posts_heatmap_and_hashtags(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        account_id = session.scalar(
            select(TrackedAccount.id).where(TrackedAccount.handle == "garden_lab")
        )
    html = client.get(f"/accounts/{account_id}").text
    assert "Followers, last 90 days" in html
    heatmap = html.split('data-testid="heatmap"')[1].split("</table>")[0].split("<tbody>")[1]
    assert heatmap.count('<tr><th scope="row">') == 7  # Monday to Sunday
    assert heatmap.count('<td class="hm ') == 7 * 24
    assert 'data-testid="top-posts"' in html
    top = re.findall(r'<td class="num">([\d.]+) %</td>\s*</tr>', html)
    rates = [float(rate) for rate in top]
    assert rates == sorted(rates, reverse=True) and len(rates) == 10
    assert "#" in html.split('data-testid="hashtags"')[1]
    by_views = client.get(f"/accounts/{account_id}?by=views").text
    assert 'class="active">by views' in by_views


def test_add_account_form_tracks_it_and_explains_bad_input(
    client: TestClient, seeded: WorkspaceFixture
) -> None:
    page = client.get("/accounts")
    added = client.post(
        "/accounts",
        data={"ref": "https://simulated.invalid/@new_face", "csrf_token": _csrf(page.text)},
    )
    assert "Now tracking @new_face" in added.text
    bad = client.post(
        "/accounts",
        data={"ref": "https://simulated.invalid/@missing_one", "csrf_token": _csrf(page.text)},
    )
    assert "has no account" in bad.text
    bad_creds = client.post(
        "/accounts",
        data={
            "ref": "someone",
            "platform": "youtube",
            "credentials": "just-a-token",
            "csrf_token": _csrf(page.text),
        },
    )
    assert "expected name=value" in bad_creds.text


def test_usage_page_shows_the_youtube_budget(client: TestClient, seeded: WorkspaceFixture) -> None:
    html = client.get("/usage").text
    assert 'data-testid="budget-youtube"' in html
    assert "work stops at 8,000" in html
