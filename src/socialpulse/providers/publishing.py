"""Writing on a platform: replies (``Publisher``), new posts (``PostPublisher``), their DTOs,
and the dry-run publisher.

New posts (the publishing pillar) follow the same never-twice rule as replies: the caller
records its attempt before ``publish_post`` and, after a crash or a timeout, asks
``find_post`` (same text, our account, published since the attempt) before trying again. What
a platform accepts (text length, media types, sizes, dimensions, durations) is its
``PostRules``, checked by the caller at scheduling time, not discovered at publish time.

A reply is not idempotent on most platforms (only Mastodon takes an ``Idempotency-Key``), so the
reply queue never re-sends blindly after a crash: it first asks ``find_existing`` whether a reply
with the same text, written by our own account, already sits under the parent. Publishers match
on text + author only; hidden markers in the text are not acceptable (users read them).

``find_existing`` answers:

* a ``PublishedReply``: the reply exists (the queue marks the item sent);
* ``None``: it was checked and does not exist (safe to send);
* raises ``CannotConfirm``: the publisher cannot tell (no read access, or more of our replies
  than it can page through); the queue then fails the item instead of risking a double send.

Publishers' HTTP cores are built with ``max_attempts=1``: a timed-out POST may still have
created the reply, so retrying it inside the HTTP layer could post twice. Retries belong to the
queue, which checks ``find_existing`` first.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CannotConfirm",
    "MediaItem",
    "MediaRules",
    "PostDraft",
    "PostPublisher",
    "PostRules",
    "PublishedPost",
    "CommentHider",
    "DryRunPublisher",
    "InteractionLike",
    "PublishedReply",
    "Publisher",
    "ReplyAccount",
    "grapheme_count",
    "normalise_text",
]


@dataclass(frozen=True, slots=True)
class PublishedReply:
    """A reply that exists on the platform."""

    external_id: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One file attached to a post. ``read`` returns its bytes (from the media store), so a
    publisher that never uploads (text-only retries, ``find_post``) never loads a video."""

    filename: str
    mime_type: str
    size_bytes: int
    read: Callable[[], bytes]
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    public_url: str | None = None  # Instagram fetches media by URL instead of an upload

    @property
    def kind(self) -> str:
        """``"image"``, ``"video"`` or ``"other"``, from the MIME type."""
        major = self.mime_type.split("/", 1)[0]
        return major if major in ("image", "video") else "other"


@dataclass(frozen=True, slots=True)
class PostDraft:
    """What to publish for one account: the text as this platform gets it (its variant)."""

    text: str
    idempotency_key: str  # stable across retries of the same delivery
    media: tuple[MediaItem, ...] = ()
    title: str | None = None  # YouTube's video title
    language: str | None = None  # ISO 639-1; Bluesky ``langs``, Mastodon ``language``
    visibility: str | None = None  # Mastodon public/unlisted/private; YouTube/TikTok privacy
    content_warning: str | None = None  # Mastodon ``spoiler_text``
    options: Mapping[str, Any] = field(default_factory=dict)  # other per-platform settings


@dataclass(frozen=True, slots=True)
class PublishedPost:
    """A post that exists on the platform."""

    external_id: str
    url: str | None = None
    quota_units: int = 0  # API quota the publish cost beyond one call (YouTube's 1,600)


@dataclass(frozen=True, slots=True)
class MediaRules:
    """What the platform accepts for one kind of media (``"image"`` or ``"video"``)."""

    mime_types: frozenset[str]
    max_bytes: int
    max_width: int | None = None
    max_height: int | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class PostRules:
    """What the platform refuses in a new post. Text counts as ``TextLimit`` does
    (``max_chars`` characters, grapheme clusters when ``graphemes``); ``media`` maps a kind
    (``"image"``, ``"video"``) to its rules, and a kind absent from it is refused."""

    max_chars: int
    graphemes: bool = False
    requires_media: bool = False  # Instagram: no text-only posts
    requires_video: bool = False  # YouTube, TikTok
    max_media: int = 4
    mixed_media: bool = False  # images and a video together
    requires_title: bool = False
    max_title_chars: int | None = None
    media: Mapping[str, MediaRules] = field(default_factory=dict)
    visibilities: tuple[str, ...] = ()  # accepted ``PostDraft.visibility`` values


