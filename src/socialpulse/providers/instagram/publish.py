"""Replying to Instagram comments (Graph API, Instagram API with Facebook Login).

* Reply: ``POST /{ig-comment-id}/replies?message=...`` with the user access token
  (permission ``instagram_manage_comments``); the answer is ``{"id": "<reply id>"}``
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies).
  Replies nest one level: a reply to a reply goes under the top-level comment.
* ``find_existing``: ``GET /{ig-comment-id}/replies?fields=id,text,username,from,timestamp``
  and match ``from.id`` = our ``ig_user_id`` (or ``username`` = our handle) + the text.
* Hide: ``POST /{ig-comment-id}?hide=true`` (same permission; only comments under the
  account's own media can be hidden); the answer is ``{"success": true}``
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment).
  Hiding a hidden comment answers ``success`` again, so a retried job is harmless.
* Unhide: the same call with ``hide=false``, the same answer.
* Errors go through ``instagram_error`` (code 190 → auth, throttles → quota, ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver, PermanentError, Platform, require_credentials
from socialpulse.providers.http import CircuitBreaker, ProviderHttp
from socialpulse.providers.instagram.client import API_BASE, DISPLAY_NAME, instagram_error
from socialpulse.providers.publishing import (
    CannotConfirm,
    InteractionLike,
    PublishedReply,
    ReplyAccount,
    normalise_text,
)

__all__ = ["InstagramPublisher", "build_publisher"]

FIND_MAX_PAGES = 5


class InstagramPublisher:
    can_hide = True

    def __init__(self, http: ProviderHttp, ig_user_id: str) -> None:
        self.http = http
        self.ig_user_id = ig_user_id

    @classmethod
    def create(
        cls,
        access_token: str,
        ig_user_id: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = API_BASE,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> InstagramPublisher:
        http = ProviderHttp(
            Platform.INSTAGRAM.value,
            base_url=base_url,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=lambda response, endpoint: instagram_error(response, endpoint),
            breaker=breaker,
            params={"access_token": access_token},
            max_attempts=1,  # a POST is not retried in-process; see providers.publishing
            sleep=sleep,
        )
        return cls(http, ig_user_id)

    @staticmethod
    def _comment_id(interaction: InteractionLike) -> str:
        return interaction.parent_external_id or interaction.external_id

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        endpoint = "instagram.comment.replies.create"
        data = self.http.post_json(
            endpoint, f"{self._comment_id(interaction)}/replies", None, {"message": text}
        )
        with self.http.parsing(endpoint):
            return PublishedReply(str(data["id"]), None)

    def hide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Hide the comment itself (a reply is hidden on its own, not via its parent)."""
        self._set_hidden(interaction, True)

    def unhide(self, account: ReplyAccount, interaction: InteractionLike) -> None:
        """Show the hidden comment again (like ``hide``, on the comment itself)."""
        self._set_hidden(interaction, False)

    def _set_hidden(self, interaction: InteractionLike, hide: bool) -> None:
        endpoint = "instagram.comment.hide" if hide else "instagram.comment.unhide"
        params = {"hide": "true" if hide else "false"}
        data = self.http.post_json(endpoint, interaction.external_id, None, params)
        if not (isinstance(data, dict) and data.get("success") is True):
            verb = "hiding" if hide else "unhiding"
            raise PermanentError(
                f"Instagram did not confirm {verb} comment {interaction.external_id}: {data!r}",
                platform=Platform.INSTAGRAM.value,
                endpoint=endpoint,
            )

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        endpoint = "instagram.comment.replies.list"
        wanted = normalise_text(text)
        after: str | None = None
        for _ in range(FIND_MAX_PAGES):
            params = {"fields": "id,text,username,from,timestamp", "limit": 50, "after": after}
            data = self.http.get_json(endpoint, f"{self._comment_id(interaction)}/replies", params)
            for item in data.get("data") or []:
                author = item.get("from") or {}
                ours = str(author.get("id")) in (self.ig_user_id, account.external_id) or (
                    str(item.get("username") or "").lower() == account.handle.lower()
                )
                if ours and normalise_text(str(item.get("text") or "")) == wanted:
                    return PublishedReply(str(item["id"]), None)
            paging = data.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return None
        raise CannotConfirm(
            f"more than {FIND_MAX_PAGES * 50} replies under Instagram comment "
            f"{self._comment_id(interaction)}; ours was not among them"
        )


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",  # unused: replies address the comment by its id
) -> InstagramPublisher:
    """Credentials: ``{"access_token": "...", "ig_user_id": "1784..."}``."""
    access_token, ig_user_id = require_credentials(
        Platform.INSTAGRAM, credentials, "access_token", "ig_user_id"
    )
    return InstagramPublisher.create(
        access_token,
        ig_user_id,
        observer=observer,
        http_client=http_client,
    )
