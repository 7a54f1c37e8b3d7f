"""Mastodon mentions and direct messages polled into the inbox (respx against documented
payloads): kinds, dedup on re-poll, links to stored posts, fans, workflows, auth failures; and
polling one account on demand, through the API (a job) and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox import ingest, polling
from socialpulse.inbox.cli import app as inbox_cli
from socialpulse.inbox.models import Fan, Interaction, InteractionKind, InteractionStatus, Workflow
from socialpulse.kit.security import SecretBox
from socialpulse.providers.http import reset_breakers
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role

BOX = SecretBox(TEST_SECRET_KEY)
API = "https://mastodon.social/api/v1"
PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads" / "mastodon"
BRAND_ID = "109000000000000099"
OWN_POST = "113540000000000001"  # carol's mention replies to it
NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


def add_mastodon_account(
    db: Database, workspace_id: int, credentials: dict[str, str] | None
) -> int:
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=workspace_id,
            platform="mastodon",
            external_id=BRAND_ID,
            handle="brand@mastodon.social",
            display_name="Brand Co",
            credentials_encrypted=BOX.encrypt(json.dumps(credentials)) if credentials else None,
        )
        session.add(account)
        session.flush()
        return account.id


@pytest.fixture
def account_id(db: Database, ws: WorkspaceFixture) -> int:
    return add_mastodon_account(db, ws.workspace_id, {"access_token": "user-token"})


@pytest.fixture
def own_post_id(db: Database, account_id: int, make_post: Callable[..., int]) -> int:
    return make_post(db, account_id, OWN_POST, posted_at=NOW - dt.timedelta(days=1))


def mock_api(
    notifications: list[dict[str, Any]] | None = None,
    conversations: list[dict[str, Any]] | None = None,
) -> tuple[respx.Route, respx.Route]:
    notes = respx.get(f"{API}/notifications").mock(
        return_value=httpx.Response(
            200,
            json=load("notifications_mentions.json") if notifications is None else notifications,
        )
    )
    convs = respx.get(f"{API}/conversations").mock(
        return_value=httpx.Response(
            200, json=load("conversations.json") if conversations is None else conversations
        )
    )
    return notes, convs


def poll(db: Database, account_id: int) -> polling.MentionPollResult:
    return polling.poll_account_mentions(db, account_id, box=BOX, now=NOW)


def stored(db: Database) -> dict[str, Interaction]:
    with db.session() as session:
        rows = session.scalars(select(Interaction)).all()
        session.expunge_all()
    return {row.external_id: row for row in rows}


@respx.mock
def test_mentions_and_dms_are_stored_once_even_when_polled_again(
    db: Database, account_id: int
) -> None:
    notes, convs = mock_api()

    first = poll(db, account_id)
    second = poll(db, account_id)

    # 3 mentions + 1 DM only in conversations; the DM in both listings is one interaction.
    assert (first.status, first.new) == ("completed", 4)
    assert (second.status, second.new) == ("completed", 0)
    assert sorted(stored(db)) == [
        "113550000000000009",
        "113550000000000011",
        "113550000000000012",
        "113550000000000013",
    ]
    request = notes.calls.last.request
    assert request.url.params.get_list("types[]") == ["mention"]
    assert request.headers["Authorization"] == "Bearer user-token"
    assert convs.called


@respx.mock
def test_a_mention_with_direct_visibility_is_a_direct_message(
    db: Database, account_id: int
) -> None:
    mock_api(conversations=[])  # the DM arrives through the notifications only

    poll(db, account_id)

    kinds = {key: row.kind for key, row in stored(db).items()}
    assert kinds == {
        "113550000000000013": InteractionKind.direct_message,  # visibility: direct
        "113550000000000012": InteractionKind.mention,
        "113550000000000011": InteractionKind.mention,
    }


@respx.mock
def test_the_last_status_of_a_conversation_is_a_direct_message(
    db: Database, account_id: int
) -> None:
    mock_api(notifications=[])

    poll(db, account_id)

    kinds = {key: row.kind for key, row in stored(db).items()}
    assert kinds == {
        "113550000000000013": InteractionKind.direct_message,
        "113550000000000009": InteractionKind.direct_message,
    }


@respx.mock
def test_a_mention_replying_to_a_stored_post_is_linked_to_it(
    db: Database, account_id: int, own_post_id: int
) -> None:
    mock_api()

    poll(db, account_id)

    rows = stored(db)
    reply = rows["113550000000000011"]
    assert reply.post_id == own_post_id
    assert reply.parent_external_id is None  # top level under the post, like a comment
    assert rows["113550000000000012"].post_id is None


@respx.mock
def test_mentions_are_analysed_and_their_authors_become_fans(db: Database, account_id: int) -> None:
    mock_api()

    poll(db, account_id)

    rows = stored(db)
    shout_out = rows["113550000000000012"]
    assert shout_out.text.startswith("Shout-out to @brand for the best repair guide")
    assert shout_out.author_handle == "dave@fosstodon.org"
    assert shout_out.ai_sentiment == "positive"
    assert shout_out.status == InteractionStatus.unread
    with db.session() as session:
        fans = {f.handle: f for f in session.scalars(select(Fan))}
        assert sorted(fans) == [
            "carol@mastodon.social",
            "dave@fosstodon.org",
            "erin@mastodon.social",
            "frank@mastodon.social",
        ]
        assert shout_out.fan_id == fans["dave@fosstodon.org"].id
        assert fans["dave@fosstodon.org"].interactions_count == 1


@respx.mock
def test_new_interaction_workflows_act_on_direct_messages(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    with db.session() as session:
        session.add(
            Workflow(
                workspace_id=ws.workspace_id,
                name="Delivery problems",
                conditions=[{"type": "keywords", "words": ["package"]}],
                actions=[{"type": "label", "name": "delivery"}],
            )
        )
    mock_api()

    poll(db, account_id)

    rows = stored(db)
    assert rows["113550000000000013"].labels == ["delivery"]
    assert rows["113550000000000012"].labels == []


@respx.mock
def test_a_repoll_stops_at_the_page_holding_the_newest_stored_mention(
    db: Database, account_id: int
) -> None:
    older_page_link = f'<{API}/notifications?max_id=34975861>; rel="next"'
    notes = respx.get(f"{API}/notifications").mock(
        return_value=httpx.Response(
            200, json=load("notifications_mentions.json"), headers={"Link": older_page_link}
        )
    )
    respx.get(f"{API}/conversations").mock(return_value=httpx.Response(200, json=[]))
    with db.session() as session:
        assert ingest.newest_stored_id(session, account_id) is None

    poll(db, account_id)  # first poll: the first page has news, so the older page is read too
    calls_after_first = notes.call_count
    poll(db, account_id)

    assert calls_after_first == 2
    assert notes.calls[1].request.url.params["max_id"] == "34975861"
    assert notes.call_count == 3  # the re-poll reads one page: it reaches the cursor
    with db.session() as session:
        assert ingest.newest_stored_id(session, account_id) == "113550000000000013"


@respx.mock
def test_rejected_token_marks_the_account_for_reconnecting(db: Database, account_id: int) -> None:
    respx.get(f"{API}/notifications").mock(
        return_value=httpx.Response(401, json={"error": "The access token is invalid"})
    )
    convs = respx.get(f"{API}/conversations")

    result = poll(db, account_id)

    assert result.status == "failed"
    assert result.reason is not None and "reconnect the account" in result.reason
    assert not convs.called
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        assert account.status == AccountStatus.needs_reconnect
        assert "The access token is invalid" in (account.status_message or "")
    # The periodic poll leaves it alone until it is reconnected.
    counts = polling.poll_all_mentions(db, box=BOX, now=NOW)
    assert counts["accounts"] == 0


@respx.mock
def test_an_account_without_an_access_token_is_skipped_with_the_reason(
    db: Database, ws: WorkspaceFixture
) -> None:
    no_token = add_mastodon_account(db, ws.workspace_id, None)
    notes, convs = mock_api()

    result = poll(db, no_token)

    assert result.status == "skipped"
    assert result.reason is not None and "access token" in result.reason
    assert not notes.called and not convs.called
    assert stored(db) == {}


@respx.mock
def test_periodic_poll_counts_polled_and_skipped_accounts(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    with db.session() as session:
        # A second account without a token (another handle, same workspace).
        other = TrackedAccount(
            workspace_id=ws.workspace_id,
            platform="mastodon",
            external_id="109000000000000777",
            handle="shop@mastodon.social",
        )
        session.add(other)
    mock_api()

    counts = polling.poll_all_mentions(db, box=BOX, now=NOW)

    assert counts == {"accounts": 2, "new": 4, "completed": 1, "skipped": 1, "failed": 0}


@respx.mock
def test_own_direct_message_is_stored_as_answered_without_a_fan(
    db: Database, account_id: int
) -> None:
    conversation = load("conversations.json")[0]
    brand = {**conversation["last_status"]["account"], "id": BRAND_ID, "acct": "brand"}
    conversation["last_status"] = {
        **conversation["last_status"],
        "id": "113550000000000020",
        "account": brand,
        "in_reply_to_id": "113550000000000013",
    }
    mock_api(conversations=[conversation])

    poll(db, account_id)

    rows = stored(db)
    answer = rows["113550000000000020"]
    assert answer.status == InteractionStatus.answered
    assert answer.fan_id is None
    assert answer.parent_id == rows["113550000000000013"].id  # threaded under the DM


# --- on demand: the API and the CLI -----------------------------------------------------------


def add_simulated_account(db: Database, workspace_id: int) -> int:
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=workspace_id, platform="simulated", external_id="sim-1", handle="brand"
        )
        session.add(account)
        session.flush()
        return account.id


@respx.mock
def test_polling_mentions_now_queues_a_job_that_stores_them(
    db: Database, ws: WorkspaceFixture, account_id: int, client: TestClient
) -> None:
    mock_api()

    response = client.post(
        f"/api/v1/accounts/{account_id}/mentions/poll", headers=ws.headers(Role.editor)
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["account_id"] == account_id
    # The job ran once the request committed; its result says what came in.
    job = client.get(f"/api/v1/jobs/{body['job_id']}", headers=ws.headers()).json()
    assert job["kind"] == "inbox.poll_account_mentions"
    assert job["status"] == "completed"
    assert job["result"] == {
        "account_id": account_id,
        "status": "completed",
        "seen": 5,
        "new": 4,
        "reason": None,
    }
    assert len(stored(db)) == 4


def test_a_pending_mention_poll_is_reused(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    with db.session() as session:
        first = polling.request_mention_poll(session, ws.subject, account_id)
        again = polling.request_mention_poll(session, ws.subject, account_id)
        session.info.clear()  # no nudges: this test only checks the rows
    assert first == again
    with db.session() as session:
        assert session.scalars(select(Job.status).where(Job.id == first)).all() == [
            JobStatus.pending
        ]


def test_polling_mentions_where_the_platform_has_none_is_refused(
    db: Database, ws: WorkspaceFixture, client: TestClient
) -> None:
    simulated = add_simulated_account(db, ws.workspace_id)

    response = client.post(f"/api/v1/accounts/{simulated}/mentions/poll", headers=ws.headers())

    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "socialpulse cannot read mentions or direct messages on simulated; it can on mastodon"
    )
    with db.session() as session:
        assert session.scalars(select(Job)).all() == []


def test_polling_mentions_of_an_account_without_a_token_is_refused(
    db: Database, ws: WorkspaceFixture, client: TestClient
) -> None:
    no_token = add_mastodon_account(db, ws.workspace_id, None)

    response = client.post(f"/api/v1/accounts/{no_token}/mentions/poll", headers=ws.headers())

    assert response.status_code == 422
    assert "access token" in response.json()["error"]["message"]


@respx.mock
def test_the_cli_polls_one_account_and_prints_what_came_in(db: Database, account_id: int) -> None:
    mock_api()

    result = CliRunner().invoke(inbox_cli, ["poll-mentions", "--account", str(account_id)])
    again = CliRunner().invoke(inbox_cli, ["poll-mentions", "--account", str(account_id), "--json"])

    assert result.exit_code == 0, result.output
    # stdout only: the logs go to stderr, which the runner mixes into .output.
    assert result.stdout == "mastodon @brand@mastodon.social: completed, 5 seen, 4 new\n"
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {
        "account_id": account_id,
        "status": "completed",
        "seen": 5,
        "new": 0,
        "reason": None,
    }


@respx.mock
def test_the_cli_exits_1_with_the_reason_when_the_platform_fails(
    db: Database, account_id: int
) -> None:
    respx.get(f"{API}/notifications").mock(
        return_value=httpx.Response(401, json={"error": "The access token is invalid"})
    )

    result = CliRunner().invoke(inbox_cli, ["poll-mentions", "--account", str(account_id)])

    assert result.exit_code == 1
    assert result.stdout.startswith("mastodon @brand@mastodon.social: failed, 0 seen, 0 new (")
    assert "reconnect the account" in result.stdout


def test_the_cli_refuses_an_unknown_account_or_a_platform_without_mentions(
    db: Database, ws: WorkspaceFixture
) -> None:
    simulated = add_simulated_account(db, ws.workspace_id)

    unknown = CliRunner().invoke(inbox_cli, ["poll-mentions", "--account", "999999"])
    unsupported = CliRunner().invoke(inbox_cli, ["poll-mentions", "--account", str(simulated)])

    assert (unknown.exit_code, unknown.output) == (2, "error: no account 999999\n")
    assert unsupported.exit_code == 2
    assert "cannot read mentions or direct messages on simulated" in unsupported.output
