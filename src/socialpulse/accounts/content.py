"""Content items (the workspace's own videos, articles...) and which posts promote them.

Automatic mapping of posts to a content item, strongest evidence first:

1. **URL id** (confidence 1.0): the item's URL and the post's URL, or a link in its caption,
   name the same thing: the same YouTube video id (youtu.be/ID, watch?v=ID, /shorts/ID,
   /embed/ID, /live/ID) or the same URL after normalising (scheme, ``www.``, trailing slash,
   fragment and tracking parameters such as ``utm_*`` ignored).
2. **Caption match** (confidence = score / 100, kept when >= ``CAPTION_MATCH_THRESHOLD``):
   rapidfuzz's ``token_set_ratio`` between the item's title and the caption (word order and
   extra words such as hashtags do not matter), or ``partial_ratio`` of the caption against the
   item's body (a caption quoting a passage of an article). Short texts match too easily, so a
   title needs ``MIN_TITLE_WORDS`` words and a caption ``MIN_CAPTION_WORDS_FOR_BODY`` words to
   be compared with a body. The scores are stored in the mapping's ``details``.

A confirmed mapping is the user's decision: auto-mapping never changes or removes it, and
leaves alone posts confirmed for another item. Unconfirmed automatic mappings of the item that
no longer match are removed when it runs again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from rapidfuzz import fuzz, utils
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import (
    ContentItem,
    ContentMapping,
    MappingMethod,
    Post,
    TrackedAccount,
)
from socialpulse.accounts.service import get_account
from socialpulse.errors import InvalidInput
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

CAPTION_MATCH_THRESHOLD = 0.75
MIN_TITLE_WORDS = 3
MIN_CAPTION_WORDS_FOR_BODY = 6

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_HOSTS = {"youtube.com", "youtube-nocookie.com", "music.youtube.com"}
_YOUTUBE_PATH_PREFIXES = ("shorts", "embed", "live", "v")
# Links in free text: with a scheme, or the bare forms people paste (www., youtu.be/).
_URL_IN_TEXT = re.compile(r"(?:https?://|www\.|youtu\.be/)[^\s<>\"'()\[\]]+", re.IGNORECASE)
# "name://" or "name:" not followed by a port number: mailto:, javascript:...
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?://|(?!\d))", re.IGNORECASE)
_TRACKING_PARAMS = {"fbclid", "gclid", "igshid", "si", "feature", "ref", "ref_src", "mc_cid"}


# --- URL evidence ------------------------------------------------------------------------------


def _split(url: str) -> Any:
    """urlsplit, reading a scheme-less link ("youtu.be/x", "example.com:8080/x") as https."""
    url = url.strip()
    if not _SCHEME.match(url):
        url = "https://" + url
    return urlsplit(url)


def _host(parts: Any) -> str:
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host


def youtube_video_id(url: str) -> str | None:
    """The video id of a YouTube watch, short, embed, live or youtu.be URL; else None."""
    try:
        parts = _split(url)
        host = _host(parts)
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    candidate: str | None = None
    if host == "youtu.be" and segments:
        candidate = segments[0]
    elif host in _YOUTUBE_HOSTS:
        if parts.path.rstrip("/") == "/watch":
            candidate = dict(parse_qsl(parts.query)).get("v")
        elif len(segments) >= 2 and segments[0] in _YOUTUBE_PATH_PREFIXES:
            candidate = segments[1]
    if candidate and _YOUTUBE_ID.match(candidate):
        return candidate
    return None


def normalize_url(url: str) -> str | None:
    """host/path?query with the scheme, ``www.``, the fragment, a trailing slash and tracking
    parameters removed and the remaining parameters sorted; None when it is not a web URL."""
    try:
        parts = _split(url)
        host = _host(parts)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "." not in host:
        return None
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
    )
    path = parts.path.rstrip("/")
    return f"{host}{path}" + (f"?{urlencode(query)}" if query else "")


def url_key(url: str) -> str | None:
    """What identifies the thing a URL points at: ``youtube:<id>`` or ``url:<normalised>``."""
    video = youtube_video_id(url)
    if video:
        return f"youtube:{video}"
    normal = normalize_url(url)
    return f"url:{normal}" if normal else None


def urls_in_text(text: str) -> list[str]:
    return [match.rstrip(".,;:!?") for match in _URL_IN_TEXT.findall(text or "")]


# --- caption evidence --------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Lower-cased words without links or punctuation (``#travel`` counts as ``travel``)."""
    return utils.default_process(_URL_IN_TEXT.sub(" ", text or ""))


@dataclass(frozen=True)
class CaptionScore:
    title_score: float | None
    body_score: float | None

    @property
    def best(self) -> tuple[str, float] | None:
        scores = [
            (name, score)
            for name, score in (("title", self.title_score), ("body", self.body_score))
            if score is not None
        ]
        return max(scores, key=lambda item: item[1]) if scores else None


