"""Replying on Bluesky (AT Protocol).

* Log in: ``com.atproto.server.createSession`` on the account's PDS (credential ``pds_url``,
  default ``https://bsky.social``) with ``identifier`` = the handle and ``password`` = an app
  password (credential ``app_password``). The session's ``accessJwt`` authorises the write;
  ``did`` is the repo we write to.
* Strong refs: a reply record needs ``reply.root`` and ``reply.parent`` as ``{uri, cid}``.
  The interaction stores the comment's ``at://`` URI only, so the publisher reads the comment
  with ``app.bsky.feed.getPosts`` (public AppView) to get its ``cid`` and its own
  ``record.reply.root``: the root of the thread we answer in (the comment itself when it has
  none, i.e. when someone answers a top-level post of ours directly).
* Write: ``com.atproto.repo.createRecord`` with an ``app.bsky.feed.post`` record
  (https://docs.bsky.app/docs/advanced-guides/posts#replies).
* ``find_existing`` lists our own recent post records on the PDS
  (``com.atproto.repo.listRecords``, newest first, public) and matches ``reply.parent.uri`` +
  text. The PDS is authoritative: no AppView indexing delay.

New posts (``publish_post``, https://docs.bsky.app/docs/advanced-guides/posts):

* Rich text is plain ``text`` plus ``facets`` whose ``index`` counts UTF-8 *bytes*
  (``byteStart`` inclusive, ``byteEnd`` exclusive), not characters: an emoji or an accented
  letter before a link moves it by several bytes
  (https://docs.bsky.app/docs/advanced-guides/post-richtext). We mark links
  (``#link`` with the full ``uri``), mentions of full handles (``@alice.bsky.social`` resolved
  to a DID with ``com.atproto.identity.resolveHandle``; a handle that does not resolve stays
  plain text, as in the official app) and hashtags (``#tag``, without the ``#``, at most 64
  characters, not only digits, trailing punctuation left out).
* Images: each is sent raw to ``com.atproto.repo.uploadBlob`` with its own ``Content-Type``;
  the returned blob goes in an ``app.bsky.embed.images`` embed with its ``alt`` text and, when
  the dimensions are known, its ``aspectRatio``. At most 4 images of at most 1,000,000 bytes
  each (the lexicon's ``maxSize``); videos go through a separate video service and are not
  offered here.
* ``langs`` comes from the draft's language; ``createdAt`` is ours, so ``find_post`` compares
  it with ``since`` without any clock skew.
* ``find_post`` walks our records newest first and stops at the first one older than
  ``since``: record keys are timestamps, so nothing older can follow.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from socialpulse.providers.base import (
    CallObserver,
    NotFoundError,
    PermanentError,
    Platform,
    parse_timestamp,
    require_credentials,
)
from socialpulse.providers.bluesky.client import (
    DISPLAY_NAME,
    PUBLIC_APPVIEW,
    bluesky_error,
    configured_appview,
)
from socialpulse.providers.http import CircuitBreaker, ProviderHttp
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
    "BLUESKY_POST_RULES",
    "DEFAULT_PDS",
    "BlueskyPublisher",
    "build_publisher",
    "rich_text_facets",
]

log = structlog.get_logger(__name__)

DEFAULT_PDS = "https://bsky.social"
FIND_PAGES = 3
FIND_PAGE_SIZE = 100
POST_COLLECTION = "app.bsky.feed.post"
MAX_POST_BYTES = 3000  # app.bsky.feed.post text: maxLength 3000 (bytes), maxGraphemes 300
MAX_IMAGE_BYTES = 1_000_000  # app.bsky.embed.images#image: blob maxSize 1000000
MAX_IMAGES = 4  # app.bsky.embed.images: images maxLength 4
MAX_TAG_CHARS = 64  # app.bsky.richtext.facet#tag: maxGraphemes 64

# https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json and
# lexicons/app/bsky/embed/images.json (blob accept image/*, maxSize 1,000,000 bytes).
BLUESKY_POST_RULES = PostRules(
    max_chars=300,
    graphemes=True,
    max_media=MAX_IMAGES,
    media={
        "image": MediaRules(
            frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
            max_bytes=MAX_IMAGE_BYTES,
        )
    },
)

# Linear-time patterns over our own post text (no user-supplied pattern here).
_URL = re.compile(r"https?://[^\s<>\"]+")
_MENTION = re.compile(
    r"(?<![^\s(])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?![\w.-]*\w)"
)
_TAG = re.compile(r"(?<!\S)[#\uff03]([^\s#\uff03]+)")
_URL_TRAILING = ".,;:!?'\""


def _xrpc(base: str) -> str:
    base = base.rstrip("/")
    return base + "/" if base.endswith("/xrpc") else base + "/xrpc/"


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _byte_span(text: str, start: int, end: int) -> dict[str, int]:
    """Character positions → the facet's UTF-8 byte index."""
    byte_start = len(text[:start].encode("utf-8"))
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode("utf-8"))}


