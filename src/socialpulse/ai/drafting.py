"""Drafting help for the composer: a post written or rewritten per platform by a language model,
or, without one, offline suggestions.

With a model (``ai.llm``): one request per platform asking for the post text only, in the
language and tone asked for, within the platform's limit (the provider registry's
``post_rules``, else its ``text_limit``; graphemes where the platform counts them). The answer
is trimmed (whitespace, quotes or a code fence around it); if it is still over the limit, one
more request asks for a shorter text, and if that is still over, the text is cut at a word
boundary and a check says so. Every call's tokens and cost are recorded in ``ai_usage``.

Always (the offline part, no network): hashtags that did best on the account's own posts
(parsed from captions and the stored hashtags, ranked by engagement per post relative to the
account's median post, used on at least ``MIN_HASHTAG_POSTS`` posts), length checks against each
platform's limit, link checks (URL syntax; hosts that are private, loopback or link-local
addresses cannot be opened by readers: the egress policy's address check, no request is made),
too many hashtags, and the account's next best slot.

``draft_post`` is a plain function: the composer's route calls it, and so can "generate and
schedule".
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post
from socialpulse.accounts.service import get_account
from socialpulse.ai import service as ai_service
from socialpulse.ai.llm import ChatMessage, ChatModel, LlmError
from socialpulse.ai.schemas import (
    DraftCheck,
    DraftMode,
    DraftRequest,
    DraftSuggestion,
    DraftUsage,
    DraftVariant,
    HashtagSuggestion,
)
from socialpulse.analytics import service as analytics_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.kit import egress
from socialpulse.providers import registry
from socialpulse.providers.publishing import grapheme_count
from socialpulse.workspaces.tenancy import Subject, scoped

__all__ = ["draft_post", "link_checks", "suggest_hashtags"]

log = structlog.get_logger(__name__)

HASHTAG_HISTORY_DAYS = 365
MIN_HASHTAG_POSTS = 2  # a tag used once says more about that one post than about the tag
HASHTAG_SUGGESTIONS = 10
# More hashtags read as spam on every network; Instagram itself advises 3-5 and refuses more
# than 30 in a caption (both audience advice and a documented cap of the Graph API).
HASHTAG_WARN = 5
HASHTAG_HARD_LIMITS = {"instagram": 30}
MAX_COMPLETION_TOKENS = 1024
TEMPERATURE = 0.7
ELLIPSIS = "…"

# Our own patterns over the user's text, not user-supplied patterns: linear as written.
_HASHTAG = re.compile(r"(?<![\w&#])#(\w{1,100})")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_FENCE = re.compile(r"^```[\w-]*\n(.*)\n```$", re.DOTALL)
_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"), ("«", "»"), ("„", "“"))


# --- platform limits ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Limit:
    platform: str
    display_name: str
    max_chars: int | None
    graphemes: bool
    requires_media: bool

    @property
    def unit(self) -> str:
        return "graphemes" if self.graphemes else "characters"

    def length(self, text: str) -> int:
        return grapheme_count(text) if self.graphemes else len(text)


def _limit(platform: str) -> _Limit:
    try:
        info = registry.get_provider(platform)
    except registry.UnknownPlatformError:
        known = ", ".join(sorted(registry.all_providers()))
        raise InvalidInput(f"unknown platform {platform!r}; known platforms: {known}") from None
    rules = info.post_rules
    if rules is not None:
        return _Limit(
            info.name, info.display_name, rules.max_chars, rules.graphemes, rules.requires_media
        )
    # Before a platform states its post rules, its reply limit is the same text limit.
    text_limit = info.text_limit
    return _Limit(
        info.name,
        info.display_name,
        text_limit.max_chars if text_limit is not None else None,
        text_limit.graphemes if text_limit is not None else False,
        False,
    )


# --- offline checks ----------------------------------------------------------------------------


def hashtags_in(text: str) -> list[str]:
    return [match.lower() for match in _HASHTAG.findall(text)]


def _host_problem(host: str) -> str | None:
    """Why readers could not open a link to ``host``, or None."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    return egress.forbidden_reason(address)


