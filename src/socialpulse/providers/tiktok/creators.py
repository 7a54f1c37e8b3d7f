"""TikTok as a creator source: only with Research API access (an approved research client's
``research_client_key`` and ``research_client_secret``); without them,
``CreatorSourceUnavailable`` says reports are not available for TikTok. The Display API of a
connected account (``client``) reads that one account only, never another creator.

Research API (https://developers.tiktok.com/doc/research-api-specs-query-user-info ,
.../research-api-specs-query-videos , .../research-api-specs-query-video-comments):

* Token: ``POST oauth/token/`` (form-encoded ``client_credentials`` grant) gives a client token
  for about two hours; it is kept and fetched again shortly before it expires.
* Profile: ``POST research/user/info/`` ``{"username": ...}``. The answer carries no account
  id, so the username is the external id. TikTok does not document its message for a private
  or unknown account: an error whose message speaks of a private account becomes a
  ``PermanentError`` saying so, one that says the user does not exist a ``NotFoundError``.
* Posts: ``POST research/video/query/`` for ``username EQ <name>`` over 30-day windows (the
  longest TikTok allows), walking back from today until enough videos or a year; results are
  not ordered within a window, so each window is read whole and the videos sorted newest first.
  The Research API returns no cover image: TikTok posts have no thumbnail.
* Comments: ``POST research/video/comment/list/``. Research comments carry no author, so a
  comment's author id and handle are empty (repeat commenters cannot be told apart).
* Related: ``@username`` mentions in video descriptions and the bio.

Every call is one request of the Research API's daily allowance and goes through the observer;
errors come in TikTok's envelope and map as in ``client`` (``envelope_body``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from socialpulse.providers.base import (
    AuthError,
    CallObserver,
    Comment,
    MalformedPayloadError,
    NotFoundError,
    PermanentError,
    Platform,
    Post,
    Profile,
    extract_hashtags,
    utcnow,
)
from socialpulse.providers.creators import (
    CreatorSourceUnavailable,
    RelatedHandle,
    mentioned,
    merge_related,
    newest_posts,
)
from socialpulse.providers.http import CircuitBreaker, ProviderHttp, clean_message
from socialpulse.providers.items import fit, parse_each, scrub
from socialpulse.providers.tiktok import parse
from socialpulse.providers.tiktok.client import API_BASE, DISPLAY_NAME, envelope_body, tiktok_error

__all__ = [
    "NO_RESEARCH_ACCESS",
    "TikTokResearchSource",
    "build_creator_source",
    "parse_research_comments",
    "parse_research_user",
    "parse_research_videos",
]

_PLATFORM = Platform.TIKTOK.value
NO_RESEARCH_ACCESS = "creator reports are not available for TikTok without Research API access"
USER_FIELDS = (
    "display_name,bio_description,avatar_url,is_verified,follower_count,following_count,"
    "likes_count,video_count,bio_url"
)
VIDEO_FIELDS = (
    "id,video_description,create_time,region_code,share_count,view_count,like_count,"
    "comment_count,hashtag_names,username,video_duration"
)
COMMENT_FIELDS = "id,video_id,text,like_count,reply_count,parent_comment_id,create_time"
MAX_COUNT = 100  # video/query and comment/list: max_count at most 100
WINDOW_DAYS = 30  # video/query: end_date at most 30 days after start_date
MAX_WINDOWS = 12  # about a year back
MAX_PAGES = 50
TOKEN_MARGIN_SECONDS = 300.0


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def parse_research_user(body: Any, username: str) -> Profile:
    """``research/user/info/`` → ``Profile`` (external id: the username)."""
    user = scrub(parse.envelope_data(body, "research user info"))
    return fit(
        Profile(
            platform=Platform.TIKTOK,
            external_id=username,
            handle=username,
            display_name=str(user.get("display_name") or username),
            bio=str(user.get("bio_description") or ""),
            avatar_url=user.get("avatar_url") or None,
            profile_url=parse.profile_url(username),
            followers_count=_count(user.get("follower_count")),
            following_count=_count(user.get("following_count")),
            posts_count=_count(user.get("video_count")),
            verified=bool(user.get("is_verified")),
            raw=dict(user),
        )
    )


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _research_video(item: Any, username: str) -> Post:
    post = parse.parse_video(item, username)
    tags = [str(tag) for tag in item.get("hashtag_names") or [] if tag]
    return fit(
        dataclasses.replace(
            post,
            url=f"{parse.profile_url(username)}/video/{post.external_id}",
            hashtags=tuple(dict.fromkeys([*extract_hashtags(post.caption), *tags])),
            duration_seconds=_count(item.get("video_duration")),
        )
    )


def parse_research_videos(body: Any, username: str) -> tuple[list[Post], dict[str, Any] | None]:
    """``research/video/query/`` → (videos, the next page's ``cursor``/``search_id`` or None)."""
    data = parse.envelope_data(body, "research video query")
    videos = data.get("videos", [])
    if not isinstance(videos, list):
        raise MalformedPayloadError("TikTok returned a research video query without a list")
    posts = parse_each(
        videos, lambda item: _research_video(item, username), platform=_PLATFORM, what="video"
    )
    return posts, _next_page(data, extra=("search_id",))


def _next_page(data: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any] | None:
    if not data.get("has_more"):
        return None
    cursor = data.get("cursor")
    if not isinstance(cursor, int) or isinstance(cursor, bool):
        raise MalformedPayloadError("TikTok returned has_more without a numeric 'cursor'")
    return {"cursor": cursor, **{key: data[key] for key in extra if data.get(key)}}


def _research_comment(item: Any, video_id: str) -> Comment:
    comment_id = str(_required(item, "id"))
    created = _required(item, "create_time")
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise MalformedPayloadError(f"TikTok returned comment {comment_id} without a time")
    parent = item.get("parent_comment_id")
    top_level = parent in (None, 0, "") or str(parent) == video_id
    return fit(
        Comment(
            platform=Platform.TIKTOK,
            external_id=comment_id,
            post_external_id=video_id,
            parent_external_id=None if top_level else str(parent),
            author_external_id="",  # the Research API names no comment author
            author_handle="",
            text=str(item.get("text") or ""),
            posted_at=datetime.fromtimestamp(created, tz=UTC),
            like_count=_count(item.get("like_count")),
            reply_count=_count(item.get("reply_count")),
            raw=dict(item),
        )
    )


def _required(item: Any, key: str) -> Any:
    if not isinstance(item, dict) or item.get(key) in (None, ""):
        raise MalformedPayloadError(f"TikTok returned a comment without '{key}'")
    return item[key]


def parse_research_comments(
    body: Any, video_id: str
) -> tuple[list[Comment], dict[str, Any] | None]:
    """``research/video/comment/list/`` → (comments, the next page's ``cursor`` or None)."""
    data = parse.envelope_data(body, "research comment list")
    comments = data.get("comments", [])
    if not isinstance(comments, list):
        raise MalformedPayloadError("TikTok returned a research comment list without a list")
    parsed = parse_each(
        comments,
        lambda item: _research_comment(item, video_id),
        platform=_PLATFORM,
        what="comment",
    )
    return parsed, _next_page(data)


def mention_handle(text: str) -> str | None:
    username = parse.normalize_username(text).rstrip(".")
    valid = username and len(username) <= 24 and all(c.isalnum() or c in "._" for c in username)
    return username if valid else None


class TikTokResearchSource:
    def __init__(
        self,
        http: ProviderHttp,
        client_key: str,
        client_secret: str,
        *,
        today: Callable[[], date] = lambda: utcnow().date(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.client_key = client_key
        self.client_secret = client_secret
        self.today = today
        self.clock = clock
        self._token: str | None = None
        self._token_until = 0.0

    def _access_token(self) -> str:
        if self._token is not None and self.clock() < self._token_until:
            return self._token
        endpoint = "tiktok.oauth.token"
        form = {
            "client_key": self.client_key,
            "client_secret": self.client_secret,
            "grant_type": "client_credentials",
        }
        # Fetching a token is not one of the Research API's daily requests.
        data = self.http.request_json(
            "POST", endpoint, "oauth/token/", form=form, quota_cost=0
        ).data
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            detail = (
                data.get("error_description") or data.get("error")
                if isinstance(data, dict)
                else None
            )
            raise AuthError(
                "TikTok refused the Research API client credentials: "
                + clean_message(detail or "no token"),
                platform=_PLATFORM,
                endpoint=endpoint,
            )
        expires_in = data.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 7200.0
        self._token = str(token)
        self._token_until = self.clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
        return self._token

    def _post(self, endpoint: str, path: str, fields: str, body: dict[str, Any]) -> Any:
        response = self.http.request_json(
            "POST",
            endpoint,
            path,
            params={"fields": fields},
            json_body=body,
            headers={"Authorization": f"Bearer {self._access_token()}"},
        )
        return envelope_body(response, endpoint)

    def creator_profile(self, handle: str) -> Profile:
        endpoint = "tiktok.research.user.info"
        username = parse.normalize_username(handle)
        try:
            body = self._post(endpoint, "research/user/info/", USER_FIELDS, {"username": username})
        except PermanentError as exc:
            text = exc.message.lower()
            if "private" in text:
                raise PermanentError(
                    f"TikTok account @{username} is private: its videos cannot be analysed",
                    platform=_PLATFORM,
                    endpoint=endpoint,
                    status_code=exc.status_code,
                ) from exc
            if "not exist" in text or "not found" in text:
                raise NotFoundError(
                    f"TikTok account @{username} was not found",
                    platform=_PLATFORM,
                    endpoint=endpoint,
                    status_code=exc.status_code,
                ) from exc
            raise
        with self.http.parsing(endpoint):
            return parse_research_user(body, username)

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        endpoint = "tiktok.research.video.query"
        posts: list[Post] = []
        end = self.today()
        pages = 0
        for _ in range(MAX_WINDOWS):
            start = end - timedelta(days=WINDOW_DAYS - 1)
            page: dict[str, Any] | None = {"cursor": 0}
            while page is not None and pages < MAX_PAGES:
                body = {
                    "query": {
                        "and": [
                            {
                                "operation": "EQ",
                                "field_name": "username",
                                "field_values": [profile.handle],
                            }
                        ]
                    },
                    "start_date": _day(start),
                    "end_date": _day(end),
                    "max_count": MAX_COUNT,
                    **page,
                }
                data = self._post(endpoint, "research/video/query/", VIDEO_FIELDS, body)
                pages += 1
                with self.http.parsing(endpoint):
                    found, page = parse_research_videos(data, profile.handle)
                posts.extend(found)
            if len(posts) >= limit or pages >= MAX_PAGES:
                break
            if profile.posts_count is not None and len(posts) >= profile.posts_count:
                break
            end = start - timedelta(days=1)
        return newest_posts(posts, limit)

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        endpoint = "tiktok.research.video.comment.list"
        if not post.external_id.isdigit():
            raise PermanentError(
                f"TikTok video ids are numbers, got {post.external_id!r}",
                platform=_PLATFORM,
                endpoint=endpoint,
            )
        comments: list[Comment] = []
        page: dict[str, Any] | None = {"cursor": 0}
        for _ in range(MAX_PAGES):
            if page is None or len(comments) >= limit:
                break
            body = {
                "video_id": int(post.external_id),
                "max_count": max(1, min(MAX_COUNT, limit - len(comments))),
                **page,
            }
            data = self._post(endpoint, "research/video/comment/list/", COMMENT_FIELDS, body)
            with self.http.parsing(endpoint):
                found, page = parse_research_comments(data, post.external_id)
            comments.extend(found)
        return comments[: max(0, limit)]

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        return merge_related(profile.handle, mentioned(_PLATFORM, profile, posts, mention_handle))


def build_creator_source(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    breaker: CircuitBreaker | None = None,
) -> TikTokResearchSource:
    """Credentials: ``research_client_key`` and ``research_client_secret`` of an approved
    Research API client; a connected account's ``access_token`` is not enough."""
    key, secret = credentials.get("research_client_key"), credentials.get("research_client_secret")
    if not key or not secret:
        raise CreatorSourceUnavailable(_PLATFORM, NO_RESEARCH_ACCESS)
    http = ProviderHttp(
        _PLATFORM,
        base_url=API_BASE,
        client=http_client,
        observer=observer,
        display_name=DISPLAY_NAME,
        error_mapper=tiktok_error,
        breaker=breaker,
        sleep=sleep,
    )
    return TikTokResearchSource(http, str(key), str(secret))
