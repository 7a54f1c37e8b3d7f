"""Long YouTube threads reach the inbox in full.

`commentThreads.list?part=snippet,replies` embeds at most 5 replies per thread while
`snippet.totalReplyCount` counts them all; polling reads the rest with
`comments.list?parentId=` (1 quota unit a page). The YouTube Data API is served by respx with
responses built in the documented shapes
(https://developers.google.com/youtube/v3/docs/commentThreads/list,
https://developers.google.com/youtube/v3/docs/comments/list); the real client is built by the
registry from the account's stored API key, as in production. The fake honours `maxResults`
and `pageToken` and refuses any other video or parameter, so a lost cursor or a wrong call fails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture
from socialpulse.accounts import budget
from socialpulse.accounts.models import ApiUsage, Post, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox import polling, reading
from socialpulse.inbox.models import CommentPoll, Interaction, InteractionKind
from socialpulse.kit.security import SecretBox
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.youtube.client import API_BASE, seconds_until_quota_reset

BOX = SecretBox(TEST_SECRET_KEY)
PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads" / "youtube"
CHANNEL = "UCbrandChannel00000001"
VIDEO = "vidLongThrd1"
BUSY = "UgzBusyThread0001"  # the long thread
QUIET = "UgzQuietThread001"  # a thread whose replies all fit inline


def _at(minutes_ago: int) -> str:
    at = utcnow() - dt.timedelta(minutes=minutes_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def yt_comment(
    comment_id: str, author: str, text: str, minutes_ago: int, parent: str | None = None
) -> dict[str, Any]:
    """A `youtube#comment` resource as the API returns it."""
    snippet: dict[str, Any] = {
        "channelId": CHANNEL,
        "videoId": VIDEO,
        "textDisplay": text,
        "textOriginal": text,
        "authorDisplayName": f"@{author}",
        "authorProfileImageUrl": f"https://yt3.ggpht.com/ytc/{author}=s48-c-k-c0x00ffffff-no-rj",
        "authorChannelUrl": f"http://www.youtube.com/@{author}",
        "authorChannelId": {"value": f"UC{author}"},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": 0,
        "publishedAt": _at(minutes_ago),
        "updatedAt": _at(minutes_ago),
    }
    if parent is not None:
        snippet["parentId"] = parent
    return {
        "kind": "youtube#comment",
        "etag": f"e-{comment_id}",
        "id": comment_id,
        "snippet": snippet,
    }


def replies_to(parent: str, count: int) -> list[dict[str, Any]]:
    """`count` replies to `parent`, oldest first (reply 1 is the oldest)."""
    return [
        yt_comment(f"{parent}.9zR{n:04d}", f"fan{n}", f"reply number {n}", 2 * count - n, parent)
        for n in range(1, count + 1)
    ]


def thread(
    top_id: str, replies: list[dict[str, Any]], text: str, minutes_ago: int
) -> dict[str, Any]:
    """A `youtube#commentThread`: what `part=snippet,replies` embeds is the first 5 replies."""
    return {
        "kind": "youtube#commentThread",
        "etag": f"e-{top_id}",
        "id": top_id,
        "snippet": {
            "channelId": CHANNEL,
            "videoId": VIDEO,
            "topLevelComment": yt_comment(top_id, f"author{top_id[-3:]}", text, minutes_ago),
            "canReply": True,
            "totalReplyCount": len(replies),
            "isPublic": True,
        },
        "replies": {"comments": replies[:5]},
    }


@dataclass
class FakeYouTube:
    """The two listing endpoints over one video's threads; replies are served newest first
    (as in recorded `comments.list?parentId=` responses), `maxResults` per page."""

    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    # (parentId, pageToken) answered with YouTube's 403 quotaExceeded / 404 commentNotFound.
    quota_exceeded: set[tuple[str, str | None]] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    reply_calls: list[tuple[str, str | None]] = field(default_factory=list)
    thread_calls: int = 0

    def add_thread(self, top_id: str, reply_count: int, text: str = "Great video!") -> None:
        self.replies[top_id] = replies_to(top_id, reply_count)
        self.texts[top_id] = text

    def comment_threads(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["videoId"] == VIDEO
        assert params["part"] == "snippet,replies"
        assert "pageToken" not in params  # one page of threads here
        self.thread_calls += 1
        items = [
            thread(top_id, replies, self.texts[top_id], 1000 + index)
            for index, (top_id, replies) in enumerate(self.replies.items())
        ]
        body = {
            "kind": "youtube#commentThreadListResponse",
            "etag": "e-threads",
            "pageInfo": {"totalResults": len(items), "resultsPerPage": 100},
            "items": items,
        }
        return httpx.Response(200, json=body)

    def comments(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["part"] == "snippet"
        parent, token = params["parentId"], params.get("pageToken")
        self.reply_calls.append((parent, token))
        if (parent, token) in self.quota_exceeded:
            error = json.loads((PAYLOADS / "error_quota_exceeded.json").read_text("utf-8"))
            return httpx.Response(403, json=error)
        if parent in self.deleted:
            return httpx.Response(404, json=_comment_not_found())
        size = int(params["maxResults"])
        offset = int(token.removeprefix("replies-after-")) if token else 0
        # comments.list leaves `videoId` out of replies (recorded responses do).
        newest_first = [
            {**r, "snippet": {k: v for k, v in r["snippet"].items() if k != "videoId"}}
            for r in reversed(self.replies[parent])
        ]
        body: dict[str, Any] = {
            "kind": "youtube#commentListResponse",
            "etag": f"e-{parent}-{offset}",
            "pageInfo": {"resultsPerPage": size},
            "items": newest_first[offset : offset + size],
        }
        if offset + size < len(newest_first):
            body["nextPageToken"] = f"replies-after-{offset + size}"
        return httpx.Response(200, json=body)


def _comment_not_found() -> dict[str, Any]:
    message = "The comment identified by the request's parentId parameter could not be found."
    return {
        "error": {
            "code": 404,
            "message": message,
            "errors": [
                {
                    "message": message,
                    "domain": "youtube.comment",
                    "reason": "commentNotFound",
                    "location": "parentId",
                    "locationType": "parameter",
                }
            ],
        }
    }


@pytest.fixture
def youtube() -> Iterator[FakeYouTube]:
    reset_breakers()
    fake = FakeYouTube()
    with respx.mock(base_url=API_BASE, assert_all_called=False) as router:
        router.get("commentThreads").mock(side_effect=fake.comment_threads)
        router.get("comments").mock(side_effect=fake.comments)
        yield fake
    reset_breakers()


@pytest.fixture
def poll_id(db: Database, ws: WorkspaceFixture) -> int:
    """A poll of one video of a YouTube channel connected with an API key."""
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=ws.workspace_id,
            platform="youtube",
            external_id=CHANNEL,
            handle="@brand",
            display_name="Brand",
            credentials_encrypted=BOX.encrypt(json.dumps({"api_key": "yt-test-key"})),
        )
        session.add(account)
        session.flush()
        post = Post(
            workspace_id=ws.workspace_id,
            account_id=account.id,
            external_id=VIDEO,
            caption="Our longest video yet",
            posted_at=utcnow() - dt.timedelta(hours=20),
        )
        session.add(post)
        session.flush()
        poll = CommentPoll(workspace_id=ws.workspace_id, account_id=account.id, post_id=post.id)
        session.add(poll)
        session.flush()
        return poll.id


def poll(db: Database, poll_id: int) -> polling.PollResult:
    return polling.poll_post_comments(db, poll_id, box=BOX)


def stored(db: Database) -> dict[str, Interaction]:
    with db.session() as session:
        rows = session.scalars(select(Interaction)).all()
        session.expunge_all()
    return {row.external_id: row for row in rows}


def replies_stored(db: Database, parent: str) -> list[Interaction]:
    return [i for i in stored(db).values() if i.parent_external_id == parent]


def usage(db: Database) -> ApiUsage:
    with db.session() as session:
        row = session.scalars(select(ApiUsage)).one()
        session.expunge(row)
    return row


def test_thread_longer_than_the_inline_replies_is_stored_in_full_and_threaded(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 12, "Which microphone do you use?")
    youtube.add_thread(QUIET, 2)
    result = poll(db, poll_id)
    assert result.status == "completed"
    assert result.interactions_new == 2 + 12 + 2
    # Only the long thread needed comments.list; 100 replies a page hold all 12.
    assert youtube.reply_calls == [(BUSY, None)]
    rows = stored(db)
    top = rows[BUSY]
    assert (top.kind, top.parent_id) == (InteractionKind.comment, None)
    replies = replies_stored(db, BUSY)
    assert sorted(r.external_id for r in replies) == sorted(r["id"] for r in youtube.replies[BUSY])
    assert all(r.kind == InteractionKind.reply and r.parent_id == top.id for r in replies)
    assert {r.text for r in replies} == {f"reply number {n}" for n in range(1, 13)}


def test_second_poll_lists_no_replies_when_nothing_changed(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 12)
    poll(db, poll_id)
    assert len(youtube.reply_calls) == 1
    again = poll(db, poll_id)
    assert (again.status, again.interactions_new, again.api_calls) == ("completed", 0, 1)
    assert youtube.thread_calls == 2
    assert len(youtube.reply_calls) == 1  # no further comments.list
    assert len(replies_stored(db, BUSY)) == 12


def test_new_reply_to_a_known_long_thread_arrives_on_the_next_poll(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 12)
    poll(db, poll_id)
    youtube.replies[BUSY].append(
        yt_comment(f"{BUSY}.9zLate", "latecomer", "Late to the party but thanks!", 1, BUSY)
    )
    result = poll(db, poll_id)
    assert result.interactions_new == 1
    assert youtube.reply_calls == [(BUSY, None), (BUSY, None)]
    late = stored(db)[f"{BUSY}.9zLate"]
    assert late.parent_id == stored(db)[BUSY].id


def test_replies_over_two_pages_follow_the_next_page_token(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 150)
    result = poll(db, poll_id)
    assert result.status == "completed"
    assert youtube.reply_calls == [(BUSY, None), (BUSY, "replies-after-100")]
    assert len(replies_stored(db, BUSY)) == 150
    assert result.interactions_new == 151


def test_budget_counts_the_comments_list_units(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 150)
    result = poll(db, poll_id)
    # One commentThreads.list page and two comments.list pages, 1 unit each.
    assert result.api_calls == 3
    row = usage(db)
    assert (row.requests, row.successes, row.quota_units, row.deferred) == (3, 3, 3, 0)
    assert row.day == budget.quota_day("youtube")


def test_quota_error_while_reading_replies_keeps_what_was_read_and_waits_for_the_reset(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 150)
    youtube.quota_exceeded.add((BUSY, "replies-after-100"))
    before = utcnow()
    result = poll(db, poll_id)
    assert result.status == "retry"
    assert result.error is not None and "quotaExceeded" in result.error
    assert result.next_poll_at is not None
    wait = (result.next_poll_at - before).total_seconds()
    expected = max(polling.TRANSIENT_RETRY_S, seconds_until_quota_reset(before))
    assert wait == pytest.approx(expected, abs=60)
    rows = stored(db)
    # The thread, its 5 inline replies (the oldest) and the 100 newest replies of page 1.
    assert BUSY in rows
    replies = replies_stored(db, BUSY)
    assert len(replies) == 105
    assert all(r.parent_id == rows[BUSY].id for r in replies)
    with db.session() as session:
        stored_poll = session.get(CommentPoll, poll_id)
        assert stored_poll is not None and stored_poll.last_error == result.error
    # After the reset the next poll reads the 45 left out.
    youtube.quota_exceeded.clear()
    after = poll(db, poll_id)
    assert (after.status, after.interactions_new) == ("completed", 45)
    assert len(replies_stored(db, BUSY)) == 150


def test_local_budget_running_out_during_reply_paging_defers_the_poll(
    db: Database, ws: WorkspaceFixture, poll_id: int, youtube: FakeYouTube
) -> None:
    with db.session() as session:
        # Room for the thread page and one page of replies, not for the second.
        budget.set_budget(session, ws.workspace_id, "youtube", 2, 1.0)
    youtube.add_thread(BUSY, 150)
    before = utcnow()
    result = poll(db, poll_id)
    assert result.status == "deferred"
    assert result.error is not None and "budget" in result.error
    assert youtube.reply_calls == [(BUSY, None)]  # the second page was never sent
    assert result.next_poll_at is not None
    wait = (result.next_poll_at - before).total_seconds()
    assert wait == pytest.approx(budget.seconds_until_next_quota_day("youtube", before), abs=60)
    assert len(replies_stored(db, BUSY)) == 105
    row = usage(db)
    assert (row.quota_units, row.deferred) == (2, 1)


def test_threads_beyond_the_per_poll_limit_are_read_by_the_next_poll(
    db: Database, poll_id: int, youtube: FakeYouTube, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "POLL_MAX_REPLY_THREADS", 1)
    youtube.add_thread(BUSY, 8)
    youtube.add_thread(QUIET, 7)
    first = poll(db, poll_id)
    assert first.status == "completed"
    assert youtube.reply_calls == [(BUSY, None)]
    assert (len(replies_stored(db, BUSY)), len(replies_stored(db, QUIET))) == (8, 5)
    poll(db, poll_id)
    assert youtube.reply_calls == [(BUSY, None), (QUIET, None)]
    assert len(replies_stored(db, QUIET)) == 7


def test_thread_deleted_before_its_replies_are_read_does_not_fail_the_poll(
    db: Database, poll_id: int, youtube: FakeYouTube
) -> None:
    youtube.add_thread(BUSY, 12)
    youtube.add_thread(QUIET, 9)
    youtube.deleted.add(BUSY)
    result = poll(db, poll_id)
    assert (result.status, result.error) == ("completed", None)
    assert len(replies_stored(db, BUSY)) == 5  # what the listing carried is kept
    assert len(replies_stored(db, QUIET)) == 9  # the other thread is still read
