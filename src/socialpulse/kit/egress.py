"""The egress policy: which addresses outbound HTTP may connect to.

Users hand us URLs and host names (a Mastodon instance, a Bluesky PDS) that the server then
calls. Without a policy that is server-side request forgery: ``@a@127.0.0.1:6379`` or
``169.254.169.254`` would make the server talk to its own network. So every outbound client is
built by ``client()`` here, whose transport checks each TCP connection **at connect time**:

* the host is resolved once, every resolved address is checked, and the socket is opened to a
  checked address itself (never to the name again), so a DNS answer that changes between the
  check and the connect (rebinding) cannot slip through; TLS still sends and verifies the host
  name (SNI), because httpcore takes ``server_hostname`` from the URL, not from the socket;
* redirects open new connections through the same transport, so they are checked too;
* loopback, private (RFC 1918, ULA ``fc00::/7``), link-local (``169.254/16``, ``fe80::/10``),
  multicast, reserved, unspecified and shared (CGNAT ``100.64/10``) addresses are refused, also
  when wrapped in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4);
* environment proxies are ignored (``trust_env=False``): a proxy would connect for us, out of
  the policy's sight.

Operators allow what they mean to reach with ``SOCIALPULSE_EGRESS_ALLOW``: comma-separated
CIDRs (``10.0.0.0/8``), addresses, host names (``mastodon.lan``) or ``*.`` suffixes
(``*.corp.lan``). An allowed host name is connected to whatever it resolves to.

A refusal raises ``EgressRefused`` (not an ``httpx`` error, so nothing treats it as a network
failure worth retrying); ``socialpulse.providers.http`` turns it into the typed ``EgressDenied``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpcore
import httpx
import structlog

__all__ = [
    "ALLOW_SETTING",
    "EgressPolicy",
    "EgressRefused",
    "EgressTransport",
    "IPAddress",
    "client",
    "current_policy",
    "forbidden_reason",
    "parse_allow",
    "set_policy",
    "using_policy",
]

log = structlog.get_logger(__name__)

ALLOW_SETTING = "SOCIALPULSE_EGRESS_ALLOW"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class EgressRefused(Exception):
    """The policy refused a connection. ``str()`` is safe to show a user: it names the host
    they gave, never what it resolved to (that stays in the operator's log)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(
            f"refusing to connect to a private address: {host} is not on the public internet "
            f"(an operator can allow it with {ALLOW_SETTING})"
        )


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address, or ``None`` when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 is judged as the IPv4 address it reaches.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden_reason(embedded)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared (CGNAT)"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not globally routable"
    return None


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Public addresses always; private ones only inside ``networks`` or for ``hosts``."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()  # from "*.corp.lan": ".corp.lan"

    def host_allowed(self, host: str) -> bool:
        """Whether the operator allowed this host *name* (or IP literal) explicitly."""
        name = _normal_host(host)
        if name in self.hosts or any(name.endswith(suffix) for suffix in self.suffixes):
            return True
        address = _ip_literal(name)
        return address is not None and self.address_allowed(address)

    def address_allowed(self, address: IPAddress) -> bool:
        if forbidden_reason(address) is None:
            return True
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(c.version == n.version and c in n for c in candidates for n in self.networks)

    def check_host(self, host: str) -> None:
        """Refuse a host that is an IP literal outside the policy, or ``localhost``.

        For checks made before any connection (a handle's instance): a host name's addresses
        are checked again when the connection is made.
        """
        if self.host_allowed(host):
            return
        name = _normal_host(host)
        address = _ip_literal(name)
        if address is not None:
            reason = forbidden_reason(address)
            if reason is not None:
                raise EgressRefused(host, reason)
        elif name == "localhost" or name.endswith(".localhost"):
            raise EgressRefused(host, "loopback")

    def check_addresses(self, host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
        """The addresses of ``host`` that may be connected to; refuses when there is none."""
        if self.host_allowed(host):
            return list(addresses)
        allowed: list[IPAddress] = []
        refused: list[tuple[IPAddress, str]] = []
        for address in addresses:
            if self.address_allowed(address):
                allowed.append(address)
            else:
                refused.append((address, forbidden_reason(address) or "refused"))
        if refused:
            log.warning(
                "egress.connect.refused",
                host=host,
                addresses=[str(a) for a, _ in refused],
                reasons=sorted({r for _, r in refused}),
                remaining=len(allowed),
            )
        if not allowed:
            raise EgressRefused(host, refused[0][1] if refused else "no address")
        return allowed


def parse_allow(spec: str) -> EgressPolicy:
    """``"10.0.0.0/8, mastodon.lan, *.corp.lan, 192.168.1.5"`` → an ``EgressPolicy``."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    suffixes: list[str] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        if "/" in item or _ip_literal(item) is not None:
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError as exc:
                raise ValueError(f"{ALLOW_SETTING}: {item!r} is not a network: {exc}") from exc
            continue
        name = _normal_host(item)
        if name.startswith("*."):
            suffixes.append(name[1:])
            continue
        labels = name.split(".")
        if not all(label and all(c.isalnum() or c in "-_" for c in label) for label in labels):
            raise ValueError(f"{ALLOW_SETTING}: {item!r} is not a CIDR, address or host name")
        hosts.add(name)
    return EgressPolicy(networks=tuple(networks), hosts=frozenset(hosts), suffixes=tuple(suffixes))


# --------------------------------------------------------------------------- the process policy

_override: EgressPolicy | None = None
_override_lock = threading.Lock()


@lru_cache(maxsize=8)
def _from_spec(spec: str) -> EgressPolicy:
    return parse_allow(spec)


def current_policy() -> EgressPolicy:
    """The policy in force: the one set by ``set_policy``, else ``SOCIALPULSE_EGRESS_ALLOW``.

    Read at each connection, so a policy set after a client was built still applies.
    """
    override = _override
    if override is not None:
        return override
    from socialpulse.config import get_settings  # kit stays importable without settings

    return _from_spec(get_settings().egress_allow)


def set_policy(policy: EgressPolicy | None) -> EgressPolicy | None:
    """Replace the process policy (``None``: back to the setting); returns the previous one."""
    global _override
    with _override_lock:
        previous, _override = _override, policy
    return previous


@contextmanager
def using_policy(policy: EgressPolicy | str) -> Iterator[EgressPolicy]:
    """Run a block under another policy (tests, a one-off CLI check)."""
    chosen = parse_allow(policy) if isinstance(policy, str) else policy
    previous = set_policy(chosen)
    try:
        yield chosen
    finally:
        set_policy(previous)


# --------------------------------------------------------------------------- the transport


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host`` (A and AAAA), in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        seen.setdefault(ipaddress.ip_address(text), None)
    return list(seen)


class _EgressBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: Callable[[], EgressPolicy]) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        policy = self._policy()
        literal = _ip_literal(host)
        if literal is not None:
            addresses = [literal]
        elif policy.host_allowed(host):
            # The operator trusts this name whatever it resolves to.
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        else:
            try:
                addresses = _resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        allowed = policy.check_addresses(host, addresses)
        last: Exception | None = None
        for address in allowed:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise EgressRefused(path, "unix socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpx's own defaults.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class EgressTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose every connection passes the egress policy."""

    def __init__(
        self,
        policy: Callable[[], EgressPolicy] = current_policy,
        *,
        limits: httpx.Limits = _LIMITS,
    ) -> None:
        # HTTPTransport.__init__ only builds a pool, which has no way to take another network
        # backend, so we build the pool ourselves. The TLS context keeps honouring
        # SSL_CERT_FILE / SSL_CERT_DIR (a LAN instance's own CA): that cannot widen where we
        # connect, only what we trust.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=True),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_EgressBackend(policy),
        )


def client(*, policy: Callable[[], EgressPolicy] = current_policy, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` under the egress policy; ``kwargs`` go to ``httpx.Client``.

    ``trust_env=False``: ``HTTP(S)_PROXY`` / ``ALL_PROXY`` would route around the policy.
    """
    if {"transport", "mounts", "proxy", "trust_env"} & kwargs.keys():
        raise ValueError("an egress client owns its transport and ignores the environment")
    return httpx.Client(transport=EgressTransport(policy), trust_env=False, **kwargs)
