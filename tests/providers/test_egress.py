"""Outbound requests cannot reach the private network (SSRF), and error messages carry no
upstream body. Real sockets: loopback servers stand in for "something on the server's network"."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from socialpulse.app import create_app
from socialpulse.config import ConfigError, Settings
from socialpulse.kit import egress
from socialpulse.providers.base import (
    PermanentError,
    ProviderError,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.http import CircuitBreaker, EgressDenied, ProviderHttp

Allow = Callable[[str], None]


def make_http(base_url: str, sleeps: list[float], **kwargs: Any) -> ProviderHttp:
    return ProviderHttp(
        "example",
        base_url=base_url,
        display_name="Example",
        breaker=kwargs.pop("breaker", None) or CircuitBreaker("example"),
        sleep=sleeps.append,
        **kwargs,
    )


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Names this test resolves to chosen addresses; every other name resolves as usual."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in answers:
            return real(answers[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes | None], int]]:
    """A loopback TCP server that is not HTTP: it sends ``banner`` and hangs up, or, with
    ``None``, accepts and then says nothing."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def start(banner: bytes | None) -> int:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        sockets.append(server)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                sockets.append(conn)
                if banner is not None:
                    conn.sendall(banner)
                    conn.close()

        threading.Thread(target=serve, daemon=True).start()
        port: int = server.getsockname()[1]
        return port

    yield start
    stop.set()
    for sock in sockets:
        sock.close()


# --------------------------------------------------------------------------- the address rules


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("240.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert egress.forbidden_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert egress.forbidden_reason(ipaddress.ip_address(address)) is None


def test_allow_list_takes_cidrs_addresses_hosts_and_suffixes() -> None:
    policy = egress.parse_allow(" 10.0.0.0/8, 192.168.1.5 ,mastodon.lan,*.corp.lan,")
    assert policy.address_allowed(ipaddress.ip_address("10.9.9.9"))
    assert policy.address_allowed(ipaddress.ip_address("::ffff:10.9.9.9"))
    assert policy.address_allowed(ipaddress.ip_address("192.168.1.5"))
    assert not policy.address_allowed(ipaddress.ip_address("192.168.1.6"))
    assert policy.host_allowed("Mastodon.LAN.")
    assert policy.host_allowed("social.corp.lan")
    assert not policy.host_allowed("corp.lan.evil.example")


@pytest.mark.parametrize("spec", ["10.0.0.0/33", "not a host!", "http://mastodon.lan"])
def test_a_bad_allow_setting_stops_the_start(spec: str) -> None:
    settings = Settings(_env_file=None, egress_allow=spec)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="SOCIALPULSE_EGRESS_ALLOW"):
        create_app(settings)


# --------------------------------------------------------------------------- at connect time


