"""Instagram provider: the Graph API for a connected professional account.

Credentials: ``access_token`` and ``ig_user_id``. Other professional accounts are read through
business discovery; see ``client`` for what works for whom, and ``usage`` for rate limits.
"""

from socialpulse.providers.base import Platform
from socialpulse.providers.instagram.client import InstagramClient, build
from socialpulse.providers.instagram.parse import parse_profile_url
from socialpulse.providers.registry import Capability, ProviderInfo

__all__ = ["PROVIDER", "InstagramClient"]

PROVIDER = ProviderInfo(
    platform=Platform.INSTAGRAM,
    display_name="Instagram",
    needs_credentials=True,
    capabilities=frozenset({Capability.PROFILE, Capability.POSTS, Capability.COMMENTS}),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://www.instagram.com/username/",),
    credential_fields=("access_token", "ig_user_id"),
)
