"""Images for reports: downloaded once, checked, resized to two WebP sizes, stored by content.

``store_image(session, url)`` returns the ``MediaObject`` of ``url``; ``image_url(media, size)``
is where a page shows it. A bad image is never an exception: it is a row with status failed
and a reason a person can read, and ``image_url`` shows the placeholder for it, so a report
with a broken thumbnail is still a complete report.

What an image goes through, in order:

1. A platform that draws its own images (``providers.images``: the simulated platform) draws
   it; nothing goes online.
2. Otherwise it is downloaded through the egress policy (``kit.egress``: private, loopback
   and link-local addresses refused at connect time, redirects included), with a timeout per
   attempt, up to ``MAX_ATTEMPTS`` attempts for timeouts, connection failures, 429 and 5xx,
   and at most ``SOCIALPULSE_MEDIA_MAX_BYTES`` read (a larger declared length fails before
   reading; an undeclared one stops at the limit).
3. Pillow opens it as JPEG, PNG, WebP or GIF only (fewer decoders, less attack surface),
   refuses more than ``SOCIALPULSE_MEDIA_MAX_PIXELS`` pixels before decoding anything (Pillow's
   own decompression-bomb limit, ``Image.MAX_IMAGE_PIXELS``, caps the setting, so an image
   Pillow would merely warn about is refused here too, and ``DecompressionBombError`` is a
   failure like any other), verifies it, decodes it fully (a truncated file fails), applies
   the EXIF orientation and converts to RGB, or RGBA when it has transparency.
4. Two sizes (``SIZES``, longest side, never enlarged) are encoded as WebP and stored under
   ``ab/cd/<sha256 of the original bytes>-<size>.webp`` (``media.storage``).

Content addressing makes every stored key immutable; a change to ``SIZES`` or the encoder
settings must therefore change the key scheme, or caches would keep the old pictures.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx
import structlog
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.config import Settings, get_settings
from socialpulse.db import utcnow
from socialpulse.kit import egress
from socialpulse.media.models import MediaObject, MediaStatus
from socialpulse.media.storage import Storage, StorageError, get_storage, public_url

# Uploads for posts (#15): other domains import this module only, so the names they need are
# re-exported here ("x as x" marks each one as meant).
from socialpulse.media.uploads import UploadFacts as UploadFacts
from socialpulse.media.uploads import UploadMissing as UploadMissing
from socialpulse.media.uploads import UploadRefused as UploadRefused
from socialpulse.media.uploads import fetch_upload as fetch_upload
from socialpulse.media.uploads import max_upload_bytes as max_upload_bytes
from socialpulse.media.uploads import read_upload as read_upload
from socialpulse.media.uploads import store_upload as store_upload
from socialpulse.providers.http import USER_AGENT, parse_retry_after
from socialpulse.providers.images import local_renderer

__all__ = [
    "MAX_ATTEMPTS",
    "PLACEHOLDER_URL",
    "SIZES",
    "ImageSize",
    "image_url",
    "media_key",
    "process_image",
    "store_image",
]

log = structlog.get_logger(__name__)

ImageSize = Literal["small", "large"]
SIZES: dict[ImageSize, int] = {"small": 160, "large": 640}  # longest side, in pixels
PLACEHOLDER_URL = "/static/img/placeholder.svg"
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
WEBP_QUALITY = 80
# libwebp's effort (0-6, default 4): 2 encodes a 640 px thumbnail about three times faster
# than 4 for some 10 % more bytes (benchmarks/media_thumbnails.py).
WEBP_METHOD = 2
MAX_ATTEMPTS = 3
MAX_RETRY_WAIT_S = 5.0
MAX_URL_CHARS = 2048  # MediaObject.source_url
MAX_REASON_CHARS = 500
_CHUNK = 64 * 1024
_EXIF_ORIENTATION = 0x0112

# Replaced by tests, so retries never wait.
_sleep = time.sleep


class ImageFailure(Exception):
    """Why an image cannot be stored; ``str()`` is the reason recorded on its row."""


class _Retryable(ImageFailure):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    sha256: str
    width: int
    height: int
    original_bytes: int
    webp: dict[ImageSize, bytes]


# --------------------------------------------------------------------------- public API


def store_image(
    session: Session,
    url: str,
    *,
    http_client: httpx.Client | None = None,
    storage: Storage | None = None,
    settings: Settings | None = None,
) -> MediaObject:
    """The stored image of ``url``: an existing stored row as it is (no download), else a new
    attempt whose outcome, stored or failed with its reason, is written to the row (flushed,
    not committed). ``http_client`` must be an egress client (``kit.egress.client``) when
    given; by default one is built for the call."""
    settings = settings or get_settings()
    if len(url) > MAX_URL_CHARS:
        # No row can hold this URL; the caller still gets an answer to show.
        return MediaObject(
            source_url=url[:MAX_URL_CHARS],
            status=MediaStatus.failed,
            failure_reason=f"URL longer than {MAX_URL_CHARS} characters",
        )
    existing = session.scalar(select(MediaObject).where(MediaObject.source_url == url))
    if existing is not None and existing.status == MediaStatus.stored:
        return existing
    started = time.perf_counter()
    try:
        processed = process_image(fetch_image(url, settings, http_client), settings)
        keys = _store(processed, storage or get_storage(settings))
    except ImageFailure as exc:
        return _record_failure(session, url, existing, str(exc))
    except StorageError as exc:
        return _record_failure(session, url, existing, f"storage failed: {exc}")
    log.info(
        "media.stored",
        url=url,
        sha256=processed.sha256,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return _save(
        session,
        url,
        existing,
        status=MediaStatus.stored,
        failure_reason=None,
        sha256=processed.sha256,
        width=processed.width,
        height=processed.height,
        original_bytes=processed.original_bytes,
        small_key=keys["small"],
        large_key=keys["large"],
    )


def upload_public_url(key: str, settings: Settings | None = None) -> str | None:
    """Where a platform that fetches media by URL (Instagram) finds an uploaded post file:
    under SOCIALPULSE_MEDIA_PUBLIC_URL (a public S3 bucket or CDN); None without it, since
    uploads are never served by the app's own media route."""
    base = (settings or get_settings()).media_public_url
    return f"{base.rstrip('/')}/{key}" if base else None


