"""The demo's creators spread over every topic and follower tier, the same at each start."""

from __future__ import annotations

from collections import Counter

from socialpulse.demo_creators import DEMO_CREATOR_SEED, QUOTA, pick_demo_creators
from socialpulse.providers.simulated.model import SimulationModel
from socialpulse.providers.simulated.text import TOPICS


def test_sixty_creators_six_per_topic_across_tiers() -> None:
    picked = pick_demo_creators(DEMO_CREATOR_SEED)
    assert len(picked) == 60
    assert len({c.handle for c in picked}) == 60
    assert Counter(c.topic for c in picked) == {topic: 6 for topic in TOPICS}
    tiers = Counter(c.tier for c in picked)
    assert set(tiers) == set(QUOTA)
    assert tiers["nano"] >= 10 and tiers["macro"] >= 5
    model = SimulationModel(DEMO_CREATOR_SEED)
    for creator in picked:
        # The platform itself draws the topic the handle names: names and data agree.
        assert model.account(creator.handle).topic == creator.topic
        assert creator.handle.startswith(f"{creator.topic}_")
        assert creator.followers >= 1_000


def test_the_pick_is_deterministic() -> None:
    assert pick_demo_creators.__wrapped__(DEMO_CREATOR_SEED) == pick_demo_creators(
        DEMO_CREATOR_SEED
    )
