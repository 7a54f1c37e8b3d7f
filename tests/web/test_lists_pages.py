"""Lists and campaigns pages through HTTP: create, add from discovery, rename, remove,
delete; campaigns with their creators, costs and the analysis whose price and the balance are
shown before it runs; bad input shown on the form; another workspace's ids are 404."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from dashboard_pages import build_creators, csrf, grant, log_in, post_form
from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database


@pytest.fixture
def owner(db: Database, client: TestClient) -> WorkspaceFixture:
    fixture = make_workspace(db, "list-desk")
    log_in(client, fixture)
    return fixture


def _post(client: TestClient, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    response = post_form(client, page, action, data)
    assert isinstance(response, httpx.Response)
    return response


def _new_list(client: TestClient, name: str = "Spring shortlist") -> str:
    response = _post(client, "/lists", "/lists", {"name": name, "description": "for spring"})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/lists/\d+", location)
    return location


def _campaign(client: TestClient, **fields: str) -> httpx.Response:
    data = {
        "name": "Spring launch",
        "description": "",
        "starts_on": "2026-03-01",
        "ends_on": "2026-03-31",
        "budget": "5,000.00",
        "currency": "USD",
        "status": "active",
    } | fields
    return _post(client, "/campaigns", "/campaigns", data)


def test_lists_page_empty_state_and_nav(client: TestClient, owner: WorkspaceFixture) -> None:
    page = client.get("/lists")
    assert page.status_code == 200
    assert 'data-testid="no-lists"' in page.text
    assert 'href="/lists" class="active"' in page.text
    assert '<label for="list-name">' in page.text


def test_create_list_add_from_discovery_rename_remove_delete(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    ids = build_creators(db, ["garden_lab", "city_eats_daily"])
    location = _new_list(client)
    page = client.get(location)
    assert "Spring shortlist" in page.text and 'data-testid="no-items"' in page.text

    # Discovery's cards offer the list; saving goes back to the same results page.
    list_id = location.rsplit("/", 1)[1]
    saved = _post(
        client,
        "/discovery",
        "/lists/add",
        {
            "list_id": list_id,
            "creator_id": str(ids["garden_lab"]),
            "back": "/discovery?sort=handle",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/discovery?sort=handle"
    assert "Saved to Spring shortlist." in client.get("/discovery").text
    again = _post(
        client,
        "/discovery",
        "/lists/add",
        {"list_id": list_id, "creator_id": str(ids["garden_lab"])},
    )
    assert again.status_code == 303
    assert "Already on Spring shortlist" in client.get(location).text

    listed = client.get(location).text
    item = re.search(rf'data-testid="item-{ids["garden_lab"]}">(.*?)</tr>', listed, re.S)
    assert item and "@garden_lab" in item.group(1)
    assert "locked" in item.group(1)  # preview only until unlocked
    assert f'href="/discovery/unlock/{ids["garden_lab"]}?back={location}"' in item.group(1)
    assert "/lists/" in client.get("/lists").text and ">1<" in client.get("/lists").text

    renamed = _post(client, location, location, {"name": "Summer", "description": "later"})
    assert renamed.status_code == 303
    assert "<h1>Summer</h1>" in client.get(location).text

    removed = _post(client, location, f"{location}/items/{ids['garden_lab']}/remove", {})
    assert removed.status_code == 303
    assert 'data-testid="no-items"' in client.get(location).text

    deleted = _post(client, location, f"{location}/delete", {})
    assert deleted.status_code == 303
    assert client.get(location).status_code == 404


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [("", 422, "name"), ("   ", 422, "name"), ("Taken", 409, "Taken")],
)
def test_bad_list_names_are_shown_on_the_form(
    client: TestClient, owner: WorkspaceFixture, name: str, status: int, message: str
) -> None:
    _new_list(client, "Taken")
    response = _post(client, "/lists", "/lists", {"name": name, "description": "x"})
    assert response.status_code == status
    error = re.search(r'data-testid="list-error">(.*?)</div>', response.text, re.S)
    assert error and message in error.group(1)


def test_another_workspaces_list_and_campaign_are_not_found(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    ids = build_creators(db, ["garden_lab"])
    grant(db, owner.workspace_id, 100)
    list_location = _new_list(client, "Mine")
    campaign_location = _campaign(client).headers["location"]
    client.post("/logout", data={"csrf_token": csrf(client.get("/").text)})
    other = make_workspace(db, "other-desk")
    grant(db, other.workspace_id, 100)
    log_in(client, other)

    assert client.get(list_location).status_code == 404
    assert client.get(campaign_location).status_code == 404
    token = csrf(client.get("/lists").text)
    list_id = list_location.rsplit("/", 1)[1]
    for action, data in [
        (list_location, {"name": "Stolen"}),
        (f"{list_location}/delete", {}),
        ("/lists/add", {"list_id": list_id, "creator_id": str(ids["garden_lab"])}),
        (campaign_location, {"name": "Stolen", "starts_on": "2026-01-01", "ends_on": "2026-01-02"}),
        (f"{campaign_location}/costs", {"label": "x", "amount": "1"}),
        (f"{campaign_location}/analysis", {}),
    ]:
        response = client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)
        # A form post answers with the message back on the page it came from.
        assert response.status_code in (303, 404), action
        if response.status_code == 303:
            assert "in this workspace" in client.get(response.headers["location"]).text, action
    # Nothing of theirs was charged, nothing of the owner's changed.
    assert re.search(r'data-testid="balance">100<', client.get("/billing").text)
    client.post("/logout", data={"csrf_token": csrf(client.get("/").text)})
    log_in(client, owner)
    assert "<h1>Mine</h1>" in client.get(list_location).text
    assert "Spring launch" in client.get(campaign_location).text


def test_campaigns_empty_state_and_create(client: TestClient, owner: WorkspaceFixture) -> None:
    page = client.get("/campaigns")
    assert page.status_code == 200
    assert 'data-testid="no-campaigns"' in page.text
    response = _campaign(client)
    assert response.status_code == 303
    shown = client.get(response.headers["location"]).text
    assert "Spring launch" in shown
    assert "2026-03-01 – 2026-03-31" in shown
    assert "$5,000.00" in shown
    listed = client.get("/campaigns").text
    assert 'data-testid="campaigns"' in listed and "Spring launch" in listed


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"starts_on": "2026-04-01", "ends_on": "2026-03-01"}, "end"),
        ({"starts_on": "soon"}, "first day must be a date"),
        ({"budget": "lots"}, "budget must be an amount"),
        ({"budget": "-5"}, "budget must be an amount"),
        ({"currency": "dollars"}, "currency"),
        ({"status": "exploded"}, "unknown status"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_campaign_input_is_shown_on_the_form(
    client: TestClient, owner: WorkspaceFixture, fields: dict[str, str], message: str
) -> None:
    response = _campaign(client, **fields)
    assert response.status_code in (409, 422)
    error = re.search(r'data-testid="campaign-error">(.*?)</div>', response.text, re.S)
    assert error and message in error.group(1).lower(), error and error.group(1)
    assert 'data-testid="no-campaigns"' in response.text  # nothing was written


def test_campaign_costs_creators_and_the_charged_analysis(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    ids = build_creators(db, ["garden_lab"])
    grant(db, owner.workspace_id, 100)
    # Unlocked creators are the ones offered for a campaign.
    unlock = f"/discovery/unlock/{ids['garden_lab']}"
    assert _post(client, unlock, unlock, {}).status_code == 303
    location = _campaign(client, starts_on="2020-01-01", ends_on="2030-12-31").headers["location"]

    page = client.get(location).text
    assert re.search(r'data-testid="analysis-price">10 credits<', page)
    assert re.search(r'data-testid="analysis-balance">100 credits<', page)
    assert "Run the analysis · 10 credits" in page

    added = _post(
        client,
        location,
        f"{location}/creators",
        {"creator_id": str(ids["garden_lab"]), "fee": "250"},
    )
    assert added.status_code == 303
    cost = _post(
        client,
        location,
        f"{location}/costs",
        {"label": "Shipping", "amount": "49.50", "incurred_on": ""},
    )
    assert cost.status_code == 303
    page = client.get(location).text
    assert "$250.00" in page and "$49.50" in page
    assert re.search(r'data-testid="total-cost">\$299.50<', page)

    bad = _post(client, location, f"{location}/costs", {"label": "Ads", "amount": "12.345"})
    assert bad.status_code == 422
    assert "amount must be an amount" in bad.text

    result = _post(client, location, f"{location}/analysis", {})
    assert result.status_code == 200
    assert 'data-testid="analysis-creators"' in result.text
    assert "@garden_lab" in result.text
    assert re.search(r'data-testid="analysis-balance">90 credits<', result.text)
    billing = client.get("/billing?action=campaign_analysis").text
    assert len(re.findall(r'data-testid="ledger-row"', billing)) == 1


def test_analysis_without_credits_is_refused_with_nothing_charged(
    client: TestClient, owner: WorkspaceFixture
) -> None:
    location = _campaign(client).headers["location"]
    page = client.get(location).text
    assert 'data-testid="analysis-refused"' in page
    result = _post(client, location, f"{location}/analysis", {})
    assert result.status_code == 402
    assert "10" in result.text and 'data-testid="campaign-error"' in result.text
    assert "Nothing spent or added yet." in client.get("/billing").text


def test_a_list_exports_as_the_page_priced_it_once_free_then_in_credits(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    from socialpulse.billing import ledger as billing_ledger
    from socialpulse.billing import usage as billing_usage

    ids = build_creators(db, ["garden_lab"])
    location = _new_list(client)
    list_id = location.rsplit("/", 1)[1]
    _post(
        client,
        "/discovery",
        "/lists/add",
        {"list_id": list_id, "creator_id": str(ids["garden_lab"])},
    )
    page = client.get(location).text
    assert 'data-testid="export-price">free (1 free this month)<' in page

    download = _post(client, location, f"{location}/export", {"fmt": "csv"})
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment;" in download.headers["content-disposition"]
    assert "garden_lab" in download.text

    # The month's free export is used: the next one costs credits this workspace lacks.
    page = client.get(location).text
    assert 'data-testid="export-price">50 credits<' in page
    assert 'data-testid="export-refused"' in page
    refused = _post(client, location, f"{location}/export", {"fmt": "json"})
    assert refused.status_code == 402
    bad = _post(client, location, f"{location}/export", {"fmt": "xlsx"})
    assert bad.status_code == 422 and "choose CSV or JSON" in bad.text
    with db.session(readonly=True) as session:
        assert billing_ledger.ledger_sum(session, owner.workspace_id) == 0
        assert billing_usage.balance(session, owner.workspace_id).balance == 0
