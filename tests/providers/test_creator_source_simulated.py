"""The simulated platform as a creator source: deterministic creators with posts, comments,
thumbnails and a neighbour network; unknown handles and platforms fail clearly."""

from __future__ import annotations

from dataclasses import replace

import pytest

from socialpulse.providers import registry
from socialpulse.providers.base import NotFoundError
from socialpulse.providers.creators import CreatorSourceUnavailable, creator_source
from socialpulse.providers.registry import UnknownPlatformError


def test_a_simulated_creator_has_posts_comments_images_and_neighbours() -> None:
    source = creator_source("simulated", {})
    profile = source.creator_profile("Garden_Lab")
    assert profile.handle == "garden_lab"
    assert profile.followers_count and profile.followers_count > 0
    assert profile.avatar_url and profile.avatar_url.startswith("https://simulated.invalid/")
    posts = source.creator_posts(profile, 30)
    assert len(posts) == 30
    assert all(p.thumbnail_url for p in posts)
    assert [p.posted_at for p in posts] == sorted((p.posted_at for p in posts), reverse=True)
    comments = source.creator_comments(posts[3], 20)
    assert 0 < len(comments) <= 20
    related = source.related_handles(profile, posts)
    assert len(related) >= 8
    assert profile.handle not in {r.handle for r in related}
    again = creator_source("simulated", {}).related_handles(profile, posts)
    assert again == related


def test_missing_handles_and_unknown_platforms_fail_clearly() -> None:
    with pytest.raises(NotFoundError):
        creator_source("simulated", {}).creator_profile("missing_person")
    with pytest.raises(UnknownPlatformError):
        creator_source("myspace", {})


def test_a_platform_without_the_capability_says_so() -> None:
    without = replace(
        registry.get_provider("simulated"), platform="nocreators", capabilities=frozenset()
    )
    registry.register_provider(without)
    try:
        with pytest.raises(CreatorSourceUnavailable, match="not available"):
            creator_source("nocreators", {})
    finally:
        registry.unregister_provider("nocreators")
