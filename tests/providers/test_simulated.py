"""The simulated platform: deterministic, realistic enough for the demo, honest about failures."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from socialpulse.providers.base import (
    AccountRef,
    ApiCall,
    Comment,
    CommentSource,
    NotFoundError,
    PermanentError,
    Platform,
    Post,
    PostSource,
    ProfileSource,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.registry import Capability, get_provider, parse_account_ref
from socialpulse.providers.simulated import PROVIDER, SimulatedPlatform, build
from socialpulse.providers.simulated.model import DEFAULT_EPOCH
from socialpulse.providers.simulated.text import Intent

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def platform(seed: int = 7, **kwargs: Any) -> SimulatedPlatform:
    return SimulatedPlatform(seed, now=lambda: NOW, **kwargs)


def all_posts(sim: SimulatedPlatform, handle: str, limit: int = 100) -> list[Post]:
    profile = sim.get_profile(handle)
    posts: list[Post] = []
    cursor: str | None = None
    while True:
        page = sim.list_posts(profile, cursor=cursor, limit=limit)
        posts.extend(page.items)
        if page.next_cursor is None:
            return posts
        cursor = page.next_cursor


def test_implements_the_capability_protocols() -> None:
    sim = platform()
    assert isinstance(sim, ProfileSource)
    assert isinstance(sim, PostSource)
    assert isinstance(sim, CommentSource)


def test_same_seed_gives_the_same_world() -> None:
    a, b = platform(seed=3), platform(seed=3)
    assert a.get_profile("lena.travels") == b.get_profile("lena.travels")
    page_a = a.list_posts(AccountRef("x", "lena.travels"), limit=30)
    page_b = b.list_posts(AccountRef("x", "lena.travels"), limit=30)
    assert page_a == page_b
    post_id = page_a.items[3].external_id
    assert a.list_comments(post_id) == b.list_comments(post_id)
    assert [c.raw for c in a.list_comments(post_id).items] == [
        c.raw for c in b.list_comments(post_id).items
    ]
    assert a.history("lena.travels", 60) == b.history("lena.travels", 60)


def test_results_do_not_depend_on_call_order_or_caches() -> None:
    warm = platform(seed=3)
    for handle in ("a1", "b2", "c3"):
        all_posts(warm, handle)
    cold = platform(seed=3)
    assert cold.list_posts(AccountRef("x", "b2"), limit=50) == warm.list_posts(
        AccountRef("x", "b2"), limit=50
    )


def test_different_seeds_give_different_worlds() -> None:
    a, b = platform(seed=1), platform(seed=2)
    profile_a, profile_b = a.get_profile("lena.travels"), b.get_profile("lena.travels")
    assert profile_a.external_id != profile_b.external_id
    assert profile_a.followers_count != profile_b.followers_count
    captions_a = [p.caption for p in a.list_posts(profile_a, limit=20).items]
    captions_b = [p.caption for p in b.list_posts(profile_b, limit=20).items]
    assert captions_a != captions_b


def test_follower_counts_are_roughly_log_normal() -> None:
    sim = platform(seed=11)
    followers = [sim.get_profile(f"account_{i}").followers_count or 0 for i in range(500)]
    logs = np.log(followers)
    median = statistics.median(followers)
    assert 10_000 <= median <= 100_000  # "a few tens of thousands"
    assert 1.0 <= float(np.std(logs)) <= 2.2
    assert max(followers) >= 30 * median  # a long tail...
    assert max(followers) >= 1_000_000  # ...that reaches millions
    # log-normal: the log is roughly symmetric, so its mean sits near its median
    assert abs(float(np.mean(logs)) - float(np.median(logs))) < 0.25


def test_views_and_every_counter_only_grow_with_age() -> None:
    sim = platform()
    post = sim.list_posts(AccountRef("x", "growth"), limit=10).items[-1]
    times = [post.posted_at + timedelta(hours=h) for h in range(-3, 24 * 10, 3)]
    series = [sim.post_metrics_at(post, t) for t in times]
    assert series[0].views == 0
    assert series[0].comments == 0
    for counter in ("views", "likes", "comments", "shares", "saves"):
        values = [getattr(m, counter) for m in series]
        assert values == sorted(values), counter
    views = [m.views or 0 for m in series]
    # Saturating: most views arrive in the first days.
    after_three_days = views[times.index(post.posted_at + timedelta(days=3))]
    assert after_three_days >= 0.8 * views[-1] > 0


def test_metrics_at_now_match_list_posts() -> None:
    sim = platform()
    for post in sim.list_posts(AccountRef("x", "growth"), limit=15).items:
        assert sim.post_metrics_at(post.external_id, NOW) == post.metrics


def test_engagement_counters_are_fractions_of_views() -> None:
    sim = platform()
    for post in all_posts(sim, "ratios")[:60]:
        m = post.metrics
        assert m.views is not None
        assert m.likes is not None
        assert m.likes < m.views
        assert (m.comments or 0) < m.views
        assert (m.shares or 0) < m.views
        assert (m.saves or 0) < m.views


def test_viral_posts_exist_and_are_ten_to_fifty_times_typical() -> None:
    sim = platform(seed=5)
    ratios: list[float] = []
    for i in range(10):
        posts = [
            p for p in all_posts(sim, f"creator_{i}") if p.posted_at < NOW - timedelta(days=20)
        ]
        typical = statistics.median(p.raw["lifetime_views"] for p in posts)
        ratios.extend(p.raw["lifetime_views"] / typical for p in posts if p.raw["viral"])
    assert ratios, "no viral post among thousands"
    assert max(ratios) >= 10
    assert statistics.median(ratios) >= 7  # per-post noise on top of the 10-50x multiplier


def test_posts_follow_the_accounts_hour_of_day_preference() -> None:
    sim = platform()
    hours = Counter(p.posted_at.hour for p in all_posts(sim, "routine_poster"))
    total = sum(hours.values())
    best_window = max(sum(hours[(h + k) % 24] for k in range(8)) for h in range(24))
    assert best_window / total >= 0.6  # uniform posting would put a third in any 8 hours


def test_followers_grow_with_noise() -> None:
    sim = platform(seed=9)
    grew = 0
    for i in range(40):
        history = sim.history(f"season_{i}", 180)
        gains = [b.followers - a.followers for a, b in zip(history, history[1:], strict=False)]
        assert len(set(gains)) > 10  # noisy, not a straight line
        grew += history[-1].followers > history[0].followers
    assert grew >= 28  # most accounts grow over half a year; a few shrink


def test_follower_gains_follow_each_accounts_weekly_profile() -> None:
    sim = platform(seed=9)
    correlations = []
    for i in range(30):
        handle = f"season_{i}"
        history = sim.history(handle, 181)[:-1]  # whole days only
        gains = np.diff([s.followers for s in history])
        weekdays = np.array([s.date.weekday() for s in history[1:]])
        by_weekday = [float(gains[weekdays == d].mean()) for d in range(7)]
        params = sim.model.account(handle)
        profile = np.asarray(params.growth_weekly) * np.sign(params.growth_per_day)
        correlations.append(float(np.corrcoef(by_weekday, profile)[0, 1]))
    # Without weekly seasonality the correlations would centre on zero.
    assert statistics.median(correlations) > 0.3


def test_history_ends_at_what_the_profile_shows_now() -> None:
    sim = platform()
    history = sim.history("consistent", 180)
    profile = sim.get_profile("consistent")
    assert len(history) == 180
    assert history[-1].date == NOW.date()
    assert history[0].date == NOW.date() - timedelta(days=179)
    assert history[-1].followers == profile.followers_count
    assert history[-1].following == profile.following_count
    assert history[-1].posts_count == profile.posts_count
    counts = [s.posts_count for s in history]
    assert counts == sorted(counts)
    recent = [p for p in all_posts(sim, "consistent") if p.posted_at > NOW - timedelta(days=30)]
    assert history[-1].posts_count - history[-31].posts_count == len(recent)


def test_comments_mix_every_intent_and_several_languages() -> None:
    sim = platform(seed=4)
    intents: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    sentiments: Counter[str] = Counter()
    for i in range(6):
        for post in all_posts(sim, f"mixed_{i}")[:25]:
            for comment in sim.list_comments(post.external_id).items:
                intents[comment.raw["intent"]] += 1
                languages[comment.raw["language"]] += 1
                sentiments[comment.raw["sentiment"]] += 1
    assert set(intents) == {intent.value for intent in Intent}
    assert len(languages) >= 3
    assert languages.most_common(1)[0][0] == "en"
    assert set(sentiments) == {"positive", "neutral", "negative"}
    assert 0.01 < intents["spam"] / sum(intents.values()) < 0.15


def test_loyal_fans_are_the_top_commenters() -> None:
    sim = platform(seed=8)
    posts = [p for p in all_posts(sim, "fan_favourite") if (p.metrics.comments or 0) >= 10][:40]
    assert len(posts) >= 20
    authors: Counter[str] = Counter()
    for post in posts:
        comments = sim.list_comments(post.external_id).items
        # Spam bots repeat too (a superfan detector must skip them); count people only.
        authors.update(c.author_handle for c in comments if c.raw["intent"] != "spam")
    top = [name for name, _ in authors.most_common(3)]
    fans = sim.get_profile("fan_favourite").raw["loyal_fans"]
    assert set(top) <= set(fans)
    assert authors[top[0]] >= 0.4 * len(posts)
    # Casual commenters come from a finite audience: a few comment more than once.
    casual_repeats = [n for name, n in authors.items() if name not in fans and n > 1]
    assert casual_repeats


def test_comment_count_metric_matches_the_comments_listed() -> None:
    sim = platform()
    for post in all_posts(sim, "talkative")[:30]:
        comments: list[Comment] = []
        cursor: str | None = None
        while True:
            page = sim.list_comments(post.external_id, cursor)
            comments.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(comments) == post.metrics.comments
        assert len({c.external_id for c in comments}) == len(comments)
        assert all(post.posted_at <= c.posted_at <= NOW for c in comments)
        assert [c.posted_at for c in comments] == sorted(c.posted_at for c in comments)


def test_comments_page_by_one_hundred() -> None:
    sim = platform(seed=2)
    busy = max(all_posts(sim, "big_account_x"), key=lambda p: p.metrics.comments or 0)
    assert (busy.metrics.comments or 0) > 100
    first = sim.list_comments(busy.external_id)
    assert len(first.items) == 100
    assert first.next_cursor is not None
    second = sim.list_comments(busy.external_id, first.next_cursor)
    assert not {c.external_id for c in first.items} & {c.external_id for c in second.items}


def test_post_pages_are_disjoint_and_cover_every_post() -> None:
    sim = platform()
    pages = []
    cursor: str | None = None
    while True:
        page = sim.list_posts(AccountRef("x", "pager"), cursor=cursor, limit=37)
        pages.append(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = [p.external_id for items in pages for p in items]
    assert len(pages) > 3
    assert all(len(items) == 37 for items in pages[:-1])
    assert len(ids) == len(set(ids))
    expected = sim.posts_between("pager", DEFAULT_EPOCH, NOW)
    assert set(ids) == {p.external_id for p in expected}
    dates = [p.posted_at for items in pages for p in items]
    assert dates == sorted(dates, reverse=True)


def test_pages_stay_stable_when_new_posts_appear_between_calls() -> None:
    clock = {"now": NOW}
    sim = SimulatedPlatform(7, now=lambda: clock["now"])
    first = sim.list_posts(AccountRef("x", "pager"), limit=20)
    clock["now"] = NOW + timedelta(days=10)
    second = sim.list_posts(AccountRef("x", "pager"), cursor=first.next_cursor, limit=20)
    assert second.items[0].posted_at < first.items[-1].posted_at
    everything = all_posts(platform(), "pager")
    index = [p.external_id for p in everything].index(first.items[-1].external_id)
    assert second.items[0].external_id == everything[index + 1].external_id


@pytest.mark.parametrize("handle", ["missing_account", "unknown-brand", "@Missing.Person", ""])
def test_reserved_handles_do_not_exist(handle: str) -> None:
    sim = platform()
    with pytest.raises(NotFoundError) as excinfo:
        sim.get_profile(handle)
    assert excinfo.value.platform == "simulated"
    with pytest.raises(NotFoundError):
        sim.list_posts(AccountRef("x", handle))


def test_handles_are_normalised() -> None:
    sim = platform()
    assert sim.get_profile("@Maria.Fit") == sim.get_profile("maria.fit")
    assert sim.get_profile("@Maria.Fit").handle == "maria.fit"


def test_unknown_post_ids_are_not_found() -> None:
    sim = platform()
    for post_id in ("nope", "missing_x:0:0", "growth:0:9999", "growth:-1:0", "growth:x:y"):
        with pytest.raises(NotFoundError):
            sim.list_comments(post_id)


def test_future_posts_are_not_visible() -> None:
    sim = platform()
    newest = sim.list_posts(AccountRef("x", "growth"), limit=1).items[0]
    later = SimulatedPlatform(7, now=lambda: NOW + timedelta(days=60))
    future = later.list_posts(AccountRef("x", "growth"), limit=1).items[0]
    assert future.posted_at > NOW
    with pytest.raises(NotFoundError):
        sim.list_comments(future.external_id)
    assert newest.posted_at <= NOW


def test_malformed_cursors_are_permanent_errors() -> None:
    sim = platform()
    with pytest.raises(PermanentError):
        sim.list_posts(AccountRef("x", "growth"), cursor="garbage")
    post = sim.list_posts(AccountRef("x", "growth"), limit=1).items[0]
    with pytest.raises(PermanentError):
        sim.list_comments(post.external_id, "-3")


def test_error_rate_one_always_fails_transiently() -> None:
    sim = platform(error_rate=1.0)
    with pytest.raises(TransientError) as excinfo:
        sim.get_profile("anyone")
    assert excinfo.value.retry_after == 1.0
    with pytest.raises(TransientError):
        sim.list_posts(AccountRef("x", "anyone"))


def test_error_rate_is_deterministic_from_the_seed() -> None:
    def outcomes(seed: int) -> list[bool]:
        sim = platform(seed=seed, error_rate=0.3)
        result = []
        for i in range(200):
            try:
                sim.get_profile(f"user{i}")
                result.append(True)
            except TransientError:
                result.append(False)
        return result

    first = outcomes(1)
    assert first == outcomes(1)
    assert first != outcomes(2)
    assert 40 <= first.count(False) <= 80


def test_latency_sleeps_through_the_injected_sleep() -> None:
    slept: list[float] = []
    sim = platform(latency_ms=250, sleep=slept.append)
    sim.get_profile("slowpoke")
    sim.list_posts(AccountRef("x", "slowpoke"), limit=5)
    assert slept == [0.25, 0.25]


def test_calls_are_reported_to_the_observer() -> None:
    observer = RecordingObserver()
    sim = platform(observer=observer, error_rate=0.0)
    profile = sim.get_profile("observed")
    sim.list_posts(profile, limit=5)
    assert [c.endpoint for c in observer.calls] == ["simulated.profile", "simulated.posts"]
    assert all(isinstance(c, ApiCall) and c.ok for c in observer.calls)


def test_two_hundred_posts_with_metrics_take_milliseconds() -> None:
    sim = platform(seed=99)
    profile = sim.get_profile("prolific")
    started = time.perf_counter()
    first = sim.list_posts(profile, limit=100)
    second = sim.list_posts(profile, cursor=first.next_cursor, limit=100)
    elapsed = time.perf_counter() - started
    assert len(first.items) + len(second.items) == 200
    assert all(p.metrics.views is not None for p in first.items + second.items)
    assert elapsed < 0.25  # typically under 10 ms; generous for slow CI machines


def test_provider_is_discovered_and_built_from_settings() -> None:
    assert get_provider("simulated") is PROVIDER
    assert PROVIDER.platform is Platform.SIMULATED
    assert not PROVIDER.needs_credentials
    assert PROVIDER.capabilities == {
        Capability.PROFILE,
        Capability.POSTS,
        Capability.COMMENTS,
        Capability.REPLY,
        Capability.HIDE,
        Capability.PUBLISH,
        Capability.CREATOR_DISCOVERY,
    }
    built = build({"seed": "3", "error_rate": "0"})
    assert isinstance(built, SimulatedPlatform)
    assert built.seed == 3
    with pytest.raises(ValueError, match="seed must be a whole number"):
        build({"seed": "not a number"})


def test_profile_urls_round_trip() -> None:
    sim = platform()
    profile = sim.get_profile("round.trip")
    assert profile.profile_url is not None
    assert parse_account_ref(profile.profile_url) == (Platform.SIMULATED, "round.trip")
    assert PROVIDER.parse_profile_url("https://example.com/@round.trip") is None