@runtime_checkable
class PostPublisher(Protocol):
    """A publisher that can publish new posts (``Capability.PUBLISH``).

    ``publish_post`` uploads the draft's media, publishes, and returns the post; it raises the
    ``ProviderError`` family (``TransientError`` with ``retry_after`` for 429/503 and
    timeouts, ``AuthError``, ``QuotaExhaustedError``, ``PermanentError`` with the platform's
    message). ``find_post`` answers after a crash, like ``find_existing``: our post with this
    text published at or after ``since``, ``None``, or raises ``CannotConfirm``."""

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost: ...

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None: ...


class CannotConfirm(Exception):
    """The publisher cannot tell whether a reply exists (``str(error)`` says why)."""


class ReplyAccount(Protocol):
    """Our own connected account (a ``TrackedAccount`` row qualifies)."""

    @property
    def external_id(self) -> str: ...

    @property
    def handle(self) -> str: ...


class InteractionLike(Protocol):
    """What a publisher needs of the comment it answers (an ``Interaction`` row qualifies)."""

    @property
    def external_id(self) -> str: ...

    @property
    def parent_external_id(self) -> str | None: ...

    @property
    def author_handle(self) -> str: ...


@runtime_checkable
class Publisher(Protocol):
    can_hide: bool

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        """Post ``text`` as a reply to ``interaction`` from ``account``."""
        ...

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        """Our reply with this text under the interaction, ``None``, or raise ``CannotConfirm``."""
        ...


@runtime_checkable
class CommentHider(Protocol):
    """A publisher that can hide a comment under the account's own post, and show it again
    (``can_hide`` True).

    Kept apart from ``Publisher`` so that publishers of platforms without a hide API (Bluesky,
    Mastodon) still satisfy ``Publisher``. ``hide`` and ``unhide`` are idempotent on every
    platform we support: hiding a hidden comment (or showing a visible one) succeeds again, so
    a retried job may call either twice."""

    can_hide: bool

    def hide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Hide ``interaction`` from the public on the platform, or raise a ``ProviderError``."""
        ...

    def unhide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Show a hidden ``interaction`` to the public again, or raise a ``ProviderError``."""
        ...


def normalise_text(text: str) -> str:
    """Text as compared by ``find_existing``: NFC, whitespace runs collapsed, trimmed.

    Platforms normalise whitespace and Unicode on their side (YouTube trims, Mastodon turns
    newlines into ``<br>``), so an exact comparison would miss our own reply."""
    return " ".join(unicodedata.normalize("NFC", text).split())


_ZWJ = "\u200d"


def _extends_cluster(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Me", "Mn", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (flags of regions)
        or char == _ZWJ
    )


def grapheme_count(text: str) -> int:
    """User-perceived characters, as Bluesky counts its 300-grapheme limit.

    An approximation of Unicode extended grapheme clusters (UAX #29) without a dependency:
    combining marks, variation selectors, skin tones, tag sequences and ZWJ-joined emoji extend
    the previous character; a pair of regional indicators is one flag. It counts every text a
    person types the same way the platform does; exotic scripts may count slightly higher,
    which errs on the side of a clear error before sending."""
    count = 0
    joined = False
    regional_open = False
    for char in text:
        code = ord(char)
        if joined:
            joined = char == _ZWJ
            continue
        if char == _ZWJ:
            joined = True
            continue
        if _extends_cluster(char) and count:
            continue
        if 0x1F1E6 <= code <= 0x1F1FF:
            if regional_open:
                regional_open = False
                continue
            regional_open = True
        else:
            regional_open = False
        count += 1
    return count


