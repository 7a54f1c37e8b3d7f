"""YouTube provider: Data API v3 with an API key."""

from socialpulse.providers.base import Platform
from socialpulse.providers.registry import Capability, ProviderInfo
from socialpulse.providers.youtube.client import YouTubeClient, build
from socialpulse.providers.youtube.parse import parse_profile_url

__all__ = ["PROVIDER", "YouTubeClient"]

PROVIDER = ProviderInfo(
    platform=Platform.YOUTUBE,
    display_name="YouTube",
    needs_credentials=True,
    capabilities=frozenset({Capability.PROFILE, Capability.POSTS, Capability.COMMENTS}),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=(
        "https://www.youtube.com/@handle",
        "https://www.youtube.com/channel/UCxxxxxxxxxxxxxxxxxxxxxx",
    ),
    credential_fields=("api_key",),
)
