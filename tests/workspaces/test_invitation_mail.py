"""Invitation e-mail through a real SMTP server (aiosmtpd on a free loopback port)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.app import create_app
from socialpulse.db import Database
from socialpulse.kit.mail import MailError, SmtpConfig

CAROL = "carol@acme.test"
SENDER = "invites@socialpulse.test"


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme-co")


@pytest.fixture
def mail_client_for(
    tmp_path: Path, database_url: str, db: Database
) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def build(smtp_url: str) -> TestClient:
        settings = make_settings(
            tmp_path / str(len(clients)),
            database_url,
            smtp_url=smtp_url,
            smtp_from=SENDER,
            smtp_timeout_s=5,
            base_url="https://social.example.test",
        )
        client = TestClient(create_app(settings, start_worker=False))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def invite(client: TestClient, ws: WorkspaceFixture, email: str) -> Any:
    return client.post(
        "/api/v1/invitations", json={"email": email, "role": "editor"}, headers=ws.headers()
    )


def test_the_invitation_is_mailed_with_its_link(
    mail_client_for: Callable[[str], TestClient], smtp_server: Any, acme: WorkspaceFixture
) -> None:
    client = mail_client_for(smtp_server.url)
    created = invite(client, acme, CAROL)
    assert created.status_code == 201
    assert created.json()["delivery_status"] == "sent"
    assert created.json()["delivery_error"] is None
    assert smtp_server.logins == ["mailer@example.test"]  # percent-decoded user and password
    [message] = smtp_server.messages
    assert message["To"] == CAROL
    assert message["From"] == SENDER
    assert message["Subject"] == "You are invited to Acme-Co on socialpulse"
    body = message.get_payload(decode=True).decode()
    link = created.json()["link"]
    assert link.startswith("https://social.example.test/invite/inv_")
    assert link in body
    assert "as editor" in body
    accepted = client.post(
        "/api/v1/invitations/accept",
        json={"token": link.rsplit("/", 1)[1], "name": "Carol", "password": "carol's secret"},
    )
    assert accepted.status_code == 201


def test_a_refused_delivery_is_recorded_and_the_invitation_kept(
    mail_client_for: Callable[[str], TestClient], smtp_server: Any, acme: WorkspaceFixture
) -> None:
    client = mail_client_for(smtp_server.url)
    smtp_server.reject_recipients = True
    created = invite(client, acme, CAROL)
    assert created.status_code == 201
    assert created.json()["delivery_status"] == "failed"
    assert "550" in created.json()["delivery_error"]
    assert "p@ss" not in created.json()["delivery_error"]
    listed = client.get("/api/v1/invitations", headers=acme.headers()).json()
    assert [(i["status"], i["delivery_status"]) for i in listed] == [("pending", "failed")]

    # Once the server takes mail again, resending delivers a fresh link.
    smtp_server.reject_recipients = False
    resent = client.post(
        f"/api/v1/invitations/{created.json()['id']}/resend", headers=acme.headers()
    )
    assert resent.json()["delivery_status"] == "sent"
    assert resent.json()["delivery_error"] is None
    [message] = smtp_server.messages
    assert resent.json()["link"] in message.get_payload(decode=True).decode()


def test_an_unreachable_server_is_recorded_on_the_invitation(
    mail_client_for: Callable[[str], TestClient], acme: WorkspaceFixture, csrf: Any, web_login: Any
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    client = mail_client_for(f"smtp://127.0.0.1:{closed_port}")
    web_login(client, acme.owner_email, PASSWORD)
    page = client.get("/settings/members")
    response = client.post(
        "/settings/invitations", data={"email": CAROL, "csrf_token": csrf(page.text)}
    )
    assert response.status_code == 201
    error = re.search(r'data-testid="new-invite-error">([^<]+)<', response.text)
    assert error and f"cannot deliver through 127.0.0.1:{closed_port}" in error.group(1)
    assert 'data-testid="new-invite-link">https://social.example.test/invite/inv_' in response.text
    listed = client.get("/settings/members").text
    assert 'data-testid="delivery-error">failed: cannot deliver' in listed


def test_the_mail_is_the_same_for_known_and_unknown_addresses(
    mail_client_for: Callable[[str], TestClient],
    smtp_server: Any,
    acme: WorkspaceFixture,
    db: Database,
) -> None:
    known = make_workspace(db, "other-co").owner_email
    client = mail_client_for(smtp_server.url)
    links = [invite(client, acme, email).json()["link"] for email in (known, "nobody@x.test")]
    bodies = [
        m.get_payload(decode=True).decode().replace(link, "LINK")
        for m, link in zip(smtp_server.messages, links, strict=True)
    ]
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.test", ("smtp", "mail.test", 25, None, None)),
        ("smtp+starttls://u:p@mail.test", ("smtp+starttls", "mail.test", 587, "u", "p")),
        (
            "smtps://a%40b.test:p%3Aw@mail.test:2465",
            ("smtps", "mail.test", 2465, "a@b.test", "p:w"),
        ),
    ],
)
def test_smtp_urls(url: str, expected: tuple[Any, ...]) -> None:
    config = SmtpConfig.from_url(url)
    assert (config.scheme, config.host, config.port, config.username, config.password) == expected


@pytest.mark.parametrize("url", ["http://mail.test", "smtp://", "smtp://mail.test:notaport"])
def test_unusable_smtp_urls_are_mail_errors(url: str) -> None:
    with pytest.raises(MailError):
        SmtpConfig.from_url(url)
