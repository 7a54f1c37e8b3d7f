"""Files uploaded for posts: probed from their content, stored by content in the media store.

``probe(data)`` says what a file is, from its bytes only (a file name or a declared type is
never trusted): an image Pillow opens as JPEG, PNG, WebP or GIF (width and height from its
header, checked and verified), or an MP4/QuickTime video (ISO base media file format, ISO/IEC
14496-12: the ``ftyp`` box first; the duration from the movie header ``mvhd``, the dimensions
from the first track header ``tkhd`` with a picture). Anything else is refused with the reason.

``store_upload`` then writes the bytes under ``posts/ab/cd/<sha256>.<ext>`` (``media.storage``):
the same file uploaded twice is one stored object. Which platform accepts which type, size,
dimensions and duration is checked later, when the file is attached to a post with targets
(``publishing.validation``), against each platform's ``PostRules``.

``fetch_upload`` downloads a file named by URL (the CSV import's ``media_url``) through the
egress policy, with a timeout and the same size limit as an upload.

The file is held in memory while it is probed and stored (a streaming store is a later step);
``SOCIALPULSE_MAX_UPLOAD_MB`` bounds it.
"""

from __future__ import annotations

import hashlib
import io
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from PIL import Image

from socialpulse.config import Settings, get_settings
from socialpulse.kit import egress
from socialpulse.media.storage import Storage, StorageError, get_storage
from socialpulse.providers.http import USER_AGENT

__all__ = [
    "UploadFacts",
    "UploadMissing",
    "UploadRefused",
    "fetch_upload",
    "max_upload_bytes",
    "probe",
    "read_upload",
    "store_upload",
    "upload_key",
]

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}
ACCEPTED = "JPEG, PNG, WebP or GIF images and MP4 or MOV videos"
_CHUNK = 64 * 1024
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


class UploadMissing(Exception):
    """A stored upload's bytes are gone from the media store (or it cannot be reached)."""