def caption_score(title: str, body: str, caption: str) -> CaptionScore:
    """Similarity (0-100) of a caption to an item's title and to its body; None where the
    texts are too short to compare (see the module docstring)."""
    caption_words = _clean(caption)
    if not caption_words:
        return CaptionScore(None, None)
    title_words = _clean(title)
    body_words = _clean(body)
    title_score = (
        fuzz.token_set_ratio(title_words, caption_words)
        if len(title_words.split()) >= MIN_TITLE_WORDS
        else None
    )
    body_score = (
        fuzz.partial_ratio(caption_words, body_words)
        if body_words and len(caption_words.split()) >= MIN_CAPTION_WORDS_FOR_BODY
        else None
    )
    return CaptionScore(title_score, body_score)


# --- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    method: MappingMethod
    confidence: float
    details: dict[str, Any]


def _post_keys(platform: str, external_id: str, url: str | None, caption: str) -> dict[str, str]:
    """The post's URL keys, each with where it was found."""
    keys: dict[str, str] = {}
    if platform == "youtube" and _YOUTUBE_ID.match(external_id):
        keys[f"youtube:{external_id}"] = "platform id"
    if url:
        key = url_key(url)
        if key:
            keys.setdefault(key, "post url")
    for link in urls_in_text(caption):
        key = url_key(link)
        if key:
            keys.setdefault(key, "caption link")
    return keys


def match_post(
    item: ContentItem,
    item_key: str | None,
    *,
    platform: str,
    external_id: str,
    url: str | None,
    caption: str,
    threshold: float = CAPTION_MATCH_THRESHOLD,
) -> Match | None:
    """The best evidence that a post promotes `item`, or None."""
    if item_key is not None:
        found_in = _post_keys(platform, external_id, url, caption).get(item_key)
        if found_in is not None:
            return Match(
                MappingMethod.url_id,
                1.0,
                {"key": item_key, "found_in": found_in, "item_url": item.url, "post_url": url},
            )
    score = caption_score(item.title, item.body, caption)
    best = score.best
    if best is None or best[1] / 100.0 < threshold:
        return None
    field_name, value = best
    return Match(
        MappingMethod.caption_match,
        round(value / 100.0, 4),
        {
            "field": field_name,
            "scorer": "token_set_ratio" if field_name == "title" else "partial_ratio",
            "score": round(value, 2),
            "title_score": None if score.title_score is None else round(score.title_score, 2),
            "body_score": None if score.body_score is None else round(score.body_score, 2),
            "threshold": threshold,
            "caption_excerpt": caption[:200],
        },
    )


# --- content items -----------------------------------------------------------------------------


def create_content_item(
    session: Session, subject: Subject, *, title: str, url: str | None = None, body: str = ""
) -> ContentItem:
    subject.require(Role.editor)
    title = title.strip()
    if not title:
        raise InvalidInput("a content item needs a title")
    url = (url or "").strip() or None
    if url is not None and normalize_url(url) is None:
        raise InvalidInput(f"{url!r} is not a web URL (http or https)")
    item = ContentItem(workspace_id=subject.workspace_id, title=title, url=url, body=body)
    session.add(item)
    session.flush()
    return item


def list_content_items(session: Session, subject: Subject) -> list[ContentItem]:
    return list(
        session.scalars(scoped(select(ContentItem), subject).order_by(ContentItem.id.desc()))
    )


def get_content_item(session: Session, subject: Subject, item_id: int) -> ContentItem:
    return get_scoped(session, ContentItem, item_id, subject)


def list_mappings(
    session: Session, subject: Subject, item_id: int
) -> list[tuple[ContentMapping, Post]]:
    """The item's mappings with their posts, most confident first."""
    get_content_item(session, subject, item_id)
    rows = session.execute(
        scoped(select(ContentMapping, Post), subject)
        .join(Post, Post.id == ContentMapping.post_id)
        .where(ContentMapping.content_item_id == item_id)
        .order_by(
            ContentMapping.confirmed.desc(),
            ContentMapping.confidence.desc(),
            Post.posted_at.desc(),
        )
    ).all()
    return [(mapping, post) for mapping, post in rows]


def post_mappings(
    session: Session, subject: Subject, post_id: int
) -> list[tuple[ContentMapping, ContentItem]]:
    """The content items one post is mapped to, confirmed and most confident first."""
    rows = session.execute(
        scoped(select(ContentMapping, ContentItem), subject)
        .join(ContentItem, ContentItem.id == ContentMapping.content_item_id)
        .where(ContentMapping.post_id == post_id)
        .order_by(ContentMapping.confirmed.desc(), ContentMapping.confidence.desc())
    ).all()
    return [(mapping, item) for mapping, item in rows]


