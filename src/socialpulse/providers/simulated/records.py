"""The simulated platform's records: what the model computes, as immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from socialpulse.providers.base import MediaType
from socialpulse.providers.simulated.text import Intent, Sentiment

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AccountParams:
    handle: str
    external_id: str
    display_name: str
    bio: str
    topic: str
    language: str
    verified: bool
    created_at: datetime
    base_followers: float  # at the epoch
    growth_per_day: float  # drift of log(followers)
    growth_weekly: tuple[float, ...]  # 7 multipliers of the drift, Monday first, mean 1
    noise_sigma: float
    following_base: int
    following_per_day: float
    legacy_posts: int
    posts_per_day: float
    weekday_weights: tuple[float, ...]  # 7 multipliers of the cadence, Monday first, mean 1
    peak_hour: float
    hour_spread: float
    media_weights: tuple[float, ...]  # over model._MEDIA
    reach_rate: float
    like_rate: float
    comment_rate: float
    share_rate: float
    save_rate: float
    viral_probability: float
    follow_conversion: float
    fans: tuple[str, ...]
    fan_languages: tuple[str, ...]
    fan_comment_probability: tuple[float, ...]
    spam_share: float


@dataclass(frozen=True, slots=True)
class SimPost:
    handle: str
    block: int
    index: int
    post_id: str
    published_at: datetime
    media_type: MediaType
    duration_seconds: int | None
    lifetime_views: float
    tau_days: float
    viral: bool
    like_rate: float
    comment_rate: float
    share_rate: float
    save_rate: float
    reach_ratio: float
    lifetime_comments: int

    @property
    def order_key(self) -> tuple[int, int]:
        """Posts sort by this exactly as by publication time."""
        return (self.block, self.index)


@dataclass(frozen=True, slots=True)
class SimMetrics:
    views: int
    reach: int
    likes: int
    comments: int
    shares: int
    saves: int


@dataclass(frozen=True, slots=True)
class SimComment:
    comment_id: str
    post_id: str
    index: int
    author: str
    author_id: str
    text: str
    created_at: datetime
    like_count: int
    language: str
    intent: Intent
    sentiment: Sentiment
    is_fan: bool


@dataclass(frozen=True, slots=True)
class SimSnapshot:
    """An account's counters at ``at`` (the end of ``date``, or now for today)."""

    date: date
    at: datetime
    followers: int
    following: int
    posts_count: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every post of an account from the epoch to the end of a block, as arrays."""

    published: FloatArray  # seconds since the epoch
    follow_gain: FloatArray  # lifetime followers gained from the post
    tau_seconds: FloatArray


@dataclass(frozen=True, slots=True)
class BlockArrays:
    """The posts of one block, one array per attribute (the follower model needs only arrays)."""

    published: FloatArray  # seconds since the epoch, ascending
    views: FloatArray  # lifetime views
    tau_days: FloatArray
    viral: npt.NDArray[np.bool_]
    like_rate: FloatArray
    comment_rate: FloatArray
    share_rate: FloatArray
    save_rate: FloatArray
    reach_ratio: FloatArray
    media: npt.NDArray[np.int64]  # index into model._MEDIA
    duration: npt.NDArray[np.int64]
    comments: npt.NDArray[np.int64]  # lifetime comments


def empty_block() -> BlockArrays:
    floats = np.zeros(0, dtype=np.float64)
    ints = np.zeros(0, dtype=np.int64)
    return BlockArrays(
        published=floats,
        views=floats,
        tau_days=floats,
        viral=np.zeros(0, dtype=np.bool_),
        like_rate=floats,
        comment_rate=floats,
        share_rate=floats,
        save_rate=floats,
        reach_ratio=floats,
        media=ints,
        duration=ints,
        comments=ints,
    )


EMPTY_BLOCK = empty_block()
