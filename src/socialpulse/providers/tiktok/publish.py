"""Publishing videos on TikTok: the Content Posting API, Direct Post.

https://developers.tiktok.com/doc/content-posting-api-reference-direct-post

* Credentials: a user ``access_token`` with the ``video.publish`` scope (without one,
  ``build_publisher`` raises ``MissingCredentialsError``). Until TikTok has audited the app,
  everything it posts is private (``SELF_ONLY``); TikTok says so with
  ``unaudited_client_can_only_post_to_private_accounts``, which we pass on as a
  ``PermanentError``.
* ``POST /v2/post/publish/creator_info/query/`` first: the privacy levels this creator may use
  (``privacy_level_options``), the longest video they may post
  (``max_video_post_duration_sec``) and whether they turned comments, duets or stitches off. A
  visibility the creator is not offered, or a video too long for them, is refused before any
  upload.
* ``POST /v2/post/publish/video/init/`` with ``post_info`` (``title`` = the caption, at most
  2,200 characters, and ``privacy_level``) and ``source_info`` (``FILE_UPLOAD``,
  ``video_size``, ``chunk_size``, ``total_chunk_count``) returns a ``publish_id`` and an
  ``upload_url``. Chunk rules (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide):
  a video up to 64 MB goes whole; a larger one in chunks of 5-64 MB, ``total_chunk_count`` =
  size // chunk size, the last chunk taking the remainder (up to 128 MB), sent in order.
* ``PUT upload_url`` per chunk with ``Content-Range: bytes first-last/total`` (``206`` for a
  part, ``201`` once complete). The upload URL is TikTok's, but our token does not go with it:
  it is not needed there.
* ``POST /v2/post/publish/status/fetch/`` until ``PUBLISH_COMPLETE`` (a bounded number of
  times); ``FAILED`` is a ``PermanentError`` with TikTok's ``fail_reason``. The public post id
  (``publicaly_available_post_id``, TikTok's spelling) comes after moderation, which can take
  longer than we wait: the post is then returned under its ``publish_id``, since TikTok has it
  and will publish it; publishing again would post twice.
* Errors: as the rest of TikTok's API (``client.tiktok_error``), plus the daily post cap
  (``spam_risk_too_many_posts``, ``reached_active_user_cap``) as ``QuotaExhaustedError``.
* ``find_post``: TikTok offers no lookup of a creator's posts by text to apps like ours (the
  Display API lists public videos only, and an unaudited app's posts are private), so it raises
  ``CannotConfirm``, unless ``draft.options["publish_id"]`` names the attempt, whose status is
  then fetched.
* No replies: TikTok's public API cannot answer comments. The provider does not claim
  ``Capability.REPLY``, and ``reply``/``find_existing`` refuse with a ``PermanentError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog

from socialpulse.providers.base import (
    CallObserver,
    PermanentError,
    Platform,
    ProviderError,
    QuotaExhaustedError,
    require_credentials,
)
from socialpulse.providers.http import CircuitBreaker, ProviderHttp, clean_message
from socialpulse.providers.publishing import (
    CannotConfirm,
    InteractionLike,
    MediaRules,
    PostDraft,
    PostRules,
    PublishedPost,
    PublishedReply,
    ReplyAccount,
)
from socialpulse.providers.tiktok import parse
from socialpulse.providers.tiktok.client import API_BASE, DISPLAY_NAME, envelope_body, tiktok_error

__all__ = ["PRIVACY_LEVELS", "TIKTOK_POST_RULES", "TikTokPublisher", "build_publisher"]

log = structlog.get_logger(__name__)

MB = 1024 * 1024
GB = 1024 * MB
WHOLE_UPLOAD_MAX = 64 * MB  # up to this size a video goes in one request
CHUNK_BYTES = 10 * MB  # between TikTok's 5 and 64 MB
STATUS_POLLS = 60  # status/fetch allows 30 requests a minute per token
STATUS_POLL_SECONDS = 5.0
# Our visibilities → TikTok's privacy levels.
PRIVACY_LEVELS = {
    "public": "PUBLIC_TO_EVERYONE",
    "followers": "FOLLOWER_OF_CREATOR",
    "friends": "MUTUAL_FOLLOW_FRIENDS",
    "private": "SELF_ONLY",
}
_QUOTA_CODES = {"spam_risk_too_many_posts", "reached_active_user_cap"}
# https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide (video
# restrictions): MP4, WebM or MOV, up to 4 GB, 360-4,096 px a side; every creator may post
# 3 minutes, some 5 or 10 (creator_info says which; checked at publish).
TIKTOK_POST_RULES = PostRules(
    max_chars=2200,
    requires_media=True,
    requires_video=True,
    max_media=1,
    media={
        "video": MediaRules(
            frozenset({"video/mp4", "video/webm", "video/quicktime"}),
            max_bytes=4 * GB,
            max_width=4096,
            max_height=4096,
            max_duration_s=600,
        )
    },
    visibilities=tuple(PRIVACY_LEVELS),
)


def tiktok_publish_error(response: httpx.Response, endpoint: str) -> ProviderError | None:
    """The daily post cap is a quota; everything else as ``tiktok_error``."""
    try:
        error = parse.envelope_error(response.json())
    except ValueError:
        error = None
    if error is not None and error.code in _QUOTA_CODES:
        return QuotaExhaustedError(
            f"TikTok refused more posts for now ({error.code}): {clean_message(error.message)}",
            platform=Platform.TIKTOK.value,
            endpoint=endpoint,
            status_code=response.status_code,
        )
    return tiktok_error(response, endpoint)


def _chunks(size: int, chunk_bytes: int, whole_max: int) -> tuple[int, int]:
    """``(chunk_size, total_chunk_count)`` by TikTok's rules; the last chunk takes the rest."""
    if size <= whole_max:
        return size, 1
    return chunk_bytes, size // chunk_bytes


