"""Discovery at 100,000 analysed creators: browse (filters, sorts) and full-text search, timed at
the service (``creators.discovery.search``: the page's query, its count and its rows).

    python benchmarks/discovery_search.py [--creators 100000] [--rounds 30]
    python benchmarks/discovery_search.py --database-url postgresql+psycopg://.../scratch

The database at ``--database-url`` is a scratch one: its schema is dropped and migrated again.
Creators are seeded with bulk inserts (creators, their full-text documents, a workspace's 500
unlocks), captions and bios drawn from a fixed vocabulary so common and rare words both occur.
Prints p50 / p99 per query of a fixed mix and over all of them (aim: p99 <= 50 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

_DATA = tempfile.mkdtemp(prefix="socialpulse-bench-discovery-")
os.environ.setdefault("SOCIALPULSE_DATA_DIR", _DATA)
os.environ.setdefault("SOCIALPULSE_MEDIA_ROOT", str(Path(_DATA) / "media"))
os.environ.setdefault("SOCIALPULSE_TASKS_URL", "memory://")

from rich.progress import Progress  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from socialpulse import models as _all_models  # noqa: E402,F401
from socialpulse.creators import discovery, search_index  # noqa: E402
from socialpulse.creators.models import Creator, CreatorAccess, CreatorStatus  # noqa: E402
from socialpulse.creators.schemas import DiscoveryCriteria  # noqa: E402
from socialpulse.db import Database, init_database, utcnow  # noqa: E402
from socialpulse.migrations import runner  # noqa: E402
from socialpulse.workspaces import service as workspaces_service  # noqa: E402

CATEGORIES = (
    "fitness food travel beauty fashion gaming tech music comedy education parenting pets".split()
)
LANGUAGES = ("en", "en", "en", "es", "pt", "de", "fr", "it", "ja", "id")
PLATFORMS = ("instagram", "tiktok", "youtube", "twitch", "simulated")
TOPICS = {
    "fitness": "yoga workout gym strength running pilates crossfit mobility protein",
    "food": "recipe pasta vegan baking ramen coffee brunch dessert kitchen",
    "travel": "bali hiking roadtrip backpacking island beach mountains hotel",
    "beauty": "skincare makeup serum lipstick routine glow haircare",
    "fashion": "outfit streetwear vintage sneakers thrift runway denim",
    "gaming": "speedrun esports minecraft fortnite rpg console stream",
    "tech": "gadget review smartphone laptop coding python android",
    "music": "guitar cover piano producer concert vinyl jazz",
    "comedy": "sketch prank standup parody meme skit",
    "education": "history math science chemistry physics language tutorial",
    "parenting": "toddler newborn family homeschool bedtime",
    "pets": "puppy kitten rescue dog cat aquarium",
}
FILLER = (
    "today new best love life daily vlog tips first week morning evening weekend friends "
    "challenge favourite story behind scenes update thanks everyone"
).split()


def fresh_database(url: str) -> Database:
    db = init_database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    return db


def seed(db: Database, count: int, *, batch: int = 5_000) -> int:
    """``count`` analysed creators with documents; returns the benchmark workspace's id."""
    rng = random.Random(14)
    now = utcnow()
    with Progress() as progress:
        task = progress.add_task("seeding creators", total=count)
        for start in range(0, count, batch):
            creators, documents = [], []
            for n in range(start, min(start + batch, count)):
                category = rng.choice(CATEGORIES)
                topic = TOPICS[category].split()
                handle = f"{rng.choice(topic)}_{n}"
                followers = int(10 ** rng.uniform(2.5, 7.2))
                creators.append(
                    {
                        "id": n + 1,
                        "platform": rng.choice(PLATFORMS),
                        "handle": handle,
                        "display_name": handle.replace("_", " ").title(),
                        "bio": " ".join(rng.choices(topic + FILLER, k=12)),
                        "followers_count": followers,
                        "verified": rng.random() < 0.05,
                        "category": category,
                        "language": rng.choice(LANGUAGES),
                        "engagement_rate": round(rng.uniform(0.001, 0.12), 5),
                        "audience_quality": rng.randint(1, 100),
                        "contact_email": f"{handle}@example.test" if rng.random() < 0.3 else None,
                        "status": CreatorStatus.ready,
                        "origin": "seed",
                        "data_version": 1,
                        "created_at": now,
                        "refreshed_at": now,
                    }
                )
                captions = "\n".join(" ".join(rng.choices(topic + FILLER, k=14)) for _ in range(12))
                tags = " ".join(rng.sample(topic, k=min(4, len(topic))))
                documents.append(
                    (n + 1, handle, handle.replace("_", " "), creators[-1]["bio"], captions, tags)
                )
            with db.session() as session:
                session.execute(insert(Creator), creators)
                search_index.write_rows(session, documents)
            progress.update(task, advance=len(creators))
    with db.session() as session:
        user = workspaces_service.create_user(session, "bench@example.test", "x" * 16, "Bench")
        workspace = workspaces_service.create_workspace(session, "bench", "Bench", user)
        session.execute(
            insert(CreatorAccess),
            [
                {
                    "workspace_id": workspace.id,
                    "creator_id": cid,
                    "reason": "unlock",
                    "granted_at": now,
                    "expires_at": None,
                }
                for cid in rng.sample(range(1, count + 1), k=min(500, count))
            ],
        )
        workspace_id = workspace.id
    # Statistics and the visibility map, as a maintained database has them (autovacuum on
    # PostgreSQL: index-only scans need the map; `PRAGMA optimize` / ANALYZE on SQLite).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE"))
    return workspace_id


