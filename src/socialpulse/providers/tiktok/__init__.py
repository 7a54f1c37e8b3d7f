"""TikTok provider: API v2 for the connected account (profile and videos; no comments).

TikTok's public API gives regular apps no comment listing, so the provider claims no
``comments`` capability; see ``client`` for the details and the error mapping. It publishes
videos through the Content Posting API (``publish``), but cannot reply: no ``reply``.
"""

from socialpulse.providers.base import Platform
from socialpulse.providers.creators import CREATOR_SOURCE
from socialpulse.providers.registry import Capability, ProviderInfo, ReplyLimits
from socialpulse.providers.tiktok.client import TikTokClient, build
from socialpulse.providers.tiktok.creators import build_creator_source
from socialpulse.providers.tiktok.parse import parse_profile_url
from socialpulse.providers.tiktok.publish import TIKTOK_POST_RULES, build_publisher

__all__ = ["PROVIDER", "TIKTOK_MONTHLY_CALLS", "TikTokClient"]

TIKTOK_MONTHLY_CALLS = 600_000

PROVIDER = ProviderInfo(
    platform=Platform.TIKTOK,
    display_name="TikTok",
    needs_credentials=True,
    capabilities=frozenset(
        {
            Capability.PROFILE,
            Capability.POSTS,
            Capability.PUBLISH,
            Capability.CREATOR_DISCOVERY,
        }
    ),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://www.tiktok.com/@username",),
    credential_fields=("access_token",),
    # Publishing needs the video.publish scope on the token; replies are not possible.
    publisher=build_publisher,
    # One video, caption 2,200 characters
    # (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post).
    post_rules=TIKTOK_POST_RULES,
    # No reply API here; the pace is for planning only.
    reply_limits=ReplyLimits(30, 3, 15.0, 5.0, 30.0),
    # What our users specified (issue #16): 600,000 API calls a month, one unit a call, kept as a
    # daily budget of a thirtieth of it so that one busy day cannot spend the month (TikTok's
    # per-minute limits, https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit, are paced
    # by the client). Quota days start at midnight UTC.
    daily_quota_units=TIKTOK_MONTHLY_CALLS // 30,
    quota_timezone="UTC",
    extra={"own_account_only": True, CREATOR_SOURCE: build_creator_source},
    fetch_spacing_s=10.0,  # between two scheduled fetches: bursts stay under rate limits
)
