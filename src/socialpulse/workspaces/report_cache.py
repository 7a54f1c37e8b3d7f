"""Cached report responses, keyed by (workspace, path, query, data version, clock bucket).

A route asks ``ReportCache.respond(Model, compute)``: the workspace's data version is read first
(one primary-key SELECT in the route's own transaction), then the response comes from the cache,
or ``compute()`` runs and its result is serialised as FastAPI would (the route's response model,
by alias, JSON) and stored. A write bumps the version (``versions``), so the next read has a new
key: a cached response is never older than the data it was read after.

A report that read interactions or the reply queue (each bumps a version of its own, see
``versions``) is stored with those versions as they were when it was computed, and served only
while they still hold.

Reports whose window ends "now" also depend on the clock: the key holds the current
``response_cache_clock_s`` bucket, so such a window lags the clock by at most that long.

The ETag is the key's HMAC (with those versions, for a report that read such tables):
``If-None-Match`` with it answers 304 without computing anything.
The workspace id leads every key, so no other workspace's request can reach the entry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from socialpulse import __version__
from socialpulse.config import Settings
from socialpulse.kit import cache as kit_cache
from socialpulse.workspaces import fast_reads, versions

CACHE_CONTROL = "private, no-cache"  # browsers keep it but ask (If-None-Match) every time
_opening = threading.Lock()


@dataclass(frozen=True)
class _Store:
    cache: kit_cache.BytesCache
    secret: bytes
    clock_s: int
    # Concurrent misses of one entry in this process compute it once.
    coalescer: kit_cache.Coalescer[Stored] = field(default_factory=kit_cache.Coalescer)


def _store(request: Request) -> _Store | None:
    """The app's cache, opened on first use (None when SOCIALPULSE_RESPONSE_CACHE is off)."""
    state = request.app.state
    store: _Store | None = getattr(state, "response_cache", None)
    if store is not None:
        return store
    settings: Settings = state.settings
    if not settings.response_cache:
        return None
    with _opening:
        store = getattr(state, "response_cache", None)
        if store is None:
            store = state.response_cache = _Store(
                kit_cache.open_cache(
                    settings.effective_cache_url,
                    max_bytes=settings.response_cache_mb * 1024 * 1024,
                    # The code version too: a new release may shape the same report differently.
                    namespace=f"socialpulse:responses:{__version__}",
                    # A key lives one clock bucket; keep it a little longer for slow readers.
                    ttl_s=2 * settings.response_cache_clock_s,
                ),
                settings.resolved_secret_key().encode(),
                settings.response_cache_clock_s,
            )
    return store


@cache
def _adapter(response_model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(response_model)


def render(response_model: Any, value: object) -> bytes:
    """``value`` as FastAPI sends it for a route with this response model (validated from
    attributes, then dumped to JSON by alias: FastAPI's own fast path, byte for byte)."""
    adapter = _adapter(response_model)
    return adapter.dump_json(adapter.validate_python(value, from_attributes=True), by_alias=True)


class ReportCache:
    """One request's access to the cache, for the subject's workspace."""

    def __init__(
        self, request: Request, session: Session, workspace_id: int, api_key_id: int | None = None
    ) -> None:
        self.request = request
        self.session = session
        self.workspace_id = workspace_id
        self.api_key_id = api_key_id

    def respond(self, response_model: Any, compute: Callable[[], object]) -> object:
        store = _store(self.request)
        if store is None:
            return self._uncached(response_model, compute)
        found = versions.current_versions(self.session, self.workspace_id)
        return self._respond(
            store, response_model, compute, f"w{self.workspace_id}", found.data, found
        )

    def respond_shared(
        self, response_model: Any, compute: Callable[[], object], *, scope: str, version: int
    ) -> object:
        """For data the instance shares (creator reports): keyed by the caller's ``scope`` (what
        it may see of the data, e.g. ``creator7:full``) and the data's own ``version`` instead
        of the workspace's. The caller reads ``version`` before the data, in one transaction."""
        store = _store(self.request)
        if store is None:
            return self._uncached(response_model, compute)
        return self._respond(store, response_model, compute, f"s:{scope}", version)

    @staticmethod
    def _uncached(response_model: Any, compute: Callable[[], object]) -> Response:
        # The bytes FastAPI would send, made here in the route's thread: returned as a value,
        # FastAPI would validate it in a thread hop of its own after the route's.
        return Response(render(response_model, compute()), media_type="application/json")

    def _respond(
        self,
        store: _Store,
        response_model: Any,
        compute: Callable[[], object],
        scope: str,
        version: int,
        workspace: versions.Versions | None = None,
    ) -> object:
        url = self.request.url
        key = kit_cache.make_key(
            store.secret,
            scope,
            version,
            int(time.time() // store.clock_s),
            url.path,
            sorted(self.request.query_params.multi_items()),
        )
        stored = Stored.decode(store.cache.get(key.storage))
        if stored is None or (workspace is not None and not stored.fresh(workspace)):

            def computed() -> Stored:
                with versions.reading() as reads:
                    body = render(response_model, compute())
                depends: tuple[tuple[str, int], ...] = ()
                if workspace is not None:
                    depends = tuple(
                        (column, workspace.of(column)) for column in sorted(reads.versions)
                    )
                fresh = Stored(depends, body)
                store.cache.set(key.storage, fresh.encode())
                return fresh

            # The key holds the data version and clock bucket this request read; a result
            # computed by another request is taken only if it is fresh for this request's
            # versions of the tables it read too.
            stored = store.coalescer.run(
                key.storage,
                computed,
                lambda other: workspace is None or other.fresh(workspace),
            )
        etag = stored.etag(store.secret, key)
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
        if kit_cache.etag_matches(self.request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        fast_reads.file_response(
            self.request.scope,
            api_key_id=self.api_key_id,
            body=stored.body,
            etag=etag,
            cache_control=CACHE_CONTROL,
            clock_s=store.clock_s,
            workspace_version=(self.workspace_id, version) if workspace is not None else None,
            depends=stored.depends,
        )
        return Response(stored.body, media_type="application/json", headers=headers)


@dataclass(frozen=True)
class Stored:
    """A cached body and the versions, besides the key's data version, it was computed at: the
    version columns of the separately versioned tables its computation read (none for most)."""

    depends: tuple[tuple[str, int], ...]
    body: bytes

    def fresh(self, workspace: versions.Versions) -> bool:
        return all(workspace.of(column) == value for column, value in self.depends)

    def etag(self, secret: bytes, key: kit_cache.CacheKey) -> str:
        if not self.depends:
            return key.etag
        return kit_cache.make_key(secret, "etag", key.digest, self.depends).etag

    def encode(self) -> bytes:
        header = ",".join(f"{column}={value}" for column, value in self.depends)
        return header.encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes | None) -> Stored | None:
        """None for a missing or unreadable entry (one stored by an older release): a miss."""
        if raw is None:
            return None
        header, newline, body = raw.partition(b"\n")
        if not newline:
            return None
        depends: list[tuple[str, int]] = []
        for part in filter(None, header.decode("ascii", "replace").split(",")):
            column, _, value = part.partition("=")
            if column not in versions.VERSION_COLUMNS or not value.isdigit():
                return None
            depends.append((column, int(value)))
        return cls(tuple(depends), body)
