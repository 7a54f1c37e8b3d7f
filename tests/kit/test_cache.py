"""The bytes cache: bounded by size, weak ETag comparison, unforgeable keys, Redis as a miss."""

from __future__ import annotations

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
