"""Alert fixtures: two workspaces, an account with a follower history, and a real SMTP
server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from factories import WorkspaceFixture, make_workspace
from socialpulse.config import get_settings
from socialpulse.db import Database


@dataclass
class Inbox:
    port: int
    messages: list[Message] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox(port=_free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "alerted-co")


@pytest.fixture
def other_ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "bystander-co")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set (or, with None, unset) SOCIALPULSE_* variables as an operator would, for the code
    that reads the global settings (job handlers); the cached settings are re-read."""

    def apply(**values: str | None) -> None:
        for name, value in values.items():
            key = f"SOCIALPULSE_{name.upper()}"
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    apply(smtp_url=None)
    yield apply
    get_settings.cache_clear()  # the variables are restored next: settings are read afresh
