"""Content items and post mappings: URL-id and caption evidence, confirmed mappings kept,
manual overrides, and the routes' tenancy and roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rapidfuzz import fuzz, utils
from sqlalchemy import select

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import content
from socialpulse.accounts.models import ContentMapping, MappingMethod, Post, TrackedAccount
from socialpulse.accounts.service import ingest_posts
from socialpulse.db import Database
from socialpulse.errors import PermissionDenied
from socialpulse.providers import base as pb
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

VIDEO = "dQw4w9WgXcQ"
POSTED = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "content-co")


def add_posts(
    db: Database,
    workspace_id: int,
    posts: list[tuple[str, str | None, str]],
    *,
    platform: str = "youtube",
    handle: str = "channel",
) -> dict[str, int]:
    """Ingest (external_id, url, caption) posts for a new account; their ids by external id."""
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=workspace_id,
            platform=platform,
            external_id=f"ext-{handle}",
            handle=handle,
            followers_count=100,
        )
        session.add(account)
        session.flush()
        dtos = [
            pb.Post(
                platform=pb.Platform(platform),
                external_id=external_id,
                account_external_id=account.external_id,
                url=url,
                caption=caption,
                posted_at=POSTED,
            )
            for external_id, url, caption in posts
        ]
        ingest_posts(session, account, dtos, day=POSTED.date())
        rows = session.execute(
            select(Post.external_id, Post.id).where(Post.account_id == account.id)
        ).all()
        return {external_id: post_id for external_id, post_id in rows}


def mappings_of(db: Database, item_id: int) -> dict[int, ContentMapping]:
    with db.session() as session:
        rows = session.scalars(
            select(ContentMapping).where(ContentMapping.content_item_id == item_id)
        ).all()
        return {m.post_id: m for m in rows}


def new_item(db: Database, subject: Subject, **fields: Any) -> int:
    with db.session() as session:
        return content.create_content_item(session, subject, **fields).id


# --- URL evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"https://youtu.be/{VIDEO}",
        f"https://youtu.be/{VIDEO}?si=tracking",
        f"https://www.youtube.com/watch?v={VIDEO}&t=42s",
        f"http://m.youtube.com/watch?feature=share&v={VIDEO}",
        f"https://youtube.com/shorts/{VIDEO}",
        f"https://www.youtube-nocookie.com/embed/{VIDEO}",
        f"youtu.be/{VIDEO}",
    ],
)
def test_youtube_video_id_forms(url: str) -> None:
    assert content.youtube_video_id(url) == VIDEO


@pytest.mark.parametrize(
    "url",
    ["https://youtu.be/short", "https://vimeo.com/123456789", "https://www.youtube.com/@chan"],
)
def test_not_a_youtube_video(url: str) -> None:
    assert content.youtube_video_id(url) is None


def test_normalize_url_ignores_scheme_www_slash_fragment_and_tracking() -> None:
    a = content.normalize_url("https://www.Example.com/blog/post-1/?utm_source=x&b=2&a=1#top")
    b = content.normalize_url("http://example.com/blog/post-1?a=1&b=2&fbclid=zzz")
    assert a == b == "example.com/blog/post-1?a=1&b=2"
    assert content.normalize_url("example.com:8080/x/") == "example.com:8080/x"
    assert content.normalize_url("mailto:someone@example.com") is None
    assert content.normalize_url("javascript:alert(1)") is None


def test_url_id_maps_with_full_confidence(db: Database, ws: WorkspaceFixture) -> None:
    posts = add_posts(
        db,
        ws.workspace_id,
        [
            (VIDEO, f"https://www.youtube.com/watch?v={VIDEO}", "Our new video"),
            ("other", "https://www.youtube.com/watch?v=aaaaaaaaaaa", "Something else"),
        ],
    )
    shared = add_posts(
        db,
        ws.workspace_id,
        [("p1", None, f"New video is up! https://youtu.be/{VIDEO}?si=abc #garden")],
        platform="bluesky",
        handle="me.bsky.social",
    )
    item = new_item(db, ws.subject, title="Untitled", url=f"https://youtu.be/{VIDEO}")
    with db.session() as session:
        result = content.auto_map(session, ws.subject, item)
    mapped = mappings_of(db, item)
    assert set(mapped) == {posts[VIDEO], shared["p1"]}
    assert len(result.created) == 2
    for mapping in mapped.values():
        assert (mapping.method, mapping.confidence) == (MappingMethod.url_id, 1.0)
        assert mapping.details["key"] == f"youtube:{VIDEO}"
        assert mapping.confirmed is False
    assert mapped[shared["p1"]].details["found_in"] == "caption link"


def test_article_url_maps_after_normalising(db: Database, ws: WorkspaceFixture) -> None:
    posts = add_posts(
        db,
        ws.workspace_id,
        [("p1", None, "Read it: https://www.example.com/guide/?utm_campaign=ig")],
        platform="mastodon",
        handle="me@example.social",
    )
    item = new_item(db, ws.subject, title="Guide", url="http://example.com/guide")
    with db.session() as session:
        content.auto_map(session, ws.subject, item)
    mapping = mappings_of(db, item)[posts["p1"]]
    assert (mapping.method, mapping.details["key"]) == (
        MappingMethod.url_id,
        "url:example.com/guide",
    )


# --- caption evidence --------------------------------------------------------------------------


def test_caption_match_confidence_is_the_score_over_100(db: Database, ws: WorkspaceFixture) -> None:
    title = "How I built a cabin in the woods"
    near = "I built a cabin in the woods 🌲 full story on the channel #diy #cabin"
    far = "Morning coffee routine and a quick Q&A"
    posts = add_posts(db, ws.workspace_id, [("near", None, near), ("far", None, far)])
    item = new_item(db, ws.subject, title=title)
    with db.session() as session:
        content.auto_map(session, ws.subject, item)
    mapped = mappings_of(db, item)
    assert set(mapped) == {posts["near"]}
    mapping = mapped[posts["near"]]
    expected = fuzz.token_set_ratio(utils.default_process(title), utils.default_process(near))
    assert mapping.method == MappingMethod.caption_match
    assert mapping.confidence == pytest.approx(expected / 100, abs=1e-4)
    assert mapping.confidence >= content.CAPTION_MATCH_THRESHOLD
    assert mapping.details["field"] == "title"
    assert mapping.details["threshold"] == content.CAPTION_MATCH_THRESHOLD
    assert mapping.details["score"] == pytest.approx(expected, abs=0.01)


def test_caption_quoting_the_body_matches_and_short_titles_do_not(
    db: Database, ws: WorkspaceFixture
) -> None:
    body = (
        "Raised beds warm up faster in spring. In this guide we compare cedar, steel and "
        "recycled plastic beds and what each costs over ten years."
    )
    posts = add_posts(
        db,
        ws.workspace_id,
        [
            ("quote", None, "We compare cedar, steel and recycled plastic beds! #garden"),
            ("word", None, "Beds"),
        ],
    )
    item = new_item(db, ws.subject, title="Beds", body=body)  # one word: too short to match
    with db.session() as session:
        content.auto_map(session, ws.subject, item)
    mapped = mappings_of(db, item)
    assert set(mapped) == {posts["quote"]}
    assert mapped[posts["quote"]].details["field"] == "body"
    assert mapped[posts["quote"]].details["title_score"] is None


def test_threshold_is_applied(db: Database, ws: WorkspaceFixture) -> None:
    posts = add_posts(db, ws.workspace_id, [("p", None, "Cabin build part two: the roof")])
    item = new_item(db, ws.subject, title="Building a cabin roof in winter")
    score = content.caption_score(
        "Building a cabin roof in winter", "", "Cabin build part two: the roof"
    )
    assert score.title_score is not None
    with db.session() as session:
        strict = content.auto_map(session, ws.subject, item, threshold=1.0)
    assert strict.created == [] and mappings_of(db, item) == {}
    with db.session() as session:
        loose = content.auto_map(session, ws.subject, item, threshold=score.title_score / 100)
    assert [m.post_id for m in loose.created] == [posts["p"]]


# --- decisions are kept ------------------------------------------------------------------------


def test_confirmed_mapping_is_never_overwritten(db: Database, ws: WorkspaceFixture) -> None:
    posts = add_posts(
        db, ws.workspace_id, [("p", None, "How I built a cabin in the woods, part 1")]
    )
    item = new_item(db, ws.subject, title="How I built a cabin in the woods")
    with db.session() as session:
        content.auto_map(session, ws.subject, item)
    mapping = mappings_of(db, item)[posts["p"]]
    with db.session() as session:
        content.confirm_mapping(session, ws.subject, mapping.id)
    # The caption changes so it no longer matches at all; the confirmed mapping stays as it was.
    with db.session() as session:
        post = session.get(Post, posts["p"])
        assert post is not None
        post.caption = "Completely different words now"
    with db.session() as session:
        result = content.auto_map(session, ws.subject, item, threshold=0.5)
    kept = mappings_of(db, item)[posts["p"]]
    assert kept.confirmed is True
    assert (kept.id, kept.confidence, kept.method) == (
        mapping.id,
        mapping.confidence,
        mapping.method,
    )
    assert result.removed == 0
    with db.session() as session:
        post = session.get(Post, posts["p"])
        assert post is not None
        post.caption = "How I built a cabin in the woods, part 1"
    with db.session() as session:
        again = content.auto_map(session, ws.subject, item)
    assert (again.kept_confirmed, again.created, again.updated) == (1, [], [])


def test_auto_map_removes_stale_unconfirmed_and_skips_posts_confirmed_elsewhere(
    db: Database, ws: WorkspaceFixture
) -> None:
    posts = add_posts(
        db,
        ws.workspace_id,
        [
            ("a", None, "How I built a cabin in the woods, part 1"),
            ("b", None, "How I built a cabin in the woods, part 2"),
        ],
    )
    item = new_item(db, ws.subject, title="How I built a cabin in the woods")
    other = new_item(db, ws.subject, title="Cabin series")
    with db.session() as session:
        content.map_post(session, ws.subject, other, posts["b"])
        content.auto_map(session, ws.subject, item)
    assert set(mappings_of(db, item)) == {posts["a"]}
    with db.session() as session:
        post = session.get(Post, posts["a"])
        assert post is not None
        post.caption = "Unrelated now"
    with db.session() as session:
        result = content.auto_map(session, ws.subject, item)
    assert result.removed == 1
    assert result.skipped_confirmed_elsewhere == 1
    assert mappings_of(db, item) == {}


def test_manual_mapping_overrides_an_automatic_one(db: Database, ws: WorkspaceFixture) -> None:
    posts = add_posts(db, ws.workspace_id, [("p", None, "How I built a cabin in the woods!")])
    item = new_item(db, ws.subject, title="How I built a cabin in the woods")
    with db.session() as session:
        content.auto_map(session, ws.subject, item)
        manual = content.map_post(session, ws.subject, item, posts["p"])
        assert (manual.method, manual.confidence, manual.confirmed) == (
            MappingMethod.manual,
            1.0,
            True,
        )
        assert manual.details["replaced"]["method"] == "caption_match"
    assert len(mappings_of(db, item)) == 1


def test_viewer_cannot_change_content(db: Database, ws: WorkspaceFixture) -> None:
    viewer = Subject(workspace_id=ws.workspace_id, role=Role.viewer)
    with db.session() as session, pytest.raises(PermissionDenied):
        content.create_content_item(session, viewer, title="Nope")


# --- routes ------------------------------------------------------------------------------------


def test_content_routes_end_to_end(client: TestClient, db: Database, ws: WorkspaceFixture) -> None:
    posts = add_posts(
        db,
        ws.workspace_id,
        [
            (VIDEO, f"https://www.youtube.com/watch?v={VIDEO}", "Launch"),
            ("x", None, "unrelated"),
        ],
    )
    editor = ws.headers(Role.editor)
    created = client.post(
        "/api/v1/content-items",
        json={"title": "Launch video", "url": f"https://youtu.be/{VIDEO}"},
        headers=editor,
    )
    assert created.status_code == 201, created.text
    item = created.json()["id"]
    listed = client.get("/api/v1/content-items", headers=ws.headers(Role.viewer))
    assert [i["id"] for i in listed.json()] == [item]
    auto = client.post(f"/api/v1/content-items/{item}/auto-map", headers=editor)
    assert auto.status_code == 200, auto.text
    assert auto.json()["created"] == 1
    [mapping] = auto.json()["mappings"]
    assert (mapping["post_id"], mapping["method"], mapping["confidence"]) == (
        posts[VIDEO],
        "url_id",
        1.0,
    )
    assert mapping["post"]["url"] == f"https://www.youtube.com/watch?v={VIDEO}"
    confirmed = client.post(f"/api/v1/content-mappings/{mapping['id']}/confirm", headers=editor)
    assert confirmed.json()["confirmed"] is True
    manual = client.post(
        f"/api/v1/content-items/{item}/mappings", json={"post_id": posts["x"]}, headers=editor
    )
    assert manual.status_code == 201, manual.text
    assert (manual.json()["method"], manual.json()["confirmed"]) == ("manual", True)
    listed_mappings = client.get(f"/api/v1/content-items/{item}/mappings", headers=editor).json()
    assert {m["post_id"] for m in listed_mappings} == {posts[VIDEO], posts["x"]}
    deleted = client.delete(f"/api/v1/content-mappings/{manual.json()['id']}", headers=editor)
    assert deleted.status_code == 204
    remaining = client.get(f"/api/v1/content-items/{item}/mappings", headers=editor).json()
    assert [m["post_id"] for m in remaining] == [posts[VIDEO]]


def test_bad_content_item_gives_422(client: TestClient, ws: WorkspaceFixture) -> None:
    for body in ({"title": ""}, {"title": "x", "url": "javascript:alert(1)"}):
        response = client.post("/api/v1/content-items", json=body, headers=ws.headers())
        assert response.status_code == 422, response.text


@pytest.fixture
def rival(db: Database) -> dict[str, int]:
    """Another workspace's item, post and mapping."""
    other = make_workspace(db, "rival-co")
    posts = add_posts(db, other.workspace_id, [("p", None, "theirs")])
    with db.session() as session:
        item = content.create_content_item(session, other.subject, title="Theirs")
        mapping = content.map_post(session, other.subject, item.id, posts["p"])
        return {"item_id": item.id, "post_id": posts["p"], "mapping_id": mapping.id}


