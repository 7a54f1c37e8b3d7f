"""Where stored images live: a directory (the default) or an S3-compatible bucket.

Keys are content-addressed (``ab/cd/<sha256>-small.webp``, see ``media.service``): a key's
bytes never change, so writes may be repeated, nothing is ever overwritten with something
else, and every reader may cache forever. ``KEY_PATTERN`` is the only shape a key can have;
the storage refuses any other, so no key can name a file outside the store.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from socialpulse.config import Settings, get_settings
from socialpulse.kit.files import write_atomically

__all__ = [
    "CACHE_CONTROL",
    "KEY_PATTERN",
    "ROUTE_PREFIX",
    "InvalidKey",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "UPLOAD_KEY_PATTERN",
    "build_storage",
    "check_image_key",
    "check_key",
    "get_storage",
    "public_url",
]

KEY_PATTERN = re.compile(
    r"(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})-(?:small|large)\.webp"
)
# Files uploaded for posts (``media.uploads``): kept as uploaded, private to the workspace that
# uploaded them, so the public ``/media/`` route does not serve them (``check_image_key``).
UPLOAD_KEY_PATTERN = re.compile(
    r"posts/(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})\.(?:jpg|png|gif|webp|mp4|mov)"
)
CACHE_CONTROL = "public, max-age=31536000, immutable"
ROUTE_PREFIX = "/media/"  # where the app serves the store (media.api)


class InvalidKey(ValueError):
    """Not a media key: refused before any file or bucket is touched."""


class StorageError(Exception):
    """The store could not be written or read (disk full, bucket unreachable)."""


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def check_key(key: str) -> str:
    """``key`` when it has a shape a media key has (an image size or a post upload), else
    ``InvalidKey``."""
    match = KEY_PATTERN.fullmatch(key) or UPLOAD_KEY_PATTERN.fullmatch(key)
    if match is None or match["sha"][:4] != match["a"] + match["b"]:
        raise InvalidKey(f"not a media key: {key[:80]!r}")
    return key


def check_image_key(key: str) -> str:
    """``key`` when it is a stored image size (public), else ``InvalidKey``."""
    if KEY_PATTERN.fullmatch(key) is None:
        raise InvalidKey(f"not an image key: {key[:80]!r}")
    return check_key(key)


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (repeating a write is harmless)."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` when there are none."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A file holding ``key``'s bytes, for storages that have one (served as a file)."""
        ...


class LocalStorage:
    """Files under ``root``; each written to a temporary name and renamed, so a reader never
    sees half an image, even while two workers store the same key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            write_atomically(path, data)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror or exc}") from exc

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


class S3Storage:
    """Objects in an S3-compatible bucket, written with their content type and cache headers
    so a CDN in front of the bucket (SOCIALPULSE_MEDIA_PUBLIC_URL) serves them as they are."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        import boto3
        from botocore.config import Config

        config = Config(
            # A hung store must fail the image (placeholder), not hold a report build.
            connect_timeout=5,
            read_timeout=15,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        client = boto3.client(
            "s3",
            endpoint_url=settings.media_s3_endpoint_url or None,
            region_name=settings.media_s3_region or None,
            aws_access_key_id=_secret(settings.media_s3_access_key_id),
            aws_secret_access_key=_secret(settings.media_s3_secret_access_key),
            config=config,
        )
        return cls(settings.media_s3_bucket, client)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=check_key(key),
                Body=data,
                ContentType=content_type,
                CacheControl=CACHE_CONTROL,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot write {key} to bucket {self.bucket}: {exc}") from exc

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            return bytes(response["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StorageError(f"cannot read {key} from bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {key} from bucket {self.bucket}: {exc}") from exc

    def local_path(self, key: str) -> Path | None:
        return None


def build_storage(settings: Settings) -> Storage:
    if settings.media_storage == "s3":
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.media_root)


_built: dict[tuple[Any, ...], Storage] = {}
_built_lock = threading.Lock()


def _identity(settings: Settings) -> tuple[Any, ...]:
    return (
        settings.media_storage,
        str(settings.media_root),
        settings.media_s3_bucket,
        settings.media_s3_endpoint_url,
        settings.media_s3_region,
        _secret(settings.media_s3_access_key_id),
        _secret(settings.media_s3_secret_access_key),
    )


def get_storage(settings: Settings | None = None) -> Storage:
    """The configured store, built once per configuration (a boto3 client is costly to make
    and keeps its connection pool)."""
    settings = settings or get_settings()
    identity = _identity(settings)
    with _built_lock:
        storage = _built.get(identity)
        if storage is None:
            storage = _built[identity] = build_storage(settings)
        return storage


def public_url(key: str, settings: Settings | None = None) -> str:
    """Where a browser loads ``key``: under SOCIALPULSE_MEDIA_PUBLIC_URL when set, else from
    the app's own route, which reads the store (either kind)."""
    base = (settings or get_settings()).media_public_url
    return f"{base}/{key}" if base else f"{ROUTE_PREFIX}{key}"
