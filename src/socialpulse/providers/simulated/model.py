"""The simulation behind the simulated platform: accounts, posts, metrics, followers, comments.

Pure and deterministic: every number is a function of ``(seed, handle, ...)`` and of the time
asked about, never of when or in which order the questions are asked. Randomness comes from
``numpy`` PCG64 / ``random.Random`` generators seeded by a BLAKE2 hash of their coordinates
(Python's own ``hash()`` is salted per process, so it would break determinism).

The model, in short
-------------------
* **Accounts.** Followers at the epoch are log-normal (median 25k, sigma 1.5: most accounts
  have tens of thousands, a long tail reaches millions). Each account draws a niche (topic),
  an audience language, a posting cadence with weekday and hour-of-day preferences, engagement
  rates, a probability of going viral and a handful of loyal fans.
* **Followers over time.** ``log(followers)`` is a random walk with drift: a daily growth rate
  modulated by a weekly profile, plus Gaussian noise, so follower counts can dip. Posts add
  followers on top: each converts a small fraction of its views, so a viral post shows as a
  step in the follower curve a day or two later.
* **Posts.** Generated in 84-day blocks, each from its own generator: a Poisson number per day
  (weekday-weighted), at times around the account's peak hour. Posts only exist from the epoch
  on; older posts are summarised by ``legacy_posts`` in the posts count.
* **Post metrics.** A post's lifetime views are ``followers x reach x noise`` (x 10-50 for a
  viral post). At age ``a`` a post has ``views x (1 - exp(-a / tau))``: most views come in the
  first days (tau is about a day, longer for viral posts). Likes, comments, shares and saves
  are per-post noisy fractions of views on the same kind of curve, so every counter is
  non-decreasing with age.
* **Comments.** A post with ``N`` lifetime comments has comment ``k`` appear when the curve
  crosses ``(k + 0.5) / N``; the comment count metric at any time is exactly the number of
  comments visible then. Each comment is generated on demand from its own seed: loyal fans
  comment on many posts (at most once each), the rest come from a finite audience pool (so
  casual repeat commenters exist too), plus spam bots. Language, intent and sentiment are
  ground truth kept on ``SimComment``.

Handles are normalised (lower case, no ``@``). Handles starting with ``missing`` or
``unknown`` do not exist (see ``handle_exists``).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from socialpulse.providers.base import MediaType
from socialpulse.providers.simulated import text
from socialpulse.providers.simulated.records import (
    EMPTY_BLOCK,
    AccountParams,
    BlockArrays,
    FloatArray,
    SimComment,
    SimMetrics,
    SimPost,
    SimSnapshot,
    Timeline,
)
from socialpulse.providers.simulated.text import Intent

__all__ = [
    "DEFAULT_EPOCH",
    "MISSING_PREFIXES",
    "AccountParams",
    "SimComment",
    "SimMetrics",
    "SimPost",
    "SimSnapshot",
    "SimulationModel",
    "handle_exists",
    "normalize_handle",
    "stable_seed",
]

DEFAULT_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
MISSING_PREFIXES: tuple[str, ...] = ("missing", "unknown")

_DAY = 86_400.0
_POST_BLOCK_DAYS = 84
_FOLLOWER_BLOCK_DAYS = 128
_AUDIENCE_POOL = 4_000
_SPAM_BOTS = 6


_MEDIA: tuple[MediaType, ...] = (
    MediaType.IMAGE,
    MediaType.CAROUSEL,
    MediaType.REEL,
    MediaType.VIDEO,
)
_VIDEO_MEDIA = frozenset({MediaType.REEL, MediaType.VIDEO})
# Intents of non-spam comments from the general audience, and from loyal fans.
_AUDIENCE_INTENTS: tuple[tuple[Intent, float], ...] = (
    (Intent.PRAISE, 0.36),
    (Intent.QUESTION, 0.2),
    (Intent.OTHER, 0.2),
    (Intent.COMPLAINT, 0.1),
    (Intent.PURCHASE_INTENT, 0.09),
    (Intent.COLLABORATION_REQUEST, 0.05),
)
_FAN_INTENTS: tuple[tuple[Intent, float], ...] = (
    (Intent.PRAISE, 0.6),
    (Intent.QUESTION, 0.2),
    (Intent.OTHER, 0.12),
    (Intent.PURCHASE_INTENT, 0.06),
    (Intent.COMPLAINT, 0.02),
)
# Audience language mix by the account's main language.
_LANGUAGE_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "en": (("en", 0.74), ("es", 0.09), ("pt", 0.06), ("fr", 0.04), ("de", 0.04), ("it", 0.03)),
    "es": (("es", 0.7), ("en", 0.18), ("pt", 0.07), ("it", 0.03), ("fr", 0.02)),
    "pt": (("pt", 0.72), ("en", 0.15), ("es", 0.13)),
    "fr": (("fr", 0.7), ("en", 0.2), ("es", 0.05), ("de", 0.05)),
    "de": (("de", 0.7), ("en", 0.22), ("fr", 0.04), ("it", 0.04)),
}
_MAIN_LANGUAGES: tuple[tuple[str, float], ...] = (
    ("en", 0.66),
    ("es", 0.13),
    ("pt", 0.11),
    ("fr", 0.05),
    ("de", 0.05),
)


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts``: the same on every run, machine and Python process."""
    data = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _np_rng(*parts: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(stable_seed(*parts)))


