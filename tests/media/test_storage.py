from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from media_images import png
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.media.models import MediaStatus
from socialpulse.media.service import store_image
from socialpulse.media.storage import (
    CACHE_CONTROL,
    InvalidKey,
    LocalStorage,
    S3Storage,
    build_storage,
    check_key,
    get_storage,
    public_url,
)

SHA = "0123" + "ab" * 30
KEY = f"01/23/{SHA}-small.webp"
BUCKET = "socialpulse-media"


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        f"01/23/../{SHA}-small.webp",
        f"/01/23/{SHA}-small.webp",
        f"01/23/{SHA}-small.png",
        f"01/23/{SHA}-medium.webp",
        f"ff/23/{SHA}-small.webp",  # the directories must be the hash's own prefix
        f"01/23/{SHA.upper()}-small.webp",
        f"01/23/{SHA}-small.webp\n",
        "",
    ],
)
def test_only_media_keys_are_accepted(key: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)
    storage = LocalStorage(tmp_path)
    with pytest.raises(InvalidKey):
        storage.put(key, b"x", "image/webp")
    with pytest.raises(InvalidKey):
        storage.get(key)


def test_local_storage_writes_whole_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    assert storage.get(KEY) is None and storage.local_path(KEY) is None
    storage.put(KEY, b"first", "image/webp")
    storage.put(KEY, b"again", "image/webp")  # repeating a write replaces the file whole
    assert storage.get(KEY) == b"again"
    assert storage.local_path(KEY) == tmp_path / "media" / KEY
    assert sorted(p.name for p in (tmp_path / "media" / "01" / "23").iterdir()) == [
        f"{SHA}-small.webp"
    ]


def test_the_local_store_follows_the_data_directory(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).media_root == tmp_path / "media"
    assert Settings(data_dir=tmp_path, media_root=tmp_path / "elsewhere").media_root == (
        tmp_path / "elsewhere"
    )


def test_public_urls() -> None:
    assert public_url(KEY, Settings()) == f"/media/{KEY}"
    cdn = Settings(media_public_url="https://cdn.example.com/m/")
    assert public_url(KEY, cdn) == f"https://cdn.example.com/m/{KEY}"


def test_s3_storage_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="SOCIALPULSE_MEDIA_S3_BUCKET"):
        Settings(media_storage="s3")


# --------------------------------------------------------------------------- S3 (moto server)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        media_storage="s3",
        media_s3_bucket=BUCKET,
        media_s3_endpoint_url=s3_endpoint,
        media_s3_region="us-east-1",
        media_s3_access_key_id=SecretStr("test"),
        media_s3_secret_access_key=SecretStr("test"),
    )


def test_s3_storage_puts_and_gets_with_cache_headers(s3_settings: Settings) -> None:
    storage = build_storage(s3_settings)
    assert isinstance(storage, S3Storage)
    assert storage.get(KEY) is None
    storage.put(KEY, b"webp bytes", "image/webp")
    assert storage.get(KEY) == b"webp bytes"
    assert storage.local_path(KEY) is None
    head = storage.client.head_object(Bucket=BUCKET, Key=KEY)
    assert (head["ContentType"], head["CacheControl"]) == ("image/webp", CACHE_CONTROL)
    # One client per configuration: its connection pool is reused.
    assert get_storage(s3_settings) is get_storage(s3_settings.model_copy())
    cdn = s3_settings.model_copy(update={"media_public_url": "https://cdn.example.com"})
    assert public_url(KEY, cdn) == f"https://cdn.example.com/{KEY}"


def test_store_image_into_s3(
    s3_settings: Settings, db: Database, mock_client: Callable[..., httpx.Client]
) -> None:
    client = mock_client(lambda request: httpx.Response(200, content=png(800, 600)))
    with db.session() as session:
        media = store_image(
            session, "https://cdn.example/s3.png", http_client=client, settings=s3_settings
        )
    assert media.status == MediaStatus.stored and media.large_key is not None
    stored = get_storage(s3_settings).get(media.large_key)
    assert stored is not None and stored[:4] == b"RIFF" and stored[8:12] == b"WEBP"


def test_an_unreachable_bucket_is_a_failed_row(
    s3_settings: Settings, db: Database, mock_client: Callable[..., httpx.Client]
) -> None:
    closed = s3_settings.model_copy(
        update={"media_s3_endpoint_url": f"http://127.0.0.1:{_free_port()}"}
    )
    client = mock_client(lambda request: httpx.Response(200, content=png()))
    with db.session() as session:
        media = store_image(
            session, "https://cdn.example/s3-down.png", http_client=client, settings=closed
        )
    assert media.status == MediaStatus.failed
    assert media.failure_reason is not None and media.failure_reason.startswith(
        "storage failed: cannot write"
    )
