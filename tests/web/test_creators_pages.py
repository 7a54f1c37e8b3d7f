"""Creator pages through HTTP: search, progress while the build runs, the report's five
sections and charts, refresh (CSRF), export, and the messages for what cannot be built."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from creator_builds import unlock
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.worker import jobs


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def owner(db: Database, client: TestClient) -> WorkspaceFixture:
    fixture = make_workspace(db, "creator-desk")
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": fixture.owner_email,
            "password": PASSWORD,
            "next": "/creators",
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    return fixture


def _unlocked(db: Database, owner: WorkspaceFixture, location: str) -> None:
    """Since #14 a search shows the preview; the full report needs an unlock."""
    unlock(db, owner, int(location.rsplit("/", 1)[1]))


def _search(client: TestClient, query: str, platform: str = "simulated") -> httpx.Response:
    page = client.get("/creators")
    return client.post(
        "/creators",
        data={"query": query, "platform": platform, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )


def test_search_page_has_labelled_form_and_nav_link(
    client: TestClient, owner: WorkspaceFixture
) -> None:
    page = client.get("/creators")
    assert page.status_code == 200
    assert '<label for="creator-query">' in page.text
    assert '<label for="creator-platform">' in page.text
    assert '<option value="simulated"' in page.text
    assert 'href="/creators" class="active"' in page.text


def test_search_progress_then_report_with_five_sections(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    response = _search(client, "@Garden_Lab")
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/creators/\d+", location)

    # The test queue runs the build inline (memory:// tasks), so the report is there at once;
    # the progress page while a build runs is driven in tests/web/test_creators_browser.py.
    jobs.drain(db)

    status = client.get(f"{location}/status")
    assert f'data-poll-done="{location}"' in status.text
    assert 'data-testid="section-posts"' not in client.get(location).text  # the preview
    _unlocked(db, owner, location)
    report = client.get(location)
    assert report.status_code == 200
    for section in ("overview", "audience", "engagement", "content", "posts"):
        assert f'data-testid="section-{section}"' in report.text
    for chart in ("engagement-chart", "sentiment-chart", "category-chart", "language-chart"):
        data = re.search(rf'id="{chart}-data">(.*?)</script>', report.text, re.S)
        assert data, chart
        assert json.loads(data.group(1))["labels"], chart
    assert 'data-testid="best-times"' in report.text
    assert report.text.count('class="creator-thumb"') >= 12
    # Every image says what it shows.
    assert not re.search(r"<img(?![^>]*\balt=\"[^\"]+\")[^>]*>", report.text)
    assert "Report computed" in report.text
    assert f'action="{location}/refresh"' in report.text


def test_export_csv_and_json(client: TestClient, owner: WorkspaceFixture, db: Database) -> None:
    location = _search(client, "city_eats_daily").headers["location"]
    jobs.drain(db)
    assert client.get(f"{location}/export.json").status_code == 403
    _unlocked(db, owner, location)

    exported = client.get(f"{location}/export.json")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    body = exported.json()
    assert body["creator"]["handle"] == "city_eats_daily"
    assert len(body["sections"]["posts"]) >= 12

    table = client.get(f"{location}/export.csv")
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == ["field", "value"]
    assert ["handle", "city_eats_daily"] in rows
    header = rows.index([]) + 1
    assert rows[header][0] == "posted_at"
    assert len(rows) - header - 1 == len(body["sections"]["posts"])


def test_refresh_needs_csrf_and_queues_a_build(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    location = _search(client, "fit_with_maya").headers["location"]
    jobs.drain(db)
    _unlocked(db, owner, location)
    refused = client.post(f"{location}/refresh", follow_redirects=False)
    assert refused.status_code == 303  # back to the page with the error, nothing queued
    page = client.get(location)
    assert "Refresh queued" not in page.text
    response = client.post(
        f"{location}/refresh", data={"csrf_token": _csrf(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    shown = client.get(location)
    assert "Refresh queued" in shown.text
    assert 'data-testid="section-overview"' in shown.text


def test_unknown_handle_says_so(client: TestClient, owner: WorkspaceFixture, db: Database) -> None:
    location = _search(client, "missing_person").headers["location"]
    jobs.drain(db)
    status = client.get(f"{location}/status")
    assert "No such account" in status.text
    assert "data-poll-stop" in status.text


def test_bad_input_is_shown_on_the_form(client: TestClient, owner: WorkspaceFixture) -> None:
    response = _search(client, "https://example.com/not-a-platform", platform="")
    assert response.status_code == 422
    text = response.text
    assert 'data-testid="search-error"' in text
    assert 'value="https://example.com/not-a-platform"' in text


def test_another_workspace_sees_the_preview_until_it_unlocks_the_report(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    location = _search(client, "garden_lab").headers["location"]
    jobs.drain(db)
    _unlocked(db, owner, location)
    client.post("/logout", data={"csrf_token": _csrf(client.get("/").text)})
    other = make_workspace(db, "other-desk")
    page = client.get("/login")
    login = {"email": other.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303

    preview = client.get(location)
    assert preview.status_code == 200
    assert "no access to the full report" in preview.text
    assert 'data-testid="section-posts"' not in preview.text
    assert client.get(f"{location}/export.json").status_code == 403

    requested = client.post(
        "/creators",
        data={"query": "garden_lab", "platform": "simulated", "csrf_token": _csrf(preview.text)},
        follow_redirects=False,
    )
    assert requested.headers["location"] == location
    # Searching it again is no unlock: still the preview, until this workspace unlocks it.
    assert 'data-testid="section-posts"' not in client.get(location).text
    _unlocked(db, other, location)
    assert 'data-testid="section-posts"' in client.get(location).text