def image_url(media: MediaObject | None, size: ImageSize) -> str:
    """Where a page shows ``media`` at ``size``; the placeholder when there is no stored one."""
    if size not in SIZES:
        raise ValueError(f"unknown image size {size!r}; one of {sorted(SIZES)}")
    if media is None or media.status != MediaStatus.stored:
        return PLACEHOLDER_URL
    key = media.small_key if size == "small" else media.large_key
    return public_url(key) if key else PLACEHOLDER_URL


def media_key(sha256: str, size: ImageSize) -> str:
    """``ab/cd/<sha256>-<size>.webp``: two directory levels keep any one directory small."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}-{size}.webp"


# --------------------------------------------------------------------------- fetching


def fetch_image(url: str, settings: Settings, http_client: httpx.Client | None = None) -> bytes:
    """The original bytes of ``url``: drawn by its platform, or downloaded (``ImageFailure``)."""
    renderer = local_renderer(url)
    if renderer is not None:
        try:
            return renderer(url)
        except Exception as exc:  # a drawing bug must not fail a report
            log.warning("media.render_failed", url=url, error=repr(exc))
            raise ImageFailure(f"could not draw the image: {type(exc).__name__}") from exc
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        raise ImageFailure("not an http(s) image URL")
    if http_client is not None:
        return _download(http_client, url, settings)
    with egress.client(
        timeout=settings.media_timeout_s,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
    ) as client:
        return _download(client, url, settings)


def _download(client: httpx.Client, url: str, settings: Settings) -> bytes:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _download_once(client, url, settings)
        except _Retryable as exc:
            if attempt == MAX_ATTEMPTS:
                raise ImageFailure(f"{exc} ({attempt} attempts)") from exc
            backoff = 0.5 * 2 ** (attempt - 1) * (0.5 + random.random())
            wait = exc.retry_after if exc.retry_after is not None else backoff
            _sleep(min(wait, MAX_RETRY_WAIT_S))
    raise AssertionError("unreachable")  # pragma: no cover


def _download_once(client: httpx.Client, url: str, settings: Settings) -> bytes:
    limit = settings.media_max_bytes
    deadline = time.monotonic() + settings.media_timeout_s
    try:
        with client.stream("GET", url, timeout=settings.media_timeout_s) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                raise _Retryable(f"download failed: HTTP {status}", retry_after)
            if not 200 <= status < 300:
                raise ImageFailure(f"download failed: HTTP {status}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ImageFailure(f"too large: {int(declared)} bytes (limit {limit})")
            body = bytearray()
            # iter_bytes undoes Content-Encoding, so a gzip bomb is counted as it inflates.
            for chunk in response.iter_bytes(_CHUNK):
                body += chunk
                if len(body) > limit:
                    raise ImageFailure(f"too large: more than {limit} bytes")
                if time.monotonic() > deadline:
                    # Each read was quick, the whole is not: a server dripping bytes.
                    raise _Retryable(f"download took longer than {settings.media_timeout_s:g} s")
            return bytes(body)
    except egress.EgressRefused as exc:
        raise ImageFailure(f"download refused: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise _Retryable(f"download took longer than {settings.media_timeout_s:g} s") from exc
    except httpx.TransportError as exc:
        # One message for refused, reset or not an HTTP server (as providers.http does).
        log.info("media.download_error", url=url, error=repr(exc))
        raise _Retryable("download failed: the server could not be reached") from exc
    except httpx.HTTPError as exc:  # too many redirects, a bad redirect URL, a bad encoding
        raise ImageFailure(f"download failed: {type(exc).__name__}") from exc


# --------------------------------------------------------------------------- decoding


def process_image(data: bytes, settings: Settings | None = None) -> ProcessedImage:
    """Check, decode and resize ``data`` into every size of ``SIZES`` as WebP
    (``ImageFailure`` for anything that is not a sound image within the limits)."""
    settings = settings or get_settings()
    if not data:
        raise ImageFailure("not an image: the body is empty")
    max_pixels = settings.media_max_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        max_pixels = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as probe:
            width, height = probe.size  # from the header: nothing decoded yet
            if width * height > max_pixels:
                raise ImageFailure(
                    f"decompression bomb refused: {width}x{height} pixels "
                    f"(limit {max_pixels} pixels)"
                )
            probe.verify()
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            if image.format == "JPEG":
                # Let libjpeg decode at a fraction of the size (DCT scaling), never below the
                # largest size kept: a fraction of the decoding work for the same thumbnails.
                # draft() keeps both sides at least as large as asked: ask for the shape
                # the largest size will have, not a square.
                scale = max(SIZES.values()) / max(width, height)
                if scale < 1:
                    image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            image.load()
            if image.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8):
                width, height = height, width  # shown rotated a quarter turn
            upright = ImageOps.exif_transpose(image)
            webp = _encode_sizes(_to_rgb(upright))
    except ImageFailure:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageFailure(f"decompression bomb refused: {exc}") from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageFailure(
            f"not an image in an accepted format ({', '.join(ALLOWED_FORMATS)})"
        ) from exc
    except MemoryError as exc:
        raise ImageFailure("too large to decode") from exc
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError...
        raise ImageFailure(f"broken image: {_short(exc)}") from exc
    return ProcessedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        original_bytes=len(data),
        webp=webp,
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    transparent = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    target = "RGBA" if transparent else "RGB"
    return image if image.mode == target else image.convert(target)


def _encode_sizes(image: Image.Image) -> dict[ImageSize, bytes]:
    out: dict[ImageSize, bytes] = {}
    current = image
    # Largest first, each smaller size from the previous one: less to resample each time.
    for name, side in sorted(SIZES.items(), key=lambda item: -item[1]):
        current = current.copy()
        current.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        current.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        out[name] = buffer.getvalue()
    return out


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# --------------------------------------------------------------------------- storing


def _store(processed: ProcessedImage, storage: Storage) -> dict[ImageSize, str]:
    keys: dict[ImageSize, str] = {}
    for size, data in processed.webp.items():
        key = media_key(processed.sha256, size)
        storage.put(key, data, "image/webp")
        keys[size] = key
    return keys


def _record_failure(
    session: Session, url: str, existing: MediaObject | None, reason: str
) -> MediaObject:
    reason = reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"
    log.warning("media.failed", url=url, reason=reason)
    return _save(
        session,
        url,
        existing,
        status=MediaStatus.failed,
        failure_reason=reason,
        sha256=None,
        width=None,
        height=None,
        original_bytes=None,
        small_key=None,
        large_key=None,
    )


def _save(
    session: Session, url: str, existing: MediaObject | None, **values: object
) -> MediaObject:
    if existing is None:
        row = MediaObject(source_url=url, **values)
        try:
            with session.begin_nested():
                session.add(row)
            return row
        except IntegrityError:
            # Another worker stored the same URL meanwhile: theirs is the row.
            existing = session.scalar(select(MediaObject).where(MediaObject.source_url == url))
            if existing is None:
                raise
            if existing.status == MediaStatus.stored:
                return existing
    for name, value in values.items():
        setattr(existing, name, value)
    existing.updated_at = utcnow()
    session.flush()
    return existing