class DryRunPublisher:
    """Records replies instead of sending them: the demo and the simulated platform.

    Replies are kept in memory and, with ``path``, appended to a JSON-lines file so that another
    process (the next tick after a crash) finds them again. Hiding and unhiding are recorded the
    same way, in a sibling file (``<name>.hidden.jsonl``): a hide is ``{"account", "comment"}``,
    an unhide the same with ``"action": "unhide"``, and ``hidden`` replays them in order. No
    network is touched."""

    can_hide = True

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._memory: list[dict[str, str]] = []
        self._hidden_memory: list[dict[str, str]] = []

    @property
    def hidden_path(self) -> Path | None:
        return None if self.path is None else self.path.with_suffix(".hidden.jsonl")

    def _records(self) -> list[dict[str, str]]:
        if self.path is None or not self.path.exists():
            return list(self._memory)
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        published = PublishedReply(external_id=f"dryrun-{idempotency_key}", url=None)
        record = {
            "account": account.external_id,
            "parent": interaction.external_id,
            "text": text,
            **{k: v for k, v in asdict(published).items() if v is not None},
        }
        with self._lock:
            if self.path is None:
                self._memory.append(record)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
        return published

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        wanted = normalise_text(text)
        with self._lock:
            records = self._records()
        for record in reversed(records):
            if (
                record["account"] == account.external_id
                and record["parent"] == interaction.external_id
                and normalise_text(record["text"]) == wanted
            ):
                return PublishedReply(record["external_id"], record.get("url"))
        return None

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost:
        """Record a new post (``parent`` is empty) and return it; media is only named."""
        published = PublishedPost(
            external_id=f"dryrun-post-{draft.idempotency_key}",
            url=f"https://dry-run.invalid/{account.handle}/{draft.idempotency_key}",
        )
        record = {
            "account": account.external_id,
            "parent": "",
            "text": draft.text,
            "media": ",".join(item.filename for item in draft.media),
            "external_id": published.external_id,
            "url": published.url or "",
            "published_at": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self._append(record)
        return published

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None:
        wanted = normalise_text(draft.text)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        with self._lock:
            records = self._records()
        for record in reversed(records):
            if (
                record["account"] == account.external_id
                and record["parent"] == ""
                and normalise_text(record["text"]) == wanted
                and datetime.fromisoformat(record["published_at"]) >= since
            ):
                return PublishedPost(record["external_id"], record.get("url") or None)
        return None

    def _append(self, record: dict[str, str]) -> None:
        if self.path is None:
            self._memory.append(record)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    @property
    def posts(self) -> list[dict[str, str]]:
        """Every recorded new post, oldest first."""
        with self._lock:
            return [r for r in self._records() if r["parent"] == ""]

    @property
    def sent(self) -> list[dict[str, str]]:
        """Every recorded reply, oldest first."""
        with self._lock:
            return [r for r in self._records() if r["parent"] != ""]

    def hide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Record that ``interaction`` was hidden (once: hiding a hidden comment changes
        nothing)."""
        self._moderate(account, interaction, hide=True)

    def unhide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Record that ``interaction`` is shown again (showing a visible one changes nothing)."""
        self._moderate(account, interaction, hide=False)

    def _moderate(self, account: ReplyAccount, interaction: InteractionLike, *, hide: bool) -> None:
        target = {"account": account.external_id, "comment": interaction.external_id}
        with self._lock:
            if (target in self._currently_hidden()) == hide:
                return
            record = target if hide else {**target, "action": "unhide"}
            path = self.hidden_path
            if path is None:
                self._hidden_memory.append(record)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")

    def _hidden_records(self) -> list[dict[str, str]]:
        path = self.hidden_path
        if path is None or not path.exists():
            return list(self._hidden_memory)
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def _currently_hidden(self) -> list[dict[str, str]]:
        hidden: list[dict[str, str]] = []
        for record in self._hidden_records():
            target = {"account": record["account"], "comment": record["comment"]}
            if record.get("action") == "unhide":
                hidden = [h for h in hidden if h != target]
            elif target not in hidden:
                hidden.append(target)
        return hidden

    @property
    def hidden(self) -> list[dict[str, str]]:
        """Every comment hidden now (``{"account", "comment"}``), in the order it was hidden."""
        with self._lock:
            return self._currently_hidden()

    @property
    def unhidden(self) -> list[dict[str, str]]:
        """Every unhide recorded (``{"account", "comment"}``), oldest first."""
        with self._lock:
            return [
                {"account": r["account"], "comment": r["comment"]}
                for r in self._hidden_records()
                if r.get("action") == "unhide"
            ]
