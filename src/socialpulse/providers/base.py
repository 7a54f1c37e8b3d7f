"""What every platform provider speaks: DTOs, capability Protocols, typed errors, call records.

No HTTP and no ORM here. Domain code depends on these Protocols (``ProfileSource``,
``PostSource``, ``CommentSource``), never on a vendor client. ``ReplySource`` is optional on top
of ``CommentSource``: only platforms whose comment listing truncates threads implement it, and
domain code checks for it with ``isinstance``.

DTOs are frozen dataclasses (``slots=True``): cheap, immutable, and trivially comparable in
tests. ``raw`` keeps the platform's own JSON for the record (excluded from equality and
hashing). Sequences are tuples so a DTO stays immutable.

Account references: ``PostSource.list_posts`` takes an ``AccountLike``: anything with
``external_id`` and ``handle`` attributes. A ``Profile`` qualifies, so does ``AccountRef`` (built
from what the product stored) and so does an ORM row with those columns. Providers that can do
better with a full ``Profile`` (YouTube reads the uploads playlist id from it) check for one and
otherwise fetch what they need.

Methods are synchronous: the product runs them in worker threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from socialpulse.kit.clock import utcnow

__all__ = [
    "AccountLike",
    "AccountRef",
    "ApiCall",
    "AuthError",
    "BudgetDeferredError",
    "CallObserver",
    "CircuitOpenError",
    "Comment",
    "CommentSource",
    "MalformedPayloadError",
    "MediaType",
    "NotFoundError",
    "NullObserver",
    "Page",
    "PermanentError",
    "Platform",
    "Post",
    "PostMetrics",
    "PostSource",
    "Profile",
    "ProfileSource",
    "ProviderError",
    "QuotaExhaustedError",
    "RecordingObserver",
    "ReplySource",
    "TransientError",
    "extract_hashtags",
    "extract_mentions",
    "parse_timestamp",
    "utcnow",
]


def parse_timestamp(value: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime.

    Accepts ``Z`` or an offset, any number of fractional digits, and naive values, which are
    taken as UTC (records written by some AT Protocol SDKs carry no zone). Raises ``ValueError``.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# A hashtag needs one non-digit character ("#1" is a ranking, not a tag), as on Mastodon/X.
_HASHTAG_RE = re.compile(r"(?<![\w&/#])#(\w*[^\W\d]\w*)")
# @name, @name.domain (Bluesky) or @user@instance (fediverse); not e-mail addresses.
_MENTION_RE = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_](?:[\w.-]*\w)?(?:@[\w-]+(?:\.[\w-]+)+)?)")


def extract_hashtags(text: str) -> tuple[str, ...]:
    """Hashtags in ``text``, without ``#``, in order of appearance, without duplicates."""
    return tuple(dict.fromkeys(_HASHTAG_RE.findall(text)))


def extract_mentions(text: str) -> tuple[str, ...]:
    """Mentioned handles in ``text``, without the leading ``@``, in order, without duplicates."""
    return tuple(dict.fromkeys(_MENTION_RE.findall(text)))


class Platform(StrEnum):
    YOUTUBE = "youtube"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    BLUESKY = "bluesky"
    MASTODON = "mastodon"
    SIMULATED = "simulated"


class MediaType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    CAROUSEL = "carousel"
    REEL = "reel"
    SHORT = "short"
    LINK = "link"
    OTHER = "other"


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A platform account as the platform shows it publicly.

    ``handle`` is what the user typed to find it, normalised per platform: ``alice.bsky.social``
    (Bluesky), ``alice@mastodon.social`` (Mastodon, always with the instance), ``@handle`` or the
    channel id (YouTube). Counts are ``None`` when the platform hides them.
    """

    platform: Platform
    external_id: str
    handle: str
    display_name: str
    bio: str = ""
    avatar_url: str | None = None
    profile_url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    posts_count: int | None = None
    verified: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class PostMetrics:
    """Engagement counters; ``None`` means the platform does not expose that counter.

    ``impressions``, ``reach`` and ``clicks`` are owner-only insights: only a platform that
    reports them for the connected account's own posts fills them (Instagram: impressions and
    reach); public counters never carry them, so ``None`` there is "not provided", not zero.
    """

    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    impressions: int | None = None
    reach: int | None = None
    clicks: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """One published item. ``posted_at`` is always timezone-aware UTC."""

    platform: Platform
    external_id: str
    account_external_id: str
    url: str | None
    caption: str
    posted_at: datetime
    media_type: MediaType = MediaType.OTHER
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    duration_seconds: int | None = None
    thumbnail_url: str | None = None
    metrics: PostMetrics = field(default_factory=PostMetrics)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """A comment or reply. ``parent_external_id`` is ``None`` for a top-level comment."""

    platform: Platform
    external_id: str
    post_external_id: str
    parent_external_id: str | None
    author_external_id: str
    author_handle: str
    text: str
    posted_at: datetime
    author_display_name: str | None = None
    author_avatar_url: str | None = None
    author_followers_count: int | None = None
    like_count: int | None = None
    reply_count: int | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass ``next_cursor`` back to get the next page (``None``: no more)."""

    items: tuple[T, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRef:
    """The minimum the product stores about an account: enough to list its posts."""

    external_id: str
    handle: str


class AccountLike(Protocol):
    """Anything with an account's platform id and handle: ``Profile``, ``AccountRef``, a row."""

    @property
    def external_id(self) -> str: ...

    @property
    def handle(self) -> str: ...


# --------------------------------------------------------------------------- capabilities


@runtime_checkable
class ProfileSource(Protocol):
    def get_profile(self, handle: str) -> Profile:
        """Look up an account by handle (or platform id). Raises ``NotFoundError`` if unknown."""
        ...


@runtime_checkable
class PostSource(Protocol):
    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """The account's posts, newest first; at most ``limit`` per page."""
        ...


@runtime_checkable
class CommentSource(Protocol):
    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> Page[Comment]:
        """Comments and replies on a post, flattened; replies carry ``parent_external_id``."""
        ...


@runtime_checkable
class ReplySource(Protocol):
    """Every reply to one top-level comment, for platforms whose comment listing carries only
    some of a thread's replies (YouTube's ``commentThreads.list`` embeds at most 5; the
    top-level ``Comment.reply_count`` says how many there are). A platform whose listing
    already includes every reply does not implement it."""

    def list_replies(
        self, post_external_id: str, parent_external_id: str, cursor: str | None = None
    ) -> Page[Comment]:
        """One page of the replies to ``parent_external_id``; each carries that id as its
        ``parent_external_id``."""
        ...


# --------------------------------------------------------------------------- errors


class MissingCredentialsError(ValueError):
    def __init__(self, platform: str, missing: list[str]) -> None:
        super().__init__(f"{platform} needs credentials: {', '.join(missing)}")
        self.platform = platform
        self.missing = missing


def require_credentials(platform: str, credentials: Mapping[str, Any], *keys: str) -> list[str]:
    """The values of ``keys`` as strings, or ``MissingCredentialsError`` naming every empty one."""
    missing = [key for key in keys if not credentials.get(key)]
    if missing:
        raise MissingCredentialsError(str(platform), missing)
    return [str(credentials[key]) for key in keys]


class ProviderError(Exception):
    """Base of every provider failure. ``str(error)`` is the human message."""

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        endpoint: str,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.endpoint = endpoint
        self.status_code = status_code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, platform={self.platform!r}, "
            f"endpoint={self.endpoint!r}, status_code={self.status_code!r})"
        )


