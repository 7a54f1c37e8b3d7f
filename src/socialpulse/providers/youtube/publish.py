"""Replying to YouTube comments (Data API v3, OAuth).

* Reply: ``POST https://www.googleapis.com/youtube/v3/comments?part=snippet`` with
  ``{"snippet": {"parentId": <top-level comment id>, "textOriginal": text}}``
  (https://developers.google.com/youtube/v3/docs/comments/insert). It costs 50 quota units and
  needs an OAuth bearer token (credential ``access_token``, scope ``youtube.force-ssl``): API
  keys can read but never write.
* Replies nest one level only: a reply to a reply is posted under the top-level comment. Reply
  ids look like ``<top-level id>.<reply id>``, so the top-level id is the part before the dot.
* ``find_existing`` lists the replies under the top-level comment (``comments.list`` with
  ``parentId``, 1 unit per page) and matches our channel id + the text. ``textOriginal`` is
  only returned to the comment's author, which we are; ``textDisplay`` is the fallback.
* Hide: ``POST comments/setModerationStatus?id=<id>&moderationStatus=heldForReview``
  (https://developers.google.com/youtube/v3/docs/comments/setModerationStatus), 50 units, OAuth
  of the channel that owns the video. It answers ``204 No Content``, which the shared HTTP core
  treats as an error for every other endpoint, so the publisher's core accepts an empty body for
  this one endpoint only. ``heldForReview`` (rather than ``rejected``) keeps the comment in
  YouTube Studio's review queue, where the owner can still publish it.
* Unhide: the same call with ``moderationStatus=published`` ("clears a comment for public
  display"), same cost and answer. Publishing a published comment succeeds again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver, Platform, require_credentials
from socialpulse.providers.http import CircuitBreaker, ProviderHttp
from socialpulse.providers.publishing import (
    CannotConfirm,
    InteractionLike,
    PublishedReply,
    ReplyAccount,
    normalise_text,
)
from socialpulse.providers.youtube.client import API_BASE, DISPLAY_NAME, youtube_error

__all__ = [
    "INSERT_QUOTA_COST",
    "MODERATION_QUOTA_COST",
    "YouTubePublisher",
    "build_publisher",
    "top_level_id",
]

INSERT_QUOTA_COST = 50
MODERATION_QUOTA_COST = 50
MODERATION_ENDPOINT = "youtube.comments.setModerationStatus"
LIST_QUOTA_COST = 1
FIND_MAX_PAGES = 5  # 500 replies under one comment: beyond that we cannot tell


def top_level_id(interaction: InteractionLike) -> str:
    if interaction.parent_external_id:
        return interaction.parent_external_id
    return interaction.external_id.split(".", 1)[0]


class _PublisherHttp(ProviderHttp):
    """The HTTP core of the publisher: ``setModerationStatus`` succeeds with an empty 204."""

    def _decode(self, endpoint: str, response: httpx.Response) -> Any:
        if endpoint == MODERATION_ENDPOINT and response.status_code == 204:
            return None
        return super()._decode(endpoint, response)


class YouTubePublisher:
    can_hide = True

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    @classmethod
    def create(
        cls,
        access_token: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = API_BASE,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> YouTubePublisher:
        return cls(
            _PublisherHttp(
                Platform.YOUTUBE.value,
                base_url=base_url,
                client=http_client,
                observer=observer,
                display_name=DISPLAY_NAME,
                error_mapper=youtube_error,
                breaker=breaker,
                headers={"Authorization": f"Bearer {access_token}"},
                max_attempts=1,  # a POST is not retried in-process; see providers.publishing
                sleep=sleep,
            )
        )

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        endpoint = "youtube.comments.insert"
        body = {"snippet": {"parentId": top_level_id(interaction), "textOriginal": text}}
        data = self.http.post_json(
            endpoint, "comments", body, {"part": "snippet"}, quota_cost=INSERT_QUOTA_COST
        )
        with self.http.parsing(endpoint):
            return _published(data)

    def hide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Hold the comment for review: it disappears from the public thread."""
        self._moderate(interaction, "heldForReview")

    def unhide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Publish the held comment: it is back in the public thread."""
        self._moderate(interaction, "published")

    def _moderate(self, interaction: InteractionLike, status: str) -> None:
        self.http.post_json(
            MODERATION_ENDPOINT,
            "comments/setModerationStatus",
            None,
            {"id": interaction.external_id, "moderationStatus": status},
            quota_cost=MODERATION_QUOTA_COST,
        )

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        endpoint = "youtube.comments.list"
        wanted = normalise_text(text)
        token: str | None = None
        for _ in range(FIND_MAX_PAGES):
            params = {
                "part": "snippet",
                "parentId": top_level_id(interaction),
                "maxResults": 100,
                "textFormat": "plainText",
                "pageToken": token,
            }
            data = self.http.get_json(endpoint, "comments", params, quota_cost=LIST_QUOTA_COST)
            for item in data.get("items") or []:
                snippet = item.get("snippet") or {}
                author = (snippet.get("authorChannelId") or {}).get("value")
                body = snippet.get("textOriginal") or snippet.get("textDisplay") or ""
                if author == account.external_id and normalise_text(body) == wanted:
                    return _published(item)
            token = data.get("nextPageToken")
            if not token:
                return None
        raise CannotConfirm(
            f"more than {FIND_MAX_PAGES * 100} replies under YouTube comment "
            f"{top_level_id(interaction)}; ours was not among them"
        )


def _published(data: Any) -> PublishedReply:
    comment_id = data["id"]
    snippet = data.get("snippet") or {}
    video_id = snippet.get("videoId")
    url = f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else None
    return PublishedReply(external_id=str(comment_id), url=url)


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",  # unused: replies address the comment by its id
) -> YouTubePublisher:
    """Credentials: ``{"access_token": "..."}`` (OAuth; an ``api_key`` cannot write)."""
    (token,) = require_credentials(Platform.YOUTUBE, credentials, "access_token")
    return YouTubePublisher.create(token, observer=observer, http_client=http_client)
