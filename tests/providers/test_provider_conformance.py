"""Every parser against real recorded responses from /work/shared/data/api-samples.

The samples live outside the repository: ``<repo root>/../shared/data/api-samples``, or
``$SOCIALPULSE_SHARED_DATA/api-samples`` (``$SOCIALPULSE_SHARED_DATA`` may also point at the
``api-samples`` folder itself). Without them these tests skip, except under ``CI=true``, where
missing samples are a failure: CI must exercise them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import respx

from socialpulse.providers.base import (
    AuthError,
    MediaType,
    NotFoundError,
    Platform,
    ProviderError,
)
from socialpulse.providers.bluesky import parse as bsky
from socialpulse.providers.http import default_error
from socialpulse.providers.mastodon import parse as masto
from socialpulse.providers.mastodon.client import mastodon_error
from socialpulse.providers.youtube import parse as yt
from socialpulse.providers.youtube.client import API_BASE, YouTubeClient

REPO_ROOT = Path(__file__).resolve().parents[2]


def samples_root() -> Path:
    override = os.environ.get("SOCIALPULSE_SHARED_DATA")
    if override:
        base = Path(override)
        return base / "api-samples" if (base / "api-samples").is_dir() else base
    return REPO_ROOT.parent / "shared" / "data" / "api-samples"


def require_samples(platform: str) -> Path:
    folder = samples_root() / platform
    if not folder.is_dir():
        reason = (
            f"recorded {platform} samples not found at {folder} "
            "(set SOCIALPULSE_SHARED_DATA to the shared data folder)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return folder


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- YouTube


def youtube_files(folder: Path, kind: str) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(folder.rglob("*.json")):
        data = load_json(path)
        if isinstance(data, dict) and data.get("kind") == kind:
            found.append((path, data))
    return found


def test_youtube_channel_samples_parse() -> None:
    folder = require_samples("youtube")
    files = youtube_files(folder, "youtube#channelListResponse")
    assert len(files) >= 2
    for path, data in files:
        items = yt.channel_items(data)
        assert items, path.name
        for item in items:
            profile = yt.parse_channel(item)
            assert yt.is_channel_id(profile.external_id), path.name
            assert profile.display_name, path.name
            assert profile.handle.startswith("@") or profile.handle == profile.external_id
            assert profile.profile_url is not None
            assert profile.profile_url.startswith("https://www.youtube.com/")
            if "statistics" in item:
                assert profile.posts_count is not None
                assert profile.posts_count >= 0
            if "contentDetails" in item:
                assert yt.uploads_playlist_id(item).startswith("UU")


def test_youtube_video_samples_parse() -> None:
    folder = require_samples("youtube")
    files = youtube_files(folder, "youtube#videoListResponse")
    assert len(files) >= 3
    for path, data in files:
        posts = yt.parse_videos(data)
        assert posts, path.name
        for post in posts:
            assert post.external_id
            assert post.url is not None
            assert post.external_id in post.url
            assert yt.is_channel_id(post.account_external_id), path.name
            assert post.posted_at.tzinfo is not None
            assert post.caption
            assert post.media_type in (MediaType.VIDEO, MediaType.SHORT)
            assert post.thumbnail_url is not None
            assert post.thumbnail_url.startswith("https://")


def test_youtube_playlist_item_samples_parse() -> None:
    folder = require_samples("youtube")
    files = youtube_files(folder, "youtube#playlistItemListResponse")
    assert len(files) >= 2
    tokens = []
    for path, data in files:
        ids, token = yt.parse_playlist_items(data)
        assert ids and all(re.fullmatch(r"[\w-]{11}", i) for i in ids), path.name
        tokens.append(token)
    assert any(tokens)  # a paged sample carries nextPageToken


def test_youtube_comment_thread_samples_parse() -> None:
    folder = require_samples("youtube")
    files = youtube_files(folder, "youtube#commentThreadListResponse")
    assert len(files) >= 3
    for path, data in files:
        # Channel-level threads have no videoId; the client always asks per video.
        comments, _ = yt.parse_comment_threads(data, video_id="fallback-video")
        assert comments, path.name
        for comment in comments:
            assert comment.external_id and comment.author_handle, path.name
            assert comment.posted_at.tzinfo is not None
            assert comment.url is not None
        top_level = [c for c in comments if c.parent_external_id is None]
        assert len(top_level) == len(data["items"])


def test_youtube_comment_samples_parse() -> None:
    folder = require_samples("youtube")
    files = youtube_files(folder, "youtube#commentListResponse")
    assert len(files) >= 2
    replies = 0
    for path, data in files:
        comments, _ = yt.parse_comment_list(data, "fallback-video")
        assert comments, path.name
        replies += sum(c.parent_external_id is not None for c in comments)
        assert all(c.text for c in comments), path.name
    assert replies > 0  # comments_by_parent samples carry parentId


def test_youtube_single_comment_resources_parse() -> None:
    folder = require_samples("youtube")
    singles = youtube_files(folder, "youtube#comment")
    assert singles
    for path, data in singles:
        assert yt.parse_comment(data, post_external_id="v").external_id == data["id"], path.name


def youtube_error_samples(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, data)
        for path in sorted(folder.rglob("*.json"))
        if isinstance(data := load_json(path), dict) and isinstance(data.get("error"), dict)
    ]


EXPECTED_YOUTUBE_ERRORS: dict[str, type[ProviderError]] = {
    # 403 PERMISSION_DENIED "The caller does not have permission": a credentials problem.
    "error_permission_resp.json": AuthError,
}


def test_youtube_error_samples_are_classified(sleeps: list[float]) -> None:
    folder = require_samples("youtube")
    samples = youtube_error_samples(folder)
    assert samples
    assert {p.name for p, _ in samples} >= set(EXPECTED_YOUTUBE_ERRORS)
    client = YouTubeClient.create("k", sleep=sleeps.append)
    for path, body in samples:
        status = int(body["error"]["code"])
        with respx.mock:
            respx.get(f"{API_BASE}channels").mock(return_value=httpx.Response(status, json=body))
            with pytest.raises(ProviderError) as excinfo:
                client.get_profile("@sample")
        expected = EXPECTED_YOUTUBE_ERRORS.get(path.name, ProviderError)
        assert isinstance(excinfo.value, expected), (path.name, excinfo.value)
        assert excinfo.value.status_code == status
        assert body["error"]["message"] in str(excinfo.value)


# --------------------------------------------------------------------------- Mastodon


def mastodon_interactions() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    yaml = pytest.importorskip("yaml")
    folder = require_samples("mastodon")
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        # libyaml's loader when built in: the cassettes hold megabytes of recorded JSON.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        cassette = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        for interaction in cassette.get("interactions") or []:
            found.append((path.name, interaction["request"], interaction["response"]))
    assert found, f"no cassette interactions under {folder}"
    return found


def _route(request: dict[str, Any]) -> tuple[str, str, str]:
    parts = urlsplit(request["uri"])
    path = re.sub(r"/\d+(?=/|$)", "/:id", parts.path)
    return request["method"], path, parts.netloc


def _body(response: dict[str, Any]) -> Any:
    body = response["body"].get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body) if body else None


ACCOUNT_ROUTES = {
    ("GET", "/api/v1/accounts/lookup"),
    ("GET", "/api/v1/accounts/:id"),
    ("GET", "/api/v1/accounts/verify_credentials"),
}
STATUS_LIST_ROUTES = re.compile(r"^/api/v1/(accounts/:id/statuses|timelines/[\w/:]+)$")
STATUS_ROUTES = {("GET", "/api/v1/statuses/:id"), ("POST", "/api/v1/statuses")}


def test_mastodon_cassettes_parse() -> None:
    counts = {"account": 0, "status_list": 0, "status": 0, "context": 0, "not_found": 0}
    for name, request, response in mastodon_interactions():
        method, path, host = _route(request)
        code = response["status"]["code"]
        where = f"{name}: {method} {request['uri']}"
        if code == 404 and (method, path) in ACCOUNT_ROUTES | STATUS_ROUTES:
            recorded = httpx.Response(404, content=response["body"]["string"] or b"")
            error = mastodon_error(recorded, "mastodon.sample") or default_error(
                "mastodon", "Mastodon", "mastodon.sample", recorded
            )
            assert isinstance(error, NotFoundError), where
            counts["not_found"] += 1
            continue
        if code != 200:
            continue
        if (method, path) in ACCOUNT_ROUTES:
            profile = masto.parse_account(_body(response), host)
            assert profile.external_id and "@" in profile.handle, where
            assert profile.handle.endswith(host) or profile.handle.count("@") == 1
            counts["account"] += 1
        elif method == "GET" and STATUS_LIST_ROUTES.match(path):
            data = _body(response)
            posts = masto.parse_statuses(data, host)
            assert len(posts) == sum(1 for s in data if not s.get("reblog")), where
            for post in posts:
                assert post.posted_at.tzinfo is not None and post.account_external_id, where
            link = (response.get("headers") or {}).get("link") or [None]
            cursor = masto.next_max_id(link[0])
            assert cursor is None or cursor.isdigit(), where
            counts["status_list"] += 1
        elif (method, path) in STATUS_ROUTES:
            data = _body(response)
            if "scheduled_at" in data and "params" in data:
                continue  # a ScheduledStatus entity, not a Status
            post = masto.parse_status(data, host)
            assert post.external_id == data["id"], where
            assert post.url, where
            assert "<" not in post.caption or "<" in masto.html_to_text(data["content"]), where
            if data.get("reblog"):
                assert masto.parse_statuses([data], host) == [], where
            counts["status"] += 1
        elif method == "GET" and path == "/api/v1/statuses/:id/context":
            data = _body(response)
            post_id = urlsplit(request["uri"]).path.split("/")[-2]
            comments = masto.parse_context(data, post_id, host)
            assert len(comments) == len(data["descendants"]), where
            ids = {post_id} | {c.external_id for c in comments}
            for comment in comments:
                assert comment.parent_external_id is None or comment.parent_external_id in ids
            counts["context"] += 1
    assert all(counts.values()), counts


# --------------------------------------------------------------------------- Bluesky


def test_bluesky_thread_sample_parses() -> None:
    folder = require_samples("bluesky")
    data = load_json(folder / "thread_view_post_with_embed_media.json")
    comments = bsky.parse_thread(data)
    assert len(comments) == len(data["thread"]["replies"])
    post = bsky.parse_post_view(data["thread"]["post"])
    assert post.platform is Platform.BLUESKY
    assert post.external_id.startswith("at://")
    assert post.url is not None
    assert post.url.startswith("https://bsky.app/profile/test.marshal.dev/post/")
    assert post.media_type is MediaType.IMAGE  # recordWithMedia: the media decides
    assert post.thumbnail_url is not None
    assert post.posted_at.tzinfo is not None
    assert post.metrics.likes == 0


def test_bluesky_profile_views_parse() -> None:
    folder = require_samples("bluesky")
    data = load_json(folder / "get_follows.json")
    views = [*data["follows"], data["subject"]]
    profiles = [bsky.parse_profile(v) for v in views]
    assert profiles
    for profile in profiles:
        assert profile.external_id.startswith("did:")
        assert profile.handle
        assert profile.display_name
        assert profile.profile_url is not None


def test_bluesky_post_records_parse() -> None:
    folder = require_samples("bluesky")
    records = [
        data
        for path in sorted(folder.glob("*.json"))
        if isinstance(data := load_json(path), dict)
        and (data.get("value") or {}).get("$type") == "app.bsky.feed.post"
    ]
    assert len(records) >= 2
    for record in records:
        text, hashtags, mentions = bsky.parse_post_record(record["value"])
        assert text == record["value"]["text"]
        assert bsky.rkey_of(record["uri"]) == record["uri"].rsplit("/", 1)[-1]
        # Records written by the Python SDK carry no zone: read as UTC, never naive.
        assert bsky.parse_timestamp(record["value"]["createdAt"]).tzinfo is not None
        assert isinstance(hashtags, tuple)
        assert isinstance(mentions, tuple)
