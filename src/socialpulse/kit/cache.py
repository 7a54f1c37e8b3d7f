"""A bytes cache for immutable entries: in-process (bounded LRU) or shared through Redis.

Entries are never invalidated, only forgotten: a key names everything its value depends on (the
caller puts a data version in it), so a changed input is a new key and the old entry ages out of
the LRU, or of Redis by its TTL. That is also why a process may keep a local copy in front of
Redis without ever serving a stale one. No domain knowledge here: what goes into a key is the
caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, cast

import redis
import structlog
from cachetools import LRUCache

log = structlog.get_logger(__name__)

# A shared cache that does not answer within this is skipped (the value is computed instead).
REDIS_TIMEOUT_S = 0.25
# A request waiting for another thread's computation of the same entry computes it itself
# after this long: a stuck computation must not hold every reader of its key.
COALESCE_WAIT_S = 10.0

T = TypeVar("T")


class BytesCache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...


@dataclass(frozen=True)
class CacheKey:
    """A key's storage name (``<scope>:<digest>``) and the HTTP entity tag made from it.

    The digest is an HMAC: an ETag cannot be forged for a key its client never received, and
    key parts (paths, query strings) never reach the store in clear."""

    scope: str
    digest: str

    @property
    def storage(self) -> str:
        return f"{self.scope}:{self.digest}"

    @property
    def etag(self) -> str:
        return f'W/"{self.digest}"'


def make_key(secret: bytes, scope: str, *parts: object) -> CacheKey:
    material = "\x1f".join([scope, *(repr(part) for part in parts)]).encode()
    digest = hmac.new(secret, material, hashlib.sha256).hexdigest()[:40]
    return CacheKey(scope, digest)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against ``etag``."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


class MemoryCache:
    """A per-process LRU bounded by the total size of its values."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[str, bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)
        self._lock = threading.Lock()  # routes run in a thread pool; LRUCache is not safe

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._entries.get(key)

    def set(self, key: str, value: bytes) -> None:
        if len(value) > self._entries.maxsize:
            return  # larger than the whole cache: LRUCache would raise
        with self._lock:
            self._entries[key] = value


class RedisCache:
    """Entries shared by every process on one Redis; a failing Redis is a miss, not an error."""

    def __init__(self, url: str, *, namespace: str, ttl_s: int) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._namespace = namespace
        self._ttl_s = ttl_s

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(f"{self._namespace}:{key}")
        except redis.RedisError as exc:
            log.warning("kit.cache.redis_failed", op="get", error=str(exc))
            return None
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes) -> None:
        try:
            self._client.set(f"{self._namespace}:{key}", value, ex=self._ttl_s)
        except redis.RedisError as exc:
            log.warning("kit.cache.redis_failed", op="set", error=str(exc))


class TieredCache:
    """A local LRU in front of a shared cache: hits cost no network round trip."""

    def __init__(self, local: BytesCache, shared: BytesCache) -> None:
        self.local = local
        self.shared = shared

    def get(self, key: str) -> bytes | None:
        value = self.local.get(key)
        if value is None:
            value = self.shared.get(key)
            if value is not None:
                self.local.set(key, value)
        return value

    def set(self, key: str, value: bytes) -> None:
        self.local.set(key, value)
        self.shared.set(key, value)


def open_cache(url: str, *, max_bytes: int, namespace: str, ttl_s: int) -> BytesCache:
    """``memory://`` (or empty): this process only. ``redis://...``: shared, with a local LRU."""
    local = MemoryCache(max_bytes)
    if not url or url == "memory://":
        return local
    if url.startswith(("redis://", "rediss://", "unix://")):
        return TieredCache(local, RedisCache(url, namespace=namespace, ttl_s=ttl_s))
    raise ValueError(f"unsupported cache URL {url!r}: use memory:// or redis://host:port/db")


@dataclass
class _Flight(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    ok: bool = False
    waiting: int = 0


class Coalescer(Generic[T]):
    """Requests of this process that miss the same key at once share one computation.

    Without it, an entry invalidated by a write (or a new clock bucket) is computed by every
    request that arrives before the first one finishes: on PostgreSQL up to 40 threads run the
    same report side by side, and on SQLite the read pool's threads fight over the GIL, so each
    of them finishes later than one computation would. Here the first request computes and the
    others wait for its result, then check it with ``accept`` (their own view of what it must be
    fresh for); a result they may not take, a failure or a computation still running after
    ``wait_s`` makes each of them compute its own, as it would have without coalescing.
    """

    def __init__(self, wait_s: float = COALESCE_WAIT_S) -> None:
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight[T]] = {}

    def run(
        self,
        key: Hashable,
        compute: Callable[[], T],
        accept: Callable[[T], bool] = lambda _value: True,
    ) -> T:
        with self._lock:
            flight = self._flights.get(key)
            leading = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.waiting += 1
        if leading:
            try:
                flight.value = compute()
                flight.ok = True
                return flight.value
            finally:
                with self._lock:
                    del self._flights[key]
                flight.done.set()
                if flight.waiting:
                    log.debug("kit.cache.coalesced", waiting=flight.waiting, ok=flight.ok)
        if flight.done.wait(self._wait_s) and flight.ok:
            value = cast(T, flight.value)  # set whenever ok is
            if accept(value):
                return value
        return compute()

    def waiting(self, key: Hashable) -> int:
        """How many requests wait for the computation of ``key`` running now (0: none runs)."""
        with self._lock:
            flight = self._flights.get(key)
            return flight.waiting if flight else 0
