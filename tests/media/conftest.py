from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import make_settings
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.media import service
from socialpulse.media.storage import LocalStorage

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def media_settings(tmp_path: Path, db: Database) -> Settings:
    return make_settings(tmp_path, db.url)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(service, "_sleep", waited.append)
    return waited


@pytest.fixture
def mock_client() -> Iterator[Callable[[Handler], httpx.Client]]:
    clients: list[httpx.Client] = []

    def build(handler: Handler) -> httpx.Client:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
