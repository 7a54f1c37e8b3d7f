"""Bluesky provider: public AppView reads, no credentials."""

from socialpulse.providers.base import Platform
from socialpulse.providers.bluesky.client import BlueskyClient, build
from socialpulse.providers.bluesky.creators import build_creator_source
from socialpulse.providers.bluesky.parse import parse_profile_url
from socialpulse.providers.bluesky.publish import BLUESKY_POST_RULES, build_publisher
from socialpulse.providers.creators import CREATOR_SOURCE
from socialpulse.providers.registry import Capability, ProviderInfo, ReplyLimits, TextLimit

__all__ = ["PROVIDER", "BlueskyClient"]

PROVIDER = ProviderInfo(
    platform=Platform.BLUESKY,
    display_name="Bluesky",
    needs_credentials=False,
    capabilities=frozenset(
        {
            Capability.PROFILE,
            Capability.POSTS,
            Capability.COMMENTS,
            Capability.REPLY,
            Capability.PUBLISH,
            Capability.CREATOR_DISCOVERY,
        }
    ),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://bsky.app/profile/alice.bsky.social",),
    publisher=build_publisher,
    # createRecord costs 3 of 5,000 points an hour: far above a person's pace, which we keep.
    reply_limits=ReplyLimits(60, 5, 10.0, 5.0, 20.0),
    # app.bsky.feed.post: 300 graphemes and 3,000 bytes.
    text_limit=TextLimit(300, max_bytes=3000, graphemes=True),
    # New posts: 300 graphemes, up to 4 images of 1,000,000 bytes each (see publish.py;
    # https://docs.bsky.app/docs/advanced-guides/posts).
    post_rules=BLUESKY_POST_RULES,
    extra={CREATOR_SOURCE: build_creator_source},
)