def link_checks(text: str, platform: str | None = None) -> list[DraftCheck]:
    """Syntax and host of every link in ``text``; no request is made."""
    checks: list[DraftCheck] = []
    for raw in dict.fromkeys(_URL.findall(text)):
        url = raw.rstrip(".,;:!?)]}")
        target = url if "://" in url else f"https://{url}"
        try:
            parts = urlsplit(target)
            host = parts.hostname
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError:
            host = None
        if not host or (not _host_problem(host) and "." not in host):
            checks.append(
                DraftCheck(level="error", message=f"{url} is not a valid link", platform=platform)
            )
            continue
        problem = _host_problem(host)
        if problem is not None:
            checks.append(
                DraftCheck(
                    level="error",
                    message=f"{url} points to a {problem} address ({host}) that readers "
                    "cannot open",
                    platform=platform,
                )
            )
        elif url.lower().startswith("http://"):
            checks.append(
                DraftCheck(
                    level="info",
                    message=f"{url} is not https: browsers may warn readers",
                    platform=platform,
                )
            )
    return checks


def _hashtag_checks(text: str, limit: _Limit) -> list[DraftCheck]:
    count = len(hashtags_in(text))
    hard = HASHTAG_HARD_LIMITS.get(limit.platform)
    if hard is not None and count > hard:
        return [
            DraftCheck(
                level="error",
                message=f"{limit.display_name} accepts at most {hard} hashtags; this post has "
                f"{count}",
                platform=limit.platform,
            )
        ]
    if count > HASHTAG_WARN:
        return [
            DraftCheck(
                level="warning",
                message=f"{count} hashtags: more than {HASHTAG_WARN} tends to read as spam and "
                "lowers engagement",
                platform=limit.platform,
            )
        ]
    return []


def _length_check(text: str, limit: _Limit) -> DraftCheck:
    length = limit.length(text)
    if limit.max_chars is None:
        return DraftCheck(
            level="info",
            message=f"{limit.display_name}: {length} {limit.unit}; its limit is not known",
            platform=limit.platform,
        )
    if length > limit.max_chars:
        return DraftCheck(
            level="error",
            message=f"{limit.display_name}: {length} of {limit.max_chars} {limit.unit}, "
            f"{length - limit.max_chars} over the limit",
            platform=limit.platform,
        )
    return DraftCheck(
        level="info",
        message=f"{limit.display_name}: {length} of {limit.max_chars} {limit.unit}",
        platform=limit.platform,
    )


def _text_checks(text: str, limit: _Limit) -> list[DraftCheck]:
    checks = [_length_check(text, limit), *_hashtag_checks(text, limit)]
    checks += link_checks(text, limit.platform)
    if limit.requires_media:
        checks.append(
            DraftCheck(
                level="warning",
                message=f"{limit.display_name} needs an image or a video with the text",
                platform=limit.platform,
            )
        )
    return checks


def suggest_hashtags(
    session: Session,
    subject: Subject,
    account_id: int,
    *,
    now: dt.datetime | None = None,
    min_posts: int = MIN_HASHTAG_POSTS,
    limit: int = HASHTAG_SUGGESTIONS,
) -> list[HashtagSuggestion]:
    """The account's hashtags ranked by engagement per use (relative to its median post)."""
    get_account(session, subject, account_id)
    now = now or utcnow()
    rows = session.execute(
        scoped(
            select(
                Post.caption,
                Post.hashtags,
                Post.engagement_rate,
                Post.likes,
                Post.comments,
                Post.shares,
            ),
            subject,
        ).where(
            Post.account_id == account_id,
            Post.posted_at >= now - dt.timedelta(days=HASHTAG_HISTORY_DAYS),
            Post.posted_at <= now,
        )
    ).all()
    lifts = analytics_service.engagement_lifts(rows)
    per_tag: dict[str, list[float]] = defaultdict(list)
    for row, lift in zip(rows, lifts, strict=True):
        if lift is None:
            continue
        stored = {str(tag).lstrip("#").lower() for tag in row.hashtags or []}
        for tag in stored | set(hashtags_in(row.caption or "")):
            if tag:
                per_tag[tag].append(lift)
    ranked = sorted(
        ((tag, values) for tag, values in per_tag.items() if len(values) >= min_posts),
        key=lambda item: (-sum(item[1]) / len(item[1]), -len(item[1]), item[0]),
    )
    return [
        HashtagSuggestion(
            hashtag=tag, posts=len(values), engagement_per_post=round(sum(values) / len(values), 4)
        )
        for tag, values in ranked[:limit]
    ]


