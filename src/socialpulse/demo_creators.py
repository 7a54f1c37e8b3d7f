"""The demo's creators: 60 accounts on the simulated platform, six per topic across follower
tiers, each with a complete report and its related profiles, so the creator pages (and
discovery, next) show real-looking data at first start.

The simulated platform draws an account's topic and audience from its handle, so the handles
are picked, not invented: ``<topic>_<suffix><n>`` (the naming of the simulated network's
neighbours, so demo creators show up among each other's related profiles), keeping those whose
drawn topic matches the name, until each topic has its quota of every tier."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from socialpulse.db import Database
from socialpulse.providers.simulated.model import SimulationModel
from socialpulse.providers.simulated.text import TOPICS

DEMO_CREATORS_PER_TOPIC = 6
# The simulated creator source's seed when no credentials set one (providers.simulated.settings).
DEMO_CREATOR_SEED = 0
# Follower tiers (lower bound, name) and how many creators of each a topic gets: the long tail
# is where most accounts are, a few large ones make the comparisons interesting.
TIERS: tuple[tuple[int, str], ...] = (
    (0, "nano"),  # under 10k
    (10_000, "micro"),  # 10k-100k
    (100_000, "mid"),  # 100k-500k
    (500_000, "macro"),  # 500k and more
)
QUOTA = {"nano": 2, "micro": 2, "mid": 1, "macro": 1}
_SUFFIXES = ("studio", "daily", "lab", "club", "diaries", "hq", "world", "notes", "crew", "life")
# Enough candidates for the rarest tier (about 1 in 40 accounts is a macro one, 1 in 10 has
# the topic its name says); a topic that still misses one takes the next tier down instead.
_MAX_NUMBER = 120
# Below this an account is hardly a creator (the crawl of related profiles skips it too).
_MIN_FOLLOWERS = 1_000


@dataclass(frozen=True, slots=True)
class DemoCreator:
    handle: str
    topic: str
    tier: str
    followers: int


def tier_of(followers: float) -> str:
    name = TIERS[0][1]
    for floor, tier in TIERS:
        if followers >= floor:
            name = tier
    return name


@functools.cache
def pick_demo_creators(seed: int) -> tuple[DemoCreator, ...]:
    """Six creators per topic (60 in all), the same for the same seed."""
    model = SimulationModel(seed)
    picked: list[DemoCreator] = []
    for topic in sorted(TOPICS):
        found: dict[str, list[DemoCreator]] = {tier: [] for _floor, tier in TIERS}
        for number in range(1, _MAX_NUMBER + 1):
            for suffix in _SUFFIXES:
                handle = f"{topic}_{suffix}{number}"
                account = model.account(handle)
                if account.topic != topic or account.base_followers < _MIN_FOLLOWERS:
                    continue
                tier = tier_of(account.base_followers)
                found[tier].append(DemoCreator(handle, topic, tier, round(account.base_followers)))
            if all(len(found[t]) >= n for t, n in QUOTA.items()):
                break
        chosen: list[DemoCreator] = []
        # Largest tier first: a tier short of its quota passes the shortfall one tier down.
        shortfall = 0
        for _floor, tier in reversed(TIERS):
            wanted = QUOTA[tier] + shortfall
            chosen.extend(found[tier][:wanted])
            shortfall = max(0, wanted - len(found[tier]))
        picked.extend(sorted(chosen, key=lambda c: c.followers))
    return tuple(picked)


# Smaller samples than a user's report (50 posts, 50 comments each): 60 creators must seed in
# seconds, and 16 posts still make every report complete (12 needed).
DEMO_SAMPLE = {"posts": 16, "comments_per_post": 12}


def seed_demo_creators(db: Database, workspace_id: int, user_id: int, seed: int) -> int:
    """Request every demo creator's report for the demo workspace (its search history; the full
    reports it may read are unlocked with credits by ``demo_billing``) and build the missing
    ones in this process, through the build job itself: the same steps as a user's search, with
    the simulated platform at zero latency. Idempotent: a creator with a report is not built
    again. Returns how many were built."""
    from socialpulse.creators import service as creators_service
    from socialpulse.worker import jobs

    queued: list[int] = []
    with db.session() as session:
        for demo in pick_demo_creators(seed):
            creator = creators_service.request_report(
                session,
                platform="simulated",
                handle=demo.handle,
                workspace_id=workspace_id,
                user_id=user_id,
                origin="demo",
                sample=DEMO_SAMPLE,
            )
            if creator.build_job_id is not None and not creators_service.has_report(
                session, creator.id
            ):
                queued.append(creator.build_job_id)
    for job_id in queued:
        jobs.run_job(db, job_id)
    return len(queued)
