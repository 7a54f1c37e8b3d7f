"""Cached report reads answered before the app, while the database is provably unchanged.

A cached report read through the app still costs routing, dependency resolution, a session, the
API key's lookup and the workspace version's: more than the report's bytes are worth. On SQLite
there is a cheaper proof that nothing changed: ``PRAGMA data_version`` (``db.ChangeCounter``)
moves whenever any connection of any process commits anything. So:

1. ``FastReads`` (pure ASGI, ahead of the session and the router) reads the counter when a GET
   under ``/api/v1/`` carries a bearer key, and hands the request a ``Ticket``: a digest of
   (Authorization header, path, query string) and the counter read *before* the app's own
   transaction began.
2. ``ReportCache.respond`` answers as before (version-keyed cache) and files the response under
   the ticket with that counter reading: the response reflects a database at least as new.
3. The next request with the same header, path and query, while the counter still reads the
   same and the clock bucket is the same, is answered from the table: same body, ETag and
   headers, 304 for a matching ``If-None-Match``, and the same per-key rate limit.
4. Any write anywhere changes the counter. Most are not about the entry (the queue's
   bookkeeping, another workspace's data), so the first request after one asks the database
   again, in one primary-key lookup on the counter's connection, what the app would check: the
   workspace's data version the body was computed at, the key unrevoked, its creator still
   active, no record of the key's use due. If all hold, the entry stands for the new counter
   reading; otherwise (new data, a revoked key, a deactivated user) the request goes through
   the app again.

Only API keys are served here (dashboard pages carry a session cookie the app must re-sign), and
only where the rate limiter counts in this process (the embedded default): a shared limiter is
a network round trip the event loop must not wait for. PostgreSQL has no such counter; there the
app's own cache answers (one version read per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from socialpulse.db import ChangeCounter
from socialpulse.kit import cache as kit_cache
from socialpulse.kit.clock import utcnow
from socialpulse.workspaces import versions
from socialpulse.workspaces.service import LAST_USED_RESOLUTION

TICKET = "socialpulse.fast_read"
# How long a request waits for another's refresh of the same entry before going itself.
FOLLOW_TIMEOUT_S = 5.0
API_PREFIX = "/api/v1/"
_ENTRY_OVERHEAD = 256  # bytes an entry costs beyond its body, for the table's size bound
# What the app would check again for an entry's key and workspace: the workspace's versions,
# the key unrevoked, its creator (if any) still active, and the key's last use recent enough
# that no touch is due (the app's path records it). One indexed lookup, on the counter's own
# connection.
_RECHECK_SQL = (
    f"SELECT {', '.join(f'w.{column}' for column in versions.VERSION_COLUMNS)},"
    " k.revoked_at IS NULL, u.is_active, k.last_used_at"
    " FROM api_keys AS k JOIN workspaces AS w ON w.id = k.workspace_id"
    " LEFT JOIN users AS u ON u.id = k.created_by_user_id"
    " WHERE k.id = ? AND k.workspace_id = ?"
)


@dataclass(frozen=True)
class Ticket:
    lookup: bytes
    generation: int


@dataclass(frozen=True)
class Entry:
    generation: int
    clock_bucket: int
    api_key_id: int
    body: bytes
    etag: str
    cache_control: str
    route: Any  # the matched route, for the latency metric and logs outside
    # The workspace whose data version the body was computed at, or None (data the instance
    # shares, versioned on its own): such an entry lives only while the counter stands still.
    workspace_id: int | None = None
    version: int | None = None
    # The workspace's other versions the body depends on (versions.SEPARATELY_VERSIONED).
    depends: tuple[tuple[str, int], ...] = ()


def clock_bucket(clock_s: int) -> int:
    return int(time.time() // clock_s)


class ShortcutTable:
    """Entries by ticket lookup, bounded by the size of their bodies (LRU)."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[bytes, Entry] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: len(entry.body) + _ENTRY_OVERHEAD
        )
        self._lock = threading.Lock()  # filed from the thread pool, read on the event loop

    def get(self, lookup: bytes) -> Entry | None:
        with self._lock:
            return self._entries.get(lookup)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def file(self, lookup: bytes, entry: Entry) -> None:
        if len(entry.body) + _ENTRY_OVERHEAD > self._entries.maxsize:
            return
        with self._lock:
            self._entries[lookup] = entry


def file_response(
    scope: Scope,
    *,
    api_key_id: int | None,
    body: bytes,
    etag: str,
    cache_control: str,
    clock_s: int,
    workspace_version: tuple[int, int] | None = None,
    depends: tuple[tuple[str, int], ...] = (),
) -> None:
    """Called by the app's cache with a 200 it just sent for a request ``FastReads`` ticketed."""
    ticket: Ticket | None = scope.get(TICKET)
    table: ShortcutTable | None = getattr(scope["app"].state, "fast_reads", None)
    if ticket is None or table is None or api_key_id is None:
        return
    workspace_id, version = workspace_version or (None, None)
    entry = Entry(
        ticket.generation,
        clock_bucket(clock_s),
        api_key_id,
        body,
        etag,
        cache_control,
        scope.get("route"),
        workspace_id,
        version,
        depends,
    )
    table.file(ticket.lookup, entry)


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None]:
    authorization = if_none_match = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"if-none-match":
            if_none_match = value
    return authorization, if_none_match


