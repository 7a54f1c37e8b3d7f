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

New posts are videos (``publish_post``, scope ``youtube.upload``;
https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):

* ``POST https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status``
  with the video resource as JSON (``snippet.title`` ≤ 100 characters, ``description`` ≤ 5,000
  bytes, ``tags`` from the text's hashtags, ``categoryId``; ``status.privacyStatus`` from the
  draft's visibility) and ``X-Upload-Content-Length``/``-Type``; the answer's ``Location`` is the
  upload session. Titles and descriptions may not contain ``<`` or ``>``.
* The bytes go in ``PUT`` requests of ``chunk_bytes`` (a multiple of 256 KiB) with
  ``Content-Range: bytes first-last/total``. ``308 Resume Incomplete`` says how much arrived in
  its ``Range: bytes=0-N`` header (no header: nothing yet), and the next chunk starts at N+1,
  which is also how an interrupted upload resumes: after a transient failure we ask with an empty
  ``PUT`` and ``Content-Range: bytes */total``, a bounded number of times. ``200``/``201``
  carries the video resource.
* Quota: ``videos.insert`` costs 1,600 units (https://developers.google.com/youtube/v3/
  determine_quota_cost), reported once as ``PublishedPost.quota_units`` for the caller to charge
  to the day's budget; the upload's own requests are recorded through the observer at 0 units,
  so nothing is counted twice. ``find_post`` calls cost 1 unit each, through the observer.
* ``find_post`` reads the channel's uploads playlist (``channels.list`` then
  ``playlistItems.list``, newest first) back to ``since`` and matches title and description.
  Without quota or access left it raises ``CannotConfirm``. A video uploaded seconds ago may
  take a moment to be listed: the caller's retry delay covers that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from socialpulse.providers.base import (
    AuthError,
    CallObserver,
    NotFoundError,
    PermanentError,
    Platform,
    QuotaExhaustedError,
    TransientError,
    extract_hashtags,
    parse_timestamp,
    require_credentials,
)
from socialpulse.providers.http import CircuitBreaker, ProviderHttp, RawResponse
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
from socialpulse.providers.youtube.client import API_BASE, DISPLAY_NAME, youtube_error

__all__ = [
    "INSERT_QUOTA_COST",
    "MODERATION_QUOTA_COST",
    "UPLOAD_QUOTA_COST",
    "UPLOAD_URL",
    "YOUTUBE_POST_RULES",
    "YouTubePublisher",
    "build_publisher",
    "top_level_id",
]

