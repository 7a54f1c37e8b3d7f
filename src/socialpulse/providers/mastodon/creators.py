"""Mastodon as a creator source: any public account, read on its home instance (the handle
is ``user@instance``), no credentials (an ``access_token`` is sent when given).

* Profile: ``GET /api/v1/accounts/lookup``. A locked account (the padlock: followers approved
  by hand, Mastodon's "private" account) is refused with a clear message; a suspended one is
  not found.
* Posts: ``GET /api/v1/accounts/:id/statuses`` without boosts, and without replies to other
  people (conversation, not content); a reply in the creator's own thread is kept.
* Comments: ``GET /api/v1/statuses/:id/context`` descendants, read on the instance the status
  lives on (the host of its URL), so a fresh source can read them for a stored post.
* Related: accounts mentioned in the statuses and the bio (``user@host``). Endorsed ("featured")
  accounts are left out: reading another account's endorsements needs Mastodon 4.4+ and
  answers 404 elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from socialpulse.providers.base import (
    CallObserver,
    Comment,
    NotFoundError,
    Page,
    PermanentError,
    Platform,
    Post,
    Profile,
)
from socialpulse.providers.creators import (
    RelatedHandle,
    collect_pages,
    mentioned,
    merge_related,
    newest_posts,
)
from socialpulse.providers.http import EgressDenied
from socialpulse.providers.mastodon import parse
from socialpulse.providers.mastodon.client import ForbiddenInstanceError, MastodonClient

__all__ = ["MastodonCreatorSource", "build_creator_source"]

_PLATFORM = Platform.MASTODON.value


def _is_content(post: Post) -> bool:
    replied_to = post.raw.get("in_reply_to_account_id")
    return replied_to is None or str(replied_to) == post.account_external_id


class MastodonCreatorSource:
    def __init__(self, client: MastodonClient) -> None:
        self.client = client

    def creator_profile(self, handle: str) -> Profile:
        endpoint = "mastodon.accounts.lookup"
        profile = self.client.get_profile(handle)
        if profile.raw.get("suspended"):
            raise NotFoundError(
                f"Mastodon account {profile.handle} is suspended",
                platform=_PLATFORM,
                endpoint=endpoint,
            )
        if profile.raw.get("locked"):
            raise PermanentError(
                f"Mastodon account {profile.handle} is locked (its owner approves followers by "
                "hand): it is private and not analysed",
                platform=_PLATFORM,
                endpoint=endpoint,
            )
        return profile

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        def page(cursor: str | None, wanted: int) -> Page[Post]:
            found = self.client.list_posts(profile, cursor, limit=wanted)
            # The page's cursor is kept: a page of nothing but replies still leads on.
            kept = tuple(post for post in found.items if _is_content(post))
            return Page(items=kept, next_cursor=found.next_cursor)

        posts = collect_pages(page, limit)
        return newest_posts(posts, limit)

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        endpoint = "mastodon.statuses.context"
        host = urlsplit(post.url or str(post.raw.get("uri") or "")).netloc
        if not host:
            raise PermanentError(
                f"Mastodon status {post.external_id} has no URL to tell its instance",
                platform=_PLATFORM,
                endpoint=endpoint,
            )
        try:
            on_instance = MastodonClient(self.client.http, host)
        except ForbiddenInstanceError as exc:
            raise EgressDenied(str(exc), platform=_PLATFORM, endpoint=endpoint) from exc
        except ValueError as exc:
            raise PermanentError(str(exc), platform=_PLATFORM, endpoint=endpoint) from exc
        return list(on_instance.list_comments(post.external_id).items[: max(0, limit)])

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        _, home = parse.split_handle(profile.handle)

        def full_handle(text: str) -> str | None:
            user, host = parse.split_handle(text)
            host = host or home
            return f"{user.lower()}@{host}" if user and host else None

        return merge_related(profile.handle, mentioned(_PLATFORM, profile, posts, full_handle))


def build_creator_source(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> MastodonCreatorSource:
    """Optional credentials: ``access_token`` (some instances want one for public reads). The
    instance comes from each handle, never from the credentials."""
    return MastodonCreatorSource(
        MastodonClient.create(
            access_token=credentials.get("access_token") or None,
            observer=observer,
            http_client=http_client,
        )
    )
