"""The billing page through HTTP: plan, allowance bars, balance, top-up packages (with the
plan's discount), the spending chart's months, the ledger with its filters and pages, and the
messages for filter values that cannot be (never a 500)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from dashboard_pages import build_creators, grant, log_in, post_form, set_plan
from factories import WorkspaceFixture, make_workspace
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.web import billing as web_billing


@pytest.fixture
def owner(db: Database, client: TestClient) -> WorkspaceFixture:
    fixture = make_workspace(db, "billing-desk")
    log_in(client, fixture)
    return fixture


def _allowance(html: str, key: str) -> str:
    """The block of one allowance on the page (up to the next one or the section's end)."""
    match = re.search(
        rf'data-testid="allowance-{key}">(.*?)(?=<div class="allowance"|</section>)', html, re.S
    )
    assert match, key
    return match.group(1)


def _ledger_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-testid="ledger-row">(.*?)</tr>', html, re.S)


def test_billing_page_shows_plan_balance_allowances_and_topups(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    set_plan(db, owner.workspace_id, "standard")
    grant(db, owner.workspace_id, 1_200)
    page = client.get("/billing")
    assert page.status_code == 200
    text = page.text
    assert 'href="/billing" class="active"' in text
    assert re.search(r'data-testid="plan-name">Standard<', text)
    assert re.search(r'data-testid="balance">1,200<', text)
    assert "$199.00 a month" in text
    # The three allowances of Standard, each a labelled meter at zero.
    for key, limit in (("profiles", 500), ("emails", 250), ("posts", 125)):
        block = _allowance(text, key)
        assert f'aria-valuemax="{limit}"' in block
        assert 'aria-valuenow="0"' in block
    for code, credits, price in (
        ("1000", "1,000", "$50.00"),
        ("2500", "2,500", "$125.00"),
        ("10000", "10,000", "$500.00"),
    ):
        form = re.search(r'data-testid="topup-[^"]*">(.*?)</form>', text, re.S)
        assert form
        assert f"Buy {credits} credits" in text
        assert price in text, (code, price)
    chart = re.search(r'id="spending-chart-data">(.*?)</script>', text, re.S)
    assert chart
    data = json.loads(chart.group(1))
    assert len(data["labels"]) == 6
    assert data["datasets"][1]["data"][-1] == 1_200  # added this month


def test_premium_pays_twenty_percent_less_for_topups(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    set_plan(db, owner.workspace_id, "premium")
    text = client.get("/billing").text
    assert "$40.00" in text and '<s class="muted small">$50.00</s>' in text
    assert "$400.00" in text


def test_a_charge_shows_in_the_ledger_the_allowance_bar_and_the_spending(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    ids = build_creators(db, ["garden_lab"])
    grant(db, owner.workspace_id, 100)
    response = post_form(
        client,
        f"/discovery/unlock/{ids['garden_lab']}",
        f"/discovery/unlock/{ids['garden_lab']}",
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    text = client.get("/billing").text
    rows = _ledger_rows(text)
    assert len(rows) == 2  # the grant and the unlock
    unlock_row = rows[0]
    assert "influencer unlock" in unlock_row
    assert owner.owner_email in unlock_row
    assert 'aria-valuenow="1"' in _allowance(text, "profiles")


def test_ledger_filters_by_kind_and_dates(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    grant(db, owner.workspace_id, 10, reason="first grant")
    set_plan(db, owner.workspace_id, "standard")
    assert len(_ledger_rows(client.get("/billing").text)) == 2
    grants = _ledger_rows(client.get("/billing?kind=grant").text)
    assert len(grants) == 1 and "first grant" in grants[0]
    plan_changes = _ledger_rows(client.get("/billing?kind=plan_change").text)
    assert len(plan_changes) == 1
    empty = client.get("/billing?kind=grant&from=2001-01-01&to=2001-01-31").text
    assert _ledger_rows(empty) == []
    assert 'data-testid="ledger-empty"' in empty
    assert "No ledger row matches these filters." in empty


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=stolen", "unknown kind &#39;stolen&#39;"),
        ("action=teleport", "unknown action &#39;teleport&#39;"),
        ("from=yesterday", "from must be a date"),
        ("from=2026-02-01&to=2026-01-01", "the &#39;from&#39; date is after the &#39;to&#39; date"),
        ("page=0", "page must be a whole number"),
        ("page=abc", "page must be a whole number"),
    ],
)
def test_bad_ledger_filters_say_what_is_wrong(
    client: TestClient, owner: WorkspaceFixture, query: str, message: str
) -> None:
    response = client.get(f"/billing?{query}")
    assert response.status_code == 422
    error = re.search(r'data-testid="ledger-error">(.*?)</div>', response.text, re.S)
    assert error and message in error.group(1)
    # The rest of the page is still there.
    assert 'data-testid="balance"' in response.text


def test_ledger_pages(client: TestClient, owner: WorkspaceFixture, db: Database) -> None:
    for n in range(30):
        grant(db, owner.workspace_id, n + 1, reason=f"grant {n + 1}")
    first = client.get("/billing?kind=grant").text
    assert len(_ledger_rows(first)) == 25
    assert 'rel="next" href="/billing?kind=grant&amp;page=2"' in first
    second = client.get("/billing?kind=grant&page=2").text
    rows = _ledger_rows(second)
    assert len(rows) == 5
    assert "grant 1<" in rows[-1]  # newest first: the first grant is last
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_empty_ledger(client: TestClient, owner: WorkspaceFixture) -> None:
    text = client.get("/billing").text
    assert 'data-testid="ledger-empty"' in text
    assert "Nothing spent or added yet." in text
    assert re.search(r'data-testid="balance">0<', text)


def test_an_allowance_the_plan_does_not_include_is_said_in_words(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    set_plan(db, owner.workspace_id, "free")
    text = client.get("/billing").text
    assert re.search(r'data-testid="plan-name">Free<', text)
    emails = _allowance(text, "emails")
    assert "Not included in the Free plan" in emails
    assert 'role="meter"' not in emails
    # The plan change is in the ledger, by the instance operator (no member did it).
    rows = _ledger_rows(text)
    assert len(rows) == 1 and "plan change" in rows[0]


def test_another_workspace_never_sees_this_ledger(
    client: TestClient, owner: WorkspaceFixture, db: Database
) -> None:
    other = make_workspace(db, "other-desk")
    grant(db, other.workspace_id, 777, reason="other workspace grant")
    text = client.get("/billing").text
    assert "other workspace grant" not in text
    assert re.search(r'data-testid="balance">0<', text)


def test_topup_without_payments_configured_says_whom_to_ask(
    client: TestClient, owner: WorkspaceFixture
) -> None:
    response = post_form(client, "/billing", "/billing/topup", {"code": "credits_1000"})
    assert response.status_code == 503  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "payments are not configured" in text
    assert 'data-testid="topup-error"' in text


def test_topup_needs_the_csrf_token(client: TestClient, owner: WorkspaceFixture) -> None:
    response = client.post("/billing/topup", data={"code": "credits_1000"}, follow_redirects=False)
    assert response.status_code == 303
    assert "form expired" in client.get("/billing").text


def test_without_payments_the_billing_forms_post_to_this_site_only(
    client: TestClient, owner: WorkspaceFixture
) -> None:
    policy = client.get("/billing").headers["content-security-policy"]
    assert "form-action 'self';" in policy or policy.endswith("form-action 'self'")


@pytest.mark.parametrize(
    ("api_base", "origin"),
    [
        ("https://api.stripe.com", "https://checkout.stripe.com"),
        ("http://127.0.0.1:4567", "http://127.0.0.1:4567"),
    ],
)
def test_with_stripe_the_topup_may_go_to_its_hosted_checkout(
    settings: Settings, api_base: str, origin: str
) -> None:
    """A top-up form posts here and is redirected to the hosted checkout; form-action governs
    that redirect (the browser test drives it through the fake Stripe)."""
    configured = settings.model_copy(
        update={"stripe_secret_key": SecretStr("sk_test_x"), "stripe_api_base": api_base}
    )
    policy = web_billing.policy_with_checkout(configured)
    assert f"form-action 'self' {origin}" in policy
    assert "script-src 'self';" in policy  # the rest of the policy is unchanged
