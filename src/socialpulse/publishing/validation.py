"""Checks at scheduling time, so that a post a platform would refuse is refused now, with a
clear message, and not discovered at publish time.

Every problem is collected (``Problems``: a location and a message each) and they are returned
together as one 422, so a person fixes them in one go: the zone, the time (not in the past,
beyond a ``GRACE_S`` grace for the request's own travel time), the cron pattern or interval,
the accounts (in this workspace, active, connected, on a platform with ``Capability.PUBLISH``)
and, per account, its platform's ``PostRules``: text length (grapheme clusters where the
platform counts them, as Bluesky does), title, media required, media kinds, types, sizes,
dimensions, durations and count, and visibility values.

A platform whose limits depend on the account's server (Mastodon's character limit per
instance) has ``live_post_rules``: asked with a short timeout through the egress policy, cached
per account for ``LIVE_RULES_TTL_S``, and replaced by the platform's ``post_rules`` when it
cannot answer.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.config import get_settings
from socialpulse.errors import InvalidInput
from socialpulse.kit import egress
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import PostRules, grapheme_count
from socialpulse.publishing.models import Upload
from socialpulse.publishing.recurrence import (
    Recurrence,
    RecurrenceError,
    check_cron,
    get_zone,
    parse_interval,
    to_utc,
)

log = structlog.get_logger(__name__)

GRACE_S = 60
LIVE_RULES_TTL_S = 300
LIVE_RULES_TIMEOUT_S = 5.0

_live_rules: TTLCache[int, PostRules] = TTLCache(maxsize=4096, ttl=LIVE_RULES_TTL_S)
_live_lock = threading.Lock()


@dataclass
class Problems:
    """Every problem found, each with where (``loc``) and what (``msg``)."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, loc: Sequence[str | int], msg: str) -> None:
        self.items.append({"loc": list(loc), "msg": msg})

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def messages(self) -> list[str]:
        return [item["msg"] for item in self.items]

    def raise_if_any(self, what: str = "the post") -> None:
        if not self.items:
            return
        count = len(self.items)
        summary = "; ".join(self.messages[:10]) + ("; ..." if count > 10 else "")
        raise InvalidInput(
            f"{what} cannot be scheduled ({count} problem{'' if count == 1 else 's'}): {summary}",
            details=self.items,
        )


# --------------------------------------------------------------------------- time


def check_zone(problems: Problems, name: str, loc: Sequence[str | int] = ("zone",)) -> ZoneInfo:
    """The zone, or UTC after recording why ``name`` is not one (checks continue)."""
    try:
        return get_zone(name)
    except RecurrenceError as exc:
        problems.add(loc, str(exc))
        return ZoneInfo("UTC")


