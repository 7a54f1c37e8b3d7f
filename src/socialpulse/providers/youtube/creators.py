"""YouTube as a creator source: any public channel, with the instance's Data API key.

* Profile: ``channels.list`` with ``status`` and ``brandingSettings`` too (1 unit, as without).
  A channel whose ``status.privacyStatus`` is ``private`` is refused with a clear message.
* Posts: the uploads playlist with statistics (``YouTubeClient.list_posts``: 2 units per 50).
* Comments: ``commentThreads.list`` (1 unit per 100 threads) with the replies YouTube embeds in
  each thread, the creator's own visible replies among them; comments turned off give none.
* Related: featured channels, i.e. the channel ids of the channel's ``multipleChannels``
  sections (``channelSections.list``, 1 unit) and of the legacy
  ``brandingSettings.channel.featuredChannelsUrls``, resolved to handles and subscriber counts
  by one ``channels.list`` per 50 ids; then ``@handles`` mentioned in the description and the
  videos' descriptions. YouTube shows no follows or collaborators.

Every call goes through ``YouTubeClient``'s HTTP core, so quota units reach the observer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from socialpulse.providers.base import (
    CallObserver,
    Comment,
    MalformedPayloadError,
    PermanentError,
    Platform,
    Post,
    Profile,
    require_credentials,
)
from socialpulse.providers.creators import (
    CreatorSourceUnavailable,
    RelatedHandle,
    collect_pages,
    mentioned,
    merge_related,
    recent_posts,
)
from socialpulse.providers.items import parse_each
from socialpulse.providers.youtube import parse
from socialpulse.providers.youtube.client import MAX_RESULTS, QUOTA_COST, YouTubeClient

__all__ = ["YouTubeCreatorSource", "build_creator_source", "featured_channel_ids"]

_PLATFORM = Platform.YOUTUBE.value
PROFILE_PARTS = "snippet,statistics,contentDetails,status,brandingSettings"


def featured_channel_ids(sections: Any, channel: Mapping[str, Any]) -> list[str]:
    """Channel ids a channel features: its ``multipleChannels`` sections (a
    ``channelSections.list`` response), then the legacy branding list, each once."""
    if not isinstance(sections, dict) or not isinstance(sections.get("items", []), list):
        raise MalformedPayloadError("YouTube returned a channelSections response without items")
    ids: list[str] = []
    for section in sections.get("items", []):
        if not isinstance(section, dict):
            continue
        kind = str((section.get("snippet") or {}).get("type") or "")
        if kind.lower() == "multiplechannels":
            ids.extend(str(c) for c in (section.get("contentDetails") or {}).get("channels") or [])
    branding = (channel.get("brandingSettings") or {}).get("channel") or {}
    ids.extend(str(c) for c in branding.get("featuredChannelsUrls") or [])
    own = str(channel.get("id") or "")
    return [c for c in dict.fromkeys(ids) if parse.is_channel_id(c) and c != own]


def mention_handle(text: str) -> str | None:
    """``name`` as written after ``@`` → ``@name`` when it can be a YouTube handle."""
    handle = f"@{text.lower()}"
    return handle if "@" not in text and parse.is_handle(handle) else None


class YouTubeCreatorSource:
    def __init__(self, client: YouTubeClient) -> None:
        self.client = client

    def creator_profile(self, handle: str) -> Profile:
        profile = self.client.get_profile(handle, parts=PROFILE_PARTS)
        if (profile.raw.get("status") or {}).get("privacyStatus") == "private":
            raise PermanentError(
                f"YouTube channel {profile.handle} is private: its videos cannot be analysed",
                platform=_PLATFORM,
                endpoint="youtube.channels.list",
            )
        return profile

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        return recent_posts(self.client, profile, limit)

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        return collect_pages(
            lambda cursor, _wanted: self.client.list_comments(post.external_id, cursor), limit
        )

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        featured = self._featured(profile)
        mentions = mentioned(_PLATFORM, profile, posts, mention_handle)
        return merge_related(profile.handle, featured, mentions)

    def _featured(self, profile: Profile) -> list[RelatedHandle]:
        endpoint = "youtube.channelSections.list"
        sections = self.client.http.get_json(
            endpoint,
            "channelSections",
            {"part": "snippet,contentDetails", "channelId": profile.external_id},
            quota_cost=QUOTA_COST["channelSections.list"],
        )
        with self.client.http.parsing(endpoint):
            ids = featured_channel_ids(sections, profile.raw)
        found: list[RelatedHandle] = []
        for start in range(0, len(ids), MAX_RESULTS):
            data = self.client.http.get_json(
                "youtube.channels.list",
                "channels",
                {"part": "snippet,statistics", "id": ",".join(ids[start : start + MAX_RESULTS])},
                quota_cost=QUOTA_COST["channels.list"],
            )
            with self.client.http.parsing("youtube.channels.list"):
                channels = parse_each(
                    parse.channel_items(data),
                    parse.parse_channel,
                    platform=_PLATFORM,
                    what="channel",
                )
            found.extend(
                RelatedHandle(_PLATFORM, c.handle.lower(), "featured", c.followers_count)
                for c in channels
            )
        return found


def build_creator_source(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> YouTubeCreatorSource:
    """Credentials: ``{"api_key": "..."}``, as for tracked channels."""
    if not credentials.get("api_key"):
        raise CreatorSourceUnavailable(
            _PLATFORM,
            "creator reports for YouTube need a YouTube Data API key: configure one (api_key)",
        )
    (api_key,) = require_credentials(Platform.YOUTUBE, credentials, "api_key")
    return YouTubeCreatorSource(
        YouTubeClient.create(api_key, observer=observer, http_client=http_client)
    )