def _trim_url(url: str) -> str:
    """A URL without the punctuation that ends the sentence around it ("see https://x.y.")."""
    while url:
        last = url[-1]
        if last in _URL_TRAILING or (last == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url


def _trim_tag(tag: str) -> str:
    while tag and unicodedata.category(tag[-1]).startswith("P"):
        tag = tag[:-1]
    return tag


def rich_text_facets(
    text: str, resolve_handle: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """The ``facets`` of ``text``: links, mentions (``resolve_handle`` returns the DID or
    ``None``, and an unresolved mention stays plain text) and hashtags, by UTF-8 byte index."""
    facets: list[tuple[int, dict[str, Any]]] = []
    for match in _URL.finditer(text):
        url = _trim_url(match.group(0))
        if "." not in url.split("://", 1)[1]:
            continue  # "http://localhost"-like text is not a link people can follow
        end = match.start() + len(url)
        feature = {"$type": "app.bsky.richtext.facet#link", "uri": url}
        facets.append(
            (
                match.start(),
                {"index": _byte_span(text, match.start(), end)} | {"features": [feature]},
            )
        )
    for match in _MENTION.finditer(text):
        did = resolve_handle(match.group(1).lower())
        if did is None:
            continue
        feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        facets.append(
            (
                match.start(),
                {"index": _byte_span(text, match.start(), match.end()), "features": [feature]},
            )
        )
    for match in _TAG.finditer(text):
        tag = _trim_tag(match.group(1))
        if not tag or tag.isdigit() or len(tag) > MAX_TAG_CHARS:
            continue
        end = match.start(1) + len(tag)
        feature = {"$type": "app.bsky.richtext.facet#tag", "tag": tag}
        facets.append(
            (match.start(), {"index": _byte_span(text, match.start(), end), "features": [feature]})
        )
    # A hashtag or a mention inside a link ("https://x.y/#top") belongs to the link.
    facets.sort(key=lambda item: item[0])
    kept: list[dict[str, Any]] = []
    for _, facet in facets:
        if kept and facet["index"]["byteStart"] < kept[-1]["index"]["byteEnd"]:
            continue
        kept.append(facet)
    return kept


class BlueskyPublisher:
    can_hide = False

    def __init__(
        self, http: ProviderHttp, *, identifier: str, app_password: str, pds_url: str, appview: str
    ) -> None:
        self.http = http
        self.identifier = identifier
        self.app_password = app_password
        self.pds = _xrpc(pds_url)
        self.appview = _xrpc(appview)

    @classmethod
    def create(
        cls,
        identifier: str,
        app_password: str,
        *,
        pds_url: str = DEFAULT_PDS,
        appview: str = PUBLIC_APPVIEW,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> BlueskyPublisher:
        http = ProviderHttp(
            Platform.BLUESKY.value,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=bluesky_error,
            breaker=breaker,
            max_attempts=1,  # a POST is not retried in-process; see providers.publishing
            sleep=sleep,
        )
        return cls(
            http,
            identifier=identifier,
            app_password=app_password,
            pds_url=pds_url,
            appview=appview,
        )

    def _session(self) -> tuple[str, str]:
        endpoint = "bluesky.server.createSession"
        data = self.http.post_json(
            endpoint,
            self.pds + "com.atproto.server.createSession",
            {"identifier": self.identifier, "password": self.app_password},
        )
        with self.http.parsing(endpoint):
            return str(data["accessJwt"]), str(data["did"])

    def _strong_refs(self, uri: str) -> tuple[dict[str, str], dict[str, str]]:
        endpoint = "bluesky.feed.getPosts"
        data = self.http.get_json(endpoint, self.appview + "app.bsky.feed.getPosts", {"uris": uri})
        posts = data.get("posts") if isinstance(data, dict) else None
        if not posts:
            raise PermanentError(
                f"Bluesky post {uri} is not visible any more (deleted or blocked)",
                platform=Platform.BLUESKY.value,
                endpoint=endpoint,
            )
        with self.http.parsing(endpoint):
            post = posts[0]
            parent = {"uri": str(post["uri"]), "cid": str(post["cid"])}
            root_ref = ((post.get("record") or {}).get("reply") or {}).get("root")
            root = (
                {"uri": str(root_ref["uri"]), "cid": str(root_ref["cid"])} if root_ref else parent
            )
        return root, parent

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        endpoint = "bluesky.repo.createRecord"
        root, parent = self._strong_refs(interaction.external_id)
        token, did = self._session()
        record = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "reply": {"root": root, "parent": parent},
        }
        data = self.http.post_json(
            endpoint,
            self.pds + "com.atproto.repo.createRecord",
            {"repo": did, "collection": "app.bsky.feed.post", "record": record},
            headers={"Authorization": f"Bearer {token}"},
        )
        with self.http.parsing(endpoint):
            uri = str(data["uri"])
        return PublishedReply(uri, f"https://bsky.app/profile/{did}/post/{_rkey(uri)}")

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        endpoint = "bluesky.repo.listRecords"
        repo = account.external_id or account.handle
        if not repo:
            raise CannotConfirm("the Bluesky account has no DID or handle to list its posts")
        wanted = normalise_text(text)
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params = {
                "repo": repo,
                "collection": "app.bsky.feed.post",
                "limit": FIND_PAGE_SIZE,
                "cursor": cursor,
            }
            data = self.http.get_json(endpoint, self.pds + "com.atproto.repo.listRecords", params)
            for item in data.get("records") or []:
                value = item.get("value") or {}
                parent = ((value.get("reply") or {}).get("parent") or {}).get("uri")
                if (
                    parent == interaction.external_id
                    and normalise_text(str(value.get("text") or "")) == wanted
                ):
                    uri = str(item["uri"])
                    return PublishedReply(uri, f"https://bsky.app/profile/{repo}/post/{_rkey(uri)}")
            cursor = data.get("cursor")
            if not cursor or not data.get("records"):
                return None
        raise CannotConfirm(
            f"our last {FIND_PAGES * FIND_PAGE_SIZE} Bluesky posts hold no such reply, and there "
            "are more to look through"
        )

    # -- new posts ----------------------------------------------------------------------------

    def _refuse(self, message: str) -> PermanentError:
        return PermanentError(
            message, platform=Platform.BLUESKY.value, endpoint="bluesky.repo.createRecord"
        )

    def _check(self, draft: PostDraft) -> None:
        """What Bluesky would refuse, said before anything is uploaded."""
        size = len(draft.text.encode("utf-8"))
        if size > MAX_POST_BYTES:
            raise self._refuse(
                f"Bluesky posts hold at most {MAX_POST_BYTES} bytes of text; this one has {size}"
            )
        if len(draft.media) > MAX_IMAGES:
            raise self._refuse(f"Bluesky posts hold at most {MAX_IMAGES} images")
        for item in draft.media:
            if item.kind != "image":
                raise self._refuse(
                    f"{item.filename}: Bluesky posts published here take images only"
                )
            if item.size_bytes > MAX_IMAGE_BYTES:
                raise self._refuse(
                    f"{item.filename} is {item.size_bytes:,} bytes; Bluesky takes images of at "
                    f"most {MAX_IMAGE_BYTES:,} bytes"
                )

    def _resolve_handle(self, handle: str) -> str | None:
        endpoint = "bluesky.identity.resolveHandle"
        try:
            data = self.http.get_json(
                endpoint, self.appview + "com.atproto.identity.resolveHandle", {"handle": handle}
            )
        except (NotFoundError, PermanentError) as exc:
            if isinstance(exc, NotFoundError) or exc.status_code == 400:
                log.info("bluesky.mention.unresolved", handle=handle)
                return None  # no such handle: the mention stays plain text
            raise
        did = data.get("did") if isinstance(data, dict) else None
        return str(did) if did else None

    def _upload_blob(self, token: str, item: MediaItem) -> dict[str, Any]:
        endpoint = "bluesky.repo.uploadBlob"
        response = self.http.request_json(
            "POST",
            endpoint,
            self.pds + "com.atproto.repo.uploadBlob",
            content=item.read(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": item.mime_type},
        )
        with self.http.parsing(endpoint):
            blob: dict[str, Any] = response.data["blob"]
            if not isinstance(blob, dict):
                raise TypeError("blob is not an object")
        return blob

    def _images_embed(self, token: str, media: tuple[MediaItem, ...]) -> dict[str, Any]:
        images: list[dict[str, Any]] = []
        for item in media:
            image: dict[str, Any] = {"alt": item.alt_text, "image": self._upload_blob(token, item)}
            if item.width and item.height:
                image["aspectRatio"] = {"width": item.width, "height": item.height}
            images.append(image)
        return {"$type": "app.bsky.embed.images", "images": images}

    def publish_post(self, account: ReplyAccount, draft: PostDraft) -> PublishedPost:
        """Log in, upload the images, write the post record; see the module docstring."""
        endpoint = "bluesky.repo.createRecord"
        self._check(draft)
        resolved: dict[str, str | None] = {}

        def resolve(handle: str) -> str | None:
            if handle not in resolved:
                resolved[handle] = self._resolve_handle(handle)
            return resolved[handle]

        facets = rich_text_facets(draft.text, resolve)
        token, did = self._session()
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": draft.text,
            "createdAt": _now_iso(),
        }
        if draft.language:
            record["langs"] = [draft.language]
        if facets:
            record["facets"] = facets
        if draft.media:
            record["embed"] = self._images_embed(token, draft.media)
        data = self.http.post_json(
            endpoint,
            self.pds + "com.atproto.repo.createRecord",
            {"repo": did, "collection": POST_COLLECTION, "record": record},
            headers={"Authorization": f"Bearer {token}"},
        )
        with self.http.parsing(endpoint):
            uri = str(data["uri"])
        return PublishedPost(uri, self._post_url(account, did, uri))

    @staticmethod
    def _post_url(account: ReplyAccount, did: str, uri: str) -> str:
        return f"https://bsky.app/profile/{account.handle or did}/post/{_rkey(uri)}"

    def find_post(
        self, account: ReplyAccount, draft: PostDraft, *, since: datetime
    ) -> PublishedPost | None:
        """Our top-level post with this text created at or after ``since``, read on the PDS."""
        endpoint = "bluesky.repo.listRecords"
        repo = account.external_id or account.handle
        if not repo:
            raise CannotConfirm("the Bluesky account has no DID or handle to list its posts")
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        wanted = normalise_text(draft.text)
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params = {
                "repo": repo,
                "collection": POST_COLLECTION,
                "limit": FIND_PAGE_SIZE,
                "cursor": cursor,
            }
            data = self.http.get_json(endpoint, self.pds + "com.atproto.repo.listRecords", params)
            with self.http.parsing(endpoint):
                for item in data.get("records") or []:
                    value = item.get("value") or {}
                    if parse_timestamp(str(value["createdAt"])) < since:
                        return None  # newest first: every later record is older still
                    if not value.get("reply") and normalise_text(str(value.get("text"))) == wanted:
                        uri = str(item["uri"])
                        return PublishedPost(uri, self._post_url(account, repo, uri))
            cursor = data.get("cursor")
            if not cursor or not data.get("records"):
                return None
        raise CannotConfirm(
            f"more than {FIND_PAGES * FIND_PAGE_SIZE} Bluesky posts since {since.isoformat()}; "
            "ours was not among them"
        )


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",
) -> BlueskyPublisher:
    """Credentials: ``{"app_password": "...", "identifier"?: handle, "pds_url"?: ...}``."""
    app_password, identifier = require_credentials(
        Platform.BLUESKY,
        {**credentials, "identifier": credentials.get("identifier") or handle},
        "app_password",
        "identifier",
    )
    return BlueskyPublisher.create(
        identifier,
        app_password,
        pds_url=str(credentials.get("pds_url") or DEFAULT_PDS),
        appview=configured_appview(credentials),
        observer=observer,
        http_client=http_client,
    )