class FastReads:
    """The ASGI side: tickets requests, answers the ones the table can prove fresh."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state
        # Lookups whose stale entry one request is refreshing through the app right now.
        self._refreshing: dict[bytes, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        state = self.state
        counter = state.db.change_counter
        limiter = state.api_rate_limiter
        if counter is None or limiter.memory is None or not state.settings.response_cache:
            await self.app(scope, receive, send)
            return
        authorization, if_none_match = _headers(scope)
        if authorization is None or not authorization.startswith(b"Bearer "):
            await self.app(scope, receive, send)
            return
        lookup = hashlib.blake2b(
            b"\x1f".join((authorization, scope["path"].encode(), scope["query_string"])),
            digest_size=20,
        ).digest()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FOLLOW_TIMEOUT_S
        while True:
            if await self._answered(lookup, counter, if_none_match, scope, send):
                return
            leader = self._refreshing.get(lookup)
            if leader is None:
                break
            # Another request is already refreshing this entry: a commit anywhere made all of
            # them miss at once, and each going through the app queued them behind each other
            # (the p99). Wait for its answer instead, then serve it if still provably fresh. If
            # another commit landed meanwhile, the first waiter to wake leads the next refresh
            # and the rest wait again: commits in a burst cost one refresh each, not one per
            # waiting request.
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(leader.wait(), remaining)
        scope[TICKET] = Ticket(lookup, counter.read())
        if leader is not None or state.fast_reads.get(lookup) is None:
            # Never filed (a route the cache does not serve), or the refreshes kept missing
            # for FOLLOW_TIMEOUT_S: nothing to wait for, or waited long enough.
            await self.app(scope, receive, send)
            return
        done = self._refreshing[lookup] = asyncio.Event()
        try:
            await self.app(scope, receive, send)
        finally:
            del self._refreshing[lookup]
            done.set()

    async def _answered(
        self,
        lookup: bytes,
        counter: ChangeCounter,
        if_none_match: bytes | None,
        scope: Scope,
        send: Send,
    ) -> bool:
        state = self.state
        entry: Entry | None = state.fast_reads.get(lookup)
        if entry is not None and entry.generation != counter.read():
            entry = self._recheck(lookup, entry, counter)
        if (
            entry is None
            or entry.clock_bucket != clock_bucket(state.settings.response_cache_clock_s)
            # Over the limit: the app answers (429 with Retry-After, in the error shape).
            or state.api_rate_limiter.hit(f"key:{entry.api_key_id}") is not None
        ):
            return False
        scope["route"] = entry.route
        await self._answer(entry, if_none_match, send)
        return True

    def _recheck(self, lookup: bytes, entry: Entry, counter: ChangeCounter) -> Entry | None:
        """After a commit somewhere: the entry again, stamped with the counter's new reading,
        if that commit changed nothing the app would see for it (most commits are the queue's
        bookkeeping or another workspace's data), else None and the app answers.

        One primary-key lookup on the event loop, on SQLite: cheaper than the thread hop the
        app's path would take to run it."""
        if entry.workspace_id is None or entry.version is None:
            return None
        generation, row = counter.read_then_query(
            _RECHECK_SQL, (entry.api_key_id, entry.workspace_id)
        )
        if row is None:
            return None  # the key or the workspace is gone
        found = dict(zip(versions.VERSION_COLUMNS, row, strict=False))
        unrevoked, creator_active, last_used = row[len(versions.VERSION_COLUMNS) :]
        if found[versions.DATA_VERSION] != entry.version or not unrevoked or creator_active == 0:
            return None
        if any(found[column] != value for column, value in entry.depends):
            return None
        if last_used is None or utcnow() - _stored_utc(last_used) > LAST_USED_RESOLUTION:
            return None
        fresh = dataclasses.replace(entry, generation=generation)
        self.state.fast_reads.file(lookup, fresh)
        return fresh

    @staticmethod
    async def _answer(entry: Entry, if_none_match: bytes | None, send: Send) -> None:
        headers = [(b"etag", entry.etag.encode()), (b"cache-control", entry.cache_control.encode())]
        if kit_cache.etag_matches(
            if_none_match.decode("latin-1") if if_none_match else None, entry.etag
        ):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-length", str(len(entry.body)).encode()),
            (b"content-type", b"application/json"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})


def _stored_utc(value: str) -> dt.datetime:
    """A datetime column as SQLite holds it (naive UTC text, see db.UTCDateTime), made aware."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
