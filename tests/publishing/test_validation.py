"""Bad input is refused when the post is scheduled, with every problem named, never at
publish time: past times, invalid patterns and zones, text too long for the platform, media it
refuses, accounts that cannot publish."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from factories import WorkspaceFixture, add_account, make_workspace
from publishing_support import PLATFORM, SHORT_RULES, PlatformDouble, gif_bytes
from socialpulse.db import Database
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import PostRules
from socialpulse.publishing import validation
from socialpulse.publishing.models import Delivery, Post

POSTS = "/api/v1/publishing/posts"
MEDIA = "/api/v1/publishing/media"


def post(
    client: TestClient, ws: WorkspaceFixture, account: int, when: dt.datetime, **body: Any
) -> Any:
    payload: dict[str, Any] = {
        "text": "Spring collection is here",
        "scheduled_at": when.isoformat(),
        "zone": "Europe/Berlin",
        "targets": [{"account_id": account}],
        **body,
    }
    return client.post(POSTS, json=payload, headers=ws.headers())


def problems(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [item["msg"] for item in response.json()["error"]["details"]]


def upload(client: TestClient, ws: WorkspaceFixture, data: bytes, name: str) -> int:
    response = client.post(
        MEDIA, files={"file": (name, data, "application/octet-stream")}, headers=ws.headers()
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_valid_post_is_scheduled_with_a_delivery_per_account(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    response = post(client, ws, account, soon)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "scheduled"
    assert [d["scheduled_for"] for d in body["deliveries"]] == [
        soon.isoformat().replace("+00:00", "Z")
    ]


def test_a_time_in_the_past_is_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    messages = problems(post(client, ws, account, soon - dt.timedelta(hours=3)))
    assert any("is in the past" in m for m in messages)


def test_a_naive_time_is_read_in_the_posts_zone(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    berlin = soon.astimezone(validation.check_zone(validation.Problems(), "Europe/Berlin"))
    response = post(client, ws, account, berlin.replace(tzinfo=None))
    assert response.status_code == 201, response.text
    assert response.json()["scheduled_at"] == soon.isoformat().replace("+00:00", "Z")


def test_an_invalid_cron_pattern_is_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    messages = problems(post(client, ws, account, soon, recurrence={"cron": "0 25 * * *"}))
    assert any("invalid cron pattern '0 25 * * *'" in m for m in messages)


def test_an_unknown_zone_is_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    messages = problems(post(client, ws, account, soon, zone="Europe/Atlantis"))
    assert messages == [
        "'Europe/Atlantis' is not an IANA time zone (e.g. Europe/Berlin, America/New_York)"
    ]


def test_text_over_300_graphemes_is_refused_for_a_bluesky_like_platform(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    thumbs = "\U0001f44d\U0001f3fd"  # one grapheme, two code points
    messages = problems(post(client, ws, account, soon, text=thumbs * 301))
    assert messages == ["@ourbrand (ShortNet): text is 301 graphemes; ShortNet allows at most 300"]


def test_300_graphemes_are_accepted_though_they_are_600_code_points(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    response = post(client, ws, account, soon, text="\U0001f44d\U0001f3fd" * 300)
    assert response.status_code == 201, response.text


def test_a_variant_is_checked_instead_of_the_main_text(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    response = post(
        client,
        ws,
        account,
        soon,
        text="x" * 5000,
        targets=[{"account_id": account, "text": "Short for ShortNet"}],
    )
    assert response.status_code == 201, response.text


def test_media_larger_than_the_platform_allows_is_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, tmp_path: Any
) -> None:
    noisy = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    path = tmp_path / "noise.png"
    noisy.save(path, format="PNG")
    media_id = upload(client, ws, path.read_bytes(), "noise.png")
    messages = problems(post(client, ws, account, soon, media=[{"media_id": media_id}]))
    assert len(messages) == 1 and "at most 1.0 MB" in messages[0]


def test_an_image_wider_than_the_platform_allows_is_refused(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    make_png: Callable[..., bytes],
) -> None:
    media_id = upload(client, ws, make_png(2100, 10), "wide.png")
    messages = problems(post(client, ws, account, soon, media=[{"media_id": media_id}]))
    assert messages == ["@ourbrand (ShortNet): 2100 px wide; at most 2000 px"]


def test_a_media_type_the_platform_refuses_is_refused(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    make_mp4: Callable[..., bytes],
) -> None:
    gif = upload(client, ws, gif_bytes(), "anim.gif")
    video = upload(client, ws, make_mp4(), "clip.mp4")
    gif_messages = problems(post(client, ws, account, soon, media=[{"media_id": gif}]))
    assert gif_messages == [
        "@ourbrand (ShortNet): image/gif is not accepted (only image/jpeg, image/png)"
    ]
    video_messages = problems(post(client, ws, account, soon, media=[{"media_id": video}]))
    assert video_messages == ["@ourbrand (ShortNet): does not accept videos"]


def test_an_account_whose_platform_cannot_publish_is_refused_clearly(
    client: TestClient,
    ws: WorkspaceFixture,
    read_only_account: int,
    soon: dt.datetime,
) -> None:
    messages = problems(post(client, ws, read_only_account, soon))
    assert messages == [
        "account @watcher (ReadOnlyNet) cannot publish: ReadOnlyNet has no publishing"
    ]


def test_another_workspaces_account_is_unknown_here(
    client: TestClient, ws: WorkspaceFixture, db: Database, soon: dt.datetime, platform: Any
) -> None:
    other = make_workspace(db, "other-co")
    theirs = add_account(db, other.workspace_id, PLATFORM, handle="them", external_id="t-1")
    messages = problems(post(client, ws, theirs, soon))
    assert messages == [f"no account {theirs} in this workspace"]


def test_every_problem_is_listed_at_once_and_nothing_is_written(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    read_only_account: int,
    soon: dt.datetime,
    db: Database,
) -> None:
    response = post(
        client,
        ws,
        account,
        soon - dt.timedelta(days=1),
        text="y" * 301,
        visibility="secret",
        targets=[{"account_id": account}, {"account_id": read_only_account}],
    )
    messages = problems(response)
    assert len(messages) == 4, messages
    assert "4 problems" in response.json()["error"]["message"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 0
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_a_draft_is_kept_without_the_platform_checks(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    response = post(client, ws, account, soon, text="z" * 400, draft=True)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft" and response.json()["deliveries"] == []
    scheduled = client.post(f"{POSTS}/{response.json()['id']}/schedule", headers=ws.headers())
    assert any("400 graphemes" in m for m in problems(scheduled))


# --- live rules of the account's own server ---------------------------------------------------


@pytest.fixture
def live_platform(platform: PlatformDouble) -> list[Any]:
    """ShortNet again, whose server may say its own limit (Mastodon's per-instance limit)."""
    answers: list[Any] = []

    def live(credentials: Mapping[str, Any], http_client: Any = None) -> PostRules:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    info = registry.get_provider(PLATFORM)
    registry.register_provider(
        registry.ProviderInfo(
            platform=PLATFORM,
            display_name=info.display_name,
            needs_credentials=False,
            capabilities=info.capabilities,
            parse_profile_url=info.parse_profile_url,
            build=info.build,
            publisher=info.publisher,
            post_rules=SHORT_RULES,
            live_post_rules=live,
        )
    )
    return answers


def test_the_servers_own_limit_is_used_and_cached(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    live_platform: list[Any],
) -> None:
    live_platform.append(PostRules(max_chars=500))
    assert post(client, ws, account, soon, text="w" * 450).status_code == 201
    # Cached: the server is not asked again (no answer is queued for a second call).
    assert post(client, ws, account, soon, text="w" * 480).status_code == 201


def test_a_server_that_cannot_answer_falls_back_to_the_platforms_rules(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    live_platform: list[Any],
) -> None:
    live_platform.append(
        pb.TransientError("instance timed out", platform=PLATFORM, endpoint="instance")
    )
    messages = problems(post(client, ws, account, soon, text="w" * 450))
    assert messages == ["@ourbrand (ShortNet): text is 450 graphemes; ShortNet allows at most 300"]
