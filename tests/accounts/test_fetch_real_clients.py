"""The whole fetch pipeline against each real platform client, on recorded payload shapes.

For Bluesky, Mastodon, YouTube, Instagram and TikTok: add the account through the API (the
registry builds the real client from the stored credentials), fetch it through the API (the
durable job runs inline in tests) and read back what a user sees: the fetch run, the account's
counters, every post with its metric snapshot (CSV export), the stored post metrics (top posts)
and the API usage. The platforms are served by respx from the provider tests' fixture files;
routes match method, URL and the parameters that select the page, so a wrong URL, a lost cursor
or a missing credential fails the test.

The fixtures date from 2024 and a fetch stops paging once a whole page is older than the
90-day lookback, so each test runs a few days after its platform's newest fixture post.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import time_machine
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.instagram.client import API_BASE as IG_BASE
from socialpulse.providers.instagram.client import MEDIA_FIELDS, PROFILE_FIELDS
from socialpulse.providers.tiktok.client import API_BASE as TT_BASE
from socialpulse.providers.tiktok.client import USER_FIELDS, VIDEO_FIELDS
from socialpulse.providers.youtube.client import API_BASE as YT_BASE

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"

XRPC = "https://public.api.bsky.app/xrpc"
MASTODON_API = "https://mastodon.social/api/v1"
YT = YT_BASE.rstrip("/")
YT_KEY = "yt-test-key"
IG_ID = "17841405822304914"
IG_TOKEN = "EAAB-test-token"
TT_TOKEN = "act.test-token"

Bump = Callable[[], int]


def load(platform: str, name: str) -> Any:
    return json.loads((PAYLOADS / platform / name).read_text(encoding="utf-8"))


def ok(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def by_param(
    name: str, pages: dict[str | None, Callable[[], httpx.Response]]
) -> Callable[[httpx.Request], httpx.Response]:
    """A side effect answering by one query parameter (None: the parameter is absent), and
    refusing any value the recorded conversation does not have."""

    def answer(request: httpx.Request) -> httpx.Response:
        value = request.url.params.get(name)
        if value not in pages:
            return httpx.Response(404, json={"error": f"unexpected {name}={value!r}"})
        return pages[value]()

    return answer


# --- the recorded conversations, one per platform ----------------------------------------------
# Each `mock_*` registers the routes one add + fetch needs. `bump()` is added to one post's like
# count and to the follower count, so a later fetch can see the platform's numbers move.


def mock_bluesky(router: respx.MockRouter, bump: Bump) -> None:
    def profile() -> httpx.Response:
        body = load("bluesky", "get_profile.json")
        body["followersCount"] += bump()
        return ok(body)

    def page1() -> httpx.Response:
        body = load("bluesky", "author_feed_page1.json")
        assert body["feed"][0]["post"]["uri"].endswith("/3kpost1aaa")
        body["feed"][0]["post"]["likeCount"] += bump()
        return ok(body)

    router.get(f"{XRPC}/app.bsky.actor.getProfile", params={"actor": "alice.bsky.social"}).mock(
        side_effect=lambda _request: profile()
    )
    router.get(
        f"{XRPC}/app.bsky.feed.getAuthorFeed",
        params={"actor": "did:plc:alice123", "filter": "posts_and_author_threads"},
    ).mock(
        side_effect=by_param(
            "cursor",
            {
                None: page1,
                "2024-10-03T18:00:01.000Z": lambda: ok(load("bluesky", "author_feed_page2.json")),
            },
        )
    )


def mock_mastodon(router: respx.MockRouter, bump: Bump) -> None:
    statuses = f"{MASTODON_API}/accounts/109000000000000001/statuses"

    def lookup() -> httpx.Response:
        body = load("mastodon", "account_lookup.json")
        body["followers_count"] += bump()
        return ok(body)

    def page1() -> httpx.Response:
        body = load("mastodon", "account_statuses_page1.json")
        assert body[0]["id"] == "113200000000000003"
        body[0]["favourites_count"] += bump()
        link = (
            f'<{statuses}?max_id=113200000000000001>; rel="next", '
            f'<{statuses}?min_id=113200000000000003>; rel="prev"'
        )
        return ok(body, headers={"Link": link})

    router.get(f"{MASTODON_API}/accounts/lookup", params={"acct": "alice"}).mock(
        side_effect=lambda _request: lookup()
    )
    router.get(statuses, params={"exclude_reblogs": "true"}).mock(
        side_effect=by_param(
            "max_id",
            {
                None: page1,
                "113200000000000001": lambda: ok(load("mastodon", "account_statuses_page2.json")),
            },
        )
    )


def mock_youtube(router: respx.MockRouter, bump: Bump) -> None:
    def channel() -> httpx.Response:
        body = load("youtube", "channels_for_handle.json")
        stats = body["items"][0]["statistics"]
        stats["subscriberCount"] = str(int(stats["subscriberCount"]) + bump())
        return ok(body)

    def videos1() -> httpx.Response:
        body = load("youtube", "videos_page1.json")
        (short,) = [v for v in body["items"] if v["id"] == "vidShort001"]
        short["statistics"]["likeCount"] = str(int(short["statistics"]["likeCount"]) + bump())
        return ok(body)

    router.get(f"{YT}/channels", params={"forHandle": "@gardenlab", "key": YT_KEY}).mock(
        side_effect=lambda _request: channel()
    )
    # Only the handle lookup: the fetch lists posts with the profile it just read, so the
    # uploads playlist needs no second channels.list call (a quota unit per page saved).
    router.get(
        f"{YT}/playlistItems", params={"playlistId": "UUabcdefghijklmnopqrstuv", "key": YT_KEY}
    ).mock(
        side_effect=by_param(
            "pageToken",
            {
                None: lambda: ok(load("youtube", "playlist_items_page1.json")),
                "EAAaBlBUOkNBSQ": lambda: ok(load("youtube", "playlist_items_page2.json")),
            },
        )
    )
    router.get(f"{YT}/videos", params={"key": YT_KEY}).mock(
        side_effect=by_param(
            "id",
            {
                "vidShort001,vidLong0002": videos1,
                # The private video on page 2 is not returned.
                "vidPriv0003": lambda: ok(load("youtube", "videos_page2.json")),
            },
        )
    )


def mock_instagram(router: respx.MockRouter, bump: Bump) -> None:
    def discovery() -> httpx.Response:
        # Business discovery of the connected account's own username answers with the same
        # fields as /{ig-user-id} (business_discovery_profile.json's shape, user.json's data).
        user = load("instagram", "user.json")
        user["followers_count"] += bump()
        return ok({"business_discovery": user, "id": IG_ID})

    def page1() -> httpx.Response:
        body = load("instagram", "media_page1.json")
        assert body["data"][0]["id"] == "18027939643537248"
        body["data"][0]["like_count"] += bump()
        return ok(body)

    auth = {"access_token": IG_TOKEN}
    fields = f"business_discovery.username(brewcraft.coffee){{{PROFILE_FIELDS}}}"
    router.get(f"{IG_BASE}{IG_ID}", params={"fields": fields, **auth}).mock(
        side_effect=lambda _request: discovery()
    )
    router.get(f"{IG_BASE}{IG_ID}/media", params={"fields": MEDIA_FIELDS, **auth}).mock(
        side_effect=by_param(
            "after",
            {
                None: page1,
                "QVFIUmx1WTBpMGpRd2V6b2xZAYWJ1dHNXOWZA3WTlhNF9kYmRpb3U0b0Vn": lambda: ok(
                    load("instagram", "media_page2.json")
                ),
            },
        )
    )
    insights = {"metric": "views,reach,saved,shares", **auth}
    router.get(f"{IG_BASE}18027939643537248/insights", params=insights).mock(
        side_effect=lambda _request: ok(load("instagram", "insights_reel.json"))
    )
    router.get(f"{IG_BASE}17993221740610427/insights", params=insights).mock(
        side_effect=lambda _request: ok(load("instagram", "insights_carousel_total_value.json"))
    )
    # The 2018 image predates the business conversion: Meta refuses its insights (tolerated).
    router.get(f"{IG_BASE}17889455560051444/insights", params=insights).mock(
        side_effect=lambda _request: httpx.Response(
            400, json=load("instagram", "error_insights_before_conversion.json")
        )
    )


def mock_tiktok(router: respx.MockRouter, bump: Bump) -> None:
    bearer = {"Authorization": f"Bearer {TT_TOKEN}"}

    def user() -> httpx.Response:
        body = load("tiktok", "user_info.json")
        body["data"]["user"]["follower_count"] += bump()
        return ok(body)

    def video_list(request: httpx.Request) -> httpx.Response:
        cursor = json.loads(request.content).get("cursor")
        if cursor is None:
            body = load("tiktok", "video_list_page1.json")
            assert body["data"]["videos"][0]["id"] == "7364958027461832966"
            body["data"]["videos"][0]["like_count"] += bump()
            return ok(body)
        if cursor == 1714324700000:
            return ok(load("tiktok", "video_list_page2.json"))
        return httpx.Response(404, json={"error": f"unexpected cursor {cursor!r}"})

    router.get(f"{TT_BASE}user/info/", params={"fields": USER_FIELDS}, headers=bearer).mock(
        side_effect=lambda _request: user()
    )
    router.post(f"{TT_BASE}video/list/", params={"fields": VIDEO_FIELDS}, headers=bearer).mock(
        side_effect=video_list
    )


@dataclass(frozen=True)
class Case:
    platform: str
    now: dt.datetime  # a few days after the newest recorded post
    body: dict[str, Any]  # POST /api/v1/accounts
    mock: Callable[[respx.MockRouter, Bump], None]
    external_id: str
    handle: str
    counters: tuple[int, int | None, int | None]  # followers, following, posts
    post_ids: tuple[str, ...]  # every post the recorded pages hold (no reposts, boosts...)
    liked_post: str  # the post whose like count `bump` moves
    likes: int
    metrics: dict[str, dict[str, int | None]] = field(default_factory=dict)
    failed_calls: int = 0  # tolerated refusals (Instagram insights of an old post)


CASES = [
    Case(
        platform="bluesky",
        now=dt.datetime(2024, 10, 8, 12, 0, tzinfo=dt.UTC),
        body={"ref": "https://bsky.app/profile/alice.bsky.social"},
        mock=mock_bluesky,
        external_id="did:plc:alice123",
        handle="alice.bsky.social",
        counters=(1520, 310, 842),
        post_ids=(  # page 1 also holds a repost of bob's, which is not alice's post
            "at://did:plc:alice123/app.bsky.feed.post/3kpost1aaa",
            "at://did:plc:alice123/app.bsky.feed.post/3kpost3ccc",
            "at://did:plc:alice123/app.bsky.feed.post/3kpost4ddd",
        ),
        liked_post="at://did:plc:alice123/app.bsky.feed.post/3kpost1aaa",
        likes=58,
        metrics={"at://did:plc:alice123/app.bsky.feed.post/3kpost1aaa": {"shares": 9}},
    ),
    Case(
        platform="mastodon",
        now=dt.datetime(2024, 10, 8, 12, 0, tzinfo=dt.UTC),
        body={"ref": "alice@mastodon.social", "platform": "mastodon"},
        mock=mock_mastodon,
        external_id="109000000000000001",
        handle="alice@mastodon.social",
        counters=(1520, 5, 42),
        post_ids=("113200000000000003", "113200000000000001", "113100000000000001"),  # no boost
        liked_post="113200000000000003",
        likes=25,
        metrics={"113200000000000003": {"comments": 3, "shares": 5}},
    ),
    Case(
        platform="youtube",
        now=dt.datetime(2024, 10, 8, 12, 0, tzinfo=dt.UTC),
        body={"ref": "https://www.youtube.com/@gardenlab", "credentials": {"api_key": YT_KEY}},
        mock=mock_youtube,
        external_id="UCabcdefghijklmnopqrstuv",
        handle="@gardenlab",
        counters=(45600, None, 212),
        post_ids=("vidShort001", "vidLong0002"),  # vidPriv0003 is private: videos.list omits it
        liked_post="vidShort001",
        likes=5400,
        metrics={
            "vidShort001": {"views": 98000, "comments": 210},
            "vidLong0002": {"views": 15000, "likes": None},  # likes hidden by the owner
        },
    ),
    Case(
        platform="instagram",
        now=dt.datetime(2024, 5, 6, 12, 0, tzinfo=dt.UTC),
        body={
            "ref": "https://www.instagram.com/brewcraft.coffee/",
            "credentials": {"access_token": IG_TOKEN, "ig_user_id": IG_ID},
        },
        mock=mock_instagram,
        external_id=IG_ID,
        handle="brewcraft.coffee",
        counters=(48213, 612, 1204),
        post_ids=("18027939643537248", "17993221740610427", "17889455560051444"),
        liked_post="18027939643537248",
        likes=1834,
        metrics={  # views, saves and shares come from the per-media insights calls
            "18027939643537248": {"views": 40211, "saves": 412, "shares": 233},
            "17993221740610427": {"views": 15320, "saves": 120, "shares": 57},
            "17889455560051444": {"views": None, "comments": 4},
        },
        failed_calls=1,
    ),
    Case(
        platform="tiktok",
        now=dt.datetime(2024, 5, 6, 12, 0, tzinfo=dt.UTC),
        body={
            "ref": "https://www.tiktok.com/@brewcraft.coffee",
            "credentials": {"access_token": TT_TOKEN},
        },
        mock=mock_tiktok,
        external_id="-000Oa7Hk3p2uQwmvRZJq1b9cIf8sKJZxT2y",
        handle="brewcraft.coffee",
        counters=(18204, 87, 214),
        post_ids=("7364958027461832966", "7363101953327828229", "7358012467093679366"),
        liked_post="7364958027461832966",
        likes=5120,
        metrics={"7364958027461832966": {"views": 96402, "comments": 84, "shares": 311}},
    ),
]


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


@dataclass
class Recorded:
    """One platform's recorded conversation, with the workspace that talks to it."""

    client: TestClient
    ws: WorkspaceFixture
    router: respx.MockRouter
    case: Case
    bump: int = 0

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.ws.headers())
        assert response.status_code == 200, response.text
        return response.json() if "json" in response.headers["content-type"] else response.text

    def add(self) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/accounts", json=self.case.body, headers=self.ws.headers()
        )
        assert response.status_code == 201, response.text
        account: dict[str, Any] = response.json()
        return account

    def fetch(self, account_id: int) -> tuple[dict[str, Any], int]:
        """Fetch through the API; the run users see and the requests the platform received."""
        before = len(self.router.calls)
        queued = self.client.post(f"/api/v1/accounts/{account_id}/fetch", headers=self.ws.headers())
        assert queued.status_code == 202, queued.text
        run: dict[str, Any] = self.get(f"/api/v1/accounts/{account_id}/fetches")[0]
        assert run["id"] == queued.json()["id"]
        return run, len(self.router.calls) - before

    def export(self, account_id: int) -> list[dict[str, str]]:
        return list(
            csv.DictReader(io.StringIO(self.get(f"/api/v1/accounts/{account_id}/export.csv")))
        )

    def stored_likes(self, account_id: int) -> dict[str, int]:
        top = self.get(f"/api/v1/accounts/{account_id}/top-posts", by="likes", days=90, limit=100)
        return {post["external_id"]: post["likes"] for post in top["posts"]}


