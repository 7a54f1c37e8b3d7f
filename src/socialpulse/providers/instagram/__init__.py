"""Instagram provider: the Graph API for a connected professional account.

Credentials: ``access_token`` and ``ig_user_id``. Other professional accounts are read through
business discovery; see ``client`` for what works for whom, and ``usage`` for rate limits.
"""

from socialpulse.providers.base import Platform
from socialpulse.providers.creators import CREATOR_SOURCE
from socialpulse.providers.instagram.client import InstagramClient, build
from socialpulse.providers.instagram.creators import build_creator_source
from socialpulse.providers.instagram.parse import parse_profile_url
from socialpulse.providers.instagram.publish import INSTAGRAM_POST_RULES, build_publisher
from socialpulse.providers.registry import Capability, ProviderInfo, ReplyLimits, TextLimit

__all__ = ["PROVIDER", "InstagramClient"]

PROVIDER = ProviderInfo(
    platform=Platform.INSTAGRAM,
    display_name="Instagram",
    needs_credentials=True,
    capabilities=frozenset(
        {
            Capability.PROFILE,
            Capability.POSTS,
            Capability.COMMENTS,
            Capability.REPLY,
            Capability.HIDE,
            Capability.PUBLISH,
            Capability.CREATOR_DISCOVERY,
        }
    ),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://www.instagram.com/username/",),
    credential_fields=("access_token", "ig_user_id"),
    publisher=build_publisher,
    # What our users specified, "15-45 s" between replies: at least 15 s plus 0-30 s at random.
    reply_limits=ReplyLimits(30, 3, 15.0, 0.0, 30.0),
    text_limit=TextLimit(2200),
    # New posts need media reachable by URL; captions 2,200 characters and 30 hashtags
    # (https://developers.facebook.com/docs/instagram-platform/content-publishing).
    post_rules=INSTAGRAM_POST_RULES,
    # What our users specified (issue #16): 10,000 Graph API calls a day per workspace, one unit
    # a call. Meta's own limit is a rolling hourly percentage per app and business
    # (https://developers.facebook.com/docs/graph-api/overview/rate-limiting), which ``usage``
    # paces separately; this daily budget keeps a workspace's total well inside it. Meta states
    # no quota day, so it starts at midnight UTC.
    daily_quota_units=10_000,
    quota_timezone="UTC",
    fetch_spacing_s=20.0,  # between two scheduled fetches: bursts stay under rate limits
    extra={CREATOR_SOURCE: build_creator_source},
)
