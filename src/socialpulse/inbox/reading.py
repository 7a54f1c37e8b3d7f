"""Reading listings from a platform source, page by page, within bounds: the comments of a
post (and the replies a thread listing left out), and newest-first listings of mentions and
direct messages. No database here: what is already stored is asked through callbacks, so
polling can read without holding a transaction across a platform call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from socialpulse.providers import base as pb

log = structlog.get_logger(__name__)

# Pages read per poll at most (100 comments a page on most platforms).
POLL_MAX_PAGES = 20
# Threads whose missing replies one poll reads, and reply pages per thread (100 replies a page on
# YouTube, 1 quota unit each). A thread listing carries only some replies of a long thread
# (YouTube embeds 5), so a poll reads the rest through `ReplySource.list_replies`; these bounds
# keep one poll of a busy video from costing more than ~50 units where a normal poll costs 1.
# Threads left over wait for the next poll, which reads the thread listing's first page again:
# threads from that page are left over first, since they are the ones it is sure to see. No
# per-thread cursor is kept, so a thread whose count stays above what `list_replies` returns
# (longer than the page limit, or counting replies the platform does not list) is re-read up to
# the limits by every poll that sees it: the limits bound that cost too.
POLL_MAX_REPLY_THREADS = 10
POLL_MAX_REPLY_PAGES = 5
# Pages of a mentions or conversations listing read per poll at most (40 to 80 items a page).
MAX_MENTION_PAGES = 5


@dataclass
class Pages:
    comments: list[pb.Comment] = field(default_factory=list)
    resume_cursor: str | None = None
    error: pb.ProviderError | None = None
    # External ids on the page the next poll starts with (newest first: the first page; oldest
    # first: the last page read, at `resume_cursor`).
    revisited: set[str] = field(default_factory=set)


def read_comments(
    source: Any,
    post_external_id: str,
    cursor: str | None,
    newest_first: bool,
    is_known: Callable[[Sequence[pb.Comment]], int],
) -> Pages:
    """Pages of comments until the listing ends (or, newest-first, a page brings nothing new).

    `resume_cursor` is where the next poll starts: the cursor of the last page read (that page
    is read again next time, which is cheap and catches comments added to it meanwhile). A
    failure after some pages keeps what was read."""
    pages = Pages(resume_cursor=None if newest_first else cursor)
    start = None if newest_first else cursor
    for _ in range(POLL_MAX_PAGES):
        try:
            page = source.list_comments(post_external_id, since_cursor=start)
        except pb.ProviderError as exc:
            pages.error = exc
            return pages
        pages.comments.extend(page.items)
        if not newest_first or start is None:
            pages.revisited = {c.external_id for c in page.items}
        if not newest_first:
            pages.resume_cursor = start
        if not page.next_cursor or page.next_cursor == start:
            break
        if newest_first and page.items and is_known(page.items) == len(page.items):
            break
        start = page.next_cursor
    return pages


@dataclass
class ReplyReading:
    threads_read: int = 0
    threads_left: int = 0


def threads_missing_replies(
    pages: Pages, stored_replies: Callable[[Sequence[str]], dict[str, set[str]]]
) -> list[tuple[pb.Comment, set[str]]]:
    """(top-level comment, reply ids already known) of every thread read in this poll whose
    `reply_count` exceeds the replies known: those in this batch and those already stored.
    Threads the next poll is sure to read again come last."""
    inline: dict[str, set[str]] = {}
    tops: dict[str, pb.Comment] = {}
    for item in pages.comments:
        if item.parent_external_id:
            inline.setdefault(item.parent_external_id, set()).add(item.external_id)
        else:
            tops[item.external_id] = item
    wanting = [
        top
        for top in tops.values()
        if (top.reply_count or 0) > len(inline.get(top.external_id, ()))
    ]
    if not wanting:
        return []
    stored = stored_replies([top.external_id for top in wanting])
    missing: list[tuple[pb.Comment, set[str]]] = []
    for top in wanting:
        known = inline.get(top.external_id, set()) | stored.get(top.external_id, set())
        if (top.reply_count or 0) > len(known):
            missing.append((top, known))
    missing.sort(key=lambda item: item[0].external_id in pages.revisited)  # stable
    return missing


def read_missing_replies(
    source: pb.ReplySource,
    post_external_id: str,
    pages: Pages,
    stored_replies: Callable[[Sequence[str]], dict[str, set[str]]],
) -> ReplyReading:
    """Page through `list_replies` of the threads with replies the thread listing left out,
    adding them to `pages.comments` (bounded by POLL_MAX_REPLY_THREADS / POLL_MAX_REPLY_PAGES).

    The listing of a thread stops once every reply it counts is known, so a thread costs only
    the pages it needs. Any provider failure (budget, quota, platform down) stops the reading
    and lands in `pages.error`, keeping what was read, as in `read_comments`; a thread deleted
    since the listing is skipped, not reported as the post gone."""
    threads = threads_missing_replies(pages, stored_replies)
    reading = ReplyReading()
    in_batch = {c.external_id for c in pages.comments}
    for top, known in threads[:POLL_MAX_REPLY_THREADS]:
        reply_count = top.reply_count or 0
        listed: set[str] = set()
        cursor: str | None = None
        for _ in range(POLL_MAX_REPLY_PAGES):
            try:
                page = source.list_replies(post_external_id, top.external_id, cursor)
            except pb.NotFoundError:
                log.info(
                    "inbox.poll.thread_gone",
                    platform=top.platform.value,
                    comment_external_id=top.external_id,
                )
                break
            except pb.ProviderError as exc:
                pages.error = exc
                break
            unseen = [r for r in page.items if r.external_id not in listed]
            # Replies already stored are ingested too (their like counts refresh); those the
            # thread listing carried are in the batch already.
            pages.comments.extend(r for r in unseen if r.external_id not in in_batch)
            ids = {r.external_id for r in unseen}
            in_batch |= ids
            listed |= ids
            known |= ids
            if len(known) >= reply_count or not page.next_cursor or page.next_cursor == cursor:
                break
            # A page with nothing unseen is the same page served again (comments.list ignored
            # `pageToken` for a while in 2024): following its token would never end.
            if not unseen:
                break
            cursor = page.next_cursor
        if pages.error is not None:
            break
        reading.threads_read += 1
    reading.threads_left = len(threads) - reading.threads_read
    return reading


@dataclass
class Listing:
    items: list[pb.Comment] = field(default_factory=list)
    error: pb.ProviderError | None = None


def read_newest_first(
    fetch: Callable[[str | None], pb.Page[pb.Comment]],
    stop_at: str | None,
    is_known: Callable[[Sequence[pb.Comment]], int],
) -> Listing:
    """Pages until one reaches `stop_at`, brings nothing new, or the listing ends. A failure
    keeps what was read before it."""
    listing = Listing()
    cursor: str | None = None
    for _ in range(MAX_MENTION_PAGES):
        try:
            page = fetch(cursor)
        except pb.ProviderError as exc:
            listing.error = exc
            return listing
        listing.items.extend(page.items)
        if not page.next_cursor or page.next_cursor == cursor:
            break
        if stop_at is not None and any(c.external_id == stop_at for c in page.items):
            break
        if page.items and is_known(page.items) == len(page.items):
            break
        cursor = page.next_cursor
    return listing
