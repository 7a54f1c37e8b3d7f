"""DTOs, errors, observers and text helpers of providers.base."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from socialpulse.providers.base import (
    AccountRef,
    ApiCall,
    BudgetDeferredError,
    CircuitOpenError,
    MediaType,
    NullObserver,
    Page,
    Platform,
    Post,
    PostMetrics,
    Profile,
    ProviderError,
    QuotaExhaustedError,
    RecordingObserver,
    TransientError,
    extract_hashtags,
    extract_mentions,
    parse_timestamp,
)


def make_profile(**overrides: object) -> Profile:
    fields: dict[str, object] = {
        "platform": Platform.BLUESKY,
        "external_id": "did:plc:x",
        "handle": "x.bsky.social",
        "display_name": "X",
        "raw": {"a": 1},
    }
    fields.update(overrides)
    return Profile(**fields)  # type: ignore[arg-type]


def test_platform_values_are_the_stored_strings() -> None:
    assert [p.value for p in Platform] == [
        "youtube",
        "instagram",
        "tiktok",
        "bluesky",
        "mastodon",
        "simulated",
    ]
    assert Platform("mastodon") is Platform.MASTODON
    assert MediaType.SHORT == "short"


def test_dtos_are_frozen_and_raw_is_not_part_of_equality() -> None:
    profile = make_profile()
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.handle = "other"  # type: ignore[misc]
    assert profile == make_profile(raw={"different": True})
    assert profile != make_profile(followers_count=3)


def test_post_defaults_mean_unknown_metrics() -> None:
    post = Post(
        platform=Platform.YOUTUBE,
        external_id="v1",
        account_external_id="UC1",
        url=None,
        caption="",
        posted_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert post.metrics == PostMetrics(None, None, None, None, None)
    assert post.media_type is MediaType.OTHER
    assert post.hashtags == ()


def test_page_and_account_ref() -> None:
    page = Page(items=(1, 2), next_cursor="c")
    assert page.items == (1, 2)
    assert Page(items=()).next_cursor is None
    ref = AccountRef(external_id="123", handle="alice@mastodon.social")
    assert (ref.external_id, ref.handle) == ("123", "alice@mastodon.social")


def test_errors_carry_context() -> None:
    error = TransientError(
        "slow", platform="youtube", endpoint="youtube.videos.list", status_code=503, retry_after=4
    )
    assert isinstance(error, ProviderError)
    assert str(error) == "slow"
    assert (error.platform, error.endpoint, error.status_code, error.retry_after) == (
        "youtube",
        "youtube.videos.list",
        503,
        4,
    )
    assert "TransientError('slow'" in repr(error)
    for cls in (QuotaExhaustedError, CircuitOpenError, BudgetDeferredError):
        assert cls("m", platform="p", endpoint="e").retry_after is None
    assert not issubclass(CircuitOpenError, TransientError)


def test_null_observer_allows_everything() -> None:
    observer = NullObserver()
    observer.before_call("youtube", "youtube.search.list", 10_000)
    observer.after_call(
        ApiCall(
            platform="youtube", endpoint="e", status_code=200, ok=True, latency_ms=1, quota_cost=1
        )
    )


def test_recording_observer_budget_is_per_platform() -> None:
    observer = RecordingObserver(budget=5)
    call = ApiCall(
        platform="youtube", endpoint="e", status_code=200, ok=True, latency_ms=1.0, quota_cost=5
    )
    observer.after_call(call)
    assert observer.calls == [call]
    assert call.at.tzinfo is not None
    observer.before_call("bluesky", "bluesky.x", 5)
    with pytest.raises(BudgetDeferredError):
        observer.before_call("youtube", "youtube.videos.list", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-11-26T15:51:44.000Z", datetime(2019, 11, 26, 15, 51, 44, tzinfo=UTC)),
        ("2023-07-21T01:33:51.481951", datetime(2023, 7, 21, 1, 33, 51, 481951, tzinfo=UTC)),
        ("2024-02-22T21:58:13+02:00", datetime(2024, 2, 22, 19, 58, 13, tzinfo=UTC)),
        ("2024-01-01T00:00:00.123456789Z", datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_returns_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo in (UTC, UTC)


def test_parse_timestamp_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_timestamp("yesterday")


def test_extract_hashtags_skips_numbers_urls_and_duplicates() -> None:
    text = "Ranked #1 for #Python and #café! https://x.test/#anchor #python #Python"
    assert extract_hashtags(text) == ("Python", "café", "python")


def test_extract_mentions_handles_domains_and_fediverse_addresses() -> None:
    text = "cc @alice.bsky.social, @bob@mastodon.social and @carol. mail me: me@example.com"
    assert extract_mentions(text) == ("alice.bsky.social", "bob@mastodon.social", "carol")