@dataclass
class AutoMapResult:
    threshold: float
    created: list[ContentMapping] = field(default_factory=list)
    updated: list[ContentMapping] = field(default_factory=list)
    removed: int = 0
    kept_confirmed: int = 0
    skipped_confirmed_elsewhere: int = 0


def auto_map(
    session: Session,
    subject: Subject,
    item_id: int,
    *,
    threshold: float = CAPTION_MATCH_THRESHOLD,
    account_id: int | None = None,
) -> AutoMapResult:
    """(Re)compute the item's automatic mappings over the workspace's posts (or one
    account's). Confirmed mappings are never touched."""
    subject.require(Role.editor)
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput("threshold must be in (0, 1]")
    item = get_content_item(session, subject, item_id)
    if account_id is not None:
        get_account(session, subject, account_id)
    item_key = url_key(item.url) if item.url else None
    existing = {
        mapping.post_id: mapping
        for mapping in session.scalars(
            scoped(select(ContentMapping), subject).where(ContentMapping.content_item_id == item.id)
        )
    }
    confirmed_elsewhere = set(
        session.scalars(
            scoped(select(ContentMapping.post_id), subject).where(
                ContentMapping.content_item_id != item.id, ContentMapping.confirmed.is_(True)
            )
        )
    )
    query = scoped(
        select(Post.id, Post.external_id, Post.url, Post.caption, TrackedAccount.platform).join(
            TrackedAccount, TrackedAccount.id == Post.account_id
        ),
        subject,
    )
    if account_id is not None:
        query = query.where(Post.account_id == account_id)
    result = AutoMapResult(threshold=threshold)
    matched: set[int] = set()
    for row in session.execute(query.order_by(Post.id)):
        match = match_post(
            item,
            item_key,
            platform=row.platform,
            external_id=row.external_id,
            url=row.url,
            caption=row.caption,
            threshold=threshold,
        )
        if match is None:
            continue
        matched.add(row.id)
        mapping = existing.get(row.id)
        if mapping is not None and mapping.confirmed:
            result.kept_confirmed += 1
            continue
        if row.id in confirmed_elsewhere:
            result.skipped_confirmed_elsewhere += 1
            continue
        if mapping is None:
            mapping = ContentMapping(
                workspace_id=subject.workspace_id, content_item_id=item.id, post_id=row.id
            )
            session.add(mapping)
            result.created.append(mapping)
        else:
            result.updated.append(mapping)
        mapping.method, mapping.confidence = match.method, match.confidence
        mapping.details = match.details
    considered = _post_ids(session, subject, account_id)
    for post_id, mapping in existing.items():
        if mapping.confirmed or post_id in matched or post_id not in considered:
            continue
        session.delete(mapping)
        result.removed += 1
    session.flush()
    return result


def _post_ids(session: Session, subject: Subject, account_id: int | None) -> set[int]:
    query = scoped(select(Post.id), subject)
    if account_id is not None:
        query = query.where(Post.account_id == account_id)
    return set(session.scalars(query))


def map_post(session: Session, subject: Subject, item_id: int, post_id: int) -> ContentMapping:
    """A manual mapping (confidence 1.0, confirmed); it replaces any automatic one."""
    subject.require(Role.editor)
    item = get_content_item(session, subject, item_id)
    post = get_scoped(session, Post, post_id, subject)
    mapping = session.scalar(
        scoped(select(ContentMapping), subject).where(
            ContentMapping.content_item_id == item.id, ContentMapping.post_id == post.id
        )
    )
    details: dict[str, Any] = {"by": subject.actor}
    if mapping is None:
        mapping = ContentMapping(
            workspace_id=subject.workspace_id, content_item_id=item.id, post_id=post.id
        )
        session.add(mapping)
    else:
        details["replaced"] = {
            "method": mapping.method.value,
            "confidence": mapping.confidence,
            "details": mapping.details,
        }
    mapping.method, mapping.confidence, mapping.confirmed = MappingMethod.manual, 1.0, True
    mapping.details = details
    session.flush()
    return mapping


def get_mapping(session: Session, subject: Subject, mapping_id: int) -> ContentMapping:
    return get_scoped(session, ContentMapping, mapping_id, subject)


def confirm_mapping(session: Session, subject: Subject, mapping_id: int) -> ContentMapping:
    subject.require(Role.editor)
    mapping = get_mapping(session, subject, mapping_id)
    if not mapping.confirmed:
        mapping.confirmed = True
        mapping.details = {**mapping.details, "confirmed_by": subject.actor}
        session.flush()
    return mapping


def delete_mapping(session: Session, subject: Subject, mapping_id: int) -> None:
    subject.require(Role.editor)
    session.delete(get_mapping(session, subject, mapping_id))
    session.flush()
