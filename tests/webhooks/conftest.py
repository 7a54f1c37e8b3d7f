"""Webhook fixtures: a real local HTTP receiver that checks each request's Standard Webhooks
signature with its own HMAC code (not socialpulse's) and answers as scripted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    timestamp_ok: bool

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> bytes:
    """The receiver's own computation, straight from the spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    )


@dataclass
class Receiver:
    server: HTTPServer
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    received: list[Received] = field(default_factory=list)
    scripted: dict[str, list[Response]] = field(default_factory=dict)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def answer(self, *responses: Response, path: str = "/hook") -> None:
        """Answer the next requests to `path` with these, then 204."""
        self.scripted.setdefault(path, []).extend(responses)

    def at(self, path: str = "/hook") -> list[Received]:
        return [r for r in self.received if r.path == path]

    def handle(self, request: Request) -> Response:
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        secret = self.secrets.get(request.path, "")
        msg_id = headers.get("webhook-id", "")
        stamp = headers.get("webhook-timestamp", "")
        signatures = [
            s.split(",", 1)[1].encode()
            for s in headers.get("webhook-signature", "").split()
            if s.startswith("v1,")
        ]
        expected = expected_signature(secret, msg_id, stamp, body) if secret else b""
        self.received.append(
            Received(
                request.path,
                headers,
                body,
                signature_ok=bool(expected)
                and any(hmac.compare_digest(s, expected) for s in signatures),
                timestamp_ok=stamp.isdigit() and abs(time.time() - int(stamp)) <= 300,
            )
        )
        queue = self.scripted.get(request.path)
        if queue:
            return queue.pop(0)
        return Response(status=204)


@pytest.fixture
def receiver(httpserver: HTTPServer, egress_allow: Callable[[str], None]) -> Receiver:
    """A receiver on 127.0.0.1, which the egress policy allows for the test (as an operator
    would with SOCIALPULSE_EGRESS_ALLOW)."""
    egress_allow("127.0.0.1")
    found = Receiver(httpserver)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(found.handle)
    return found


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "hooks-co")


@pytest.fixture
def other_ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "other-co")
