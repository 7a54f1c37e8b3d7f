"""Fixtures of the invitation tests: a real SMTP server on loopback, and dashboard helpers."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient

SMTP_USER = "mailer@example.test"
SMTP_PASSWORD = "p@ss:word"  # needs percent-encoding in the URL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    port: int
    messages: list[Message] = field(default_factory=list)
    reject_recipients: bool = False
    logins: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://mailer%40example.test:p%40ss%3Aword@127.0.0.1:{self.port}"

    # aiosmtpd handler hooks
    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.reject_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        ):
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=_free_port())
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=server.authenticate,
        auth_require_tls=False,  # loopback test server without a certificate
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def csrf() -> Callable[[str], str]:
    return csrf_of


@pytest.fixture
def web_login() -> Callable[..., Any]:
    def login(client: TestClient, email: str, password: str, next: str = "/") -> Any:
        page = client.get("/login")
        return client.post(
            "/login",
            data={
                "email": email,
                "password": password,
                "next": next,
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )

    return login