class UploadRefused(Exception):
    """Why a file cannot be used; ``str()`` is for a person. ``too_large`` marks a 413."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class UploadFacts:
    sha256: str
    key: str
    mime_type: str
    kind: str  # image | video
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


def max_upload_bytes(settings: Settings | None = None) -> int:
    return (settings or get_settings()).max_upload_mb * 1024 * 1024


def upload_key(sha256: str, mime_type: str) -> str:
    return f"posts/{sha256[:2]}/{sha256[2:4]}/{sha256}.{EXTENSIONS[mime_type]}"


# --------------------------------------------------------------------------- probing


def _probe_image(data: bytes, settings: Settings) -> tuple[str, int, int] | None:
    try:
        with Image.open(io.BytesIO(data), formats=tuple(IMAGE_TYPES)) as image:
            fmt, (width, height) = image.format or "", image.size
            if width * height > settings.media_max_pixels:
                raise UploadRefused(
                    f"image too large: {width}x{height} pixels "
                    f"(limit {settings.media_max_pixels} pixels)"
                )
            image.verify()
    except UploadRefused:
        raise
    except Image.UnidentifiedImageError:
        return None
    except Image.DecompressionBombError as exc:
        raise UploadRefused(f"image refused: {exc}") from exc
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError...
        raise UploadRefused(f"broken image: {type(exc).__name__}: {exc}") from exc
    return IMAGE_TYPES[fmt], width, height


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO BMFF boxes between ``start`` and ``end``: (type, payload start, box end)."""
    found: list[tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:  # 64-bit size follows the type
            if offset + 16 > end:
                break
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:  # to the end of the enclosing box
            size = end - offset
        if size < header or offset + size > end:
            raise UploadRefused("broken video: a box runs past the end of the file")
        found.append((kind, offset + header, offset + size))
        offset += size
    return found


def _mvhd_duration(data: bytes, start: int, end: int) -> float | None:
    version = data[start]
    if version == 1 and start + 32 <= end:
        timescale, duration = struct.unpack_from(">IQ", data, start + 20)
    elif start + 20 <= end:
        timescale, duration = struct.unpack_from(">II", data, start + 12)
    else:
        return None
    return round(duration / timescale, 3) if timescale else None


def _tkhd_size(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    # After the version-dependent times, ids and duration: 8 reserved, layer, group, volume,
    # 2 reserved, the 36-byte matrix, then width and height as 16.16 fixed point.
    fixed = 4 + (8 + 8 + 4 + 4 + 8 if data[start] == 1 else 4 + 4 + 4 + 4 + 4)
    offset = start + fixed + 8 + 2 + 2 + 2 + 2 + 36
    if offset + 8 > end:
        return None
    width, height = struct.unpack_from(">II", data, offset)
    return (width >> 16, height >> 16) if width and height else None


def _probe_video(data: bytes) -> tuple[str, int | None, int | None, float | None] | None:
    if len(data) < 12 or data[4:8] != b"ftyp":
        return None
    top = _boxes(data, 0, len(data))
    brand = data[8:12]
    mime = "video/quicktime" if brand == b"qt  " else "video/mp4"
    duration: float | None = None
    size: tuple[int, int] | None = None
    pending = [box for box in top if box[0] == b"moov"]
    if not pending:
        raise UploadRefused("broken video: no movie header (moov box)")
    while pending:
        kind, start, end = pending.pop(0)
        if kind == b"mvhd" and duration is None:
            duration = _mvhd_duration(data, start, end)
        elif kind == b"tkhd" and size is None:
            size = _tkhd_size(data, start, end)
        elif kind in _CONTAINERS:
            pending.extend(_boxes(data, start, end))
    if duration is None:
        raise UploadRefused("broken video: no duration in its movie header (mvhd)")
    width, height = size if size is not None else (None, None)
    return mime, width, height, duration


def probe(data: bytes, settings: Settings | None = None) -> UploadFacts:
    """What ``data`` is (``UploadRefused`` when it is none of ``ACCEPTED`` or over the limit)."""
    settings = settings or get_settings()
    limit = max_upload_bytes(settings)
    if not data:
        raise UploadRefused("the file is empty")
    if len(data) > limit:
        raise UploadRefused(
            f"the file is {len(data)} bytes; uploads are limited to "
            f"{settings.max_upload_mb} MB (SOCIALPULSE_MAX_UPLOAD_MB)",
            too_large=True,
        )
    sha = hashlib.sha256(data).hexdigest()
    image = _probe_image(data, settings)
    if image is not None:
        mime, width, height = image
        return UploadFacts(sha, upload_key(sha, mime), mime, "image", len(data), width, height)
    video = _probe_video(data)
    if video is not None:
        mime, vwidth, vheight, duration = video
        return UploadFacts(
            sha, upload_key(sha, mime), mime, "video", len(data), vwidth, vheight, duration
        )
    raise UploadRefused(f"unsupported file type: upload {ACCEPTED}")


def store_upload(
    data: bytes, *, storage: Storage | None = None, settings: Settings | None = None
) -> UploadFacts:
    """Probe ``data`` and store it content-addressed; ``UploadRefused`` when it cannot be."""
    settings = settings or get_settings()
    facts = probe(data, settings)
    try:
        (storage or get_storage(settings)).put(facts.key, data, facts.mime_type)
    except StorageError as exc:
        raise UploadRefused(f"the media store could not keep the file: {exc}") from exc
    return facts


def read_upload(key: str, storage: Storage | None = None) -> bytes:
    """The stored bytes of ``key`` (``UploadMissing`` when the store lost or cannot give them)."""
    try:
        data = (storage or get_storage()).get(key)
    except StorageError as exc:
        raise UploadMissing(str(exc)) from exc
    if data is None:
        raise UploadMissing(f"{key} is missing from the media store")
    return data


# --------------------------------------------------------------------------- fetching


def fetch_upload(
    url: str,
    *,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    timeout_s: float = 30.0,
) -> bytes:
    """The bytes at ``url``, downloaded through the egress policy within ``timeout_s`` and the
    upload limit (``UploadRefused`` with the reason otherwise). One attempt: the caller (an
    import a person is waiting for) reports the failure rather than waiting on retries."""
    settings = settings or get_settings()
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        raise UploadRefused(f"not an http(s) URL: {url[:200]!r}")
    if http_client is not None:
        return _download(http_client, url, settings, timeout_s)
    with egress.client(
        timeout=timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT}
    ) as client:
        return _download(client, url, settings, timeout_s)


def _download(client: httpx.Client, url: str, settings: Settings, timeout_s: float) -> bytes:
    limit = max_upload_bytes(settings)
    deadline = time.monotonic() + timeout_s
    try:
        with client.stream("GET", url, timeout=timeout_s) as response:
            if not 200 <= response.status_code < 300:
                raise UploadRefused(f"download failed: HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise UploadRefused(
                    f"too large: {declared} bytes (limit {settings.max_upload_mb} MB)",
                    too_large=True,
                )
            body = bytearray()
            for chunk in response.iter_bytes(_CHUNK):
                body += chunk
                if len(body) > limit:
                    raise UploadRefused(
                        f"too large: more than {settings.max_upload_mb} MB", too_large=True
                    )
                if time.monotonic() > deadline:
                    raise UploadRefused(f"download took longer than {timeout_s:g} s")
            return bytes(body)
    except egress.EgressRefused as exc:
        raise UploadRefused(f"download refused: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise UploadRefused(f"download took longer than {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise UploadRefused(f"download failed: {type(exc).__name__}") from exc