UPLOAD_URL = "https://www.googleapis.com/upload/youtube/v3/videos"
UPLOAD_QUOTA_COST = 1600  # videos.insert
CHUNK_BYTES = 8 * 1024 * 1024  # a multiple of 256 KiB, as the protocol requires
UPLOAD_RESUMES = 3  # status queries after transient failures, per upload
MAX_TITLE_CHARS = 100
MAX_DESCRIPTION_BYTES = 5000
MAX_TAGS_CHARS = 500
DEFAULT_CATEGORY = "22"  # People & Blogs, the category YouTube Studio proposes
VISIBILITIES = ("public", "unlisted", "private")
FIND_PAGES = 2
FIND_PAGE_SIZE = 50
# publishedAt is YouTube's clock, ``since`` ours: a few minutes of slack.
CLOCK_SKEW = timedelta(minutes=5)
GB = 1024 * 1024 * 1024
# https://support.google.com/youtube/answer/71673 (up to 256 GB or 12 hours; unverified
# channels are limited to 15 minutes, which YouTube refuses at upload with its own message) and
# https://support.google.com/youtube/answer/4603579 (accepted formats).
YOUTUBE_POST_RULES = PostRules(
    max_chars=MAX_DESCRIPTION_BYTES,
    requires_media=True,
    requires_video=True,
    max_media=1,
    requires_title=True,
    max_title_chars=MAX_TITLE_CHARS,
    media={
        "video": MediaRules(
            frozenset(
                {
                    "video/mp4",
                    "video/quicktime",
                    "video/webm",
                    "video/x-msvideo",
                    "video/mpeg",
                    "video/x-ms-wmv",
                    "video/x-flv",
                    "video/3gpp",
                }
            ),
            max_bytes=256 * GB,
            max_duration_s=12 * 3600,
        )
    },
    visibilities=VISIBILITIES,
)

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

    def __init__(
        self,
        http: ProviderHttp,
        *,
        sleep: Callable[[float], None] = time.sleep,
        chunk_bytes: int = CHUNK_BYTES,
        upload_resumes: int = UPLOAD_RESUMES,
    ) -> None:
        self.http = http
        self._sleep = sleep
        self.chunk_bytes = chunk_bytes
        self.upload_resumes = upload_resumes

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
            ),
            sleep=sleep,
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

    # -- new posts (videos) --------------------------------------------------------------------

    @staticmethod
    def _refuse(message: str, endpoint: str = "youtube.videos.insert") -> PermanentError:
        return PermanentError(message, platform=Platform.YOUTUBE.value, endpoint=endpoint)

    def _metadata(self, draft: PostDraft) -> dict[str, Any]:
        """The video resource, or a clear refusal of what YouTube would refuse."""
        title = (draft.title or "").strip()
        if not title:
            raise self._refuse("YouTube videos need a title")
        if len(title) > MAX_TITLE_CHARS:
            raise self._refuse(f"YouTube titles hold at most {MAX_TITLE_CHARS} characters")
        size = len(draft.text.encode("utf-8"))
        if size > MAX_DESCRIPTION_BYTES:
            raise self._refuse(
                f"YouTube descriptions hold at most {MAX_DESCRIPTION_BYTES} bytes; this one has "
                f"{size}"
            )
        if any(c in title + draft.text for c in "<>"):
            raise self._refuse("YouTube titles and descriptions may not contain < or >")
        if draft.visibility and draft.visibility not in VISIBILITIES:
            raise self._refuse(
                f"YouTube privacy must be one of {', '.join(VISIBILITIES)}, "
                f"not {draft.visibility!r}"
            )
        tags: list[str] = []
        for tag in extract_hashtags(draft.text):
            if sum(len(t) + 1 for t in [*tags, tag]) > MAX_TAGS_CHARS:
                break  # tags beyond YouTube's 500 characters are left out, not refused
            tags.append(tag)
        snippet: dict[str, Any] = {
            "title": title,
            "description": draft.text,
            "categoryId": str(draft.options.get("category_id") or DEFAULT_CATEGORY),
        }
        if tags:
            snippet["tags"] = tags
        if draft.language:
            snippet["defaultLanguage"] = draft.language
        status: dict[str, Any] = {"privacyStatus": draft.visibility or "public"}
        if "made_for_kids" in draft.options:
            status["selfDeclaredMadeForKids"] = bool(draft.options["made_for_kids"])
        return {"snippet": snippet, "status": status}

    def _start_upload(self, draft: PostDraft, video: MediaItem, size: int) -> str:
        endpoint = "youtube.videos.insert"
        response = self.http.request_raw(
            "POST",
            endpoint,
            UPLOAD_URL,
            params={"uploadType": "resumable", "part": "snippet,status"},
            json_body=self._metadata(draft),
            headers={
                "X-Upload-Content-Length": str(size),
                "X-Upload-Content-Type": video.mime_type,
            },
            quota_cost=0,  # the 1,600 units are reported in PublishedPost.quota_units
        )
        location = response.headers.get("Location") or ""
        host = urlsplit(location).hostname or ""
        # Our bearer token goes to that URL next: only to Google's upload host.
        if urlsplit(location).scheme != "https" or not (
            host == "googleapis.com" or host.endswith(".googleapis.com")
        ):
            raise self._refuse("YouTube did not return an upload session URL", endpoint)
        return location

    def _put(self, session: str, body: bytes, content_range: str, mime_type: str) -> RawResponse:
        return self.http.request_raw(
            "PUT",
            "youtube.videos.upload",
            session,
            content=body,
            headers={"Content-Range": content_range, "Content-Type": mime_type},
            quota_cost=0,
        )

    def _upload(self, session: str, data: bytes, mime_type: str) -> Any:
        """Send ``data`` in chunks, resuming where YouTube says it stopped; the video."""
        total = len(data)
        offset: int | None = 0  # None: ask YouTube how much it has
        failures = 0
        # Each chunk once, plus a status query and a resend for each resume, plus slack.
        budget = total // max(1, self.chunk_bytes) + 3 * self.upload_resumes + 3
        for _ in range(budget):
            try:
                if offset is None or offset >= total:
                    # Unknown progress, or all bytes arrived: ask rather than send nothing.
                    response = self._put(session, b"", f"bytes */{total}", mime_type)
                else:
                    chunk = data[offset : offset + self.chunk_bytes]
                    last = offset + len(chunk) - 1
                    response = self._put(
                        session, chunk, f"bytes {offset}-{last}/{total}", mime_type
                    )
            except TransientError as exc:
                failures += 1
                if failures > self.upload_resumes:
                    raise
                self._sleep(exc.retry_after or 2.0**failures)
                offset = None
                continue
            if response.status_code == 308:
                offset = _next_offset(response.headers.get("Range"))
                continue
            with self.http.parsing("youtube.videos.upload"):
                return response.json()
        raise TransientError(
            f"YouTube's upload of {total} bytes made no progress",
            platform=Platform.YOUTUBE.value,
            endpoint="youtube.videos.upload",
        )

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost:
        """Upload the draft's video with its metadata (resumable); see the module docstring."""
        videos = [item for item in draft.media if item.kind == "video"]
        if len(videos) != 1 or len(draft.media) != 1:
            raise self._refuse("a YouTube post is exactly one video")
        self._metadata(draft)  # refuse bad metadata before reading a large file
        # The upload's 1,600 units are charged once it succeeded (PublishedPost.quota_units),
        # but the budget is asked for them first: a day's budget never runs over mid-upload.
        self.http.observer.before_call(Platform.YOUTUBE.value, "videos.insert", UPLOAD_QUOTA_COST)
        video = videos[0]
        data = video.read()
        session = self._start_upload(draft, video, len(data))
        resource = self._upload(session, data, video.mime_type)
        with self.http.parsing("youtube.videos.upload"):
            video_id = str(resource["id"])
        return PublishedPost(
            video_id, f"https://www.youtube.com/watch?v={video_id}", quota_units=UPLOAD_QUOTA_COST
        )

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None:
        """Our upload with this title and description published at or after ``since``."""
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        try:
            return self._find_upload(account, draft, since)
        except (QuotaExhaustedError, AuthError) as exc:
            raise CannotConfirm(f"YouTube uploads cannot be read now: {exc}") from exc

    def _find_upload(
        self, account: ReplyAccount, draft: PostDraft, since: datetime
    ) -> PublishedPost | None:
        endpoint = "youtube.channels.list"
        data = self.http.get_json(
            endpoint,
            "channels",
            {"part": "contentDetails", "id": account.external_id},
            quota_cost=LIST_QUOTA_COST,
        )
        with self.http.parsing(endpoint):
            items = data.get("items") or []
            if not items:
                raise CannotConfirm(f"YouTube channel {account.external_id} is not visible")
            playlist = str(items[0]["contentDetails"]["relatedPlaylists"]["uploads"])
        title = normalise_text(draft.title or "")
        description = normalise_text(draft.text)
        endpoint = "youtube.playlistItems.list"
        token: str | None = None
        for _ in range(FIND_PAGES):
            params = {
                "part": "snippet",
                "playlistId": playlist,
                "maxResults": FIND_PAGE_SIZE,
                "pageToken": token,
            }
            try:
                data = self.http.get_json(
                    endpoint, "playlistItems", params, quota_cost=LIST_QUOTA_COST
                )
            except NotFoundError:
                return None  # a channel that never uploaded has no uploads playlist yet
            with self.http.parsing(endpoint):
                for item in data.get("items") or []:
                    snippet = item["snippet"]
                    if parse_timestamp(str(snippet["publishedAt"])) < since - CLOCK_SKEW:
                        return None  # newest first: the rest is older still
                    if (
                        normalise_text(str(snippet.get("title") or "")) == title
                        and normalise_text(str(snippet.get("description") or "")) == description
                    ):
                        video_id = str(snippet["resourceId"]["videoId"])
                        return PublishedPost(
                            video_id, f"https://www.youtube.com/watch?v={video_id}"
                        )
            token = data.get("nextPageToken")
            if not token:
                return None
        raise CannotConfirm(
            f"more than {FIND_PAGES * FIND_PAGE_SIZE} YouTube uploads since {since.isoformat()}; "
            "ours was not among them"
        )


def _next_offset(range_header: str | None) -> int:
    """The next byte to send after a ``308``: ``Range: bytes=0-N`` → N+1; no header → 0."""
    if not range_header or "-" not in range_header:
        return 0
    try:
        return int(range_header.rsplit("-", 1)[1]) + 1
    except ValueError:
        return 0


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
