"""The bytes cache: bounded by size, weak ETag comparison, unforgeable keys, Redis as a miss;
concurrent misses of one key computed once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from socialpulse.kit import cache


def test_memory_cache_forgets_the_least_recently_used_beyond_its_size() -> None:
    store = cache.MemoryCache(max_bytes=10)
    store.set("a", b"1234")
    store.set("b", b"5678")
    assert store.get("a") == b"1234"  # "a" is now the most recent
    store.set("c", b"90ab")
    assert store.get("b") is None
    assert store.get("a") == b"1234" and store.get("c") == b"90ab"
    store.set("huge", b"x" * 11)  # larger than the whole cache: not kept, no error
    assert store.get("huge") is None


def test_keys_depend_on_every_part_and_on_the_secret() -> None:
    key = cache.make_key(b"s1", "w1", 7, "/a", [("x", "1")])
    assert key.storage.startswith("w1:")
    assert key == cache.make_key(b"s1", "w1", 7, "/a", [("x", "1")])
    assert key != cache.make_key(b"s1", "w1", 8, "/a", [("x", "1")])
    assert key != cache.make_key(b"s1", "w2", 7, "/a", [("x", "1")])
    assert key != cache.make_key(b"s2", "w1", 7, "/a", [("x", "1")])


def test_if_none_match_uses_weak_comparison() -> None:
    etag = cache.make_key(b"s", "w1", 1).etag
    assert etag.startswith('W/"')
    assert cache.etag_matches(etag, etag)
    assert cache.etag_matches(etag.removeprefix("W/"), etag)
    assert cache.etag_matches(f'"other", {etag}', etag)
    assert cache.etag_matches("*", etag)
    assert not cache.etag_matches('"other"', etag)
    assert not cache.etag_matches(None, etag)


def test_an_unreachable_redis_is_a_miss_and_the_local_copy_still_serves() -> None:
    store = cache.open_cache("redis://127.0.0.1:1/0", max_bytes=1024, namespace="t", ttl_s=60)
    assert isinstance(store, cache.TieredCache)
    assert store.get("k") is None
    store.set("k", b"v")  # Redis fails, the local LRU keeps it
    assert store.get("k") == b"v"


# --- coalescing concurrent misses ----------------------------------------------------------


class _Blocked:
    """A computation that stays running until released, counting its calls."""

    def __init__(self, value: str = "report") -> None:
        self.value = value
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
        self.started.set()
        assert self.release.wait(10), "never released"
        return self.value


class _InThread:
    """``call()`` in a thread of its own; ``outcome`` is what it returned or raised."""

    def __init__(self, call: Callable[[], str]) -> None:
        self.outcome: str | BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,))
        self._thread.start()

    def _run(self, call: Callable[[], str]) -> None:
        try:
            self.outcome = call()
        except Exception as exc:  # the test looks at what each caller got
            self.outcome = exc

    def joined(self) -> str | BaseException | None:
        self._thread.join(10)
        assert not self._thread.is_alive()
        return self.outcome


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def test_concurrent_misses_of_one_key_compute_once_and_share_the_result() -> None:
    coalescer: cache.Coalescer[str] = cache.Coalescer()
    compute = _Blocked()
    requests = [_InThread(lambda: coalescer.run("k", compute)) for _ in range(8)]
    _until(lambda: coalescer.waiting("k") == 7)  # one computes, seven wait for it
    compute.release.set()
    assert [request.joined() for request in requests] == ["report"] * 8
    assert compute.calls == 1
    assert coalescer.waiting("k") == 0
    # Finished computations are forgotten: the next miss computes again.
    assert coalescer.run("k", lambda: "again") == "again"


def test_other_keys_are_not_held_up() -> None:
    coalescer: cache.Coalescer[str] = cache.Coalescer()
    slow = _Blocked()
    request = _InThread(lambda: coalescer.run("slow", slow))
    assert slow.started.wait(10)
    assert coalescer.run("other", lambda: "fast") == "fast"
    slow.release.set()
    assert request.joined() == "report"


def test_a_result_the_waiter_may_not_take_is_computed_again() -> None:
    """A waiter that read newer versions than the computing request refuses its result."""
    coalescer: cache.Coalescer[str] = cache.Coalescer()
    leader = _Blocked("old")
    first = _InThread(lambda: coalescer.run("k", leader))
    assert leader.started.wait(10)
    second = _InThread(lambda: coalescer.run("k", lambda: "new", lambda v: v == "new"))
    _until(lambda: coalescer.waiting("k") == 1)
    leader.release.set()
    assert (first.joined(), second.joined()) == ("old", "new")


def test_a_failed_computation_fails_only_its_own_request() -> None:
    coalescer: cache.Coalescer[str] = cache.Coalescer()
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        assert release.wait(10)
        raise ValueError("database went away")

    first = _InThread(lambda: coalescer.run("k", failing))
    assert started.wait(10)
    second = _InThread(lambda: coalescer.run("k", lambda: "own"))
    _until(lambda: coalescer.waiting("k") == 1)
    release.set()
    assert isinstance(first.joined(), ValueError)
    assert second.joined() == "own"


def test_a_computation_running_too_long_is_not_waited_for_forever() -> None:
    coalescer: cache.Coalescer[str] = cache.Coalescer(wait_s=0.05)
    stuck = _Blocked("late")
    first = _InThread(lambda: coalescer.run("k", stuck))
    assert stuck.started.wait(10)
    assert coalescer.run("k", lambda: "own") == "own"
    stuck.release.set()
    assert first.joined() == "late"
