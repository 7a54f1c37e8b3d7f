"""Bluesky provider: public AppView reads, no credentials."""

from socialpulse.providers.base import Platform
from socialpulse.providers.bluesky.client import BlueskyClient, build
from socialpulse.providers.bluesky.parse import parse_profile_url
from socialpulse.providers.registry import Capability, ProviderInfo

__all__ = ["PROVIDER", "BlueskyClient"]

PROVIDER = ProviderInfo(
    platform=Platform.BLUESKY,
    display_name="Bluesky",
    needs_credentials=False,
    capabilities=frozenset({Capability.PROFILE, Capability.POSTS, Capability.COMMENTS}),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://bsky.app/profile/alice.bsky.social",),
)
