"""Mastodon provider: any instance, public reads, optional bearer token."""

from socialpulse.providers.base import Platform
from socialpulse.providers.creators import CREATOR_SOURCE
from socialpulse.providers.mastodon.client import MastodonClient, build
from socialpulse.providers.mastodon.creators import build_creator_source
from socialpulse.providers.mastodon.parse import parse_profile_url
from socialpulse.providers.mastodon.publish import (
    MASTODON_POST_RULES,
    build_publisher,
    live_post_rules,
)
from socialpulse.providers.registry import Capability, ProviderInfo, ReplyLimits, TextLimit

__all__ = ["PROVIDER", "MastodonClient"]

PROVIDER = ProviderInfo(
    platform=Platform.MASTODON,
    display_name="Mastodon",
    needs_credentials=False,
    capabilities=frozenset(
        {
            Capability.PROFILE,
            Capability.POSTS,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.PUBLISH,
            Capability.CREATOR_DISCOVERY,
        }
    ),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=("https://mastodon.social/@alice", "@alice@mastodon.social"),
    credential_fields=("instance", "access_token"),
    matches_any_host=True,
    publisher=build_publisher,
    # 300 statuses per 3 h per account: far above a person's pace, which we keep.
    reply_limits=ReplyLimits(60, 5, 10.0, 5.0, 20.0),
    text_limit=TextLimit(500),  # the default instance limit
    # New posts: each instance sets its own limits (GET /api/v2/instance,
    # https://docs.joinmastodon.org/entities/Instance/#configuration); the defaults otherwise.
    post_rules=MASTODON_POST_RULES,
    live_post_rules=live_post_rules,
    extra={CREATOR_SOURCE: build_creator_source},
)
