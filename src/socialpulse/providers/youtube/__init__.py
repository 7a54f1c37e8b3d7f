"""YouTube provider: Data API v3 with an API key."""

from socialpulse.providers.base import Platform
from socialpulse.providers.creators import CREATOR_SOURCE
from socialpulse.providers.registry import Capability, ProviderInfo, ReplyLimits, TextLimit
from socialpulse.providers.youtube.client import YouTubeClient, build
from socialpulse.providers.youtube.creators import build_creator_source
from socialpulse.providers.youtube.parse import parse_profile_url
from socialpulse.providers.youtube.publish import YOUTUBE_POST_RULES, build_publisher

__all__ = ["PROVIDER", "YouTubeClient"]

PROVIDER = ProviderInfo(
    platform=Platform.YOUTUBE,
    display_name="YouTube",
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
    url_forms=(
        "https://www.youtube.com/@handle",
        "https://www.youtube.com/channel/UCxxxxxxxxxxxxxxxxxxxxxx",
    ),
    credential_fields=("api_key",),
    publisher=build_publisher,
    # What our users specified: at most 60 replies an hour, 5 a minute, 10 s apart + 5-30 s.
    reply_limits=ReplyLimits(60, 5, 10.0, 5.0, 30.0),
    text_limit=TextLimit(10_000),
    # New posts are one video with a title; the description is the text
    # (https://developers.google.com/youtube/v3/docs/videos/insert).
    post_rules=YOUTUBE_POST_RULES,
    # https://developers.google.com/youtube/v3/getting-started#quota: 10,000 units a day,
    # reset at midnight Pacific time.
    daily_quota_units=10_000,
    quota_timezone="America/Los_Angeles",
    # commentThreads.list order=time: a poll can stop at the first comment it already has.
    newest_first_comments=True,
    fetch_spacing_s=5.0,  # between two scheduled fetches: bursts stay under rate limits
    extra={CREATOR_SOURCE: build_creator_source},
)
