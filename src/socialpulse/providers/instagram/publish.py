"""Replying to Instagram comments (Graph API, Instagram API with Facebook Login).

* Reply: ``POST /{ig-comment-id}/replies?message=...`` with the user access token
  (permission ``instagram_manage_comments``); the answer is ``{"id": "<reply id>"}``
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies).
  Replies nest one level: a reply to a reply goes under the top-level comment.
* ``find_existing``: ``GET /{ig-comment-id}/replies?fields=id,text,username,from,timestamp``
  and match ``from.id`` = our ``ig_user_id`` (or ``username`` = our handle) + the text.
* Hide: ``POST /{ig-comment-id}?hide=true`` (same permission; only comments under the
  account's own media can be hidden); the answer is ``{"success": true}``
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment).
  Hiding a hidden comment answers ``success`` again, so a retried job is harmless.
* Unhide: the same call with ``hide=false``, the same answer.
* Errors go through ``instagram_error`` (code 190 → auth, throttles → quota, ...).

New posts (``publish_post``; business or creator accounts, permission
``instagram_content_publish``; https://developers.facebook.com/docs/instagram-platform/content-publishing):

* First ``GET /{ig-user-id}/content_publishing_limit?fields=config,quota_usage``: an account
  may publish ``config.quota_total`` posts (100) per ``quota_duration`` (24 h, rolling) through
  the API; when ``quota_usage`` has reached it we refuse with ``QuotaExhaustedError`` before any
  container exists.
* Instagram fetches media itself, by URL: every ``MediaItem`` needs a ``public_url`` (the S3
  store, or a public base URL for local media). One item: a container ``POST /{ig-user-id}/media``
  with ``image_url`` (JPEG only) or ``video_url`` + ``media_type=REELS``, and the ``caption``.
  Several (at most 10): one container per item with ``is_carousel_item=true`` (videos with
  ``media_type=VIDEO``), then a ``media_type=CAROUSEL`` container naming its ``children``.
* Each container is polled (``GET /{container-id}?fields=status_code,status``) until
  ``FINISHED``, a bounded number of times; ``ERROR`` or ``EXPIRED`` is a ``PermanentError``
  carrying Instagram's status. Then ``POST /{ig-user-id}/media_publish?creation_id=`` returns
  the media id, and ``GET /{media-id}?fields=permalink`` its URL.
* Captions: at most 2,200 characters and 30 hashtags (https://developers.facebook.com/docs/
  instagram-platform/instagram-graph-api/reference/ig-user/media#creating). ``PostRules`` has no
  hashtag count, so the 30 are checked here, before any call.
* ``find_post`` lists our media (``GET /{ig-user-id}/media``, newest first) back to ``since`` and
  matches the caption.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from socialpulse.providers.base import (
    CallObserver,
    PermanentError,
    Platform,
    ProviderError,
    QuotaExhaustedError,
    TransientError,
    parse_timestamp,
    require_credentials,
)
from socialpulse.providers.http import CircuitBreaker, ProviderHttp
from socialpulse.providers.instagram.client import API_BASE, DISPLAY_NAME, instagram_error
from socialpulse.providers.publishing import (
    CannotConfirm,
    InteractionLike,
    MediaItem,
    MediaRules,
    PostDraft,
    PostRules,
    PublishedPost,
    PublishedReply,
    ReplyAccount,
    normalise_text,
)

__all__ = ["INSTAGRAM_POST_RULES", "MAX_HASHTAGS", "InstagramPublisher", "build_publisher"]

log = structlog.get_logger(__name__)

FIND_MAX_PAGES = 5
MB = 1024 * 1024
MAX_HASHTAGS = 30
MAX_CAROUSEL_ITEMS = 10
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
# (image and reel specifications): JPEG only, 8 MB; reels MP4/MOV, 3 s to 15 min, 300 MB.
INSTAGRAM_POST_RULES = PostRules(
    max_chars=2200,
    requires_media=True,
    max_media=MAX_CAROUSEL_ITEMS,
    mixed_media=True,  # a carousel may mix images and videos
    media={
        # Wider than 1,440 px is scaled down, narrower than 320 px up: neither is refused.
        "image": MediaRules(frozenset({"image/jpeg"}), max_bytes=8 * MB),
        "video": MediaRules(
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=300 * MB,
            min_duration_s=3,
            max_duration_s=15 * 60,
        ),
    },
)
CONTAINER_POLLS = 60  # Instagram suggests checking at most once a minute for five minutes
CONTAINER_POLL_SECONDS = 5.0
FIND_PAGE_SIZE = 25
# The media's timestamp is Instagram's clock, ``since`` ours: a few minutes of slack.
CLOCK_SKEW = timedelta(minutes=5)
_HASHTAG = re.compile(r"(?<![\w&#])#\w+")


class InstagramPublisher:
    can_hide = True

    def __init__(
        self,
        http: ProviderHttp,
        ig_user_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        container_polls: int = CONTAINER_POLLS,
        container_poll_seconds: float = CONTAINER_POLL_SECONDS,
    ) -> None:
        self.http = http
        self.ig_user_id = ig_user_id
        self._sleep = sleep
        self.container_polls = container_polls
        self.container_poll_seconds = container_poll_seconds

    @classmethod
    def create(
        cls,
        access_token: str,
        ig_user_id: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = API_BASE,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> InstagramPublisher:
        http = ProviderHttp(
            Platform.INSTAGRAM.value,
            base_url=base_url,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=lambda response, endpoint: instagram_error(response, endpoint),
            breaker=breaker,
            params={"access_token": access_token},
            max_attempts=1,  # a POST is not retried in-process; see providers.publishing
            sleep=sleep,
        )
        return cls(http, ig_user_id, sleep=sleep)

    @staticmethod
    def _comment_id(interaction: InteractionLike) -> str:
        return interaction.parent_external_id or interaction.external_id

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        endpoint = "instagram.comment.replies.create"
        data = self.http.post_json(
            endpoint, f"{self._comment_id(interaction)}/replies", None, {"message": text}
        )
        with self.http.parsing(endpoint):
            return PublishedReply(str(data["id"]), None)

    def hide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Hide the comment itself (a reply is hidden on its own, not via its parent)."""
        self._set_hidden(interaction, True)

    def unhide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Show the hidden comment again (like ``hide``, on the comment itself)."""
        self._set_hidden(interaction, False)

    def _set_hidden(self, interaction: InteractionLike, hide: bool) -> None:
        endpoint = "instagram.comment.hide" if hide else "instagram.comment.unhide"
        params = {"hide": "true" if hide else "false"}
        data = self.http.post_json(endpoint, interaction.external_id, None, params)
        if not (isinstance(data, dict) and data.get("success") is True):
            verb = "hiding" if hide else "unhiding"
            raise PermanentError(
                f"Instagram did not confirm {verb} comment {interaction.external_id}: {data!r}",
                platform=Platform.INSTAGRAM.value,
                endpoint=endpoint,
            )

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        endpoint = "instagram.comment.replies.list"
        wanted = normalise_text(text)
        after: str | None = None
        for _ in range(FIND_MAX_PAGES):
            params = {"fields": "id,text,username,from,timestamp", "limit": 50, "after": after}
            data = self.http.get_json(endpoint, f"{self._comment_id(interaction)}/replies", params)
            for item in data.get("data") or []:
                author = item.get("from") or {}
                ours = str(author.get("id")) in (self.ig_user_id, account.external_id) or (
                    str(item.get("username") or "").lower() == account.handle.lower()
                )
                if ours and normalise_text(str(item.get("text") or "")) == wanted:
                    return PublishedReply(str(item["id"]), None)
            paging = data.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return None
        raise CannotConfirm(
            f"more than {FIND_MAX_PAGES * 50} replies under Instagram comment "
            f"{self._comment_id(interaction)}; ours was not among them"
        )

    # -- new posts ----------------------------------------------------------------------------

    @staticmethod
    def _refuse(message: str, endpoint: str = "instagram.media.create") -> PermanentError:
        return PermanentError(message, platform=Platform.INSTAGRAM.value, endpoint=endpoint)

    def _check(self, draft: PostDraft) -> None:
        """What Instagram would refuse, said before any call."""
        if not draft.media:
            raise self._refuse("Instagram posts need at least one image or video")
        if len(draft.media) > MAX_CAROUSEL_ITEMS:
            raise self._refuse(f"Instagram carousels hold at most {MAX_CAROUSEL_ITEMS} items")
        tags = len(_HASHTAG.findall(draft.text))
        if tags > MAX_HASHTAGS:
            raise self._refuse(
                f"Instagram captions hold at most {MAX_HASHTAGS} hashtags; this one has {tags}"
            )
        for item in draft.media:
            if not item.public_url:
                raise self._refuse(
                    f"{item.filename}: Instagram fetches media from a public URL, and this file "
                    "has none; store media in S3 or set a public base URL for the media store"
                )
            if item.kind not in ("image", "video"):
                raise self._refuse(f"{item.filename}: Instagram takes images and videos only")

    def _check_quota(self) -> None:
        endpoint = "instagram.content_publishing_limit"
        data = self.http.get_json(
            endpoint,
            f"{self.ig_user_id}/content_publishing_limit",
            {"fields": "config,quota_usage"},
        )
        with self.http.parsing(endpoint):
            limit = data["data"][0]
            usage = int(limit.get("quota_usage") or 0)
            config = limit.get("config") or {}
            total = int(config.get("quota_total") or 100)
            hours = int(config.get("quota_duration") or 86400) // 3600
        if usage >= total:
            raise QuotaExhaustedError(
                f"Instagram allows {total} posts through the API per {hours} h; this account "
                f"has published {usage}",
                platform=Platform.INSTAGRAM.value,
                endpoint=endpoint,
            )

    def _container(self, fields: dict[str, str]) -> str:
        endpoint = "instagram.media.create"
        response = self.http.request_json("POST", endpoint, f"{self.ig_user_id}/media", form=fields)
        with self.http.parsing(endpoint):
            return str(response.data["id"])

    @staticmethod
    def _media_fields(item: MediaItem, *, carousel_item: bool) -> dict[str, str]:
        url = str(item.public_url)
        if item.kind == "video":
            # A single video is published as a reel; inside a carousel it is a VIDEO.
            fields = {"video_url": url, "media_type": "VIDEO" if carousel_item else "REELS"}
        else:
            fields = {"image_url": url}
        if carousel_item:
            fields["is_carousel_item"] = "true"
        return fields

    def _wait_until_finished(self, container_id: str) -> None:
        endpoint = "instagram.container.status"
        for poll in range(self.container_polls):
            data = self.http.get_json(endpoint, container_id, {"fields": "status_code,status"})
            with self.http.parsing(endpoint):
                code = str(data["status_code"])
            if code in ("FINISHED", "PUBLISHED"):
                return
            if code in ("ERROR", "EXPIRED"):
                detail = data.get("status") or code
                raise self._refuse(
                    f"Instagram could not prepare container {container_id}: {code} ({detail})",
                    endpoint,
                )
            if poll + 1 < self.container_polls:
                self._sleep(self.container_poll_seconds)
        raise TransientError(
            f"Instagram was still processing container {container_id} after "
            f"{self.container_polls} checks",
            platform=Platform.INSTAGRAM.value,
            endpoint=endpoint,
        )

    def _permalink(self, media_id: str) -> str | None:
        try:
            data = self.http.get_json(
                "instagram.media.permalink", media_id, {"fields": "permalink"}
            )
        except ProviderError as exc:
            # The post exists already: failing now would make the caller publish it again.
            log.warning("instagram.publish.permalink_failed", media_id=media_id, error=str(exc))
            return None
        link = data.get("permalink") if isinstance(data, dict) else None
        return str(link) if link else None

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost:
        """Check the quota, build the container(s), wait, publish; see the module docstring."""
        self._check(draft)
        self._check_quota()
        if len(draft.media) == 1:
            fields = self._media_fields(draft.media[0], carousel_item=False)
            container = self._container({**fields, "caption": draft.text})
        else:
            children = [
                self._container(self._media_fields(item, carousel_item=True))
                for item in draft.media
            ]
            for child in children:
                self._wait_until_finished(child)
            container = self._container(
                {"media_type": "CAROUSEL", "children": ",".join(children), "caption": draft.text}
            )
        self._wait_until_finished(container)
        endpoint = "instagram.media_publish"
        data = self.http.post_json(
            endpoint, f"{self.ig_user_id}/media_publish", None, {"creation_id": container}
        )
        with self.http.parsing(endpoint):
            media_id = str(data["id"])
        return PublishedPost(media_id, self._permalink(media_id))

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None:
        """Our media with this caption posted at or after ``since`` (minus ``CLOCK_SKEW``)."""
        endpoint = "instagram.media.list"
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        wanted = normalise_text(draft.text)
        after: str | None = None
        for _ in range(FIND_MAX_PAGES):
            params = {
                "fields": "id,caption,permalink,timestamp",
                "limit": FIND_PAGE_SIZE,
                "after": after,
            }
            data = self.http.get_json(endpoint, f"{self.ig_user_id}/media", params)
            with self.http.parsing(endpoint):
                for item in data.get("data") or []:
                    if parse_timestamp(str(item["timestamp"])) < since - CLOCK_SKEW:
                        return None  # newest first: the rest is older still
                    if normalise_text(str(item.get("caption") or "")) == wanted:
                        return PublishedPost(str(item["id"]), item.get("permalink"))
            paging = data.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return None
        raise CannotConfirm(
            f"more than {FIND_MAX_PAGES * FIND_PAGE_SIZE} Instagram posts since "
            f"{since.isoformat()}; ours was not among them"
        )


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",  # unused: replies address the comment by its id
) -> InstagramPublisher:
    """Credentials: ``{"access_token": "...", "ig_user_id": "1784..."}``."""
    access_token, ig_user_id = require_credentials(
        Platform.INSTAGRAM, credentials, "access_token", "ig_user_id"
    )
    return InstagramPublisher.create(
        access_token,
        ig_user_id,
        observer=observer,
        http_client=http_client,
    )
