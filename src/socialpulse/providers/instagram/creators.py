"""Instagram as a creator source: Business Discovery through the workspace's connected
Instagram professional account (its ``access_token`` and ``ig_user_id``, as for a tracked
account); without one, ``CreatorSourceUnavailable`` says to connect one.

* Profile: ``/{ig-user-id}?fields=business_discovery.username(NAME){...}``. Only business and
  creator accounts can be read so; a personal or private account answers like an unknown one
  (Meta's code 110 / subcode 2207013), and the ``NotFoundError`` says both.
* Posts: the same node's ``media`` edge, newest first, with likes and comments counts (no
  views, shares or saves: insights are for one's own media). Business Discovery does not
  return ``thumbnail_url``, so a video's thumbnail is missing while an image's is its
  ``media_url``.
* Comments: not available. Business Discovery exposes ``comments_count`` but not the text of
  comments on other accounts' media, so ``creator_comments`` returns ``[]`` and the report
  says comments are not available for Instagram.
* Related: ``@username`` mentions in captions and the biography.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from socialpulse.providers.base import (
    CallObserver,
    Comment,
    NotFoundError,
    Platform,
    Post,
    Profile,
)
from socialpulse.providers.creators import (
    CreatorSourceUnavailable,
    RelatedHandle,
    mentioned,
    merge_related,
    recent_posts,
)
from socialpulse.providers.instagram import parse
from socialpulse.providers.instagram.client import InstagramClient

__all__ = ["NEEDS_CONNECTION", "InstagramCreatorSource", "build_creator_source"]

_PLATFORM = Platform.INSTAGRAM.value
NEEDS_CONNECTION = (
    "Instagram creators are read through Business Discovery, which needs a connected "
    "Instagram professional account: connect an Instagram professional account in this "
    "workspace to analyse Instagram creators"
)


def mention_handle(text: str) -> str | None:
    """A caption mention → an Instagram username (letters, digits, ``.`` and ``_``)."""
    username = parse.normalize_username(text).rstrip(".")
    valid = username and len(username) <= 30 and all(c.isalnum() or c in "._" for c in username)
    return username if valid else None


class InstagramCreatorSource:
    def __init__(self, client: InstagramClient) -> None:
        self.client = client

    def creator_profile(self, handle: str) -> Profile:
        username = parse.normalize_username(handle)
        try:
            return self.client.get_profile(username)
        except NotFoundError as exc:
            raise NotFoundError(
                f"Instagram account @{username} was not found by Business Discovery: it does "
                "not exist, or it is a personal or private account (only business and creator "
                "accounts can be analysed)",
                platform=_PLATFORM,
                endpoint=exc.endpoint,
                status_code=exc.status_code,
            ) from exc

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        return recent_posts(self.client, profile, limit)

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        """Always ``[]``: Business Discovery gives comment counts, never comment text."""
        return []

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        return merge_related(profile.handle, mentioned(_PLATFORM, profile, posts, mention_handle))


def build_creator_source(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> InstagramCreatorSource:
    """Credentials: the connected account's ``{"access_token", "ig_user_id"}``."""
    token, ig_user_id = credentials.get("access_token"), credentials.get("ig_user_id")
    if not token or not ig_user_id:
        raise CreatorSourceUnavailable(_PLATFORM, NEEDS_CONNECTION)
    # No insights: they exist only for the connected account's own media, one call each.
    return InstagramCreatorSource(
        InstagramClient.create(
            str(token),
            str(ig_user_id),
            observer=observer,
            http_client=http_client,
            with_insights=False,
        )
    )
