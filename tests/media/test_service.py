from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from media_images import bomb_png, jpeg, png
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.media.models import MediaObject, MediaStatus
from socialpulse.media.service import (
    PLACEHOLDER_URL,
    image_url,
    media_key,
    store_image,
)
from socialpulse.media.storage import KEY_PATTERN, LocalStorage
from socialpulse.providers.simulated.creators import image_url as simulated_image_url

Allow = Callable[[str], None]
Handler = Callable[[httpx.Request], httpx.Response]
ClientFor = Callable[[Handler], httpx.Client]


def _serve(body: bytes, **headers: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=headers)

    return handler


def _webp(storage: LocalStorage, key: str | None) -> Image.Image:
    assert key is not None and KEY_PATTERN.fullmatch(key)
    data = storage.get(key)
    assert data is not None
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _store(
    db: Database,
    url: str,
    settings: Settings,
    storage: LocalStorage,
    client: httpx.Client | None = None,
) -> MediaObject:
    with db.session() as session:
        return store_image(session, url, http_client=client, storage=storage, settings=settings)


# --------------------------------------------------------------------------- stored images


def test_a_downloaded_jpeg_is_stored_in_two_webp_sizes_through_the_egress_client(
    db: Database,
    media_settings: Settings,
    storage: LocalStorage,
    httpserver: HTTPServer,
    egress_allow: Allow,
) -> None:
    egress_allow("127.0.0.1")
    original = jpeg(1280, 720)
    httpserver.expect_request("/thumb.jpg").respond_with_data(original, content_type="image/jpeg")

    media = _store(db, httpserver.url_for("/thumb.jpg"), media_settings, storage)

    assert media.status == MediaStatus.stored and media.failure_reason is None
    assert (media.width, media.height, media.original_bytes) == (1280, 720, len(original))
    assert media.sha256 is not None
    assert media.large_key == media_key(media.sha256, "large")
    assert media.small_key == f"{media.sha256[:2]}/{media.sha256[2:4]}/{media.sha256}-small.webp"
    large, small = _webp(storage, media.large_key), _webp(storage, media.small_key)
    assert (large.format, large.size, large.mode) == ("WEBP", (640, 360), "RGB")
    assert (small.format, small.size) == ("WEBP", (160, 90))
    # The user agent says who is asking; no leftover temporary files in the store.
    assert httpserver.log[0][0].headers["User-Agent"].startswith("socialpulse/")
    assert not [p for p in storage.root.rglob("*") if p.name.startswith(".tmp-")]


