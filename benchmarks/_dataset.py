"""Shared helpers for `ingest.py` and `analytics_latency.py` (not a benchmark itself).

Databases are built with the real Alembic migrations; PostgreSQL comes from
SOCIALPULSE_BENCH_POSTGRES_URL (or SOCIALPULSE_TEST_POSTGRES_URL) and has its public schema
dropped and recreated.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert, select, text

from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, init_database
from socialpulse.migrations import runner
from socialpulse.providers import base as pb
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

BENCH_EMAIL = "bench@socialpulse.test"
BENCH_SLUG = "bench"
PLATFORM = pb.Platform.SIMULATED.value
MEDIA_TYPES = [
    (pb.MediaType.IMAGE, 0.35),
    (pb.MediaType.VIDEO, 0.2),
    (pb.MediaType.REEL, 0.2),
    (pb.MediaType.CAROUSEL, 0.1),
    (pb.MediaType.TEXT, 0.15),
]
WORDS = (
    "new drop today behind the scenes morning routine leg day recipe pasta dinner travel beach "
    "sunset launch giveaway collab studio tour tips tutorial week recap thank you all for the "
    "love what do you think comment below link in bio coming soon limited edition favourite "
    "moment with my team and friends at the show tonight"
).split()
TAGS = (
    "fitness ootd travel food foodie recipe gym motivation style beauty photography art music "
    "tech startup design coffee weekend summer vlog tutorial"
).split()


def postgres_url() -> str | None:
    return os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL") or os.environ.get(
        "SOCIALPULSE_TEST_POSTGRES_URL"
    )


def backends(choice: str) -> list[tuple[str, str | None]]:
    """(name, url) to run for --backend sqlite|postgres|all, url None for SQLite (the script
    picks its file); says why PostgreSQL is skipped."""
    picked: list[tuple[str, str | None]] = []
    if choice in ("sqlite", "all"):
        picked.append(("sqlite", None))
    if choice in ("postgres", "all"):
        url = postgres_url()
        if url:
            picked.append(("postgres", url))
        else:
            print("postgres: skipped (set SOCIALPULSE_BENCH_POSTGRES_URL to measure it)")
    return picked


def reset_postgres(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def fresh_database(url: str) -> Database:
    """An empty, migrated database (PostgreSQL: schema `public` dropped first)."""
    db = init_database(url)
    if db.dialect == "postgresql":
        reset_postgres(db)
    runner.upgrade(db)
    return db


def create_workspace(db: Database) -> Subject:
    """The bench user and its workspace, through the product's service layer."""
    with db.session() as session:
        user = service.create_user(session, BENCH_EMAIL, "bench-password-123")
        workspace = service.create_workspace(session, BENCH_SLUG, "Bench", user)
        return Subject(workspace_id=workspace.id, role=Role.owner, user_id=user.id)


def bench_subject(db: Database) -> Subject:
    """The subject of an already built bench database."""
    with db.session(readonly=True) as session:
        user = service.get_user_by_email(session, BENCH_EMAIL)
        assert user is not None, "bench database without its bench user"
        workspace = service.get_workspace_by_slug(session, BENCH_SLUG)
        return Subject(workspace_id=workspace.id, role=Role.owner, user_id=user.id)


def handle_of(index: int) -> str:
    return f"bench_account_{index:05d}"


def account_rows(
    workspace_id: int, count: int, rng: random.Random, *, first_id: int | None = None
) -> list[dict[str, Any]]:
    """TrackedAccount rows (Core insert); explicit ids when `first_id` is given."""
    rows = []
    for i in range(count):
        followers = int(rng.lognormvariate(9.5, 1.5))
        row: dict[str, Any] = {
            "workspace_id": workspace_id,
            "platform": PLATFORM,
            "external_id": str(10_000_000 + i),
            "handle": handle_of(i),
            "display_name": f"Bench Account {i}",
            "bio": "an account made up by benchmarks/_dataset.py",
            "profile_url": f"https://simulated.invalid/@{handle_of(i)}",
            "followers_count": followers,
            "following_count": rng.randint(50, 2000),
            "posts_count": rng.randint(200, 3000),
            "verified": rng.random() < 0.05,
            "is_own": i % 4 == 0,
        }
        if first_id is not None:
            row["id"] = first_id + i
        rows.append(row)
    return rows


def insert_accounts(db: Database, subject: Subject, count: int, seed: int) -> list[TrackedAccount]:
    """`count` TrackedAccount rows inserted in bulk, returned detached (ids loaded)."""
    rows = account_rows(subject.workspace_id, count, random.Random(seed))
    with db.session() as session:
        session.execute(insert(TrackedAccount), rows)
        accounts = list(
            session.scalars(
                select(TrackedAccount)
                .where(TrackedAccount.workspace_id == subject.workspace_id)
                .order_by(TrackedAccount.id)
            )
        )
        session.expunge_all()
    return accounts