@pytest.fixture(params=CASES, ids=[case.platform for case in CASES])
def platform(request: pytest.FixtureRequest, client: TestClient, db: Database) -> Any:
    case: Case = request.param
    with time_machine.travel(case.now, tick=True):
        with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
            ws = make_workspace(db, f"{case.platform}-fans")
            recorded = Recorded(client, ws, router, case)
            case.mock(router, lambda: recorded.bump)
            yield recorded


def _metric(row: dict[str, str], name: str) -> int | None:
    return int(row[name]) if row[name] != "" else None


def test_fetch_ingests_profile_posts_metrics_and_usage(platform: Recorded) -> None:
    case = platform.case
    today = case.now.date().isoformat()
    added = platform.add()
    assert (added["platform"], added["external_id"], added["handle"]) == (
        case.platform,
        case.external_id,
        case.handle,
    )
    add_calls = len(platform.router.calls)
    assert add_calls == 1  # the profile lookup that validated the account

    run, fetch_calls = platform.fetch(added["id"])

    assert run["status"] == "completed", run
    assert run["error"] is None
    assert run["trigger"] == "manual"
    assert run["posts_seen"] == len(case.post_ids)
    assert run["posts_new"] == len(case.post_ids)
    assert run["snapshots_written"] == len(case.post_ids) + 1  # + the account snapshot
    assert run["api_calls"] == fetch_calls

    account = platform.get(f"/api/v1/accounts/{added['id']}")
    assert account["status"] == "ok"
    assert account["status_message"] is None
    assert account["last_fetched_at"] is not None
    assert (account["followers_count"], account["following_count"], account["posts_count"]) == (
        case.counters
    )

    rows = platform.export(added["id"])
    # Every recorded post once, each with one metric snapshot: today's.
    assert sorted(row["external_id"] for row in rows) == sorted(case.post_ids)
    assert {row["day"] for row in rows} == {today}
    assert {row["platform"] for row in rows} == {case.platform}
    by_id = {row["external_id"]: row for row in rows}
    assert _metric(by_id[case.liked_post], "likes") == case.likes
    for post_id, expected in case.metrics.items():
        actual = {name: _metric(by_id[post_id], name) for name in expected}
        assert actual == expected, post_id
    assert platform.stored_likes(added["id"])[case.liked_post] == case.likes

    (usage,) = platform.get("/api/v1/usage")
    total = add_calls + fetch_calls
    assert (usage["platform"], usage["day"]) == (case.platform, today)
    assert (usage["requests"], usage["successes"], usage["failures"]) == (
        total,
        total - case.failed_calls,
        case.failed_calls,
    )
    assert usage["deferred"] == 0
    if case.platform == "youtube":
        # Every Data API call here costs 1 unit, counted against the default daily budget.
        assert run["quota_units"] == fetch_calls
        assert usage["quota_units"] == total
        assert (usage["daily_units"], usage["usable_units"]) == (10_000, 8_000)
        playlist = [
            c for c in platform.router.calls if c.request.url.path.endswith("/playlistItems")
        ]
        assert len(playlist) == 2  # both pages were read


