"""Which platforms exist and how to build their clients: adding a platform is adding one subpackage.

The convention
--------------
Every subpackage of ``socialpulse.providers`` that is a platform exposes, in its
``__init__.py``, a module-level ``PROVIDER = ProviderInfo(...)``::

    # socialpulse/providers/example/__init__.py
    PROVIDER = ProviderInfo(
        platform=Platform.EXAMPLE,
        display_name="Example",
        needs_credentials=True,
        capabilities=frozenset({Capability.PROFILE, Capability.POSTS, Capability.COMMENTS}),
        parse_profile_url=parse_profile_url,   # (url) -> handle, or None if not this platform's
        build=build,                           # (credentials, observer=None, http_client=None)
        url_forms=("https://example.com/@name",),
        credential_fields=("api_key",),
    )

``build`` returns one object implementing the capability Protocols of
``socialpulse.providers.base`` it claims in ``capabilities``; it raises
``MissingCredentialsError`` when a required credential is absent.

Discovery walks the package with ``pkgutil`` (sub-packages only; modules such as ``base`` and
``http`` are skipped), imports each one and reads ``PROVIDER``. A subpackage without
``PROVIDER`` is not a platform (shared helpers may live in one). An import error is not
swallowed: a broken provider is a bug to see at once, not a platform that silently vanishes.

``parse_profile_url`` returns ``None`` for a URL that is not this platform's; a platform whose
profile URLs can live on any host (Mastodon) sets ``matches_any_host=True`` so it is asked
last, after every platform with a fixed host has declined.

``check_credentials`` (optional) refuses bad settings without building a client, for updates
of a stored account's credentials; ``build`` must refuse the same.

Every other platform fact lives here too, so no domain keeps a table keyed by platform name:
``publisher`` (builds the reply/hide client; ``Capability.REPLY``/``HIDE`` say what it can do),
``reply_limits`` (the human pace the reply queue keeps by default), ``text_limit`` (what the
platform refuses in a reply), ``daily_quota_units`` and ``quota_timezone`` (the API budget and
when it resets), ``newest_first_comments`` (comment listings come newest first, so a poll can
stop at the first comment it already has), ``fetch_spacing_s`` (seconds between two scheduled
fetches of the platform, to keep bursts well under its rate limits), ``post_rules`` (what a new
post may hold: text length, media types and sizes; ``Capability.PUBLISH`` platforms only).

``register_provider`` adds a platform at runtime (a plugin, or a test's fake platform) without
a subpackage; its ``platform`` may be any lowercase name, not only a ``Platform`` member.

A reference with a scheme other than http or https (``javascript:``, ``file:``, ``data:``...)
is refused before any platform sees it (``UnsafeUrlError``): no parser has to remember that a
permissive ``urlsplit`` reads ``javascript://www.tiktok.com/@x`` as a TikTok host.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import httpx

from socialpulse.providers.base import CallObserver, MissingCredentialsError, Platform
from socialpulse.providers.publishing import PostRules, Publisher

__all__ = [
    "Capability",
    "LivePostRules",
    "MissingCredentialsError",
    "ProviderFactory",
    "ProviderInfo",
    "UnknownPlatformError",
    "UnsafeUrlError",
    "UnsupportedUrlError",
    "all_providers",
    "check_url_scheme",
    "PublisherFactory",
    "ReplyLimits",
    "TextLimit",
    "get_provider",
    "parse_account_ref",
    "register_provider",
    "reload_providers",
    "unregister_provider",
]


class Capability(StrEnum):
    PROFILE = "profile"  # ProfileSource
    POSTS = "posts"  # PostSource
    COMMENTS = "comments"  # CommentSource
    MENTIONS = "mentions"  # MentionSource: posts of others that mention the account
    DIRECT_MESSAGES = "direct_messages"  # private conversations reach the inbox
    REPLY = "reply"  # ``publisher`` can reply to a comment or mention
    HIDE = "hide"  # ``publisher`` can hide and unhide a comment (ModerationPublisher)
    PUBLISH = "publish"  # ``publisher`` can publish a new post
    CREATOR_DISCOVERY = "creator_discovery"  # can look up creators beyond tracked accounts


class ProviderFactory(Protocol):
    def __call__(
        self,
        credentials: Mapping[str, Any],
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
    ) -> object: ...


class UnknownPlatformError(ValueError):
    def __init__(self, platform: str, supported: list[str]) -> None:
        super().__init__(
            f"Unknown platform {platform!r}; supported platforms: {', '.join(supported) or 'none'}"
        )
        self.platform = platform
        self.supported = supported


class UnsupportedUrlError(ValueError):
    def __init__(self, text: str, url_forms: list[str]) -> None:
        forms = "\n  ".join(url_forms)
        super().__init__(f"{text!r} is not a profile URL we recognise. Supported forms:\n  {forms}")
        self.text = text
        self.url_forms = url_forms


class UnsafeUrlError(UnsupportedUrlError):
    """A profile or post URL whose scheme is not http or https."""

    def __init__(self, text: str, scheme: str, url_forms: list[str] | None = None) -> None:
        message = (
            f"{_shorten(text)!r} uses the {scheme}: scheme; profile and post URLs must start "
            "with https:// or http://"
        )
        if url_forms:
            message += ". Supported forms:\n  " + "\n  ".join(url_forms)
        ValueError.__init__(self, message)
        self.text = text
        self.url_forms = list(url_forms or [])
        self.scheme = scheme


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# RFC 3986 scheme. "host:port/path" (a dev Mastodon at localhost:3000) also matches, so a
# "scheme" followed by digits and then "/" or the end is read as a port, not refused.
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_PORT_RE = re.compile(r"^\d{1,5}(?:/|$)")


def check_url_scheme(text: str, url_forms: list[str] | None = None) -> None:
    """Raise ``UnsafeUrlError`` when ``text`` has a scheme other than http/https."""
    # Browsers ignore leading controls and spaces before a scheme; so must we.
    stripped = text.lstrip("\x00\t\n\r\x0b\x0c ")
    match = _SCHEME_RE.match(stripped)
    if match is None:
        return
    scheme = match.group(1).lower()
    rest = stripped[match.end() :]
    if scheme in ("http", "https") or (not rest.startswith("//") and _PORT_RE.match(rest)):
        return
    raise UnsafeUrlError(text, scheme, url_forms)


class PublisherFactory(Protocol):
    """Builds the object that writes on the platform (replies, hides, posts)."""

    def __call__(
        self,
        credentials: Mapping[str, Any],
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        *,
        handle: str = "",
    ) -> Publisher: ...


class LivePostRules(Protocol):
    """The account's own ``PostRules`` read from its server (Mastodon's
    ``/api/v2/instance``); raises ``ProviderError`` when it cannot tell (the caller then uses
    ``post_rules``)."""

    def __call__(
        self, credentials: Mapping[str, Any], http_client: httpx.Client | None = None
    ) -> PostRules: ...


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """A human pace: at most ``max_per_hour`` and ``max_per_minute`` replies, at least
    ``min_interval_s`` apart, plus a random ``jitter_min_s``-``jitter_max_s`` delay."""

    max_per_hour: int
    max_per_minute: int
    min_interval_s: float
    jitter_min_s: float
    jitter_max_s: float


# The pace for a platform that states none: a careful person's.
FALLBACK_REPLY_LIMITS = ReplyLimits(30, 3, 15.0, 5.0, 30.0)


@dataclass(frozen=True, slots=True)
class TextLimit:
    """What the platform refuses in a reply: over ``max_chars`` characters (grapheme clusters
    when ``graphemes``, as Bluesky counts), or over ``max_bytes`` UTF-8 bytes."""

    max_chars: int
    max_bytes: int | None = None
    graphemes: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderInfo:
    """What the product needs to know about a platform, and how to build its client."""

    platform: Platform | str
    display_name: str
    needs_credentials: bool
    capabilities: frozenset[Capability]
    parse_profile_url: Callable[[str], str | None]
    build: ProviderFactory
    url_forms: tuple[str, ...] = ()
    credential_fields: tuple[str, ...] = ()
    matches_any_host: bool = False
    check_credentials: Callable[[Mapping[str, Any]], None] | None = None
    publisher: PublisherFactory | None = None
    reply_limits: ReplyLimits = FALLBACK_REPLY_LIMITS
    text_limit: TextLimit | None = None
    # What a new post may hold (``Capability.PUBLISH``); ``live_post_rules`` asks the account's
    # own server when it differs per instance (Mastodon's character limit), with a timeout.
    post_rules: PostRules | None = None
    live_post_rules: LivePostRules | None = None
    daily_quota_units: int | None = None
    quota_timezone: str = "UTC"
    newest_first_comments: bool = False
    fetch_spacing_s: float = 3.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The platform as stored in the database (``"youtube"``)."""
        return str(self.platform)

    def supports(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities


_lock = threading.Lock()
_cache: dict[str, ProviderInfo] | None = None
_registered: dict[str, ProviderInfo] = {}


def _discover() -> dict[str, ProviderInfo]:
    import socialpulse.providers as package

    found: dict[str, ProviderInfo] = {}
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module_info.ispkg:
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        info = getattr(module, "PROVIDER", None)
        if info is None:
            continue
        if not isinstance(info, ProviderInfo):
            raise TypeError(
                f"{module.__name__}.PROVIDER is a {type(info).__name__}, not a ProviderInfo"
            )
        if info.name in found:
            raise ValueError(f"two provider subpackages claim platform {info.name!r}")
        found[info.name] = info
    return found


def all_providers() -> dict[str, ProviderInfo]:
    """Every provider, keyed by platform name (subpackages discovered once per process)."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = _discover()
        return {**_cache, **_registered}


def reload_providers() -> dict[str, ProviderInfo]:
    """Discover again (tests, or after installing a provider at runtime)."""
    global _cache
    with _lock:
        _cache = None
    return all_providers()


_PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def register_provider(info: ProviderInfo) -> None:
    """Add a platform that has no subpackage (a plugin, a test's platform); replaces one
    registered earlier under the same name, never a discovered one."""
    if not _PLATFORM_NAME.match(info.name):
        raise ValueError(f"platform names are lowercase letters, digits and _: {info.name!r}")
    discovered = all_providers()
    if info.name in discovered and info.name not in _registered:
        raise ValueError(f"platform {info.name!r} is already provided by a subpackage")
    with _lock:
        _registered[info.name] = info


def unregister_provider(platform: str) -> None:
    with _lock:
        _registered.pop(str(platform), None)


def get_provider(platform: str) -> ProviderInfo:
    """The provider of ``platform`` (``"youtube"``, ``Platform.YOUTUBE``...)."""
    providers = all_providers()
    key = str(platform).strip().lower()
    info = providers.get(key)
    if info is None:
        raise UnknownPlatformError(str(platform), sorted(providers))
    return info


def profile_handle(info: ProviderInfo, text: str) -> str | None:
    """``info.parse_profile_url(text)``; a malformed URL (``urlsplit`` raises ValueError, e.g.
    on ``https://[`` an unclosed IPv6 bracket) is simply not one of this platform's."""
    try:
        return info.parse_profile_url(text)
    except ValueError:
        return None


def parse_account_ref(text: str) -> tuple[Platform | str, str]:
    """``(platform, handle)`` from a profile URL, e.g. ``https://bsky.app/profile/alice.bsky.social``.

    Also accepts a URL without its scheme (``www.tiktok.com/@name``) and Mastodon's
    ``@user@instance`` address. Raises ``UnsupportedUrlError`` naming the supported forms, or
    ``UnsafeUrlError`` for a scheme other than http/https.
    """
    providers = sorted(all_providers().values(), key=lambda p: (p.matches_any_host, p.name))
    candidate = text.strip()
    forms = [form for info in providers for form in info.url_forms]
    check_url_scheme(candidate, forms)
    if candidate:
        url = candidate if "://" in candidate else f"https://{candidate.lstrip('/')}"
        for info in providers:
            for attempt in (url, candidate) if url != candidate else (url,):
                handle = profile_handle(info, attempt)
                if handle:
                    return info.platform, handle
    raise UnsupportedUrlError(text, forms)
