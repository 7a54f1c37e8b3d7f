from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from socialpulse.media.storage import CACHE_CONTROL, LocalStorage

SHA = "beef" + "01" * 30
KEY = f"be/ef/{SHA}-large.webp"


def _store(app: FastAPI, data: bytes = b"RIFF\x00\x00\x00\x00WEBPVP8 ") -> LocalStorage:
    storage = LocalStorage(app.state.settings.media_root)
    storage.put(KEY, data, "image/webp")
    return storage


def test_a_stored_image_is_served_with_long_cache_headers(app: FastAPI, client: TestClient) -> None:
    _store(app, b"RIFF-image-bytes")
    response = client.get(f"/media/{KEY}")
    assert response.status_code == 200
    assert response.content == b"RIFF-image-bytes"
    assert response.headers["content-type"] == "image/webp"
    assert (
        response.headers["cache-control"]
        == CACHE_CONTROL
        == ("public, max-age=31536000, immutable")
    )


def test_unknown_and_malformed_keys_are_404_in_the_error_shape(
    app: FastAPI, client: TestClient
) -> None:
    _store(app)
    secret = app.state.settings.media_root.parent / "secret.txt"
    secret.write_text("not for you")
    for path in (
        f"/media/be/ef/{'0' * 64}-large.webp",  # a valid key nobody stored
        "/media/..%2Fsecret.txt",
        "/media/be/ef/..%2F..%2F..%2Fsecret.txt",
        "/media/%2E%2E/%2E%2E/secret.txt",
        f"/media/be/ef/{SHA}-large.webp%00.txt",
        "/media/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path
        assert "not for you" not in response.text


def test_the_route_needs_no_login_and_is_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/media")]


def test_the_placeholder_is_a_static_file(client: TestClient) -> None:
    response = client.get("/static/img/placeholder.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<title" in response.text  # named for screen readers