def test_a_loopback_server_is_refused_by_default(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    httpserver.expect_request("/items").respond_with_json({"secret": "internal"})
    observer = RecordingObserver()
    breaker = CircuitBreaker("example", failure_threshold=1)

    with pytest.raises(EgressDenied, match="refusing to connect to a private address") as excinfo:
        make_http(httpserver.url_for("/"), sleeps, observer=observer, breaker=breaker).get_json(
            "example.items", "items"
        )

    assert isinstance(excinfo.value, PermanentError)
    assert httpserver.log == []  # nothing reached it
    assert sleeps == []  # not retried
    assert [(c.ok, c.quota_cost) for c in observer.calls] == [(False, 0)]
    assert breaker.state == CircuitBreaker.CLOSED  # not a platform failure
    assert breaker.consecutive_failures == 0


def test_a_loopback_server_is_reached_when_the_operator_allows_it(
    httpserver: HTTPServer, sleeps: list[float], egress_allow: Allow
) -> None:
    httpserver.expect_request("/items").respond_with_json({"ok": True})
    egress_allow("127.0.0.1")

    assert make_http(httpserver.url_for("/"), sleeps).get_json("example.items", "items") == {
        "ok": True
    }


def test_a_host_name_resolving_to_loopback_is_refused(
    httpserver: HTTPServer, sleeps: list[float], fake_dns: dict[str, str]
) -> None:
    httpserver.expect_request("/items").respond_with_json({"secret": "internal"})
    fake_dns["innocent.example.test"] = "127.0.0.1"

    with pytest.raises(EgressDenied, match="innocent.example.test is not on the public"):
        make_http(f"http://innocent.example.test:{httpserver.port}/", sleeps).get_json(
            "example.items", "items"
        )
    assert httpserver.log == []


def test_the_checked_address_is_the_one_connected_to(
    httpserver: HTTPServer, fake_dns: dict[str, str], egress_allow: Allow
) -> None:
    """DNS rebinding: the name is resolved once; a second answer cannot redirect the socket."""
    httpserver.expect_request("/items").respond_with_json({"ok": True})
    egress_allow("127.0.0.1/32")
    answers = iter(["127.0.0.1", "10.0.0.1"])  # checked answer, then a rebinding one
    real = socket.getaddrinfo

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example.test":
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", rebinding)
        with egress.client() as client:
            response = client.get(f"http://rebind.example.test:{httpserver.port}/items")
    assert response.json() == {"ok": True}
    assert next(answers) == "10.0.0.1"  # resolved exactly once
    # The Host header (and TLS SNI) keep the name; only the socket uses the address.
    assert httpserver.log[0][0].headers["Host"] == f"rebind.example.test:{httpserver.port}"


def test_an_allowed_host_name_reaches_its_private_address(
    httpserver: HTTPServer, sleeps: list[float], fake_dns: dict[str, str], egress_allow: Allow
) -> None:
    httpserver.expect_request("/items").respond_with_json({"ok": True})
    fake_dns["mastodon.lan"] = "127.0.0.1"
    egress_allow("mastodon.lan")

    http = make_http(f"http://mastodon.lan:{httpserver.port}/", sleeps)
    assert http.get_json("example.items", "items") == {"ok": True}
    # The allowance is for the name, not for what else lives at that address.
    with pytest.raises(EgressDenied):
        make_http(httpserver.url_for("/"), sleeps).get_json("example.items", "items")


def self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_tls_verifies_the_host_name_while_connecting_to_the_checked_address(
    tmp_path: Path, fake_dns: dict[str, str], egress_allow: Allow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket goes to the checked IP; SNI and certificate checks still use the name."""
    cert_file, key_file = self_signed("social.example.test", tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        server.expect_request("/items").respond_with_json({"ok": True})
        fake_dns["social.example.test"] = "127.0.0.1"
        fake_dns["other.example.test"] = "127.0.0.1"
        egress_allow("127.0.0.1/32")  # the address, not the name: the resolving path
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the operator's own CA

        with egress.client() as client:
            good = client.get(f"https://social.example.test:{server.port}/items")
            assert good.json() == {"ok": True}
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"https://other.example.test:{server.port}/items")
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def test_a_redirect_to_a_refused_address_is_refused(
    httpserver: HTTPServer, egress_allow: Allow
) -> None:
    inner = HTTPServer(host="127.0.0.2", port=0)
    inner.start()
    try:
        inner.expect_request("/latest/meta-data").respond_with_data("role-credentials")
        target = f"http://127.0.0.2:{inner.port}/latest/meta-data"
        httpserver.expect_request("/go").respond_with_data(
            "", status=302, headers={"Location": target}
        )
        egress_allow("127.0.0.1/32")  # the first server only

        with egress.client(follow_redirects=True) as client:
            with pytest.raises(egress.EgressRefused, match="127.0.0.2"):
                client.get(f"http://127.0.0.1:{httpserver.port}/go")
        assert len(httpserver.log) == 1
        assert inner.log == []
    finally:
        inner.clear()
        if inner.is_running():
            inner.stop()


def test_environment_proxies_are_ignored(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, egress_allow: Allow
) -> None:
    """A proxy would connect on our behalf, out of the policy's sight."""
    httpserver.expect_request("/items").respond_with_json({"ok": True})
    egress_allow("127.0.0.1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "")

    with egress.client() as client:
        assert client.get(f"http://127.0.0.1:{httpserver.port}/items").json() == {"ok": True}
    with pytest.raises(ValueError, match="owns its transport"):
        egress.client(trust_env=True)


# --------------------------------------------------------------------------- what users read


def test_closed_open_and_silent_ports_read_the_same(
    raw_server: Callable[[bytes | None], int], sleeps: list[float], egress_allow: Allow
) -> None:
    """Refused, reset, not HTTP, timed out: one message, so a user cannot map ports."""
    egress_allow("127.0.0.1")
    ports = {
        "closed": free_port(),
        "ssh-like": raw_server(b"SSH-2.0-OpenSSH_9.6\r\n"),
        "silent": raw_server(None),
    }
    messages = {}
    for name, port in ports.items():
        http = make_http(f"http://127.0.0.1:{port}/", sleeps, timeout=0.5, max_attempts=1)
        with pytest.raises(TransientError) as excinfo:
            http.get_json("example.items", "items")
        messages[name] = str(excinfo.value)
    assert set(messages.values()) == {"Example could not be reached for example.items"}


def test_closed_and_open_private_ports_read_the_same_by_default(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    httpserver.expect_request("/items").respond_with_json({})
    messages = set()
    for port in (httpserver.port, free_port()):
        with pytest.raises(EgressDenied) as excinfo:
            make_http(f"http://127.0.0.1:{port}/", sleeps).get_json("example.items", "items")
        messages.add(str(excinfo.value))
    assert len(messages) == 1


@respx.mock
@pytest.mark.parametrize("status", [200, 403, 404, 500])
def test_an_html_body_is_never_echoed(status: int, sleeps: list[float]) -> None:
    respx.get("https://api.example.test/items").mock(
        return_value=httpx.Response(
            status,
            html="<html><body><h1>Internal admin</h1><p>db password: hunter2</p></body></html>",
        )
    )
    with pytest.raises(ProviderError) as excinfo:
        make_http("https://api.example.test/", sleeps, max_attempts=1).get_json(
            "example.items", "items"
        )
    message = str(excinfo.value)
    assert f"HTTP {status}" in message
    assert "hunter2" not in message and "Internal admin" not in message and "<" not in message


@respx.mock
def test_a_json_error_message_is_kept_short_and_without_markup(sleeps: list[float]) -> None:
    respx.get("https://api.example.test/items").mock(
        return_value=httpx.Response(
            400, json={"error": {"message": "<b>Bad</b>\n request " + "x" * 1000}}
        )
    )
    with pytest.raises(PermanentError) as excinfo:
        make_http("https://api.example.test/", sleeps).get_json("example.items", "items")
    message = str(excinfo.value)
    assert message.startswith("Example returned HTTP 400 for example.items: Bad request xxx")
    assert len(message) < 400
    assert "<b>" not in message and "\n" not in message


@respx.mock
def test_an_unknown_json_error_body_is_not_dumped(sleeps: list[float]) -> None:
    respx.get("https://api.example.test/items").mock(
        return_value=httpx.Response(400, json={"AccessKeyId": "AKIA-secret", "Token": "t0k"})
    )
    with pytest.raises(PermanentError) as excinfo:
        make_http("https://api.example.test/", sleeps).get_json("example.items", "items")
    assert str(excinfo.value) == "Example returned HTTP 400 for example.items"
