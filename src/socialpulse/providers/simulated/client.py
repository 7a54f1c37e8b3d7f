"""``SimulatedPlatform``: the simulation model behind the provider Protocols.

Used by the demo (accounts with months of history at first start) and by load tests. It speaks
``ProfileSource``, ``PostSource`` and ``CommentSource`` exactly like a real client, including the
failure modes a caller must handle:

* Handles starting with ``missing`` or ``unknown`` (after normalising: lower case, no ``@``)
  raise ``NotFoundError``; every other handle is an account. Accounts are looked up by handle
  only: the numeric ``external_id`` is a hash and cannot be turned back into a handle.
* ``error_rate`` makes calls raise ``TransientError``. Whether the n-th call of an instance fails
  is a function of ``(seed, n)``, so a test run fails at the same calls every time.
* ``latency_ms`` sleeps that long before each call (``sleep`` is injectable).

Beyond the Protocols, ``history`` gives daily account snapshots and ``post_metrics_at`` a post's
counters at any moment, both consistent with what ``get_profile`` and ``list_posts`` return
"now", so the demo can backfill a believable past. Post and comment ``raw`` carry the
simulation's ground truth (reach, virality; comment language, intent, sentiment, fan flag).

Ids: a post is ``{handle}:{block}:{index}``, a comment ``{post id}:{index}``. Pagination cursors
are opaque strings: ``list_posts`` pages by position in publication order (new posts published
between two pages do not shift later pages), ``list_comments`` oldest first, 100 per page.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from socialpulse.providers.base import (
    AccountLike,
    ApiCall,
    CallObserver,
    Comment,
    NotFoundError,
    NullObserver,
    Page,
    PermanentError,
    Platform,
    Post,
    PostMetrics,
    Profile,
    TransientError,
    utcnow,
)
from socialpulse.providers.simulated.model import (
    DEFAULT_EPOCH,
    SimComment,
    SimPost,
    SimSnapshot,
    SimulationModel,
    handle_exists,
    normalize_handle,
    stable_seed,
)
from socialpulse.providers.simulated.settings import MAX_LATENCY_MS

__all__ = [
    "COMMENTS_PAGE_SIZE",
    "SIMULATED_HOST",
    "SimulatedPlatform",
    "parse_profile_url",
    "profile_url",
]

SIMULATED_HOST = "simulated.invalid"  # RFC 2606: can never resolve to a real site
COMMENTS_PAGE_SIZE = 100
MAX_POSTS_PAGE = 100
_PLATFORM = Platform.SIMULATED.value


def profile_url(handle: str) -> str:
    return f"https://{SIMULATED_HOST}/@{handle}"


def parse_profile_url(url: str) -> str | None:
    """``https://simulated.invalid/@name`` → ``name``; ``None`` for any other URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or parts.hostname != SIMULATED_HOST:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or not segments[0].startswith("@"):
        return None
    handle = normalize_handle(segments[0])
    return handle or None


