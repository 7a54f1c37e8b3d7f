"""Replying on Mastodon (any instance).

* Reply: ``POST /api/v1/statuses`` with ``status`` and ``in_reply_to_id``
  (https://docs.joinmastodon.org/methods/statuses/#create), bearer ``access_token`` (scope
  ``write:statuses``). Mastodon honours an ``Idempotency-Key`` header (kept for an hour): we send
  the queue item's key, so even a blind retry within the hour could not post twice.
* The instance is the account's home (``user@host``), or credential ``instance``. Status ids are
  instance-local: the interaction must have been read on that same instance.
* ``find_existing`` reads ``GET /api/v1/statuses/:id/context`` and matches a descendant with
  ``in_reply_to_id`` = the comment, ``account.id`` = ours (or ``acct`` = our handle) and the same
  text. ``content`` is HTML, so tags are stripped before comparing.
* Mastodon only notifies people who are mentioned: write ``@name`` in the text to ping them.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver, PermanentError, Platform, require_credentials
from socialpulse.providers.http import CircuitBreaker, ProviderHttp
from socialpulse.providers.mastodon.client import DISPLAY_NAME, mastodon_error, normalise_instance
from socialpulse.providers.publishing import (
    InteractionLike,
    PublishedReply,
    ReplyAccount,
    normalise_text,
)

__all__ = ["MastodonPublisher", "build_publisher", "html_to_text"]

_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(content: str) -> str:
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content)))


class MastodonPublisher:
    can_hide = False

    def __init__(self, http: ProviderHttp, instance: str) -> None:
        self.http = http
        self.instance = normalise_instance(instance)

    @classmethod
    def create(
        cls,
        instance: str,
        access_token: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> MastodonPublisher:
        http = ProviderHttp(
            Platform.MASTODON.value,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=mastodon_error,
            breaker=breaker,
            headers={"Authorization": f"Bearer {access_token}"},
            max_attempts=1,  # a POST is not retried in-process; see providers.publishing
            sleep=sleep,
        )
        return cls(http, instance)

    def reply(
        self,
        account: ReplyAccount,
        interaction: InteractionLike,
        text: str,
        *,
        idempotency_key: str,
    ) -> PublishedReply:
        endpoint = "mastodon.statuses.create"
        data = self.http.post_json(
            endpoint,
            f"{self.instance}/api/v1/statuses",
            {"status": text, "in_reply_to_id": interaction.external_id},
            headers={"Idempotency-Key": idempotency_key},
        )
        with self.http.parsing(endpoint):
            return PublishedReply(str(data["id"]), data.get("url") or data.get("uri"))

    def find_existing(
        self, account: ReplyAccount, interaction: InteractionLike, text: str
    ) -> PublishedReply | None:
        endpoint = "mastodon.statuses.context"
        data = self.http.get_json(
            endpoint, f"{self.instance}/api/v1/statuses/{interaction.external_id}/context"
        )
        wanted = normalise_text(text)
        own_acct = account.handle.lstrip("@").split("@", 1)[0].lower()
        with self.http.parsing(endpoint):
            for status in data.get("descendants") or []:
                author = status.get("account") or {}
                ours = str(author.get("id")) == account.external_id or (
                    str(author.get("acct") or "").split("@", 1)[0].lower() == own_acct
                )
                if (
                    ours
                    and str(status.get("in_reply_to_id")) == interaction.external_id
                    and normalise_text(html_to_text(str(status.get("content") or ""))) == wanted
                ):
                    return PublishedReply(str(status["id"]), status.get("url"))
        return None


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",
) -> MastodonPublisher:
    """Credentials: ``{"access_token": "...", "instance"?: "mastodon.social"}``."""
    (token,) = require_credentials(Platform.MASTODON, credentials, "access_token")
    instance = credentials.get("instance") or (handle.split("@")[-1] if "@" in handle else "")
    if not instance:
        raise PermanentError(
            "Mastodon replies need the account's instance: a handle user@instance",
            platform=Platform.MASTODON.value,
            endpoint="mastodon.statuses.create",
        )
    return MastodonPublisher.create(
        str(instance), token, observer=observer, http_client=http_client
    )
