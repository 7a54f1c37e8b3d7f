"""Mastodon client for any instance: public reads, optional bearer token.

Endpoints (https://docs.joinmastodon.org/methods/accounts/ , /methods/statuses/):
``GET /api/v1/accounts/lookup?acct=``, ``GET /api/v1/accounts/:id/statuses`` and
``GET /api/v1/statuses/:id/context``.

Which instance: a handle ``user@host`` names its home instance, and profiles and posts are read
there (ids are instance-local). Comments are fetched by status id alone, so the client must
know the instance: build it with ``credentials={"instance": "mastodon.social"}`` (the accounts
domain passes the host of the account's handle). Without one, ``list_comments`` raises a
``PermanentError`` saying so. ``access_token`` (optional) is sent as a bearer token; some
instances require one for public timelines.

Rate limits answer 429 with ``X-RateLimit-Reset`` (an ISO timestamp), read as ``retry_after``.

The instance is user input, so ``normalise_instance`` refuses, before any request, an instance
that is ``localhost``, an IP literal in a private range, or names a port (a port scan in
disguise): ``ForbiddenInstanceError``, unless the operator's egress setting allows the host.
Host names are checked again on connect, against what they resolve to (``kit.egress``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from socialpulse.kit import egress
from socialpulse.providers.base import (
    AccountLike,
    CallObserver,
    Comment,
    NotFoundError,
    Page,
    PermanentError,
    Platform,
    Post,
    Profile,
    ProviderError,
    TransientError,
    parse_timestamp,
    utcnow,
)
from socialpulse.providers.http import (
    CircuitBreaker,
    EgressDenied,
    ProviderHttp,
    error_detail,
    parse_retry_after,
)
from socialpulse.providers.mastodon import parse

__all__ = [
    "ForbiddenInstanceError",
    "MastodonClient",
    "build",
    "mastodon_error",
    "normalise_instance",
]

DISPLAY_NAME = "Mastodon"
MAX_STATUSES_LIMIT = 40  # accounts/:id/statuses: limit max 40
MAX_NOTIFICATIONS_LIMIT = 80  # notifications: limit max 80
MAX_CONVERSATIONS_LIMIT = 40  # conversations: limit max 40


class ForbiddenInstanceError(ValueError):
    """An instance the server must not call: a private address, ``localhost`` or a port."""


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _check_instance(value: str, scheme: str, host: str, port: int | None) -> None:
    policy = egress.current_policy()
    if policy.host_allowed(host):
        return  # the operator's own instance, on whatever port it listens
    try:
        policy.check_host(host)
    except egress.EgressRefused as exc:
        raise ForbiddenInstanceError(f"Mastodon instance {value!r}: {exc}") from exc
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        raise ForbiddenInstanceError(
            f"Mastodon instance {value!r} names a port; instances are reached on the standard "
            f"port (an operator can allow a host with {egress.ALLOW_SETTING})"
        )


def normalise_instance(value: str) -> str:
    """``mastodon.social``, ``https://mastodon.social/`` → ``https://mastodon.social``.

    Raises ``ForbiddenInstanceError`` (a ``ValueError``) for an instance we must not call.
    """
    text = value.strip().rstrip("/")
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a Mastodon instance host or URL") from exc
    if not parts.hostname or "@" in parts.netloc:
        raise ValueError(f"{value!r} is not a Mastodon instance host or URL")
    _check_instance(value.strip(), parts.scheme, parts.hostname, port)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _retry_after(response: httpx.Response) -> float | None:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    reset = response.headers.get("X-RateLimit-Reset")
    if not reset:
        return None
    try:
        return max(0.0, (parse_timestamp(reset) - utcnow()).total_seconds())
    except ValueError:
        return None


def mastodon_error(response: httpx.Response, endpoint: str) -> ProviderError | None:
    """410 Gone (suspended/deleted account) is a not-found; 429 reads ``X-RateLimit-Reset``."""
    detail = error_detail(response)
    text = f"Mastodon returned HTTP {response.status_code} for {endpoint}" + (
        f": {detail}" if detail else ""
    )
    kwargs: dict[str, Any] = {
        "platform": Platform.MASTODON.value,
        "endpoint": endpoint,
        "status_code": response.status_code,
    }
    if response.status_code == 410:
        return NotFoundError(text, **kwargs)
    if response.status_code == 429:
        return TransientError(text, retry_after=_retry_after(response), **kwargs)
    return None


class MastodonClient:
    """``ProfileSource``, ``PostSource`` and ``CommentSource`` for Mastodon instances."""

    def __init__(self, http: ProviderHttp, instance: str | None = None) -> None:
        self.http = http
        self.instance = normalise_instance(instance) if instance else None

    @classmethod
    def create(
        cls,
        *,
        instance: str | None = None,
        access_token: str | None = None,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
    ) -> MastodonClient:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
        http = ProviderHttp(
            Platform.MASTODON.value,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=mastodon_error,
            breaker=breaker,
            headers=headers,
            sleep=sleep,
        )
        return cls(http, instance)

    def _base_for(self, handle: str, endpoint: str) -> tuple[str, str]:
        """(instance base URL, username) for a handle; bare names use the configured instance."""
        user, host = parse.split_handle(handle)
        if host:
            try:
                return normalise_instance(host), user
            except ForbiddenInstanceError as exc:
                raise EgressDenied(
                    str(exc), platform=Platform.MASTODON.value, endpoint=endpoint
                ) from exc
            except ValueError as exc:
                raise PermanentError(
                    str(exc), platform=Platform.MASTODON.value, endpoint=endpoint
                ) from exc
        if self.instance:
            return self.instance, user
        raise PermanentError(
            f"Mastodon handle {handle!r} has no instance; use user@instance",
            platform=Platform.MASTODON.value,
            endpoint=endpoint,
        )

    def get_profile(self, handle: str) -> Profile:
        endpoint = "mastodon.accounts.lookup"
        base, user = self._base_for(handle, endpoint)
        data = self.http.get_json(endpoint, f"{base}/api/v1/accounts/lookup", {"acct": user})
        with self.http.parsing(endpoint):
            return parse.parse_account(data, urlsplit(base).netloc)

    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """The account's statuses, newest first, without boosts; cursor is a ``max_id``."""
        endpoint = "mastodon.accounts.statuses"
        base, _ = self._base_for(account.handle, endpoint)
        params = {
            "limit": max(1, min(limit, MAX_STATUSES_LIMIT)),
            "max_id": cursor,
            "exclude_reblogs": "true",
        }
        response = self.http.request_json(
            "GET", endpoint, f"{base}/api/v1/accounts/{account.external_id}/statuses", params=params
        )
        with self.http.parsing(endpoint):
            posts = parse.parse_statuses(response.data, urlsplit(base).netloc)
        # An empty page ends the walk even if the server still sent a next link.
        next_cursor = parse.next_max_id(response.headers.get("link")) if response.data else None
        return Page(items=tuple(posts), next_cursor=next_cursor)

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> Page[Comment]:
        """All descendants of the status, in one page (the context API does not paginate)."""
        endpoint = "mastodon.statuses.context"
        if self.instance is None:
            raise PermanentError(
                "Mastodon comments need the account's instance: build the client with "
                "credentials={'instance': '<host>'}",
                platform=Platform.MASTODON.value,
                endpoint=endpoint,
            )
        data = self.http.get_json(
            endpoint, f"{self.instance}/api/v1/statuses/{post_external_id}/context"
        )
        with self.http.parsing(endpoint):
            comments = parse.parse_context(data, post_external_id, urlsplit(self.instance).netloc)
        return Page(items=tuple(comments), next_cursor=None)

    def _require_instance(self, endpoint: str, what: str) -> str:
        if self.instance is None:
            raise PermanentError(
                f"Mastodon {what} need the account's instance: build the client with "
                "credentials={'instance': '<host>'}",
                platform=Platform.MASTODON.value,
                endpoint=endpoint,
            )
        return self.instance

    def list_mentions(self, cursor: str | None = None, limit: int = 40) -> Page[Comment]:
        """Statuses mentioning the token's account, newest first (notifications of type
        ``mention``; https://docs.joinmastodon.org/methods/notifications/). Needs a user
        token (``read:notifications``); ``cursor`` is the ``max_id`` of the next, older page
        (a notification id, not a status id). Direct messages arrive here too, with
        ``visibility: direct``."""
        endpoint = "mastodon.notifications"
        instance = self._require_instance(endpoint, "mentions")
        params: dict[str, Any] = {
            "types[]": ["mention"],
            "limit": max(1, min(limit, MAX_NOTIFICATIONS_LIMIT)),
            "max_id": cursor,
        }
        response = self.http.request_json(
            "GET", endpoint, f"{instance}/api/v1/notifications", params=params
        )
        with self.http.parsing(endpoint):
            comments = parse.parse_mention_notifications(response.data, urlsplit(instance).netloc)
        next_cursor = parse.next_max_id(response.headers.get("link")) if response.data else None
        return Page(items=tuple(comments), next_cursor=next_cursor)

    def list_conversations(self, cursor: str | None = None, limit: int = 40) -> Page[Comment]:
        """The last status of each direct conversation, most recently active first
        (https://docs.joinmastodon.org/methods/conversations/; needs ``read:statuses``).
        ``cursor`` is the ``max_id`` of the next page, from the ``Link`` header."""
        endpoint = "mastodon.conversations"
        instance = self._require_instance(endpoint, "conversations")
        params: dict[str, Any] = {
            "limit": max(1, min(limit, MAX_CONVERSATIONS_LIMIT)),
            "max_id": cursor,
        }
        response = self.http.request_json(
            "GET", endpoint, f"{instance}/api/v1/conversations", params=params
        )
        with self.http.parsing(endpoint):
            comments = parse.parse_conversations(response.data, urlsplit(instance).netloc)
        next_cursor = parse.next_max_id(response.headers.get("link")) if response.data else None
        return Page(items=tuple(comments), next_cursor=next_cursor)


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> MastodonClient:
    """Optional credentials: ``instance`` (host or URL) and ``access_token``."""
    return MastodonClient.create(
        instance=credentials.get("instance") or None,
        access_token=credentials.get("access_token") or None,
        observer=observer,
        http_client=http_client,
    )