ID_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/content-items/{item_id}", None),
    ("GET", "/api/v1/content-items/{item_id}/mappings", None),
    ("POST", "/api/v1/content-items/{item_id}/auto-map", None),
    ("POST", "/api/v1/content-items/{item_id}/mappings", {"post_id": "{own_post_id}"}),
    ("POST", "/api/v1/content-items/{own_item_id}/mappings", {"post_id": "{post_id}"}),
    ("POST", "/api/v1/content-mappings/{mapping_id}/confirm", None),
    ("DELETE", "/api/v1/content-mappings/{mapping_id}", None),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        return int(value.format(**ids)) if value.startswith("{") else value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES)
def test_another_workspaces_ids_give_404(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    rival: dict[str, int],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    own_post = add_posts(db, ws.workspace_id, [("mine", None, "mine")])["mine"]
    own_item = new_item(db, ws.subject, title="Mine")
    ids = {**rival, "own_post_id": own_post, "own_item_id": own_item}
    response = client.request(method, _fill(path, ids), json=_fill(body, ids), headers=ws.headers())
    assert response.status_code == 404, response.text
    assert mappings_of(db, rival["item_id"])[rival["post_id"]].confirmed is True


MUTATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/content-items", {"title": "New"}),
    ("POST", "/api/v1/content-items/{item_id}/auto-map", None),
    ("POST", "/api/v1/content-items/{item_id}/mappings", {"post_id": "{post_id}"}),
    ("POST", "/api/v1/content-mappings/{mapping_id}/confirm", None),
    ("DELETE", "/api/v1/content-mappings/{mapping_id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), MUTATIONS)
def test_viewer_mutation_gives_403(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    post = add_posts(db, ws.workspace_id, [("p", None, "How I built a cabin in the woods")])["p"]
    with db.session() as session:
        item = content.create_content_item(session, ws.subject, title="A cabin in the woods")
        mapping = content.auto_map(session, ws.subject, item.id).created[0]
        ids = {"item_id": item.id, "post_id": post, "mapping_id": mapping.id}
    response = client.request(
        method, _fill(path, ids), json=_fill(body, ids), headers=ws.headers(Role.viewer)
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "permission_denied"
    assert mappings_of(db, ids["item_id"])[post].confirmed is False
