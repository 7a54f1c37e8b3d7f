"""Mastodon provider: any instance, public reads, optional bearer token."""

from socialpulse.providers.base import Platform
from socialpulse.providers.mastodon.client import MastodonClient, build
from socialpulse.providers.mastodon.parse import parse_profile_url
from socialpulse.providers.registry import Capability, ProviderInfo

__all__ = ["PROVIDER", "MastodonClient"]

PROVIDER = ProviderInfo(
    platform=Platform.MASTODON,
    display_name="Mastodon",
    needs_credentials=False,
    capabilities=frozenset({Capability.PROFILE, Capability.POSTS, Capability.COMMENTS}),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://mastodon.social/@alice", "@alice@mastodon.social"),
    credential_fields=("instance", "access_token"),
    matches_any_host=True,
)