class SimulatedPlatform:
    """A deterministic fake social platform.

    ``seed`` picks the world: the same seed and handle always give the same account, posts,
    metrics at a given time, and comments. ``now`` is the simulated clock (timezone-aware UTC);
    ``epoch`` is when posts start to exist (older posts only count in ``posts_count``).
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        now: Callable[[], datetime] = utcnow,
        latency_ms: float = 0.0,
        error_rate: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        epoch: datetime = DEFAULT_EPOCH,
        observer: CallObserver | None = None,
    ) -> None:
        # NaN fails every comparison, so "not in range" also refuses it; inf is out of range.
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not (math.isfinite(latency_ms) and 0.0 <= latency_ms <= MAX_LATENCY_MS):
            raise ValueError(f"latency_ms must be between 0 and {MAX_LATENCY_MS:g}")
        self.seed = seed
        self.model = SimulationModel(seed, epoch=epoch)
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.observer: CallObserver = observer or NullObserver()
        self._now = now
        self._sleep = sleep
        self._calls = 0
        self._lock = threading.Lock()

    # -- the Protocols --------------------------------------------------------------------

    def get_profile(self, handle: str) -> Profile:
        endpoint = "simulated.profile"
        self._call(endpoint)
        normal = self._require_account(handle, endpoint)
        acct = self.model.account(normal)
        snap = self.model.snapshot_at(normal, self._now())
        return Profile(
            platform=Platform.SIMULATED,
            external_id=acct.external_id,
            handle=normal,
            display_name=acct.display_name,
            bio=acct.bio,
            avatar_url=None,
            profile_url=profile_url(normal),
            followers_count=snap.followers,
            following_count=snap.following,
            posts_count=snap.posts_count,
            verified=acct.verified,
            raw={
                "topic": acct.topic,
                "language": acct.language,
                "created_at": acct.created_at.isoformat(),
                "loyal_fans": list(acct.fans),
            },
        )

    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """Posts published up to now, newest first, at most ``limit`` (1-100) per page."""
        endpoint = "simulated.posts"
        self._call(endpoint)
        normal = self._require_account(account.handle, endpoint)
        before = self._parse_post_cursor(cursor, endpoint)
        limit = max(1, min(limit, MAX_POSTS_PAGE))
        now = self._now()
        picked: list[SimPost] = []
        for post in self.model.posts_newest_first(normal, now, before):
            picked.append(post)
            if len(picked) > limit:
                break
        more = len(picked) > limit
        picked = picked[:limit]
        next_cursor = f"{picked[-1].block}.{picked[-1].index}" if more else None
        return Page(items=tuple(self._post(p, now) for p in picked), next_cursor=next_cursor)

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> Page[Comment]:
        """Comments visible now, oldest first, ``COMMENTS_PAGE_SIZE`` per page (no replies)."""
        endpoint = "simulated.comments"
        self._call(endpoint)
        post = self._require_post(post_external_id, endpoint)
        start = 0
        if since_cursor is not None:
            if not since_cursor.isdigit():
                raise PermanentError(
                    f"Malformed comments cursor {since_cursor!r}",
                    platform=_PLATFORM,
                    endpoint=endpoint,
                    status_code=400,
                )
            start = int(since_cursor)
        visible = self.model.comments_visible(post, self._now())
        stop = min(start + COMMENTS_PAGE_SIZE, visible)
        items = tuple(self._comment(c) for c in self.model.comments(post, start, stop))
        return Page(items=items, next_cursor=str(stop) if stop < visible else None)

    # -- helpers for the demo and load tests ----------------------------------------------

    def history(self, handle: str, days: int) -> list[SimSnapshot]:
        """One snapshot (date, followers, following, posts_count) per UTC date, oldest first.

        Covers the ``days`` dates ending today; each is the state at the end of its date and
        today's is the state now, equal to what ``get_profile`` returns. No call is charged.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        normal = self._require_account(handle, "simulated.history")
        return self.model.history(normal, days, self._now())

    def post_metrics_at(self, post: Post | str, when: datetime) -> PostMetrics:
        """The counters of a post (a ``Post`` from ``list_posts`` or its id) at ``when``.

        Zero before publication; each counter is non-decreasing in ``when``; at "now" they are
        the metrics ``list_posts`` returns.
        """
        post_id = post if isinstance(post, str) else post.external_id
        found = self._require_post(post_id, "simulated.post_metrics")
        return self._metrics(found, when)

    def posts_between(self, handle: str, start: datetime, end: datetime) -> list[Post]:
        """Posts published in ``[start, min(end, now)]``, oldest first, with metrics at now."""
        normal = self._require_account(handle, "simulated.posts_between")
        now = self._now()
        return [self._post(p, now) for p in self.model.posts_between(normal, start, min(end, now))]

    # -- internals ------------------------------------------------------------------------

    def _call(self, endpoint: str) -> None:
        """Latency, then the deterministic coin flip of ``error_rate``, then the record."""
        self.observer.before_call(_PLATFORM, endpoint, 1)
        with self._lock:
            number = self._calls
            self._calls += 1
        if self.latency_ms:
            self._sleep(self.latency_ms / 1000.0)
        failed = False
        if self.error_rate > 0:
            draw = stable_seed(self.seed, "error", number) / 2**64
            failed = draw < self.error_rate
        self.observer.after_call(
            ApiCall(
                platform=_PLATFORM,
                endpoint=endpoint,
                status_code=503 if failed else 200,
                ok=not failed,
                latency_ms=self.latency_ms,
                quota_cost=1,
                error="TransientError: simulated outage" if failed else None,
            )
        )
        if failed:
            raise TransientError(
                f"Simulated transient failure on {endpoint} (error_rate={self.error_rate})",
                platform=_PLATFORM,
                endpoint=endpoint,
                status_code=503,
                retry_after=1.0,
            )

    def _require_account(self, handle: str, endpoint: str) -> str:
        normal = normalize_handle(handle)
        if not handle_exists(normal):
            shown = normal or handle
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise NotFoundError(
                f"No simulated account @{shown!r}",
                platform=_PLATFORM,
                endpoint=endpoint,
                status_code=404,
            )
        return normal

    def _require_post(self, post_id: str, endpoint: str) -> SimPost:
        post = self.model.find_post(post_id)
        if post is None or post.published_at > self._now():
            raise NotFoundError(
                f"No simulated post {post_id!r}",
                platform=_PLATFORM,
                endpoint=endpoint,
                status_code=404,
            )
        return post

    def _parse_post_cursor(self, cursor: str | None, endpoint: str) -> tuple[int, int] | None:
        if cursor is None:
            return None
        block, _, index = cursor.partition(".")
        if not (block.isdigit() and index.isdigit()):
            raise PermanentError(
                f"Malformed posts cursor {cursor!r}",
                platform=_PLATFORM,
                endpoint=endpoint,
                status_code=400,
            )
        return int(block), int(index)

    def _metrics(self, post: SimPost, when: datetime) -> PostMetrics:
        m = self.model.metrics_at(post, when)
        return PostMetrics(
            views=m.views, likes=m.likes, comments=m.comments, shares=m.shares, saves=m.saves
        )

    def _post(self, post: SimPost, now: datetime) -> Post:
        caption, hashtags, mentions = self.model.post_text(post)
        acct = self.model.account(post.handle)
        sim = self.model.metrics_at(post, now)
        raw: dict[str, Any] = {
            "reach": sim.reach,
            "viral": post.viral,
            "lifetime_views": round(post.lifetime_views),
        }
        return Post(
            platform=Platform.SIMULATED,
            external_id=post.post_id,
            account_external_id=acct.external_id,
            url=f"{profile_url(post.handle)}/p/{post.block}-{post.index}",
            caption=caption,
            posted_at=post.published_at,
            media_type=post.media_type,
            hashtags=hashtags,
            mentions=mentions,
            duration_seconds=post.duration_seconds,
            thumbnail_url=None,
            metrics=PostMetrics(
                views=sim.views,
                likes=sim.likes,
                comments=sim.comments,
                shares=sim.shares,
                saves=sim.saves,
            ),
            raw=raw,
        )

    def _comment(self, comment: SimComment) -> Comment:
        return Comment(
            platform=Platform.SIMULATED,
            external_id=comment.comment_id,
            post_external_id=comment.post_id,
            parent_external_id=None,
            author_external_id=comment.author_id,
            author_handle=comment.author,
            text=comment.text,
            posted_at=comment.created_at,
            like_count=comment.like_count,
            reply_count=0,
            url=f"https://{SIMULATED_HOST}/comments/{quote(comment.comment_id, safe='')}",
            raw={
                "language": comment.language,
                "intent": comment.intent.value,
                "sentiment": comment.sentiment.value,
                "is_fan": comment.is_fan,
            },
        )