def test_second_fetch_same_day_updates_metrics_without_duplicates(platform: Recorded) -> None:
    case = platform.case
    account_id = platform.add()["id"]
    first, _ = platform.fetch(account_id)
    assert first["status"] == "completed", first
    rows_before = platform.export(account_id)

    platform.bump = 7  # later that day: more likes on one post, more followers
    second, calls = platform.fetch(account_id)

    assert second["status"] == "completed", second
    assert (second["posts_seen"], second["posts_new"]) == (len(case.post_ids), 0)
    assert second["api_calls"] == calls == first["api_calls"]
    rows = platform.export(account_id)
    # The same posts and still one snapshot per post for today, now with the new like count.
    assert len(rows) == len(rows_before) == len(case.post_ids)
    assert sorted(r["post_id"] for r in rows) == sorted(r["post_id"] for r in rows_before)
    by_id = {row["external_id"]: row for row in rows}
    assert _metric(by_id[case.liked_post], "likes") == case.likes + 7
    assert platform.stored_likes(account_id)[case.liked_post] == case.likes + 7
    unchanged = [r for r in rows if r["external_id"] != case.liked_post]
    assert unchanged == [r for r in rows_before if r["external_id"] != case.liked_post]
    account = platform.get(f"/api/v1/accounts/{account_id}")
    assert account["followers_count"] == case.counters[0] + 7
    history = platform.get(f"/api/v1/accounts/{account_id}/fetches")
    assert [run["id"] for run in history] == [second["id"], first["id"]]
