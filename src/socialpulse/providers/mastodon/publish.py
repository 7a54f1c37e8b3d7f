"""Replying on Mastodon (any instance).

* Reply: ``POST /api/v1/statuses`` with ``status`` and ``in_reply_to_id``
  (https://docs.joinmastodon.org/methods/statuses/#create), bearer ``access_token`` (scope
  ``write:statuses``). Mastodon honours an ``Idempotency-Key`` header (kept for an hour): we send
  the queue item's key, so even a blind retry within the hour could not post twice.
* The instance is the account's home (``user@host``), or credential ``instance``. Status ids are
  instance-local: the interaction must have been read on that same instance.
* ``find_existing`` reads ``GET /api/v1/statuses/:id/context`` and matches a descendant with
  ``in_reply_to_id`` = the comment, ``account.id`` = ours (or ``acct`` = our handle) and the same
  text. ``content`` is HTML, so tags are stripped before comparing.
* Mastodon only notifies people who are mentioned: write ``@name`` in the text to ping them.

New posts (``publish_post``):

* Media first: ``POST /api/v2/media`` (multipart ``file`` + ``description``, the alt text;
  https://docs.joinmastodon.org/methods/media/#v2). ``200`` means ready; ``202`` means the
  server still processes it (``url`` is null), and a status naming an unprocessed attachment is
  refused with a 422, so we poll ``GET /api/v1/media/:id`` (``206`` while processing, ``200``
  with ``url`` once done), a bounded number of times.
* Then ``POST /api/v1/statuses`` with ``status``, ``media_ids``, ``visibility``
  (public/unlisted/private/direct), ``spoiler_text`` (the content warning) and ``language``,
  and ``Idempotency-Key: draft.idempotency_key``: Mastodon answers a repeated key with the
  status it already created (for an hour), so a retry after a timeout cannot post twice.
* Limits differ per instance: ``live_post_rules`` reads ``GET /api/v2/instance``
  (``configuration.statuses`` and ``configuration.media_attachments``;
  https://docs.joinmastodon.org/entities/Instance/#configuration). ``MASTODON_POST_RULES`` are
  the defaults of a stock Mastodon 4 server. Mastodon counts every link as 23 characters and a
  remote mention without its domain; we count them as written, which only errs on the safe side.
* ``find_post`` reads our statuses (``GET /api/v1/accounts/:id/statuses``, newest first) back to
  ``since`` and matches the text: ``content`` is HTML, and a mention ``@user@host`` is shown as
  ``@user``, so both sides are compared as plain text with mentions cut to the user name.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from socialpulse.providers.base import (
    CallObserver,
    PermanentError,
    Platform,
    TransientError,
    parse_timestamp,
    require_credentials,
)
from socialpulse.providers.http import CircuitBreaker, ProviderHttp
from socialpulse.providers.mastodon import parse
from socialpulse.providers.mastodon.client import (
    DISPLAY_NAME,
    mastodon_error,
    normalise_instance,
)
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

__all__ = [
    "MASTODON_POST_RULES",
    "MastodonPublisher",
    "build_publisher",
    "html_to_text",
    "live_post_rules",
]

MB = 1024 * 1024
VISIBILITIES = ("public", "unlisted", "private", "direct")
# A stock Mastodon 4 server (https://docs.joinmastodon.org/user/posting/#attachments and the
# defaults of app/models/media_attachment.rb): 500 characters, 4 attachments, images up to
# 16 MB, videos up to 99 MB; one video or up to four images, never both.
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
_VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/ogg"})
MASTODON_POST_RULES = PostRules(
    max_chars=500,
    max_media=4,
    mixed_media=False,
    media={
        "image": MediaRules(_IMAGE_TYPES, max_bytes=16 * MB),
        "video": MediaRules(_VIDEO_TYPES, max_bytes=99 * MB),
    },
    visibilities=VISIBILITIES,
)
MEDIA_POLLS = 30  # GET /api/v1/media/:id at most this often for one attachment
MEDIA_POLL_SECONDS = 2.0
FIND_PAGES = 3
FIND_PAGE_SIZE = 40  # accounts/:id/statuses: limit max 40
# The status's created_at is the instance's clock, ``since`` ours: a few minutes of slack.
CLOCK_SKEW = timedelta(minutes=5)
_REMOTE_MENTION = re.compile(r"(?<![\w@])@([\w.-]+)@[\w-]+(?:\.[\w-]+)+")

_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(content: str) -> str:
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content)))


class MastodonPublisher:
    can_hide = False

    def __init__(
        self,
        http: ProviderHttp,
        instance: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        media_polls: int = MEDIA_POLLS,
        media_poll_seconds: float = MEDIA_POLL_SECONDS,
    ) -> None:
        self.http = http
        self.instance = normalise_instance(instance)
        self._sleep = sleep
        self.media_polls = media_polls
        self.media_poll_seconds = media_poll_seconds

    @classmethod
    def create(
        cls,
        instance: str,
        access_token: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> MastodonPublisher:
        http = ProviderHttp(
            Platform.MASTODON.value,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=mastodon_error,
            breaker=breaker,
            headers={"Authorization": f"Bearer {access_token}"},
            max_attempts=1,  # a POST is not retried in-process; see providers.publishing
            sleep=sleep,
        )
        return cls(http, instance, sleep=sleep)

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        endpoint = "mastodon.statuses.create"
        data = self.http.post_json(
            endpoint,
            f"{self.instance}/api/v1/statuses",
            {"status": text, "in_reply_to_id": interaction.external_id},
            headers={"Idempotency-Key": idempotency_key},
        )
        with self.http.parsing(endpoint):
            return PublishedReply(str(data["id"]), data.get("url") or data.get("uri"))

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        endpoint = "mastodon.statuses.context"
        data = self.http.get_json(
            endpoint, f"{self.instance}/api/v1/statuses/{interaction.external_id}/context"
        )
        wanted = normalise_text(text)
        own_acct = account.handle.lstrip("@").split("@", 1)[0].lower()
        with self.http.parsing(endpoint):
            for status in data.get("descendants") or []:
                author = status.get("account") or {}
                ours = str(author.get("id")) == account.external_id or (
                    str(author.get("acct") or "").split("@", 1)[0].lower() == own_acct
                )
                if (
                    ours
                    and str(status.get("in_reply_to_id")) == interaction.external_id
                    and normalise_text(html_to_text(str(status.get("content") or ""))) == wanted
                ):
                    return PublishedReply(str(status["id"]), status.get("url"))
        return None

    # -- new posts ----------------------------------------------------------------------------

    def _upload(self, item: MediaItem) -> str:
        """Upload one attachment and wait until the server has processed it; its id."""
        endpoint = "mastodon.media.create"
        form = {"description": item.alt_text} if item.alt_text else {}
        response = self.http.request_json(
            "POST",
            endpoint,
            f"{self.instance}/api/v2/media",
            form=form,
            files={"file": (item.filename, item.read(), item.mime_type)},
        )
        with self.http.parsing(endpoint):
            media_id = str(response.data["id"])
            ready = response.status_code == 200 or bool(response.data.get("url"))
        polls = 0
        while not ready:
            if polls >= self.media_polls:
                raise TransientError(
                    f"Mastodon was still processing {item.filename} after {polls} checks",
                    platform=Platform.MASTODON.value,
                    endpoint="mastodon.media.get",
                )
            self._sleep(self.media_poll_seconds)
            polls += 1
            data = self.http.get_json(
                "mastodon.media.get", f"{self.instance}/api/v1/media/{media_id}"
            )
            ready = isinstance(data, dict) and bool(data.get("url"))
        return media_id

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost:
        """Upload the media, then create the status with the draft's idempotency key."""
        endpoint = "mastodon.statuses.create"
        if draft.visibility and draft.visibility not in VISIBILITIES:
            raise PermanentError(
                f"Mastodon visibility must be one of {', '.join(VISIBILITIES)}, "
                f"not {draft.visibility!r}",
                platform=Platform.MASTODON.value,
                endpoint=endpoint,
            )
        media_ids = [self._upload(item) for item in draft.media]
        body: dict[str, Any] = {"status": draft.text}
        if media_ids:
            body["media_ids"] = media_ids
        if draft.visibility:
            body["visibility"] = draft.visibility
        if draft.content_warning:
            body["spoiler_text"] = draft.content_warning
        if draft.language:
            body["language"] = draft.language
        data = self.http.post_json(
            endpoint,
            f"{self.instance}/api/v1/statuses",
            body,
            headers={"Idempotency-Key": draft.idempotency_key},
        )
        with self.http.parsing(endpoint):
            return PublishedPost(str(data["id"]), data.get("url") or data.get("uri"))

    def _own_id(self, account: ReplyAccount) -> str:
        if account.external_id:
            return account.external_id
        endpoint = "mastodon.accounts.verify_credentials"
        data = self.http.get_json(endpoint, f"{self.instance}/api/v1/accounts/verify_credentials")
        with self.http.parsing(endpoint):
            return str(data["id"])

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None:
        """Our status with this text created at or after ``since`` (minus ``CLOCK_SKEW``)."""
        endpoint = "mastodon.accounts.statuses"
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        wanted = _comparable(draft.text)
        path = f"{self.instance}/api/v1/accounts/{self._own_id(account)}/statuses"
        max_id: str | None = None
        for _ in range(FIND_PAGES):
            params = {"limit": FIND_PAGE_SIZE, "max_id": max_id, "exclude_reblogs": "true"}
            response = self.http.request_json("GET", endpoint, path, params=params)
            with self.http.parsing(endpoint):
                for status in response.data:
                    if parse_timestamp(str(status["created_at"])) < since - CLOCK_SKEW:
                        return None  # newest first: the rest is older still
                    if _comparable(parse.html_to_text(status.get("content"))) == wanted:
                        return PublishedPost(str(status["id"]), status.get("url"))
            max_id = parse.next_max_id(response.headers.get("link")) if response.data else None
            if max_id is None:
                return None
        raise CannotConfirm(
            f"more than {FIND_PAGES * FIND_PAGE_SIZE} Mastodon statuses since "
            f"{since.isoformat()}; ours was not among them"
        )


