"""Discovery pages through HTTP: every analysed creator with preview fields, the filters and
their messages for values that cannot be, the unlock step showing price and balance before
anything is charged, the charge itself (once), and the unlocked creators with days left."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dashboard_pages import build_creators, csrf, grant, log_in, post_form, set_plan
from factories import WorkspaceFixture, make_workspace
from socialpulse.creators.models import CreatorAccess
from socialpulse.db import Database, utcnow

HANDLES = ["garden_lab", "city_eats_daily", "fit_with_maya"]


@pytest.fixture
def owner(db: Database, client: TestClient) -> WorkspaceFixture:
    fixture = make_workspace(db, "discovery-desk")
    log_in(client, fixture)
    return fixture


@pytest.fixture
def creators(db: Database) -> dict[str, int]:
    return build_creators(db, HANDLES)


def _cards(html: str) -> dict[int, str]:
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(
            r'<li class="result" data-testid="creator-(\d+)">(.*?)</li>', html, re.S
        )
    }


def _unlock(client: TestClient, creator_id: int) -> httpx.Response:
    path = f"/discovery/unlock/{creator_id}"
    response = post_form(client, path, path)
    assert isinstance(response, httpx.Response)
    return response


def test_discovery_shows_every_analysed_creator_locked_with_preview_fields(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int]
) -> None:
    page = client.get("/discovery")
    assert page.status_code == 200
    assert 'href="/discovery" class="active"' in page.text
    cards = _cards(page.text)
    assert set(cards) == set(creators.values())
    card = cards[creators["garden_lab"]]
    assert "@garden_lab" in card and "locked" in card
    assert re.search(r"<dt>Followers</dt><dd>[\d,]+</dd>", card)
    assert re.search(r"<dt>Engagement rate</dt><dd>[\d.]+ %</dd>", card)
    assert f'href="/discovery/unlock/{creators["garden_lab"]}"' in card
    # Every filter has a label.
    for field in (
        "f-q",
        "f-platform",
        "f-category",
        "f-language",
        "f-fmin",
        "f-fmax",
        "f-emin",
        "f-emax",
        "f-qmin",
        "f-qmax",
        "f-unlocked",
        "f-sort",
    ):
        assert f'<label for="{field}">' in page.text, field
    assert re.search(r'data-testid="wallet-line">Balance: <strong>0 credits', page.text)


def test_filters_narrow_the_results(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int]
) -> None:
    by_text = _cards(client.get("/discovery?q=garden").text)
    assert set(by_text) == {creators["garden_lab"]}
    everyone = client.get("/discovery?sort=followers").text
    followers = sorted(
        int(v.replace(",", ""))
        for v in re.findall(r"<dt>Followers</dt><dd>([\d,]+)</dd>", everyone)
    )
    middle = followers[1]
    at_least = _cards(client.get(f"/discovery?followers_min={middle}").text)
    assert len(at_least) == 2
    at_most = _cards(client.get(f"/discovery?followers_max={middle}").text)
    assert len(at_most) == 2
    assert _cards(client.get("/discovery?unlocked=yes").text) == {}
    assert len(_cards(client.get("/discovery?unlocked=no").text)) == 3
    assert len(_cards(client.get("/discovery?platform=simulated&quality_min=0&er_min=0").text)) == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("followers_min=lots", "Followers (min) must be a whole number"),
        ("followers_max=-5", "Followers (max) must be a whole number"),
        ("er_min=abc", "Engagement rate (min) must be a percentage"),
        ("er_max=250", "Engagement rate (max) must be a percentage"),
        ("quality_min=101", "Audience quality (min)"),
        ("followers_min=500&followers_max=10", "Followers (min) is above Followers (max)"),
        ("sort=cheapest", "unknown sort order"),
        ("unlocked=maybe", "Access must be any, unlocked or locked"),
        ("platform=myspace", "unknown platform"),
        ("page=0", "Page must be a whole number"),
        ("q=" + "x" * 300, "Search text"),
    ],
)
def test_bad_filter_values_show_a_message_not_an_error_page(
    client: TestClient, owner: WorkspaceFixture, query: str, message: str
) -> None:
    response = client.get(f"/discovery?{query}")
    assert response.status_code == 422
    error = re.search(r'data-testid="filter-error">(.*?)</div>', response.text, re.S)
    assert error, response.text[:500]
    assert message in error.group(1).replace("&#39;", "'")
    # The form keeps what was typed, so it can be corrected.
    assert 'data-testid="discovery-filters"' in response.text


def test_no_creator_analysed_yet_says_how_to_get_one(
    client: TestClient, owner: WorkspaceFixture
) -> None:
    page = client.get("/discovery")
    assert page.status_code == 200
    assert 'data-testid="no-results"' in page.text
    assert 'href="/creators"' in page.text


def test_unlock_shows_price_and_balance_first_then_charges_once(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], db: Database
) -> None:
    from socialpulse.billing import usage as billing_usage

    creator_id = creators["garden_lab"]
    # The plan's allowance pays first; the credits stay.
    grant(db, owner.workspace_id, 60)
    confirm = client.get(f"/discovery/unlock/{creator_id}")
    assert confirm.status_code == 200
    assert "from your plan" in re.search(r'data-testid="unlock-price">(.*?)<', confirm.text).group(
        1
    )  # type: ignore[union-attr]
    assert re.search(r'data-testid="unlock-balance">60 credits<', confirm.text)
    # Looking at the price charged nothing.
    with db.session(readonly=True) as session:
        assert billing_usage.balance(session, owner.workspace_id).balance == 60
        assert billing_usage.allowances(session, owner.workspace_id).allowances[0].used == 0

    response = _unlock(client, creator_id)
    assert response.status_code == 303
    assert response.headers["location"] == f"/creators/{creator_id}"
    report = client.get(f"/creators/{creator_id}")
    assert "Unlocked @garden_lab from your plan" in report.text
    assert 'data-testid="section-posts"' in report.text

    # Unlocking again costs nothing and says so.
    again = client.get(f"/discovery/unlock/{creator_id}")
    assert 'data-testid="already-unlocked"' in again.text
    assert _unlock(client, creator_id).status_code == 303
    assert "already unlocked: nothing was charged" in client.get("/discovery").text
    with db.session(readonly=True) as session:
        usage = {
            a.allowance.value: a.used
            for a in billing_usage.allowances(session, owner.workspace_id).allowances
        }
        assert usage["profiles"] == 1
    card = _cards(client.get("/discovery").text)[creator_id]
    assert "unlocked · 30 days left" in card
    assert f'href="/creators/{creator_id}"' in card


def test_unlock_paid_in_credits_when_the_allowance_is_used(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], db: Database
) -> None:
    from socialpulse.billing import pricing as billing_pricing
    from socialpulse.billing import service as billing_service
    from socialpulse.billing import usage as billing_usage

    # A plan whose allowance includes no profile: each unlock is paid in credits.
    with db.session() as session:
        billing_pricing.update_plan(
            session, "free", billing_service.schemas.PlanUpdate(profiles_per_month=0)
        )
    set_plan(db, owner.workspace_id, "free")
    grant(db, owner.workspace_id, 30)
    creator_id = creators["city_eats_daily"]
    confirm = client.get(f"/discovery/unlock/{creator_id}").text
    assert re.search(r'data-testid="unlock-price">25 credits<', confirm)
    assert re.search(r'data-testid="unlock-balance-after">5 credits<', confirm)
    assert "Confirm unlock · 25 credits" in confirm
    assert _unlock(client, creator_id).status_code == 303
    with db.session(readonly=True) as session:
        assert billing_usage.balance(session, owner.workspace_id).balance == 5

    # Not enough for another: no confirm button, a way to top up, and a refused post.
    other_id = creators["fit_with_maya"]
    refused = client.get(f"/discovery/unlock/{other_id}").text
    assert 'data-testid="unlock-refused"' in refused
    assert "Confirm unlock" not in refused
    assert 'href="/billing#topups"' in refused
    response = _unlock(client, other_id)
    assert response.status_code == 402
    error = re.search(r'data-testid="unlock-error">(.*?)</div>', response.text, re.S)
    assert error and "25" in error.group(1)
    with db.session(readonly=True) as session:
        assert billing_usage.balance(session, owner.workspace_id).balance == 5
    assert "locked" in _cards(client.get("/discovery").text)[other_id]


def test_unlock_needs_the_csrf_token(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int]
) -> None:
    creator_id = creators["garden_lab"]
    response = client.post(f"/discovery/unlock/{creator_id}", follow_redirects=False)
    assert response.status_code == 303
    assert "locked" in _cards(client.get("/discovery").text)[creator_id]


def test_unknown_creator_is_not_found(client: TestClient, owner: WorkspaceFixture) -> None:
    assert client.get("/discovery/unlock/999999").status_code == 404


def test_unlocked_page_days_left_and_expired_with_unlock_again(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], db: Database
) -> None:
    empty = client.get("/discovery/unlocked")
    assert empty.status_code == 200 and 'data-testid="no-unlocked"' in empty.text

    assert _unlock(client, creators["garden_lab"]).status_code == 303
    assert _unlock(client, creators["fit_with_maya"]).status_code == 303
    with db.session() as session:
        session.execute(
            update(CreatorAccess)
            .where(
                CreatorAccess.workspace_id == owner.workspace_id,
                CreatorAccess.creator_id == creators["fit_with_maya"],
            )
            .values(expires_at=utcnow() - dt.timedelta(days=1))
        )
        session.execute(
            update(CreatorAccess)
            .where(
                CreatorAccess.workspace_id == owner.workspace_id,
                CreatorAccess.creator_id == creators["garden_lab"],
            )
            .values(expires_at=utcnow() + dt.timedelta(days=2, hours=3))
        )
    page = client.get("/discovery/unlocked").text
    assert re.search(rf'data-testid="days-left-{creators["garden_lab"]}">3<', page)
    expired = re.search(
        rf'data-testid="expired-{creators["fit_with_maya"]}">(.*?)</tr>', page, re.S
    )
    assert expired
    assert (
        f'href="/discovery/unlock/{creators["fit_with_maya"]}?back=/discovery/unlocked"'
        in expired.group(1)
    )
    assert "Unlock again" in expired.group(1)
    assert owner.owner_email in page  # who unlocked it
    # The report of an expired creator is closed again; its card offers the re-unlock.
    card = _cards(client.get("/discovery").text)[creators["fit_with_maya"]]
    assert "access expired" in card and "Unlock again" in card


def test_another_workspace_does_not_share_the_unlock(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], db: Database
) -> None:
    assert _unlock(client, creators["garden_lab"]).status_code == 303
    client.post("/logout", data={"csrf_token": csrf(client.get("/").text)})
    other = make_workspace(db, "other-desk")
    log_in(client, other)
    assert "locked" in _cards(client.get("/discovery").text)[creators["garden_lab"]]
    assert 'data-testid="no-unlocked"' in client.get("/discovery/unlocked").text


def test_a_locked_reports_page_leads_to_the_unlock_step(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int]
) -> None:
    creator_id = creators["garden_lab"]
    preview = client.get(f"/creators/{creator_id}").text
    assert "no access to the full report" in preview
    link = f'href="/discovery/unlock/{creator_id}?back=/creators/{creator_id}"'
    assert link in preview
    confirm = client.get(f"/discovery/unlock/{creator_id}?back=/creators/{creator_id}").text
    assert f'name="back" value="/creators/{creator_id}"' in confirm
    assert _unlock(client, creator_id).headers["location"] == f"/creators/{creator_id}"
    assert 'data-testid="section-posts"' in client.get(f"/creators/{creator_id}").text


@pytest.mark.parametrize(
    "back", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_the_unlock_steps_way_back_stays_on_this_site(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], back: str
) -> None:
    confirm = client.get(f"/discovery/unlock/{creators['garden_lab']}", params={"back": back})
    assert 'name="back" value="/discovery"' in confirm.text
    assert 'href="/discovery">Cancel</a>' in confirm.text


def test_a_viewer_cannot_spend_the_workspaces_credits(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], db: Database
) -> None:
    from factories import PASSWORD
    from socialpulse.workspaces import service as workspace_service
    from socialpulse.workspaces.models import Role

    with db.session() as session:
        workspace_service.create_user(session, "viewer@discovery-desk.test", PASSWORD)
        workspace_service.add_member(
            session, owner.subject, "viewer@discovery-desk.test", Role.viewer
        )
    client.post("/logout", data={"csrf_token": csrf(client.get("/").text)})
    page = client.get("/login")
    login = {
        "email": "viewer@discovery-desk.test",
        "password": PASSWORD,
        "csrf_token": csrf(page.text),
    }
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303
    creator_id = creators["garden_lab"]
    assert _unlock(client, creator_id).status_code == 303
    assert "editor" in client.get("/discovery").text
    assert "locked" in _cards(client.get("/discovery").text)[creator_id]


def test_unlocked_creators_export_once_free_then_refused_without_credits(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int]
) -> None:
    assert 'data-testid="export-price"' not in client.get("/discovery/unlocked").text
    assert _unlock(client, creators["garden_lab"]).status_code == 303
    page = client.get("/discovery/unlocked").text
    assert 'data-testid="export-price">free (1 free this month)<' in page

    download = post_form(
        client, "/discovery/unlocked", "/discovery/unlocked/export", {"fmt": "json"}
    )
    assert isinstance(download, httpx.Response)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    assert "garden_lab" in download.text

    refused = post_form(client, "/discovery/unlocked", "/discovery/unlocked/export", {"fmt": "csv"})
    assert isinstance(refused, httpx.Response)
    assert refused.status_code == 303
    page = client.get("/discovery/unlocked").text
    assert "50 credits" in page and 'data-testid="export-refused"' in page


def test_an_unlocked_report_reveals_the_published_e_mail_once_and_lists_lookalikes(
    client: TestClient, owner: WorkspaceFixture, creators: dict[str, int], db: Database
) -> None:
    from socialpulse.billing.models import LedgerEntry
    from socialpulse.creators.models import Creator

    garden = creators["garden_lab"]
    assert _unlock(client, garden).status_code == 303
    with db.session() as session:
        session.execute(
            update(Creator).where(Creator.id == garden).values(contact_email="hi@garden.test")
        )
        # A lookalike: same category and language as garden_lab.
        category, language = session.execute(
            select(Creator.category, Creator.language).where(Creator.id == garden)
        ).one()
        session.execute(
            update(Creator)
            .where(Creator.id == creators["city_eats_daily"])
            .values(category=category, language=language)
        )
    page = client.get(f"/creators/{garden}").text
    assert 'data-testid="email-price"' in page and "hi@garden.test" not in page
    similar = re.search(r'data-testid="similar">(.*?)</table>', page, re.S)
    assert similar and f'data-testid="similar-{garden}"' not in similar.group(1)
    assert f'data-testid="similar-{creators["city_eats_daily"]}"' in similar.group(1)

    revealed = post_form(client, f"/creators/{garden}", f"/creators/{garden}/email")
    assert isinstance(revealed, httpx.Response) and revealed.status_code == 303
    page = client.get(f"/creators/{garden}").text
    assert 'data-testid="contact-email"' in page and "hi@garden.test" in page
    again = post_form(client, f"/creators/{garden}", f"/creators/{garden}/email")
    assert isinstance(again, httpx.Response) and again.status_code == 303
    with db.session(readonly=True) as session:
        charges = session.scalars(
            select(LedgerEntry.action).where(
                LedgerEntry.workspace_id == owner.workspace_id,
                LedgerEntry.action == "email_unlock",
            )
        ).all()
    assert charges == ["email_unlock"]  # revealed once, read again for free

    other = creators["fit_with_maya"]
    assert _unlock(client, other).status_code == 303
    assert 'data-testid="no-email"' in client.get(f"/creators/{other}").text