# --- the model ---------------------------------------------------------------------------------


def clean_answer(text: str) -> str:
    """The post inside a model's answer: trimmed, without a code fence or quotes around it."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    for opening, closing in _QUOTES:
        if len(text) >= 2 and text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening) : -len(closing)]
            if opening not in inner and closing not in inner:
                text = inner.strip()
            break
    return text


def truncate_words(text: str, limit: _Limit) -> str:
    """The longest prefix ending at a word boundary that fits with an ellipsis."""
    max_chars = limit.max_chars
    assert max_chars is not None
    if limit.length(text) <= max_chars:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix (in code points) whose text + "…" fits
        middle = (low + high + 1) // 2
        if limit.length(text[:middle].rstrip() + ELLIPSIS) <= max_chars:
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    if low < len(text) and not text[low].isspace():
        boundary = max(prefix.rfind(" "), prefix.rfind("\n"))
        if boundary > 0:
            prefix = prefix[:boundary]
    return prefix.rstrip(" \n\t,;:-") + ELLIPSIS


_SYSTEM = (
    "You write social media posts. Answer with the text of the post only: no introduction, "
    "no explanation, no quotation marks around it, no alternatives."
)


def _prompt(request: DraftRequest, limit: _Limit) -> list[ChatMessage]:
    rules = [f"Platform: {limit.display_name}."]
    if limit.max_chars is not None:
        rules.append(f"At most {limit.max_chars} {limit.unit}, hashtags and links included.")
    rules.append(
        f"Language: {request.language}."
        if request.language
        else "Language: the language of the input."
    )
    if request.tone:
        rules.append(f"Tone: {request.tone}.")
    if request.mode == DraftMode.rewrite:
        task = f"Rewrite this post for {limit.display_name}:\n\n{request.text}"
    else:
        about = request.brief or request.text or ""
        task = f"Write a post about:\n\n{about}"
    return [
        ChatMessage("system", _SYSTEM),
        ChatMessage("user", " ".join(rules) + "\n\n" + task),
    ]


def _shorter(text: str, limit: _Limit) -> list[ChatMessage]:
    return [
        ChatMessage("system", _SYSTEM),
        ChatMessage(
            "user",
            f"This {limit.display_name} post has {limit.length(text)} {limit.unit}; the limit "
            f"is {limit.max_chars}. Rewrite it shorter, at most {limit.max_chars} {limit.unit}, "
            f"keeping its meaning, language and tone:\n\n{text}",
        ),
    ]


@dataclass
class _Meter:
    """The usage of one suggestion's model calls, each also recorded in ``ai_usage``."""

    session: Session
    workspace_id: int
    model: ChatModel
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_cents: int = 0

    def ask(self, messages: Sequence[ChatMessage], purpose: str) -> str:
        completion = self.model.complete(
            messages, max_tokens=MAX_COMPLETION_TOKENS, temperature=TEMPERATURE
        )
        cost = self.model.cost_cents(completion.prompt_tokens, completion.completion_tokens)
        ai_service.record_usage(
            self.session,
            self.workspace_id,
            purpose=purpose,
            model=completion.model,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost_cents=cost,
        )
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.cost_cents += cost
        return clean_answer(completion.text)

    def usage(self) -> DraftUsage:
        return DraftUsage(
            calls=self.calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_cents=self.cost_cents,
        )