class _RetryAfterMixin(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        platform: str,
        endpoint: str,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, platform=platform, endpoint=endpoint, status_code=status_code)
        self.retry_after = retry_after


class TransientError(_RetryAfterMixin):
    """Timeouts, connection errors, 5xx, 429: worth retrying, after ``retry_after`` if known."""


class AuthError(ProviderError):
    """401/403/expired or invalid credentials: the account needs reconnecting."""


class NotFoundError(ProviderError):
    """Unknown handle, channel or post."""


class QuotaExhaustedError(_RetryAfterMixin):
    """The platform's quota is used up; try again after ``retry_after`` (or the quota reset)."""


class PermanentError(ProviderError):
    """A 4xx or a malformed response: retrying will not help; the message says what was wrong."""


class CircuitOpenError(_RetryAfterMixin):
    """The provider's circuit breaker is open: failing fast, no request was sent.

    Not a ``TransientError`` on purpose: the HTTP layer must not retry it in-process; a job
    should be rescheduled after ``retry_after`` seconds instead.
    """


class BudgetDeferredError(_RetryAfterMixin):
    """Raised by ``CallObserver.before_call`` when the call would cross the local daily budget."""


class MalformedPayloadError(ValueError):
    """Raised by parsers (no HTTP context) when a payload lacks what we need.

    The message names the platform and what was missing ("YouTube returned a response without
    'items'"); ``ProviderHttp.parsing`` turns it into a ``PermanentError`` with the endpoint.
    """


# --------------------------------------------------------------------------- call records


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiCall:
    """One HTTP attempt against a platform, as recorded for usage and budgets.

    ``endpoint`` is a stable name (``youtube.videos.list``), never a URL (which may hold keys).
    """

    platform: str
    endpoint: str
    status_code: int | None
    ok: bool
    latency_ms: float
    quota_cost: int
    error: str | None = None
    at: datetime = field(default_factory=utcnow)


class CallObserver(Protocol):
    def before_call(self, platform: str, endpoint: str, quota_cost: int) -> None:
        """Called once per logical call before any request; may raise ``BudgetDeferredError``."""
        ...

    def after_call(self, call: ApiCall) -> None:
        """Called after every attempt, failed ones included."""
        ...


class NullObserver:
    """Observes nothing, allows everything."""

    def before_call(self, platform: str, endpoint: str, quota_cost: int) -> None:
        return None

    def after_call(self, call: ApiCall) -> None:
        return None


class RecordingObserver:
    """Keeps every ``ApiCall`` in memory; optionally enforces a quota budget per platform.

    ``budget`` is in quota units per platform (the sum of ``quota_cost`` of recorded calls).
    A call whose cost would take a platform past it raises ``BudgetDeferredError``.
    Thread-safe: providers run in worker threads.
    """

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self.calls: list[ApiCall] = []
        self.deferred: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def spent(self, platform: str) -> int:
        with self._lock:
            return sum(c.quota_cost for c in self.calls if c.platform == platform)

    def before_call(self, platform: str, endpoint: str, quota_cost: int) -> None:
        if self.budget is None:
            return
        spent = self.spent(platform)
        if spent + quota_cost > self.budget:
            with self._lock:
                self.deferred.append((platform, endpoint, quota_cost))
            raise BudgetDeferredError(
                f"{endpoint} would cost {quota_cost} unit(s); {spent} of the {self.budget} "
                f"unit daily budget for {platform} already spent",
                platform=platform,
                endpoint=endpoint,
            )

    def after_call(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)