def test_transparency_is_kept_and_small_images_are_not_enlarged(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    media = _store(
        db,
        "https://cdn.example/a.png",
        media_settings,
        storage,
        mock_client(_serve(png(120, 60, mode="RGBA"))),
    )
    assert media.status == MediaStatus.stored
    large, small = _webp(storage, media.large_key), _webp(storage, media.small_key)
    assert (large.size, large.mode) == ((120, 60), "RGBA")
    assert small.size == (120, 60)


def test_exif_orientation_is_applied(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    # Orientation 6: stored 800x400, shown rotated a quarter turn.
    body = jpeg(800, 400, orientation=6)
    media = _store(
        db, "https://cdn.example/r.jpg", media_settings, storage, mock_client(_serve(body))
    )
    assert (media.width, media.height) == (400, 800)
    assert _webp(storage, media.large_key).size == (320, 640)


def test_storing_is_idempotent_by_source_url(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=png())

    client = mock_client(handler)
    first = _store(db, "https://cdn.example/p.png", media_settings, storage, client)
    second = _store(db, "https://cdn.example/p.png", media_settings, storage, client)
    assert first.id == second.id and second.status == MediaStatus.stored
    assert len(requests) == 1
    with db.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(MediaObject)) == 1


def test_a_failed_image_is_tried_again_and_the_same_row_is_updated(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    url = "https://cdn.example/later.png"
    gone = _store(db, url, media_settings, storage, mock_client(lambda r: httpx.Response(404)))
    assert (gone.status, gone.failure_reason) == (MediaStatus.failed, "download failed: HTTP 404")
    assert image_url(gone, "large") == PLACEHOLDER_URL

    back = _store(db, url, media_settings, storage, mock_client(_serve(png())))
    assert back.id == gone.id
    assert back.status == MediaStatus.stored and back.failure_reason is None


def test_simulated_images_are_drawn_locally_and_deterministically(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"went online for {request.url}")

    client = mock_client(no_network)
    thumb = _store(db, simulated_image_url("thumb", "alice-1"), media_settings, storage, client)
    avatar = _store(db, simulated_image_url("avatar", "alice"), media_settings, storage, client)
    assert thumb.status == avatar.status == MediaStatus.stored
    assert (thumb.width, thumb.height) == (640, 360)
    assert (avatar.width, avatar.height) == (400, 400)

    from socialpulse.providers.simulated.images import render_image

    url = simulated_image_url("thumb", "alice-1")
    assert render_image(url) == render_image(url)
    assert render_image(url) != render_image(simulated_image_url("thumb", "alice-2"))


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(bomb_png(30_000, 30_000), "decompression bomb refused", id="bomb-pillow"),
        pytest.param(bomb_png(6_000, 5_000), "decompression bomb refused", id="bomb-setting"),
        pytest.param(jpeg(1280, 720)[:6_000], "broken image", id="truncated-jpeg"),
        pytest.param(
            png(400, 300)[:60] + b"\xff" * 40 + png(400, 300)[100:], "broken image", id="corrupt"
        ),
        pytest.param(b"<!doctype html><p>Not found</p>", "not an image", id="html"),
        pytest.param(b"", "not an image", id="empty"),
    ],
)
def test_bad_images_are_failed_rows_with_a_reason(
    db: Database,
    media_settings: Settings,
    storage: LocalStorage,
    mock_client: ClientFor,
    body: bytes,
    reason: str,
) -> None:
    media = _store(db, "https://cdn.example/x", media_settings, storage, mock_client(_serve(body)))
    assert media.status == MediaStatus.failed
    assert media.failure_reason is not None and media.failure_reason.startswith(reason)
    assert media.small_key is None and media.large_key is None
    assert image_url(media, "small") == PLACEHOLDER_URL
    assert not list(storage.root.rglob("*.webp"))


def test_the_pixel_limit_is_a_setting(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    strict = media_settings.model_copy(update={"media_max_pixels": 100 * 100})
    client = mock_client(_serve(png(101, 100)))
    media = _store(db, "https://cdn.example/big.png", strict, storage, client)
    assert media.failure_reason == (
        "decompression bomb refused: 101x100 pixels (limit 10000 pixels)"
    )


def test_a_declared_oversize_body_fails_before_it_is_read(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    small = media_settings.model_copy(update={"media_max_bytes": 1000})
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1000
            yield b"\0" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"Content-Length": "100000"})

    media = _store(db, "https://cdn.example/huge.jpg", small, storage, mock_client(handler))
    assert media.failure_reason == "too large: 100000 bytes (limit 1000)"
    assert sent <= 1000


def test_an_undeclared_oversize_body_stops_being_read_at_the_limit(
    db: Database, media_settings: Settings, storage: LocalStorage, mock_client: ClientFor
) -> None:
    small = media_settings.model_copy(update={"media_max_bytes": 200_000})
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(10_000):  # 100 MB if it were read to the end
            sent += 10_000
            yield b"\0" * 10_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())  # chunked: no Content-Length

    media = _store(db, "https://cdn.example/stream", small, storage, mock_client(handler))
    assert media.failure_reason == "too large: more than 200000 bytes"
    assert sent <= 200_000 + 80_000