def as_utc(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """An aware time as UTC; a naive one is a wall-clock time in ``zone`` (DST rules)."""
    if value.tzinfo is None:
        return to_utc(value, zone)
    return value.astimezone(dt.UTC)


def check_not_past(
    problems: Problems, loc: Sequence[str | int], at: dt.datetime, now: dt.datetime, zone: ZoneInfo
) -> None:
    if at < now - dt.timedelta(seconds=GRACE_S):
        local = at.astimezone(zone)
        problems.add(
            loc,
            f"{local:%Y-%m-%d %H:%M} {zone.key} is in the past "
            f"(now {now.astimezone(zone):%Y-%m-%d %H:%M}); pick a later time",
        )


def build_recurrence(
    problems: Problems,
    *,
    cron: str | None,
    every: str | None,
    until: dt.datetime | None,
    count: int | None,
    zone: ZoneInfo,
    start: dt.datetime | None,
    loc: Sequence[str | int] = ("recurrence",),
) -> Recurrence | None:
    """The recurrence, or None after recording what is wrong with it."""
    pattern: str | None = None
    interval_s: int | None = None
    if cron is not None:
        try:
            pattern = check_cron(cron)
        except RecurrenceError as exc:
            problems.add([*loc, "cron"], str(exc))
            return None
    elif every is not None:
        try:
            interval_s = parse_interval(every)
        except RecurrenceError as exc:
            problems.add([*loc, "every"], str(exc))
            return None
    ends_at = as_utc(until, zone) if until is not None else None
    if ends_at is not None and start is not None and ends_at < start:
        problems.add([*loc, "until"], "the series ends before its first occurrence")
        return None
    return Recurrence(cron=pattern, interval_s=interval_s, ends_at=ends_at, max_count=count)


# --------------------------------------------------------------------------- accounts and rules


def _account_label(account: TrackedAccount) -> str:
    return f"@{account.handle} ({_display(account.platform)})"


def _display(platform: str) -> str:
    try:
        return registry.get_provider(platform).display_name
    except registry.UnknownPlatformError:
        return platform


def load_accounts(
    session: Session, workspace_id: int, problems: Problems, account_ids: Sequence[int]
) -> dict[int, TrackedAccount]:
    """The workspace's accounts among ``account_ids``; others are problems (never another
    workspace's data: an id from elsewhere reads as unknown)."""
    wanted = list(dict.fromkeys(account_ids))
    found = {
        row.id: row
        for row in session.scalars(
            select(TrackedAccount).where(
                TrackedAccount.workspace_id == workspace_id, TrackedAccount.id.in_(wanted)
            )
        )
    }
    for index, account_id in enumerate(account_ids):
        if account_id not in found:
            problems.add(
                ("targets", index, "account_id"), f"no account {account_id} in this workspace"
            )
        elif account_ids.index(account_id) != index:
            problems.add(("targets", index, "account_id"), f"account {account_id} is given twice")
    return found


def load_uploads(
    session: Session, workspace_id: int, problems: Problems, media_ids: Sequence[int]
) -> dict[int, Upload]:
    found = {
        row.id: row
        for row in session.scalars(
            select(Upload).where(Upload.workspace_id == workspace_id, Upload.id.in_(media_ids))
        )
    }
    for index, media_id in enumerate(media_ids):
        if media_id not in found:
            problems.add(
                ("media", index, "media_id"),
                f"no uploaded media {media_id} in this workspace (POST /api/v1/publishing/media)",
            )
    return found


def publish_problem(account: TrackedAccount) -> str | None:
    """Why ``account`` cannot publish now, or None."""
    try:
        info = registry.get_provider(account.platform)
    except registry.UnknownPlatformError:
        return f"account {_account_label(account)} cannot publish: unknown platform"
    if not info.supports(registry.Capability.PUBLISH) or info.publisher is None:
        label = _account_label(account)
        return f"account {label} cannot publish: {info.display_name} has no publishing"
    if account.status == AccountStatus.deleting:
        return f"account {_account_label(account)} is being removed"
    if account.status == AccountStatus.needs_reconnect:
        return f"account {_account_label(account)} needs reconnecting before it can publish"
    if not account.active:
        return f"account {_account_label(account)} is paused; activate it to publish"
    if not account.is_own:
        return f"account {_account_label(account)} is tracked, not connected: it cannot publish"
    return None


def rules_for(
    account: TrackedAccount, *, http_client: httpx.Client | None = None
) -> PostRules | None:
    """The account's post rules: its server's (``live_post_rules``, cached briefly) or its
    platform's."""
    info = registry.get_provider(account.platform)
    if info.live_post_rules is None:
        return info.post_rules
    with _live_lock:
        cached = _live_rules.get(account.id)
    if cached is not None:
        return cached
    try:
        credentials = accounts_service.credentials_of(
            account, SecretBox(get_settings().resolved_secret_key())
        )
        if http_client is not None:
            rules = info.live_post_rules(credentials, http_client)
        else:
            with egress.client(timeout=LIVE_RULES_TIMEOUT_S) as client:
                rules = info.live_post_rules(credentials, client)
    except (pb.ProviderError, httpx.HTTPError, egress.EgressRefused, ValueError) as exc:
        log.info("publishing.rules.live_failed", account_id=account.id, error=str(exc))
        return info.post_rules
    with _live_lock:
        _live_rules[account.id] = rules
    return rules


def forget_live_rules() -> None:
    """Drop the cached server rules (tests, or after an account's server changed)."""
    with _live_lock:
        _live_rules.clear()


def text_length(text: str, rules: PostRules) -> int:
    return grapheme_count(text) if rules.graphemes else len(text)


@dataclass(frozen=True, slots=True)
class TargetContent:
    """What one account would publish."""

    index: int
    account_id: int
    text: str
    title: str | None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_media(
    problems: Problems,
    loc: Sequence[str | int],
    label: str,
    rules: PostRules,
    media: Sequence[Upload],
) -> None:
    name = label
    if len(media) > rules.max_media:
        problems.add([*loc, "media"], f"{name}: at most {rules.max_media} media, not {len(media)}")
    kinds = {item.kind for item in media}
    if len(kinds) > 1 and not rules.mixed_media:
        problems.add([*loc, "media"], f"{name}: images and a video cannot be mixed in one post")
    for position, item in enumerate(media):
        where = [*loc, "media", position]
        kind_rules = rules.media.get(item.kind)
        if kind_rules is None:
            problems.add(where, f"{name}: does not accept {item.kind}s")
            continue
        if item.mime_type not in kind_rules.mime_types:
            accepted = ", ".join(sorted(kind_rules.mime_types))
            problems.add(where, f"{name}: {item.mime_type} is not accepted (only {accepted})")
        if item.size_bytes > kind_rules.max_bytes:
            problems.add(
                where,
                f"{name}: {item.kind} {item.filename or item.id} is {_mb(item.size_bytes)}; "
                f"at most {_mb(kind_rules.max_bytes)}",
            )
        if kind_rules.max_width is not None and (item.width or 0) > kind_rules.max_width:
            problems.add(where, f"{name}: {item.width} px wide; at most {kind_rules.max_width} px")
        if kind_rules.max_height is not None and (item.height or 0) > kind_rules.max_height:
            problems.add(
                where, f"{name}: {item.height} px high; at most {kind_rules.max_height} px"
            )
        duration = item.duration_s
        if duration is not None and kind_rules.max_duration_s is not None:
            if duration > kind_rules.max_duration_s:
                problems.add(
                    where,
                    f"{name}: video is {duration:g} s; at most {kind_rules.max_duration_s:g} s",
                )
        if duration is not None and kind_rules.min_duration_s is not None:
            if duration < kind_rules.min_duration_s:
                problems.add(
                    where,
                    f"{name}: video is {duration:g} s; at least {kind_rules.min_duration_s:g} s",
                )


def check_target(
    problems: Problems,
    account: TrackedAccount,
    content: TargetContent,
    media: Sequence[Upload],
    *,
    visibility: str | None,
    rules: PostRules | None,
) -> None:
    """Every rule of the account's platform for what it would publish."""
    loc: list[str | int] = ["targets", content.index]
    label = _account_label(account)
    problem = publish_problem(account)
    if problem is not None:
        problems.add([*loc, "account_id"], problem)
        return
    if rules is None:
        return
    count = text_length(content.text, rules)
    if count > rules.max_chars:
        unit = "graphemes" if rules.graphemes else "characters"
        problems.add(
            [*loc, "text"],
            f"{label}: text is {count} {unit}; {_display(account.platform)} allows "
            f"at most {rules.max_chars}",
        )
    if not content.text.strip() and not media:
        problems.add([*loc, "text"], f"{label}: the post is empty (no text and no media)")
    if rules.requires_media and not media:
        problems.add(
            [*loc, "media"], f"{label}: {_display(account.platform)} needs an image or video"
        )
    if rules.requires_video and not any(item.kind == "video" for item in media):
        problems.add([*loc, "media"], f"{label}: {_display(account.platform)} needs a video")
    if rules.requires_title and not (content.title or "").strip():
        problems.add([*loc, "title"], f"{label}: {_display(account.platform)} needs a title")
    if (
        content.title
        and rules.max_title_chars is not None
        and len(content.title) > rules.max_title_chars
    ):
        problems.add(
            [*loc, "title"],
            f"{label}: title is {len(content.title)} characters; at most {rules.max_title_chars}",
        )
    if visibility is not None and rules.visibilities and visibility not in rules.visibilities:
        problems.add(
            ["visibility"],
            f"{label}: visibility {visibility!r} is not one of {', '.join(rules.visibilities)}",
        )
    check_media(problems, loc, label, rules, media)