def caption(rng: random.Random) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A caption of 8-30 words with 0-4 hashtags and sometimes a mention."""
    words = rng.choices(WORDS, k=rng.randint(8, 30))
    tags = tuple(dict.fromkeys(rng.choices(TAGS, k=rng.randint(0, 4))))
    mentions = (handle_of(rng.randrange(1000)),) if rng.random() < 0.2 else ()
    body = " ".join(words).capitalize()
    extra = " ".join([*(f"#{t}" for t in tags), *(f"@{m}" for m in mentions)])
    return (f"{body} {extra}".strip(), tags, mentions)


def metrics(rng: random.Random, reach: float) -> pb.PostMetrics:
    views = int(reach * rng.uniform(0.5, 3.0))
    likes = int(views * rng.uniform(0.01, 0.12))
    return pb.PostMetrics(
        views=views,
        likes=likes,
        comments=int(likes * rng.uniform(0.01, 0.1)),
        shares=int(likes * rng.uniform(0.0, 0.08)),
        saves=int(likes * rng.uniform(0.0, 0.05)),
    )


def make_posts(
    rng: random.Random, account: TrackedAccount, count: int, now: dt.datetime, span_days: int
) -> list[pb.Post]:
    """`count` Post DTOs as a provider returns them, newest first over `span_days`."""
    posts = []
    reach = float(account.followers_count or 1000)
    for i in range(count):
        text_, tags, mentions = caption(rng)
        media = rng.choices([m for m, _ in MEDIA_TYPES], [w for _, w in MEDIA_TYPES])[0]
        video = media in (pb.MediaType.VIDEO, pb.MediaType.REEL)
        external_id = f"{account.handle}:{i}"
        posts.append(
            pb.Post(
                platform=pb.Platform.SIMULATED,
                external_id=external_id,
                account_external_id=account.external_id,
                url=f"https://simulated.invalid/@{account.handle}/p/{i}",
                caption=text_,
                posted_at=now - dt.timedelta(seconds=rng.uniform(0, span_days * 86400)),
                media_type=media,
                hashtags=tags,
                mentions=mentions,
                duration_seconds=rng.randint(5, 600) if video else None,
                thumbnail_url=f"https://cdn.simulated.invalid/{external_id}.jpg",
                metrics=metrics(rng, reach),
            )
        )
    posts.sort(key=lambda p: p.posted_at, reverse=True)
    return posts


def grown(post: pb.Post, rng: random.Random) -> pb.Post:
    """The same post a day later: every counter up a little."""
    m = post.metrics

    def up(value: int | None) -> int | None:
        return None if value is None else value + int(value * rng.uniform(0.0, 0.1)) + 1

    return replace(
        post,
        metrics=pb.PostMetrics(
            views=up(m.views),
            likes=up(m.likes),
            comments=up(m.comments),
            shares=up(m.shares),
            saves=up(m.saves),
        ),
    )


def chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_insert(conn: Connection, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    """Core `insert()` executemany in chunks; returns the row count."""
    total = 0
    for batch in chunks(rows, 10_000):
        conn.execute(insert(table), batch)
        total += len(batch)
    return total


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float


def bulk_load(conn: Connection, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    """Bulk load: COPY on PostgreSQL, Core insert() executemany elsewhere."""
    if conn.dialect.name != "postgresql":
        return bulk_insert(conn, table, rows)
    from psycopg.types.json import Json

    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    raw = conn.connection.driver_connection
    count = 0
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in itertools.chain([first], rows):
                copy.write_row([Json(row[c]) if c in json_columns else row[c] for c in columns])
                count += 1
    return count


def summarize(seconds: Sequence[float]) -> Summary:
    """Latency quantiles in milliseconds (inclusive method, like http_load.py)."""
    ms = sorted(s * 1000 for s in seconds)
    if len(ms) == 1:
        return Summary(1, ms[0], ms[0], ms[0], ms[0], ms[0])
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return Summary(len(ms), q[49], q[94], q[98], ms[-1], statistics.fmean(ms))


def ratio(value: float, target: float, *, lower_is_better: bool = False) -> str:
    """`target 20,000: 1.73x` — above 1.00x means the target is met."""
    x = target / value if lower_is_better else value / target
    verdict = "ok" if x >= 1 else "MISSED"
    return f"{x:.2f}x {verdict}"