def test_a_private_address_is_refused_by_the_egress_policy(
    db: Database, media_settings: Settings, storage: LocalStorage, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/internal.png").respond_with_data(png())
    media = _store(db, httpserver.url_for("/internal.png"), media_settings, storage)
    assert media.status == MediaStatus.failed
    assert media.failure_reason is not None
    assert media.failure_reason.startswith("download refused: refusing to connect to a private")
    assert httpserver.log == []  # nothing reached it


def test_transient_failures_are_retried_a_bounded_number_of_times(
    db: Database,
    media_settings: Settings,
    storage: LocalStorage,
    mock_client: ClientFor,
    sleeps: list[float],
) -> None:
    answers = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "2"})]

    def flaky(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, content=png())

    media = _store(db, "https://cdn.example/flaky.png", media_settings, storage, mock_client(flaky))
    assert media.status == MediaStatus.stored
    assert len(sleeps) == 2 and sleeps[1] == 2.0

    calls: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectTimeout("slow", request=request)

    media = _store(db, "https://cdn.example/down.png", media_settings, storage, mock_client(down))
    assert media.failure_reason == "download took longer than 10 s (3 attempts)"
    assert len(calls) == 3


def test_a_permanent_http_error_is_not_retried(
    db: Database,
    media_settings: Settings,
    storage: LocalStorage,
    mock_client: ClientFor,
    sleeps: list[float],
) -> None:
    media = _store(
        db,
        "https://cdn.example/gone",
        media_settings,
        storage,
        mock_client(lambda r: httpx.Response(410)),
    )
    assert media.failure_reason == "download failed: HTTP 410"
    assert sleeps == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://cdn.example/a.png", "not an http(s) image URL"),
        ("/relative/a.png", "not an http(s) image URL"),
        ("http://[::1/a.png", "not an http(s) image URL"),
    ],
)
def test_urls_that_cannot_be_downloaded_are_failed_rows(
    db: Database, media_settings: Settings, storage: LocalStorage, url: str, reason: str
) -> None:
    media = _store(db, url, media_settings, storage)
    assert (media.status, media.failure_reason) == (MediaStatus.failed, reason)
    assert media.id is not None


def test_a_url_too_long_to_store_gets_an_unsaved_failed_row(
    db: Database, media_settings: Settings, storage: LocalStorage
) -> None:
    media = _store(db, "https://cdn.example/" + "a" * 3000, media_settings, storage)
    assert media.status == MediaStatus.failed and media.id is None
    assert image_url(media, "large") == PLACEHOLDER_URL


def test_a_storage_failure_is_a_failed_row(
    db: Database, media_settings: Settings, tmp_path: Path, mock_client: ClientFor
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store should be")
    media = _store(
        db,
        "https://cdn.example/s.png",
        media_settings,
        LocalStorage(blocker),
        mock_client(_serve(png())),
    )
    assert media.status == MediaStatus.failed
    assert media.failure_reason is not None and media.failure_reason.startswith("storage failed:")


# --------------------------------------------------------------------------- image_url


def test_image_url_shows_the_placeholder_the_app_route_or_the_public_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialpulse.config import get_settings

    sha = "ab" * 32
    media = MediaObject(
        source_url="https://cdn.example/a.png",
        status=MediaStatus.stored,
        small_key=media_key(sha, "small"),
        large_key=media_key(sha, "large"),
    )
    assert image_url(None, "small") == PLACEHOLDER_URL
    assert image_url(media, "small") == f"/media/ab/ab/{sha}-small.webp"
    assert image_url(media, "large") == f"/media/ab/ab/{sha}-large.webp"

    monkeypatch.setenv("SOCIALPULSE_MEDIA_PUBLIC_URL", "https://cdn.example.com/media/")
    get_settings.cache_clear()
    try:
        assert image_url(media, "large") == f"https://cdn.example.com/media/ab/ab/{sha}-large.webp"
    finally:
        monkeypatch.delenv("SOCIALPULSE_MEDIA_PUBLIC_URL")
        get_settings.cache_clear()
    with pytest.raises(ValueError, match="unknown image size"):
        image_url(media, "medium")  # type: ignore[arg-type]


def test_the_public_url_must_be_https_or_a_path() -> None:
    with pytest.raises(ValueError, match="must start with https://"):
        Settings(media_public_url="http://cdn.example.com")
    assert Settings(media_public_url="/cdn/").media_public_url == "/cdn"
