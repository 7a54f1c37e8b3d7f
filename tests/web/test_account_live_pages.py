"""Issue #17 (C) pages without a browser: the Overview's social counts and links, "Fetch now"
followed in place (never twice), "last fetched" the same everywhere, empty charts, the
best-times heatmap agreeing with its text, removal with a confirmation and progress, the post
page and the account comparison."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import make_settings
from factories import (
    PASSWORD,
    WorkspaceFixture,
    make,
    make_account,
    make_interaction,
    make_post,
    make_workspace,
)
from socialpulse.accounts.models import (
    AccountSnapshot,
    AccountStatus,
    ContentItem,
    ContentMapping,
    FetchRun,
    FetchStatus,
    MappingMethod,
    Post,
    PostMetricSnapshot,
    TrackedAccount,
)
from socialpulse.db import Database, utcnow
from socialpulse.demo import seed_demo_accounts
from socialpulse.inbox.models import InteractionStatus, ReplyQueueItem, ReplyStatus
from socialpulse.worker.jobs import drain
from socialpulse.worker.models import Job, JobStatus


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, email: str) -> str:
    page = client.get("/login")
    client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    )
    return _csrf(client.get("/").text)


@pytest.fixture
def seeded(
    db: Database, client: TestClient, tmp_path: object, database_url: str
) -> WorkspaceFixture:
    ws = make_workspace(db, "live-pages")
    seed_demo_accounts(db, make_settings(tmp_path, database_url), ws.workspace_id)  # type: ignore[arg-type]
    _login(client, ws.owner_email)
    return ws


def _account_id(db: Database, handle: str) -> int:
    with db.session() as session:
        account_id = session.scalar(
            select(TrackedAccount.id).where(TrackedAccount.handle == handle)
        )
    assert account_id is not None
    return account_id


def _text(fragment: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def _section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


# --- overview -------------------------------------------------------------------------------


def test_overview_counts_what_waits_and_links_to_where_it_is_done(
    client: TestClient, db: Database
) -> None:
    ws = make_workspace(db, "overview-social")
    now = utcnow()
    with db.session() as session:
        brand = make_account(session, ws.workspace_id, handle="brand", followers_count=1200)
        locked = make_account(
            session,
            ws.workspace_id,
            handle="locked_out",
            status=AccountStatus.needs_reconnect,
            status_message="token expired",
        )
        for days_ago, followers in ((8, 1000), (0, 1200)):
            make(
                session,
                AccountSnapshot,
                account_id=brand.id,
                day=(now - dt.timedelta(days=days_ago)).date(),
                followers_count=followers,
            )
        for status, sentiment in (
            (InteractionStatus.unread, "negative"),
            (InteractionStatus.unread, "positive"),
            (InteractionStatus.unread, None),
            (InteractionStatus.awaiting_approval, "negative"),
            (InteractionStatus.answered, "negative"),  # handled: counts nowhere
        ):
            item = make_interaction(session, brand, status=status, ai_sentiment=sentiment)
        make(
            session,
            ReplyQueueItem,
            workspace_id=ws.workspace_id,
            account_id=brand.id,
            interaction_id=item.id,
            platform="simulated",
            text="thanks",
            status=ReplyStatus.pending,
            scheduled_for=now + dt.timedelta(minutes=5),
        )
        top = make_post(
            session, brand, "p-top", caption="Our best post this week", engagement_rate=0.09
        )
        make_post(
            session,
            brand,
            "p-old",
            caption="Old news",
            engagement_rate=0.5,
            posted_at=now - dt.timedelta(days=20),
        )
        session.add(
            FetchRun(
                workspace_id=ws.workspace_id, account_id=brand.id, status=FetchStatus.completed
            )
        )
        session.add(
            FetchRun(
                workspace_id=ws.workspace_id,
                account_id=locked.id,
                status=FetchStatus.failed,
                error="401 from the platform",
            )
        )
        top_id, locked_id = top.id, locked.id
    _login(client, ws.owner_email)
    html = client.get("/").text
    counts = _section(html, "overview-counts")
    assert re.search(r'href="/inbox\?status=unread"[^>]*>.*?<span class="value">3<', counts, re.S)
    assert re.search(
        r'href="/inbox\?sentiment=negative"[^>]*>.*?<span class="value">2<', counts, re.S
    )
    assert re.search(
        r'href="/inbox\?status=awaiting_approval"[^>]*>.*?<span class="value">1<', counts, re.S
    )
    assert re.search(r'href="/inbox/queue"[^>]*>.*?<span class="value">1<', counts, re.S)
    assert "1,200" in counts and "+200" in counts  # followers with the week's change
    followers = _text(html.split('data-testid="overview-followers"')[1].split("</table>")[0])
    assert "@brand simulated 1,200 +200 (+20.0 %)" in followers
    top_posts = html.split('data-testid="overview-top-posts"')[1].split("</table>")[0]
    assert f'href="/posts/{top_id}"' in top_posts and "Our best post this week" in top_posts
    assert "Old news" not in top_posts  # not this week
    attention = _text(_section(html, "attention"))
    assert "@locked_out" in attention and "401 from the platform" in attention
    assert "Reconnect" in attention
    assert f'href="/accounts/{locked_id}"' in _section(html, "attention")


# --- fetch now ------------------------------------------------------------------------------


def test_fetch_now_follows_a_pending_fetch_and_never_queues_a_second(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    account_id = _account_id(db, "garden_lab")
    with db.session() as session:
        job = Job(workspace_id=seeded.workspace_id, kind="accounts.fetch_account")
        session.add(job)
        session.flush()
        run = FetchRun(workspace_id=seeded.workspace_id, account_id=account_id, job_id=job.id)
        session.add(run)
        session.flush()
        run_id = run.id
    page = client.get(f"/accounts/{account_id}").text
    button = re.search(r'<button[^>]*data-testid="fetch-now"[^>]*>', page)
    assert button and "disabled" in button.group(0)
    assert f"Fetch #{run_id}: Queued" in page
    answer = client.post(
        f"/accounts/{account_id}/fetch",
        data={"csrf_token": _csrf(page)},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 202
    assert answer.json()["run_id"] == run_id and answer.json()["active"] is True
    without_js = client.post(f"/accounts/{account_id}/fetch", data={"csrf_token": _csrf(page)})
    assert f"Fetch #{run_id} is already pending: no second one queued." in without_js.text
    with db.session() as session:
        runs = session.scalar(
            select(func.count()).select_from(FetchRun).where(FetchRun.account_id == account_id)
        )
    assert runs == 1
    status = client.get(f"/accounts/{account_id}/fetch-status").json()
    assert (status["run_id"], status["step"], status["steps"]) == (run_id, 1, 3)


def test_fetch_now_runs_to_done_and_the_status_says_so(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    account_id = _account_id(db, "garden_lab")
    page = client.get(f"/accounts/{account_id}").text
    answer = client.post(
        f"/accounts/{account_id}/fetch",
        data={"csrf_token": _csrf(page)},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 202
    drain(db)
    status = client.get(f"/accounts/{account_id}/fetch-status").json()
    assert status["active"] is False and status["step"] == 3
    assert status["label"].startswith("Done: ")
    after = client.get(f"/accounts/{account_id}").text
    button = re.search(r'<button[^>]*data-testid="fetch-now"[^>]*>', after)
    assert button and "disabled" not in button.group(0)


def test_fetch_status_of_another_workspaces_account_is_404(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    other = make_workspace(db, "someone-else")
    with db.session() as session:
        theirs = make_account(session, other.workspace_id, handle="theirs").id
    assert client.get(f"/accounts/{theirs}/fetch-status").status_code == 404
    token = _csrf(client.get("/accounts").text)
    client.post(f"/accounts/{theirs}/fetch", data={"csrf_token": token})
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(FetchRun)) == 0


def test_last_fetched_reads_the_same_on_the_list_and_the_account_page(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    account_id = _account_id(db, "garden_lab")
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        account.last_fetched_at = dt.datetime(2026, 11, 30, 7, 5, 59, tzinfo=dt.UTC)
    listing = client.get("/accounts").text
    cell = re.search(rf'data-testid="last-fetched-{account_id}">([^<]+)<', listing)
    detail = re.search(
        r'data-testid="last-fetched"[^>]*>([^<]+)<', client.get(f"/accounts/{account_id}").text
    )
    assert cell and detail
    assert cell.group(1) == detail.group(1) == "2026-11-30 07:05 UTC"


# --- charts and heatmap ---------------------------------------------------------------------


def test_charts_with_one_point_or_none_say_so_instead_of_a_blank_axis(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        fresh = make_account(session, seeded.workspace_id, handle="fresh_face")
        make(session, AccountSnapshot, account_id=fresh.id, day=utcnow().date(), followers_count=10)
        fresh_id = fresh.id
    html = client.get(f"/accounts/{fresh_id}").text
    followers = html.split("<h2>Followers, last 90 days</h2>")[1].split("</section>")[0]
    assert "Not enough data yet: one snapshot so far." in followers
    assert "<canvas" not in followers
    engagement = html.split("<h2>Engagement rate by publishing day (%)</h2>")[1].split(
        "</section>"
    )[0]
    assert "No data yet" in engagement


def test_the_heatmap_marks_as_best_exactly_the_slots_its_text_names(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    html = client.get(f"/accounts/{_account_id(db, 'garden_lab')}").text
    named = re.findall(
        r"<strong>(\w+day \d\d:00)</strong>",
        html.split('data-testid="best-text"')[1].split("</p>")[0],
    )
    assert named
    heatmap = html.split('data-testid="heatmap"')[1].split("</table>")[0]
    cells = re.findall(
        r'<td class="hm (hm-\d)([^"]*)" data-cell="([^"]+)"[^>]*>(.*?)</td>', heatmap
    )
    assert len(cells) == 7 * 24
    best = [cell for level, flags, cell, _ in cells if "hm-best" in flags]
    assert sorted(best) == sorted(named)
    # The first slot named is the darkest cell, and no faded cell is darker than the lightest.
    levels = {cell: (level, flags) for level, flags, cell, _ in cells}
    assert levels[named[0]][0] == "hm-4"
    assert all(level == "hm-0" for level, flags in levels.values() if "hm-faded" in flags)
    assert any("hm-faded" in flags for _, flags in levels.values())
    # Each cell's rate and sample count are text, not only a tooltip.
    first = next(body for _, _, cell, body in cells if cell == named[0])
    assert re.search(r"\d+\.\d", first) and "posts" in first and "best" in first
    legend = _text(html.split('data-testid="heatmap-legend"')[1].split("</ul>")[0])
    assert "faded: fewer than" in legend and "best" in legend


# --- removal --------------------------------------------------------------------------------


def test_removing_an_account_asks_first_then_shows_progress_until_gone(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    account_id = _account_id(db, "garden_lab")
    with db.session() as session:
        posts = session.scalar(
            select(func.count()).select_from(Post).where(Post.account_id == account_id)
        )
    confirm = client.get(f"/accounts/{account_id}/delete").text
    preview = _text(_section(confirm, "removal-preview"))
    assert f"posts {posts:,}" in preview
    assert "post metric snapshots" in preview
    assert "Remove @garden_lab and its data" in preview
    with db.session() as session:  # nothing is removed by looking
        account = session.get(TrackedAccount, account_id)
        assert account is not None and account.status != AccountStatus.deleting
    removed = client.post(
        f"/accounts/{account_id}/delete",
        data={"csrf_token": _csrf(confirm)},
        follow_redirects=False,
    )
    assert removed.status_code == 303 and removed.headers["location"] == "/accounts"
    drain(db)
    assert client.get("/accounts/removal-status").json() == {}
    listing = client.get("/accounts").text
    assert "Removing @garden_lab" in listing  # the flash says what happens
    assert f'href="/accounts/{account_id}"' not in listing


def test_the_accounts_list_shows_a_removal_in_progress(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    account_id = _account_id(db, "garden_lab")
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        account.status = AccountStatus.deleting
        session.add(
            Job(
                workspace_id=seeded.workspace_id,
                kind="accounts.delete_account",
                dedupe_key=f"accounts.delete:{account_id}",
                status=JobStatus.running,
                result={"deleted": 4000, "total": 10000},
            )
        )
    page = client.get("/accounts").text
    row = page.split(f'data-testid="removal-{account_id}"')[1].split("</td>")[0]
    assert 'max="10000" value="4000"' in row
    assert "4,000 of 10,000 rows deleted" in row
    assert client.get("/accounts/removal-status").json() == {
        str(account_id): {"deleted": 4000, "total": 10000}
    }


# --- post detail ----------------------------------------------------------------------------


def test_post_page_shows_history_comments_with_ai_and_content(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    today = utcnow().date()
    with db.session() as session:
        account = session.get(TrackedAccount, _account_id(db, "garden_lab"))
        assert account is not None
        post = make_post(session, account, "detail-1", caption="Tomatoes in December", views=900)
        for days_ago, views in ((2, 300), (1, 700), (0, 900)):
            make(
                session,
                PostMetricSnapshot,
                post_id=post.id,
                day=today - dt.timedelta(days=days_ago),
                views=views,
                likes=views // 10,
            )
        make_interaction(
            session,
            account,
            post_id=post.id,
            text="Where can I buy the seeds?",
            ai_sentiment="neutral",
            ai_intent="purchase_intent",
            author_handle="gardener",
        )
        item = make(
            session, ContentItem, workspace_id=account.workspace_id, title="Winter tomato guide"
        )
        make(
            session,
            ContentMapping,
            workspace_id=account.workspace_id,
            content_item_id=item.id,
            post_id=post.id,
            confidence=0.92,
            method=MappingMethod.url_id,
        )
        post_id = post.id
    html = client.get(f"/posts/{post_id}").text
    assert "Tomatoes in December" in html
    data = re.search(r'id="views-chart-data">(.*?)</script>', html)
    assert data and '"values": [300, 700, 900]' in data.group(1)
    comments = _text(_section(html, "post-comments"))
    assert "@gardener" in comments and "Where can I buy the seeds?" in comments
    assert "neutral" in comments and "purchase intent" in comments
    content = _text(_section(html, "post-content"))
    assert "Winter tomato guide" in content and "url id" in content and "92 %" in content


def test_post_page_of_a_new_post_says_the_chart_needs_more_snapshots(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        account = session.get(TrackedAccount, _account_id(db, "garden_lab"))
        assert account is not None
        post = make_post(session, account, "detail-2", caption="Just posted")
        make(session, PostMetricSnapshot, post_id=post.id, day=utcnow().date(), views=5)
        post_id = post.id
    html = client.get(f"/posts/{post_id}").text
    assert "Not enough data yet: one snapshot so far." in _section(html, "post-history") or (
        "Not enough data yet: one snapshot so far." in html
    )
    assert 'id="views-chart"' not in html


def test_another_workspaces_post_is_a_404_page(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    other = make_workspace(db, "not-yours")
    with db.session() as session:
        theirs = make_account(session, other.workspace_id, handle="theirs")
        post_id = make_post(session, theirs, "secret", caption="Their secret plan").id
    page = client.get(f"/posts/{post_id}", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "Their secret plan" not in page.text


# --- comparison -----------------------------------------------------------------------------


def test_compare_page_shows_the_chosen_accounts_side_by_side(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    garden, maya = _account_id(db, "garden_lab"), _account_id(db, "fit_with_maya")
    html = client.get(f"/accounts/compare?ids={garden},{maya}").text
    table = html.split('data-testid="compare-table"')[1].split("</table>")[0]
    rows = re.findall(r'<tr><th scope="row"><a href="/accounts/(\d+)">', table)
    assert sorted(int(r) for r in rows) == sorted([garden, maya])
    checked = re.findall(r'<input type="checkbox" name="ids" value="(\d+)" checked>', html)
    assert sorted(int(c) for c in checked) == sorted([garden, maya])
    assert 'id="compare-followers-data"' in html and 'id="compare-engagement-data"' in html
    with db.session() as session:
        posts_30d = session.scalar(
            select(func.count())
            .select_from(Post)
            .where(Post.account_id == garden, Post.posted_at >= utcnow() - dt.timedelta(days=30))
        )
    per_week = round(posts_30d * 7 / 30, 1)
    garden_row = table.split(f'href="/accounts/{garden}"')[1].split("</tr>")[0]
    assert f'<td class="num">{per_week}</td>' in garden_row
    # The form's own encoding (ids=1&ids=2) works too.
    again = client.get(f"/accounts/compare?ids={garden}&ids={maya}").text
    assert again.count('<tr><th scope="row">') == 2


@pytest.mark.parametrize(
    ("query", "message"), [("ids=abc", "account ids are numbers"), ("ids=999999", "not found")]
)
def test_compare_page_explains_bad_ids(
    client: TestClient, seeded: WorkspaceFixture, query: str, message: str
) -> None:
    page = client.get(f"/accounts/compare?{query}", headers={"Accept": "text/html"})
    assert page.status_code in (400, 404, 422)
    assert message in page.text


def test_an_account_needing_reconnect_takes_new_credentials_from_its_page(
    client: TestClient, seeded: WorkspaceFixture, db: Database
) -> None:
    account_id = _account_id(db, "garden_lab")
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        account.status = AccountStatus.needs_reconnect
        account.status_message = "the platform rejected the stored credentials"
    overview = client.get("/").text
    assert f'href="/accounts/{account_id}#reconnect"' in _section(overview, "attention")
    page = client.get(f"/accounts/{account_id}").text
    assert 'data-testid="reconnect"' in page
    bad = client.post(
        f"/accounts/{account_id}/reconnect",
        data={"credentials": "not a pair", "csrf_token": _csrf(page)},
    )
    assert "credentials line 1: expected name=value" in bad.text
    saved = client.post(
        f"/accounts/{account_id}/reconnect",
        data={"credentials": "seed=7", "csrf_token": _csrf(page)},
    )
    assert "New credentials saved for @garden_lab" in saved.text
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None and account.status == AccountStatus.ok
    assert 'data-testid="reconnect"' not in saved.text
