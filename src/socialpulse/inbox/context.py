"""What the inbox shows around each interaction of a page: the account it came to, the post it
is on, and its thread (the comment it answers, the replies to it, ours included: replies we
queued or sent, and comments the account itself wrote on the platform).

Read for a whole page at once, a handful of statements whatever the page size."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.inbox.models import NOT_IN_LISTS, Interaction, ReplyQueueItem, ReplyStatus
from socialpulse.workspaces.tenancy import Subject, scoped

CAPTION_SNIPPET = 120
# Replies shown inline under one interaction; the rest are counted ("and 12 more").
THREAD_REPLIES = 5
OUR_REPLY_STATES = (
    ReplyStatus.pending,
    ReplyStatus.processing,
    ReplyStatus.sent,
    ReplyStatus.failed,
)


@dataclass(frozen=True, slots=True)
class PostSummary:
    id: int
    caption: str  # the first CAPTION_SNIPPET characters
    thumbnail_url: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    author: str
    text: str
    at: dt.datetime
    ours: bool  # written by the account (on the platform, or through our reply queue)
    state: str | None = None  # for a reply from our queue: pending, processing, sent, failed
    queue_item_id: int | None = None  # that reply in the queue


@dataclass(slots=True)
class ItemContext:
    account_handle: str
    account_platform: str
    post: PostSummary | None = None
    parent: ThreadEntry | None = None
    replies: list[ThreadEntry] = field(default_factory=list)
    more_replies: int = 0


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CAPTION_SNIPPET else text[: CAPTION_SNIPPET - 1].rstrip() + "…"


def page_context(
    session: Session, subject: Subject, items: Sequence[Interaction]
) -> dict[int, ItemContext]:
    """The context of each interaction, by id."""
    if not items:
        return {}
    ids = [item.id for item in items]
    accounts = {
        account.id: account
        for account in session.scalars(
            scoped(select(TrackedAccount), subject).where(
                TrackedAccount.id.in_({item.account_id for item in items})
            )
        )
    }
    post_ids = {item.post_id for item in items if item.post_id is not None}
    posts = (
        {
            post_id: PostSummary(post_id, _snippet(caption or ""), thumbnail, url)
            for post_id, caption, thumbnail, url in session.execute(
                scoped(select(Post.id, Post.caption, Post.thumbnail_url, Post.url), subject).where(
                    Post.id.in_(post_ids)
                )
            )
        }
        if post_ids
        else {}
    )
    parent_ids = {item.parent_id for item in items if item.parent_id is not None}
    parents = (
        {
            parent.id: parent
            for parent in session.scalars(
                scoped(select(Interaction), subject)
                .options(*NOT_IN_LISTS)
                .where(Interaction.id.in_(parent_ids))
            )
        }
        if parent_ids
        else {}
    )
    children: dict[int, list[Interaction]] = {}
    # Ordered here, not by SQL: an ORDER BY posted_at tempts SQLite into walking the whole
    # workspace by its posted_at index (11 ms on the demo) instead of looking up the replies.
    for child in sorted(
        session.scalars(
            scoped(select(Interaction), subject)
            .options(*NOT_IN_LISTS)
            .where(Interaction.parent_id.in_(ids))
        ),
        key=lambda child: (child.posted_at, child.id),
    ):
        assert child.parent_id is not None
        children.setdefault(child.parent_id, []).append(child)
    queued: dict[int, list[ReplyQueueItem]] = {}
    for reply in session.scalars(
        scoped(select(ReplyQueueItem), subject)
        .where(
            ReplyQueueItem.interaction_id.in_(ids),
            ReplyQueueItem.status.in_(list(OUR_REPLY_STATES)),
        )
        .order_by(ReplyQueueItem.created_at, ReplyQueueItem.id)
    ):
        queued.setdefault(reply.interaction_id, []).append(reply)

    def ours(interaction: Interaction) -> bool:
        account = accounts.get(interaction.account_id)
        return account is not None and interaction.author_external_id == account.external_id

    def entry(interaction: Interaction) -> ThreadEntry:
        return ThreadEntry(
            interaction.author_handle, interaction.text, interaction.posted_at, ours(interaction)
        )

    contexts = {}
    for item in items:
        account = accounts.get(item.account_id)
        context = ItemContext(
            account_handle=account.handle if account is not None else "removed account",
            account_platform=account.platform if account is not None else item.platform,
            post=posts.get(item.post_id) if item.post_id is not None else None,
        )
        parent = parents.get(item.parent_id) if item.parent_id is not None else None
        if parent is not None:
            context.parent = entry(parent)
        thread = children.get(item.id, [])
        on_platform = {child.external_id for child in thread}
        replies = [entry(child) for child in thread]
        handle = context.account_handle
        for reply in queued.get(item.id, []):
            # A sent reply the platform listed back is shown once, as the platform's.
            if reply.external_reply_id is not None and reply.external_reply_id in on_platform:
                continue
            replies.append(
                ThreadEntry(
                    handle,
                    reply.text,
                    reply.sent_at or reply.scheduled_for,
                    True,
                    reply.status.value,
                    reply.id,
                )
            )
        replies.sort(key=lambda reply: reply.at)
        # The newest replies matter most: ours, just sent, are the last ones.
        context.more_replies = max(0, len(replies) - THREAD_REPLIES)
        context.replies = replies[-THREAD_REPLIES:]
        contexts[item.id] = context
    return contexts
