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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver, PermanentError, Platform, require_credentials
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
    PublishedReply,
    ReplyAccount,
    normalise_text,
)

__all__ = ["DEFAULT_PDS", "BlueskyPublisher", "build_publisher"]

DEFAULT_PDS = "https://bsky.social"
FIND_PAGES = 3
FIND_PAGE_SIZE = 100


def _xrpc(base: str) -> str:
    base = base.rstrip("/")
    return base + "/" if base.endswith("/xrpc") else base + "/xrpc/"


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


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
