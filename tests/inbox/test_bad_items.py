"""One bad item in a platform's list never fails the whole inbox poll: it is skipped (or its
text cleaned) and every other reply is stored, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select
from structlog.testing import capture_logs

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture
from socialpulse.db import Database, utcnow
from socialpulse.inbox import polling
from socialpulse.inbox.models import CommentPoll, Fan, Interaction
from socialpulse.kit.security import SecretBox
from socialpulse.providers.bluesky.client import PUBLIC_APPVIEW
from socialpulse.providers.http import reset_breakers

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
ROOT_URI = "at://did:plc:alice123/app.bsky.feed.post/3kpost1aaa"
BOB_URI = "at://did:plc:bob456/app.bsky.feed.post/3kreply1"
ALICE_URI = "at://did:plc:alice123/app.bsky.feed.post/3kreply2"
CAROL_URI = "at://did:plc:carol789/app.bsky.feed.post/3kreply3"


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


def _thread() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "bluesky" / "get_post_thread.json").read_text())
    return data


def _replies(data: dict[str, Any]) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = data["thread"]["replies"]
    return replies


def _poll(db: Database, ws: WorkspaceFixture, make_account: Callable[..., int], body: bytes) -> Any:
    account_id = make_account(db, ws.workspace_id, platform="bluesky", handle="alice.example")
    with db.session() as session:
        from socialpulse.accounts.models import Post

        session.add(
            Post(
                workspace_id=ws.workspace_id,
                account_id=account_id,
                external_id=ROOT_URI,
                caption="Café crawl",
                posted_at=utcnow() - dt.timedelta(hours=2),
            )
        )
        session.flush()
        polling.ensure_polls(session, utcnow(), account_id=account_id)
        poll_id = session.scalar(select(CommentPoll.id))
    respx.get(f"{PUBLIC_APPVIEW}app.bsky.feed.getPostThread").mock(
        return_value=httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    )
    assert poll_id is not None
    return polling.poll_post_comments(db, poll_id, box=SecretBox(TEST_SECRET_KEY))


def _stored(db: Database) -> dict[str, Interaction]:
    with db.session(readonly=True) as session:
        rows = list(session.scalars(select(Interaction)))
        session.expunge_all()
    return {row.external_id: row for row in rows}


@respx.mock
def test_a_reply_with_a_lone_surrogate_is_stored_cleaned_and_the_poll_completes(
    db: Database, ws: WorkspaceFixture, make_account: Callable[..., int]
) -> None:
    data = _thread()
    _replies(data)[0]["post"]["record"]["text"] = "LONE-SURROGATE"
    _replies(data)[0]["post"]["author"]["displayName"] = "NUL-BYTE"
    # "\ud800" and "\u0000" are valid JSON escapes that no database column stores as they are.
    body = (
        json.dumps(data)
        .replace("LONE-SURROGATE", "tasty \\ud800 crumb")
        .replace("NUL-BYTE", "Bob\\u0000by")
        .encode()
    )

    result = _poll(db, ws, make_account, body)

    assert result.status == "completed", result.error
    stored = _stored(db)
    assert set(stored) == {BOB_URI, ALICE_URI, CAROL_URI}
    assert stored[BOB_URI].text == "tasty \ufffd crumb"
    assert stored[BOB_URI].author_display_name == "Bob\ufffdby"
    assert stored[CAROL_URI].text == "Where is this?"


@respx.mock
def test_an_unreadable_reply_is_skipped_with_a_warning_and_the_others_are_stored(
    db: Database, ws: WorkspaceFixture, make_account: Callable[..., int]
) -> None:
    data = _thread()
    carol = _replies(data)[-1]["post"]
    del carol["record"]["createdAt"]
    del carol["indexedAt"]

    with capture_logs() as logs:
        result = _poll(db, ws, make_account, json.dumps(data).encode())

    assert result.status == "completed", result.error
    assert set(_stored(db)) == {BOB_URI, ALICE_URI}
    skipped = [entry for entry in logs if entry["event"] == "provider.item.skipped"]
    assert len(skipped) == 1
    assert skipped[0]["platform"] == "bluesky"
    assert skipped[0]["item_id"] == CAROL_URI
    assert skipped[0]["log_level"] == "warning"
    assert "createdAt" in skipped[0]["error"]


@respx.mock
def test_a_reply_whose_parent_is_unreadable_is_still_stored(
    db: Database, ws: WorkspaceFixture, make_account: Callable[..., int]
) -> None:
    data = _thread()
    del _replies(data)[0]["post"]["author"]  # Bob's reply cannot be read; Alice answered it

    result = _poll(db, ws, make_account, json.dumps(data).encode())

    assert result.status == "completed", result.error
    stored = _stored(db)
    assert set(stored) == {ALICE_URI, CAROL_URI}
    assert stored[ALICE_URI].parent_external_id == BOB_URI


@respx.mock
def test_unsafe_and_oversized_values_from_a_platform_never_reach_the_database(
    db: Database, ws: WorkspaceFixture, make_account: Callable[..., int]
) -> None:
    data = _thread()
    bob = _replies(data)[0]["post"]
    bob["author"]["avatar"] = "javascript:alert(1)"
    bob["author"]["displayName"] = "B" * 400  # the column holds 255
    carol = _replies(data)[-1]["post"]
    carol["uri"] = "at://did:plc:carol789/app.bsky.feed.post/" + "x" * 300  # not an id we store

    result = _poll(db, ws, make_account, json.dumps(data).encode())

    assert result.status == "completed", result.error
    stored = _stored(db)
    assert set(stored) == {BOB_URI, ALICE_URI}
    display = stored[BOB_URI].author_display_name
    assert display is not None and len(display) == 255
    with db.session(readonly=True) as session:
        fan = session.scalar(select(Fan).where(Fan.external_id == "did:plc:bob456"))
        assert fan is not None
        assert fan.avatar_url is None