def _comparable(text: str) -> str:
    """Text as both sides of ``find_post`` compare it: ``@user@host`` shown as ``@user``."""
    return normalise_text(_REMOTE_MENTION.sub(r"@\1", text))


def _rules_from_instance(data: Any) -> PostRules:
    config = data["configuration"]
    statuses = config["statuses"]
    media = config.get("media_attachments") or {}
    mime_types = frozenset(str(t) for t in media.get("supported_mime_types") or ())
    image_limit = int(media.get("image_size_limit") or 16 * MB)
    video_limit = int(media.get("video_size_limit") or 99 * MB)
    images = frozenset(t for t in mime_types if t.startswith("image/")) or _IMAGE_TYPES
    videos = frozenset(t for t in mime_types if t.startswith("video/")) or _VIDEO_TYPES
    return PostRules(
        max_chars=int(statuses["max_characters"]),
        max_media=int(statuses.get("max_media_attachments") or 4),
        mixed_media=False,
        media={
            "image": MediaRules(images, max_bytes=image_limit),
            "video": MediaRules(videos, max_bytes=video_limit),
        },
        visibilities=VISIBILITIES,
    )


def live_post_rules(
    credentials: Mapping[str, Any], http_client: httpx.Client | None = None
) -> PostRules:
    """The account's instance's own limits (``GET /api/v2/instance``, public). Raises a
    ``ProviderError`` when it cannot tell; the caller then uses ``MASTODON_POST_RULES``."""
    endpoint = "mastodon.instance"
    instance = str(credentials.get("instance") or "")
    if not instance:
        raise PermanentError(
            "Mastodon's limits need the account's instance",
            platform=Platform.MASTODON.value,
            endpoint=endpoint,
        )
    try:
        base = normalise_instance(instance)
    except ValueError as exc:  # ForbiddenInstanceError included: a private address, a port
        raise PermanentError(str(exc), platform=Platform.MASTODON.value, endpoint=endpoint) from exc
    http = ProviderHttp(
        Platform.MASTODON.value,
        client=http_client,
        display_name=DISPLAY_NAME,
        error_mapper=mastodon_error,
        timeout=httpx.Timeout(10.0, connect=5.0),
        max_attempts=1,  # the caller has a fallback: no waiting on a slow instance
    )
    with http:
        data = http.get_json(endpoint, f"{base}/api/v2/instance")
        with http.parsing(endpoint):
            return _rules_from_instance(data)


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",
) -> MastodonPublisher:
    """Credentials: ``{"access_token": "...", "instance"?: "mastodon.social"}``."""
    (token,) = require_credentials(Platform.MASTODON, credentials, "access_token")
    instance = credentials.get("instance") or (handle.split("@")[-1] if "@" in handle else "")
    if not instance:
        raise PermanentError(
            "Mastodon replies need the account's instance: a handle user@instance",
            platform=Platform.MASTODON.value,
            endpoint="mastodon.statuses.create",
        )
    return MastodonPublisher.create(
        str(instance), token, observer=observer, http_client=http_client
    )
