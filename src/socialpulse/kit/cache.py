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
from dataclasses import dataclass
from typing import Protocol

import redis
import structlog
from cachetools import LRUCache

log = structlog.get_logger(__name__)

# A shared cache that does not answer within this is skipped (the value is computed instead).
REDIS_TIMEOUT_S = 0.25


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