class TikTokPublisher:
    """Publishes videos (``PostPublisher``); TikTok has no reply API (see the module)."""

    can_hide = False

    def __init__(
        self,
        http: ProviderHttp,
        access_token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        chunk_bytes: int = CHUNK_BYTES,
        whole_upload_max: int = WHOLE_UPLOAD_MAX,
        status_polls: int = STATUS_POLLS,
        status_poll_seconds: float = STATUS_POLL_SECONDS,
    ) -> None:
        self.http = http
        self._auth = {"Authorization": f"Bearer {access_token}"}
        self._sleep = sleep
        self.chunk_bytes = chunk_bytes
        self.whole_upload_max = whole_upload_max
        self.status_polls = status_polls
        self.status_poll_seconds = status_poll_seconds

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
    ) -> TikTokPublisher:
        http = ProviderHttp(
            Platform.TIKTOK.value,
            base_url=base_url,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=tiktok_publish_error,
            breaker=breaker,
            max_attempts=1,  # a POST is not retried in-process; see providers.publishing
            sleep=sleep,
        )
        return cls(http, access_token, sleep=sleep)

    # -- no replies -----------------------------------------------------------------------------

    @staticmethod
    def _no_replies(endpoint: str) -> PermanentError:
        return PermanentError(
            "TikTok's API has no comment replies: answer in the TikTok app",
            platform=Platform.TIKTOK.value,
            endpoint=endpoint,
        )

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        raise self._no_replies("tiktok.comment.reply")

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        raise self._no_replies("tiktok.comment.list")

    # -- new posts ------------------------------------------------------------------------------

    def _post(self, endpoint: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.http.request_json(
            "POST",
            endpoint,
            path,
            json_body=body,
            headers={**self._auth, "Content-Type": "application/json; charset=UTF-8"},
        )
        data = envelope_body(response, endpoint)
        with self.http.parsing(endpoint):
            return parse.envelope_data(data, endpoint.removeprefix("tiktok."))

    @staticmethod
    def _refuse(message: str, endpoint: str = "tiktok.post.video.init") -> PermanentError:
        return PermanentError(message, platform=Platform.TIKTOK.value, endpoint=endpoint)

    def _privacy_level(self, draft: PostDraft, offered: list[str]) -> str:
        wanted = draft.visibility or "public"
        level = PRIVACY_LEVELS.get(wanted, wanted)
        if level not in offered:
            names = {v: k for k, v in PRIVACY_LEVELS.items()}
            choices = ", ".join(names.get(option, option) for option in offered) or "none"
            raise self._refuse(
                f"this TikTok account cannot post with visibility {wanted!r}; it offers: {choices}"
            )
        return level

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost:
        """Ask what the creator may post, upload the video in chunks, wait for TikTok."""
        if len(draft.media) != 1 or draft.media[0].kind != "video":
            raise self._refuse("a TikTok post is exactly one video")
        video = draft.media[0]
        creator = self._post("tiktok.post.creator_info", "post/publish/creator_info/query/")
        with self.http.parsing("tiktok.post.creator_info"):
            offered = [str(option) for option in creator.get("privacy_level_options") or []]
            max_seconds = creator.get("max_video_post_duration_sec")
            username = str(creator.get("creator_username") or "")
        level = self._privacy_level(draft, offered)
        if max_seconds and video.duration_s and video.duration_s > float(max_seconds):
            raise self._refuse(
                f"{video.filename} lasts {video.duration_s:.0f} s; this TikTok account may post "
                f"videos of at most {max_seconds} s"
            )
        data = video.read()
        chunk_size, chunk_count = _chunks(len(data), self.chunk_bytes, self.whole_upload_max)
        options = draft.options
        post_info: dict[str, Any] = {
            "title": draft.text,
            "privacy_level": level,
            # A creator who turned comments, duets or stitches off keeps them off.
            "disable_comment": bool(
                options.get("disable_comment") or creator.get("comment_disabled")
            ),
            "disable_duet": bool(options.get("disable_duet") or creator.get("duet_disabled")),
            "disable_stitch": bool(options.get("disable_stitch") or creator.get("stitch_disabled")),
        }
        init = self._post(
            "tiktok.post.video.init",
            "post/publish/video/init/",
            {
                "post_info": post_info,
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": len(data),
                    "chunk_size": chunk_size,
                    "total_chunk_count": chunk_count,
                },
            },
        )
        with self.http.parsing("tiktok.post.video.init"):
            publish_id = str(init["publish_id"])
            upload_url = str(init["upload_url"])
        log.info("tiktok.publish.initialised", publish_id=publish_id, chunks=chunk_count)
        self._upload(upload_url, data, video.mime_type, chunk_size, chunk_count)
        return self._wait(publish_id, username)

    def _upload(
        self, upload_url: str, data: bytes, mime_type: str, chunk_size: int, count: int
    ) -> None:
        total = len(data)
        for index in range(count):
            start = index * chunk_size
            end = total if index == count - 1 else start + chunk_size  # the last takes the rest
            self.http.request_raw(
                "PUT",
                "tiktok.post.video.upload",
                upload_url,
                content=data[start:end],
                headers={
                    "Content-Range": f"bytes {start}-{end - 1}/{total}",
                    "Content-Type": mime_type,
                },
            )

    def _status(self, publish_id: str) -> dict[str, Any]:
        return self._post(
            "tiktok.post.status", "post/publish/status/fetch/", {"publish_id": publish_id}
        )

    @staticmethod
    def _published(publish_id: str, status: dict[str, Any], username: str) -> PublishedPost:
        ids = status.get("publicaly_available_post_id") or []
        if ids and username:
            post_id = str(ids[0])
            return PublishedPost(post_id, f"https://www.tiktok.com/@{username}/video/{post_id}")
        if ids:
            return PublishedPost(str(ids[0]), None)
        return PublishedPost(publish_id, None)

    def _failed(self, status: dict[str, Any]) -> PermanentError:
        reason = clean_message(status.get("fail_reason") or "no reason given")
        return self._refuse(f"TikTok could not publish the video: {reason}", "tiktok.post.status")

    def _wait(self, publish_id: str, username: str) -> PublishedPost:
        status: dict[str, Any] = {}
        for poll in range(self.status_polls):
            status = self._status(publish_id)
            state = str(status.get("status") or "")
            if state in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
                return self._published(publish_id, status, username)
            if state == "FAILED":
                raise self._failed(status)
            if poll + 1 < self.status_polls:
                self._sleep(self.status_poll_seconds)
        # TikTok holds the video and goes on processing it (moderation can take hours):
        # it is ours now, and sending it again would post it twice.
        log.warning("tiktok.publish.still_processing", publish_id=publish_id, status=status)
        return PublishedPost(publish_id, None)

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None:
        """Only by ``draft.options["publish_id"]``: TikTok cannot be searched by text."""
        publish_id = str(draft.options.get("publish_id") or "")
        if not publish_id:
            raise CannotConfirm(
                "TikTok's API cannot look up a creator's posts by text; without the attempt's "
                "publish_id we cannot tell whether it was published"
            )
        status = self._status(publish_id)
        state = str(status.get("status") or "")
        if state in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
            return self._published(publish_id, status, "")
        if state == "FAILED":
            return None  # TikTok dropped it: publishing again posts it once
        raise CannotConfirm(f"TikTok is still processing publish {publish_id} ({state})")


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",  # unused: the token names the account
) -> TikTokPublisher:
    """Credentials: ``{"access_token": "act.…"}`` with the ``video.publish`` scope."""
    (token,) = require_credentials(Platform.TIKTOK, credentials, "access_token")
    return TikTokPublisher.create(token, observer=observer, http_client=http_client)