def _variant(
    meter: _Meter, request: DraftRequest, limit: _Limit, checks: list[DraftCheck]
) -> DraftVariant:
    purpose = "rewrite" if request.mode == DraftMode.rewrite else "draft"
    text = meter.ask(_prompt(request, limit), purpose)
    rewritten = truncated = False
    if limit.max_chars is not None and limit.length(text) > limit.max_chars:
        rewritten = True
        try:
            text = meter.ask(_shorter(text, limit), "shorten")
        except LlmError as exc:
            # The first answer is paid for and usable once cut: better than failing.
            checks.append(
                DraftCheck(
                    level="warning",
                    message=f"asking the model for a shorter text failed: {exc.message}",
                    platform=limit.platform,
                )
            )
        if limit.length(text) > limit.max_chars:
            text = truncate_words(text, limit)
            truncated = True
            checks.append(
                DraftCheck(
                    level="warning",
                    message=f"the model's text was longer than {limit.display_name}'s "
                    f"{limit.max_chars} {limit.unit} even when asked for a shorter one: it was "
                    "cut at a word boundary; read it before posting",
                    platform=limit.platform,
                )
            )
    return DraftVariant(
        platform=limit.platform,
        text=text,
        length=limit.length(text),
        limit=limit.max_chars,
        unit="graphemes" if limit.graphemes else "characters",
        rewritten=rewritten,
        truncated=truncated,
    )


# --- the use case ------------------------------------------------------------------------------


def _validate(request: DraftRequest) -> None:
    text = (request.text or "").strip()
    brief = (request.brief or "").strip()
    if request.mode == DraftMode.draft and not (text or brief):
        raise InvalidInput("a draft needs a brief (what the post should say) or a text")
    if request.mode in (DraftMode.rewrite, DraftMode.suggest) and not text:
        raise InvalidInput(f"{request.mode.value} needs the text of the post")


def draft_post(
    session: Session,
    subject: Subject,
    request: DraftRequest,
    *,
    model: ChatModel | None,
    now: dt.datetime | None = None,
) -> DraftSuggestion:
    """Variants per platform from ``model`` (none without a model or in suggest mode), the
    account's best hashtags, checks, and the account's next best slot after ``now``."""
    _validate(request)
    limits = [_limit(platform) for platform in dict.fromkeys(p.lower() for p in request.platforms)]
    now = now or utcnow()
    hashtags: list[HashtagSuggestion] = []
    slot = None
    if request.account_id is not None:
        get_account(session, subject, request.account_id)  # 404 for another workspace's
        hashtags = suggest_hashtags(session, subject, request.account_id, now=now)
        slot = analytics_service.next_best_slot(session, subject, request.account_id, after=now)
    checks: list[DraftCheck] = []
    use_model = request.mode != DraftMode.suggest
    if use_model and model is None:
        checks.append(
            DraftCheck(
                level="info",
                message="no language model is configured (SOCIALPULSE_LLM_MODEL): "
                "offline suggestions only",
            )
        )
    if not use_model or model is None:
        for limit in limits:
            checks += _text_checks(request.text or "", limit) if request.text else []
        return DraftSuggestion(
            variants=None,
            hashtags=hashtags,
            checks=checks,
            next_best_slot=slot,
            model=None,
            usage=None,
        )
    meter = _Meter(session, subject.workspace_id, model)
    variants: dict[str, DraftVariant] = {}
    for limit in limits:
        try:
            variant = _variant(meter, request, limit, checks)
        except LlmError as exc:
            if not variants:
                raise
            # Earlier platforms' answers are paid for: keep them, say which one failed.
            checks.append(DraftCheck(level="error", message=exc.message, platform=limit.platform))
            continue
        variants[limit.platform] = variant
        checks += _text_checks(variant.text, limit)
    log.info(
        "ai.draft.generated",
        workspace_id=subject.workspace_id,
        platforms=list(variants),
        calls=meter.calls,
        cost_cents=meter.cost_cents,
    )
    return DraftSuggestion(
        variants=variants,
        hashtags=hashtags,
        checks=checks,
        next_best_slot=slot,
        model=model.model,
        usage=meter.usage(),
    )
