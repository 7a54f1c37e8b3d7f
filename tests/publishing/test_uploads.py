"""Media uploads for posts: the type and facts come from the content, never the file name;
unknown types and oversize files are refused with a clear message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture
from socialpulse.media import uploads
from socialpulse.media.storage import get_storage

MEDIA = "/api/v1/publishing/media"


def send(client: TestClient, ws: WorkspaceFixture, data: bytes, name: str) -> Any:
    return client.post(
        MEDIA, files={"file": (name, data, "application/octet-stream")}, headers=ws.headers()
    )


def test_an_image_is_known_by_its_content_not_its_name(
    client: TestClient, ws: WorkspaceFixture, make_png: Callable[..., bytes]
) -> None:
    response = send(client, ws, make_png(64, 48), "holiday.mp4")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["mime_type"], body["kind"], body["width"], body["height"]) == (
        "image/png",
        "image",
        64,
        48,
    )


def test_a_video_has_its_duration_and_size_from_the_container(
    client: TestClient, ws: WorkspaceFixture, make_mp4: Callable[..., bytes]
) -> None:
    response = send(client, ws, make_mp4(seconds=12.5, width=1080, height=1920), "clip.bin")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["mime_type"], body["duration_s"], body["width"], body["height"]) == (
        "video/mp4",
        12.5,
        1080,
        1920,
    )


def test_a_quicktime_file_is_a_mov(make_mp4: Callable[..., bytes]) -> None:
    facts = uploads.probe(make_mp4(brand=b"qt  "))
    assert facts.mime_type == "video/quicktime" and facts.key.endswith(".mov")


def test_the_stored_file_is_content_addressed_and_readable(
    client: TestClient, ws: WorkspaceFixture, make_png: Callable[..., bytes]
) -> None:
    data = make_png()
    first = send(client, ws, data, "a.png").json()
    second = send(client, ws, data, "b.png").json()
    assert first["id"] == second["id"]  # the same file twice is one upload
    facts = uploads.probe(data)
    assert facts.key == f"posts/{facts.sha256[:2]}/{facts.sha256[2:4]}/{facts.sha256}.png"
    assert uploads.read_upload(facts.key, get_storage(client.app.state.settings)) == data  # type: ignore[attr-defined]


def test_uploads_are_not_served_by_the_public_image_route(
    client: TestClient, ws: WorkspaceFixture, make_png: Callable[..., bytes]
) -> None:
    send(client, ws, make_png(), "private.png")
    key = uploads.probe(make_png()).key
    assert client.get(f"/media/{key}").status_code == 404


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"%PDF-1.7\n1 0 obj\n", "brochure.jpg"),
        (b"#!/bin/sh\necho hi\n", "script.png"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00", "truncated.mp4"),
    ],
)
def test_a_file_that_is_not_an_accepted_image_or_video_is_refused(
    client: TestClient, ws: WorkspaceFixture, data: bytes, name: str
) -> None:
    response = send(client, ws, data, name)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "unsupported file type" in message or "broken video" in message


def test_a_file_over_the_upload_limit_is_refused_with_413(
    client: TestClient, ws: WorkspaceFixture, make_png: Callable[..., bytes]
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    previous = settings.max_upload_mb
    settings.max_upload_mb = 1
    try:
        big = make_png() + b"\x00" * (1024 * 1024 + 10)
        response = send(client, ws, big, "big.png")
    finally:
        settings.max_upload_mb = previous
    assert response.status_code == 413
    assert "MB" in response.json()["error"]["message"]