MIX: tuple[tuple[str, DiscoveryCriteria, int], ...] = (
    ("browse: all, most followed", DiscoveryCriteria(), 1),
    ("browse: all, page 50", DiscoveryCriteria(), 50),
    ("browse: category + language", DiscoveryCriteria(categories=["food"], languages=["es"]), 1),
    (
        "browse: followers 10k-100k by engagement",
        DiscoveryCriteria(followers_min=10_000, followers_max=100_000, sort_by="engagement_rate"),
        1,
    ),
    (
        "browse: quality >= 80, platform, by quality",
        DiscoveryCriteria(
            audience_quality_min=80, platforms=["tiktok"], sort_by="audience_quality"
        ),
        1,
    ),
    ("browse: unlocked only", DiscoveryCriteria(unlocked=True), 1),
    ("browse: has e-mail, verified", DiscoveryCriteria(has_contact_email=True, verified=True), 1),
    ("search: one common word", DiscoveryCriteria(query="yoga"), 1),
    ("search: two words", DiscoveryCriteria(query="vegan baking"), 1),
    ("search: prefix", DiscoveryCriteria(query="skinc"), 1),
    ("search: handle", DiscoveryCriteria(query="ramen_4242"), 1),
    ("search: no match", DiscoveryCriteria(query="zzyzx"), 1),
    (
        "search: word + category + followers",
        DiscoveryCriteria(query="guitar", categories=["music"], followers_min=50_000),
        1,
    ),
    ("search: filler word by followers", DiscoveryCriteria(query="today", sort_by="followers"), 1),
)


def measure(db: Database, workspace_id: int, rounds: int) -> None:
    timings: dict[str, list[float]] = {name: [] for name, _, _ in MIX}
    for _ in range(2):  # warm the caches
        for _name, criteria, page in MIX:
            with db.session(readonly=True) as session:
                discovery.search(session, workspace_id, criteria, page=page)
    for _ in range(rounds):
        for name, criteria, page in MIX:
            with db.session(readonly=True) as session:
                began = time.perf_counter()
                result = discovery.search(session, workspace_id, criteria, page=page)
                timings[name].append((time.perf_counter() - began) * 1000)
            assert result.page == page
    everything = [value for values in timings.values() for value in values]
    print(f"\n{'query':44} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in timings.items():
        print(f"{name:44} {_pct(values, 50):8.1f} {_pct(values, 99):8.1f}")
    print(
        f"{'all (' + str(len(everything)) + ' queries)':44} {_pct(everything, 50):8.1f} "
        f"{_pct(everything, 99):8.1f}"
    )


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="a scratch database (dropped)")
    parser.add_argument("--creators", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(_DATA) / 'discovery.db'}"
    db = fresh_database(url)
    began = time.perf_counter()
    workspace_id = seed(db, args.creators)
    seeded = time.perf_counter() - began
    print(
        f"database: {db.dialect}; {args.creators:,} analysed creators seeded in {seeded:.1f} s "
        f"({args.creators / seeded:,.0f}/s, with their full-text documents)"
    )
    measure(db, workspace_id, args.rounds)
    db.dispose()


if __name__ == "__main__":
    main()