def _py_rng(*parts: object) -> random.Random:
    return random.Random(stable_seed(*parts))


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def normalize_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


# What a handle on a real platform looks like; anything else (a 10 000-character handle, one
# with spaces or control characters) is an account that does not exist, not a row to store.
_HANDLE_RE = re.compile(r"^[a-z0-9_][a-z0-9_.\-]{0,63}$")


def handle_exists(handle: str) -> bool:
    """Whether a simulated account exists: every plausible handle (letters, digits, ``_.-``, at
    most 64) except the reserved ``missing*`` / ``unknown*`` ones (so tests can add an account
    that is not found)."""
    normal = normalize_handle(handle)
    return bool(_HANDLE_RE.fullmatch(normal)) and not normal.startswith(MISSING_PREFIXES)


# --------------------------------------------------------------------------- the model


class SimulationModel:
    """Deterministic simulation of a social platform for ``seed``.

    Caches are bounded LRU caches keyed by handle and block; results never depend on them.
    """

    def __init__(self, seed: int = 0, *, epoch: datetime = DEFAULT_EPOCH) -> None:
        if epoch.tzinfo is None:
            raise ValueError("epoch must be timezone-aware")
        self.seed = seed
        self.epoch = epoch.astimezone(UTC)
        self._epoch_ts = self.epoch.timestamp()
        self._epoch_weekday = self.epoch.weekday()
        self.account = lru_cache(maxsize=4096)(self._build_account)
        self._block_arrays = lru_cache(maxsize=65_536)(self._build_block_arrays)
        self._post_block = lru_cache(maxsize=8_192)(self._build_post_block)
        self._increments = lru_cache(maxsize=16_384)(self._build_increments)
        self._timeline = lru_cache(maxsize=2048)(self._build_timeline)

    # -- time helpers ---------------------------------------------------------------------

    def _seconds(self, when: datetime) -> float:
        if when.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return when.timestamp() - self._epoch_ts

    def _at(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(self._epoch_ts + seconds, tz=UTC)

    # -- accounts -------------------------------------------------------------------------

    def _build_account(self, handle: str) -> AccountParams:
        rng = _py_rng(self.seed, handle, "account")
        nrng = _np_rng(self.seed, handle, "account")
        topic = rng.choice(sorted(text.TOPICS))
        language = _weighted(rng, _MAIN_LANGUAGES)
        base_followers = float(np.clip(math.exp(rng.gauss(math.log(25_000), 1.5)), 150, 4e8))
        weekend_boost = rng.uniform(0.7, 1.6)
        weekly = np.array([1.0, 1.0, 1.0, 1.0, 1.05, weekend_boost, weekend_boost])
        weekly = weekly * nrng.uniform(0.85, 1.15, size=7)
        cadence = nrng.gamma(4.0, 0.25, size=7)
        if rng.random() < 0.5:
            cadence[5:] *= rng.uniform(0.3, 0.8)  # quiet weekends for about half the accounts
        verified = (base_followers > 400_000 and rng.random() < 0.7) or rng.random() < 0.02
        n_fans = rng.randint(5, 10)
        fan_languages = tuple(
            language if rng.random() < 0.8 else _weighted(rng, _LANGUAGE_MIX[language])
            for _ in range(n_fans)
        )
        fans = tuple(
            text.audience_username(_py_rng(self.seed, handle, "fan", i), lang)
            for i, lang in enumerate(fan_languages)
        )
        # The first fans are the most loyal: they comment on most posts.
        fan_probability = tuple(round(0.85 / (1 + 0.35 * i), 3) for i in range(n_fans))
        media = nrng.dirichlet([3.0, 1.5, 2.5, 0.6])
        name = text.display_name_for(handle)
        theme = text.TOPICS[topic]
        return AccountParams(
            handle=handle,
            external_id=str(stable_seed(self.seed, handle, "id") % 10**17 + 10**17),
            display_name=name,
            bio=f"{topic.capitalize()} {theme.emojis[0]} | {name} | #{theme.hashtags[0]}",
            topic=topic,
            language=language,
            verified=verified,
            created_at=self.epoch - timedelta(days=rng.randint(90, 3000)),
            base_followers=base_followers,
            growth_per_day=rng.gauss(0.0006, 0.0005),
            growth_weekly=tuple(float(x) for x in weekly / weekly.mean()),
            noise_sigma=rng.uniform(0.0002, 0.0006),
            following_base=int(np.clip(math.exp(rng.gauss(math.log(450), 0.8)), 10, 7_500)),
            following_per_day=rng.gauss(0.05, 0.1),
            legacy_posts=rng.randint(20, 1_500),
            posts_per_day=float(np.clip(math.exp(rng.gauss(math.log(0.6), 0.5)), 0.1, 4.0)),
            weekday_weights=tuple(float(x) for x in cadence / cadence.mean()),
            peak_hour=rng.uniform(7.0, 21.0),
            hour_spread=rng.uniform(1.5, 4.0),
            media_weights=tuple(float(x) for x in media),
            reach_rate=float(np.clip(math.exp(rng.gauss(math.log(0.2), 0.4)), 0.03, 1.5)),
            like_rate=float(np.clip(math.exp(rng.gauss(math.log(0.05), 0.4)), 0.005, 0.25)),
            comment_rate=float(np.clip(math.exp(rng.gauss(math.log(0.003), 0.5)), 3e-4, 0.03)),
            share_rate=float(np.clip(math.exp(rng.gauss(math.log(0.004), 0.6)), 2e-4, 0.05)),
            save_rate=float(np.clip(math.exp(rng.gauss(math.log(0.006), 0.5)), 3e-4, 0.06)),
            viral_probability=rng.uniform(0.012, 0.04),
            follow_conversion=float(math.exp(rng.gauss(math.log(0.002), 0.5))),
            fans=fans,
            fan_languages=fan_languages,
            fan_comment_probability=fan_probability,
            spam_share=rng.uniform(0.03, 0.08),
        )

    # -- followers ------------------------------------------------------------------------

    def _build_increments(self, handle: str, block: int) -> FloatArray:
        """Daily increments of log(followers) for the days of one 128-day block."""
        acct = self.account(handle)
        rng = _np_rng(self.seed, handle, "followers", block)
        days = np.arange(block * _FOLLOWER_BLOCK_DAYS, (block + 1) * _FOLLOWER_BLOCK_DAYS)
        weekly = np.asarray(acct.growth_weekly)[(self._epoch_weekday + days) % 7]
        noise = rng.standard_normal(_FOLLOWER_BLOCK_DAYS)
        increments: FloatArray = acct.growth_per_day * weekly + acct.noise_sigma * noise
        return increments

    def _log_followers(self, handle: str, days: npt.NDArray[np.int64]) -> FloatArray:
        """Organic log(followers) at the end of each day index (day 0 starts at the epoch).

        ``L(d) = L0 + C(d)`` with ``C(d) - C(d - 1)`` the increment of day ``d`` and
        ``C(-1) = 0``: the walk runs forwards from the epoch and backwards before it.
        """
        acct = self.account(handle)
        first = min(int(days.min()) // _FOLLOWER_BLOCK_DAYS, 0)
        last = max(int(days.max()) // _FOLLOWER_BLOCK_DAYS, -1)
        increments = np.concatenate([self._increments(handle, b) for b in range(first, last + 1)])
        start = first * _FOLLOWER_BLOCK_DAYS
        cumulative = np.cumsum(increments)
        offset = cumulative[-1 - start] if start <= -1 else 0.0
        levels: FloatArray = math.log(acct.base_followers) + cumulative[days - start] - offset
        return levels

    def _organic_followers(self, handle: str, seconds: FloatArray) -> FloatArray:
        """Followers without post-driven gains, interpolated within each day."""
        day = np.floor(seconds / _DAY).astype(np.int64)
        fraction = seconds / _DAY - day
        levels = self._log_followers(handle, np.concatenate([day - 1, day]))
        start, end = levels[: len(day)], levels[len(day) :]
        organic: FloatArray = np.exp(start + fraction * (end - start))
        return organic

    def _build_timeline(self, handle: str, last_block: int) -> Timeline:
        blocks = [self._block_arrays(handle, b) for b in range(last_block + 1)]
        acct = self.account(handle)
        return Timeline(
            published=np.concatenate([b.published for b in blocks]),
            follow_gain=np.concatenate([b.views for b in blocks]) * acct.follow_conversion,
            tau_seconds=np.concatenate([b.tau_days for b in blocks]) * _DAY,
        )

    def _post_gains(self, handle: str, seconds: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Followers gained from posts, and the number of posts published, at each time."""
        if seconds.max() < 0:
            return np.zeros_like(seconds), np.zeros_like(seconds)
        timeline = self._timeline(handle, int(seconds.max() // (_POST_BLOCK_DAYS * _DAY)))
        age = seconds[:, None] - timeline.published[None, :]
        live = age >= 0
        curve = -np.expm1(-np.where(live, age, 0.0) / timeline.tau_seconds[None, :])
        gains: FloatArray = (curve * timeline.follow_gain[None, :]).sum(axis=1)
        counts: FloatArray = live.sum(axis=1).astype(np.float64)
        return gains, counts

    def snapshots(self, handle: str, times: list[datetime]) -> list[SimSnapshot]:
        """Followers, following and posts count of ``handle`` at each of ``times``."""
        if not times:
            return []
        acct = self.account(handle)
        seconds = np.array([self._seconds(t) for t in times], dtype=np.float64)
        organic = self._organic_followers(handle, seconds)
        gains, counts = self._post_gains(handle, seconds)
        following = acct.following_base + acct.following_per_day * np.maximum(seconds / _DAY, 0)
        return [
            SimSnapshot(
                date=t.astimezone(UTC).date(),
                at=t,
                followers=round(float(organic[i] + gains[i])),
                following=max(0, round(float(following[i]))),
                posts_count=acct.legacy_posts + int(counts[i]),
            )
            for i, t in enumerate(times)
        ]

    def snapshot_at(self, handle: str, when: datetime) -> SimSnapshot:
        return self.snapshots(handle, [when])[0]

    def history(self, handle: str, days: int, now: datetime) -> list[SimSnapshot]:
        """One snapshot per UTC date for the ``days`` dates ending today, oldest first.

        Each is taken at the end of its date (midnight UTC after it); today's is taken at
        ``now``, so the last snapshot matches what the profile shows now.
        """
        today = now.astimezone(UTC).date()
        times = []
        for offset in range(days - 1, -1, -1):
            day = today - timedelta(days=offset)
            end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
            times.append(min(end, now))
        snaps = self.snapshots(handle, times)
        return [
            SimSnapshot(
                date=today - timedelta(days=days - 1 - i),
                at=s.at,
                followers=s.followers,
                following=s.following,
                posts_count=s.posts_count,
            )
            for i, s in enumerate(snaps)
        ]

    # -- posts ----------------------------------------------------------------------------

    def _build_block_arrays(self, handle: str, block: int) -> BlockArrays:
        """The posts of one 84-day block as arrays, in publication order (none before the epoch)."""
        if block < 0:
            return EMPTY_BLOCK
        acct = self.account(handle)
        rng = _np_rng(self.seed, handle, "posts", block)
        first_day = block * _POST_BLOCK_DAYS
        days = np.arange(first_day, first_day + _POST_BLOCK_DAYS)
        weekday = (self._epoch_weekday + days) % 7
        per_day = rng.poisson(acct.posts_per_day * np.asarray(acct.weekday_weights)[weekday])
        post_days = np.repeat(days, per_day)
        n = len(post_days)
        if n == 0:
            return EMPTY_BLOCK
        hours = np.where(
            rng.random(n) < 0.8,
            np.mod(acct.peak_hour + acct.hour_spread * rng.standard_normal(n), 24.0),
            rng.uniform(0.0, 24.0, n),
        )
        seconds = np.sort(np.floor(post_days * _DAY + hours * 3600.0))
        organic = self._organic_followers(handle, seconds)
        viral = rng.random(n) < acct.viral_probability
        multiplier = np.where(viral, rng.uniform(10.0, 50.0, n), 1.0)
        views = organic * acct.reach_rate * rng.lognormal(0.0, 0.45, n) * multiplier
        comment_rate = acct.comment_rate * rng.lognormal(0.0, 0.4, n)
        return BlockArrays(
            published=seconds,
            views=views,
            tau_days=rng.lognormal(0.0, 0.35, n) * np.where(viral, 2.5, 1.0),
            viral=viral,
            like_rate=acct.like_rate * rng.lognormal(0.0, 0.25, n),
            comment_rate=comment_rate,
            share_rate=acct.share_rate * rng.lognormal(0.0, 0.5, n) * np.where(viral, 2.0, 1.0),
            save_rate=acct.save_rate * rng.lognormal(0.0, 0.4, n),
            reach_ratio=rng.uniform(0.55, 0.9, n),
            media=np.searchsorted(np.cumsum(acct.media_weights)[:-1], rng.random(n)),
            duration=np.clip(rng.lognormal(math.log(30.0), 0.6, n), 5, 600).astype(np.int64),
            comments=np.rint(views * comment_rate).astype(np.int64),
        )

    def _build_post_block(self, handle: str, block: int) -> tuple[SimPost, ...]:
        arrays = self._block_arrays(handle, block)
        columns = zip(
            arrays.published.tolist(),
            arrays.views.tolist(),
            arrays.tau_days.tolist(),
            arrays.viral.tolist(),
            arrays.like_rate.tolist(),
            arrays.comment_rate.tolist(),
            arrays.share_rate.tolist(),
            arrays.save_rate.tolist(),
            arrays.reach_ratio.tolist(),
            arrays.media.tolist(),
            arrays.duration.tolist(),
            arrays.comments.tolist(),
            strict=True,
        )
        posts = []
        for i, (
            at,
            views,
            tau,
            viral,
            like,
            comment,
            share,
            save,
            reach,
            media,
            duration,
            n,
        ) in enumerate(columns):
            media_type = _MEDIA[media]
            posts.append(
                SimPost(
                    handle=handle,
                    block=block,
                    index=i,
                    post_id=f"{handle}:{block}:{i}",
                    published_at=self._at(at),
                    media_type=media_type,
                    duration_seconds=duration if media_type in _VIDEO_MEDIA else None,
                    lifetime_views=views,
                    tau_days=tau,
                    viral=viral,
                    like_rate=like,
                    comment_rate=comment,
                    share_rate=share,
                    save_rate=save,
                    reach_ratio=reach,
                    lifetime_comments=n,
                )
            )
        return tuple(posts)

    def _block_of(self, seconds: float) -> int:
        return math.floor(seconds / (_POST_BLOCK_DAYS * _DAY))

    def posts_newest_first(
        self, handle: str, until: datetime, before: tuple[int, int] | None = None
    ) -> Iterator[SimPost]:
        """Posts published at or before ``until`` (and sorting before ``before``), newest first."""
        limit = self._seconds(until)
        block = self._block_of(limit)
        if before is not None:
            block = min(block, before[0])
        while block >= 0:
            for post in reversed(self._post_block(handle, block)):
                if before is not None and post.order_key >= before:
                    continue
                if self._seconds(post.published_at) <= limit:
                    yield post
            block -= 1

    def posts_between(self, handle: str, start: datetime, end: datetime) -> list[SimPost]:
        """Posts published in ``[start, end]``, oldest first."""
        first, last = self._block_of(self._seconds(start)), self._block_of(self._seconds(end))
        return [
            post
            for block in range(max(first, 0), last + 1)
            for post in self._post_block(handle, block)
            if start <= post.published_at <= end
        ]

    def find_post(self, post_id: str) -> SimPost | None:
        """The post with this id, or ``None`` (malformed id, unknown account, no such post)."""
        try:
            handle, block_text, index_text = post_id.rsplit(":", 2)
            block, index = int(block_text), int(index_text)
        except ValueError:
            return None
        if not handle_exists(handle) or handle != normalize_handle(handle) or block < 0:
            return None
        posts = self._post_block(handle, block)
        return posts[index] if 0 <= index < len(posts) else None

    def post_text(self, post: SimPost) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """Caption, hashtags and mentions of a post (made on demand: most callers need counts)."""
        topic = text.TOPICS[self.account(post.handle).topic]
        return text.caption(_py_rng(self.seed, post.post_id, "caption"), topic)

    # -- metrics --------------------------------------------------------------------------

    def metrics_at(self, post: SimPost, when: datetime) -> SimMetrics:
        """Counters of ``post`` at ``when``: zero before publication, non-decreasing after."""
        age = max(0.0, (when - post.published_at).total_seconds() / _DAY)
        tau = post.tau_days
        views_curve = -math.expm1(-age / tau)
        likes_curve = -math.expm1(-age / (0.8 * tau))  # likes come a bit faster than views
        saves_curve = -math.expm1(-age / (1.5 * tau))  # saves keep coming a bit longer
        views = post.lifetime_views
        return SimMetrics(
            views=int(views * views_curve),
            reach=int(views * post.reach_ratio * views_curve),
            likes=int(views * post.like_rate * likes_curve),
            comments=self.comments_visible(post, when),
            shares=int(views * post.share_rate * views_curve),
            saves=int(views * post.save_rate * saves_curve),
        )

    # -- comments -------------------------------------------------------------------------

    def comments_visible(self, post: SimPost, when: datetime) -> int:
        """How many of the post's comments exist at ``when`` (comment ``k`` is the ``k``-th)."""
        age = (when - post.published_at).total_seconds() / _DAY
        if age <= 0:
            return 0
        total = post.lifetime_comments
        return min(total, math.floor(total * -math.expm1(-age / post.tau_days) + 0.5))

    def _comment_time(self, post: SimPost, index: int) -> datetime:
        quantile = (index + 0.5) / post.lifetime_comments
        age_days = -post.tau_days * math.log1p(-quantile)
        # Rounded down: a comment counted as visible at ``t`` never carries a time after ``t``.
        return post.published_at + timedelta(seconds=math.floor(age_days * _DAY))

    def _fan_slots(self, post: SimPost) -> dict[int, int]:
        """Which comment indexes of the post are written by which loyal fan (each at most once)."""
        acct = self.account(post.handle)
        total = post.lifetime_comments
        if total == 0:
            return {}
        rng = _py_rng(self.seed, post.post_id, "fans")
        slots: dict[int, int] = {}
        for fan, probability in enumerate(acct.fan_comment_probability):
            if len(slots) >= total or rng.random() >= probability:
                continue
            # Fans are early: they see posts first.
            slot = min(total - 1, int(rng.expovariate(1.0) * min(total, 20) / 3))
            while slot in slots:
                slot = (slot + 1) % total
            slots[slot] = fan
        return slots

    def _audience_member(self, handle: str, member: int) -> tuple[str, str]:
        acct = self.account(handle)
        rng = _py_rng(self.seed, handle, "audience", member)
        language = _weighted(rng, _LANGUAGE_MIX[acct.language])
        return text.audience_username(rng, language), language

    def comments(self, post: SimPost, start: int, stop: int) -> list[SimComment]:
        """Comments ``start`` to ``stop - 1`` of the post, oldest first."""
        acct = self.account(post.handle)
        topic = text.TOPICS[acct.topic]
        fan_slots = self._fan_slots(post)
        result = []
        for index in range(max(0, start), min(stop, post.lifetime_comments)):
            rng = _py_rng(self.seed, post.post_id, "comment", index)
            fan = fan_slots.get(index)
            if fan is not None:
                author, language = acct.fans[fan], acct.fan_languages[fan]
                intent = Intent(_weighted(rng, _FAN_INTENTS))
                likes = int(rng.expovariate(1 / 6.0))
            elif rng.random() < acct.spam_share:
                bot_rng = _py_rng(self.seed, post.handle, "spam-bot", rng.randrange(_SPAM_BOTS))
                author, language, intent = text.spam_username(bot_rng), "en", Intent.SPAM
                likes = 0
            else:
                author, language = self._audience_member(post.handle, rng.randrange(_AUDIENCE_POOL))
                intent = Intent(_weighted(rng, _AUDIENCE_INTENTS))
                likes = int(rng.paretovariate(1.6)) - 1
            written = text.comment_text(
                rng, language=language, intent=intent, topic=topic, handle=post.handle
            )
            result.append(
                SimComment(
                    comment_id=f"{post.post_id}:{index}",
                    post_id=post.post_id,
                    index=index,
                    author=author,
                    author_id=str(stable_seed(self.seed, "user", author) % 10**15),
                    text=written.text,
                    created_at=self._comment_time(post, index),
                    like_count=likes,
                    language=written.language,
                    intent=written.intent,
                    sentiment=written.sentiment,
                    is_fan=fan is not None,
                )
            )
        return result

    def find_comment(self, comment_id: str) -> SimComment | None:
        post_id, _, index_text = comment_id.rpartition(":")
        post = self.find_post(post_id)
        if post is None or not index_text.isdigit():
            return None
        found = self.comments(post, int(index_text), int(index_text) + 1)
        return found[0] if found else None
