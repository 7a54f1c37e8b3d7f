"""The hourly interaction rollup (`interaction_hourly_counts`): database triggers keep it equal
to a GROUP BY over `interactions` whichever way rows change (services, Core statements,
foreign-key cascades), and the inbox analytics read from it give exactly the figures of a
direct count in every time zone, edges of the period included."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, select, text, update

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import service as account_service
from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox import analytics
from socialpulse.inbox import ingest as inbox_ingest
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import (
    Interaction,
    InteractionHourlyCount,
    InteractionKind,
    InteractionStatus,
)
from socialpulse.inbox.replies import sender
from socialpulse.inbox.replies import service as replies
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflows
from socialpulse.migrations import runner
from socialpulse.providers import base as pb
from socialpulse.workspaces.models import Workspace

# Inside the period: the EU summer-time change of 2026-03-29 (a 23-hour day in Berlin).
NOW = dt.datetime(2026, 4, 2, 10, 17, 42, 123456, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
HOUR = dt.timedelta(hours=1)
PLATFORMS = ("simulated", "youtube")
STATUSES = list(InteractionStatus)
SENTIMENTS = ("positive", "neutral", "negative", None)
_ids = itertools.count(1)

Group = tuple[int, dt.datetime, str, str, str]


def rollup_migration(db: Database) -> ModuleType:
    """Migration 0006 as Alembic loads it, the way a later migration reaches its helpers."""
    script = ScriptDirectory.from_config(runner.alembic_config(db.url)).get_revision("0006")
    assert script is not None
    return script.module


def rollup(db: Database) -> dict[Group, int]:
    with db.session(readonly=True) as session:
        return {
            (row.workspace_id, row.hour, row.platform, row.status.value, row.sentiment): row.count
            for row in session.scalars(select(InteractionHourlyCount))
        }


def direct(db: Database) -> dict[Group, int]:
    """The same groups counted from `interactions`, the hour truncated here, not in SQL."""
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(
                Interaction.workspace_id,
                Interaction.posted_at,
                Interaction.platform,
                Interaction.status,
                Interaction.ai_sentiment,
            )
        ).all()
    return dict(
        Counter(
            (
                ws,
                posted.replace(minute=0, second=0, microsecond=0),
                platform,
                status.value,
                ai or "",
            )
            for ws, posted, platform, status, ai in rows
        )
    )


def assert_rollup_exact(db: Database) -> dict[Group, int]:
    counts = rollup(db)
    assert counts == direct(db)
    return counts


def by_status(counts: dict[Group, int], workspace_id: int) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for (ws, _hour, _platform, status, _sentiment), count in counts.items():
        if ws == workspace_id:
            totals[status] += count
    return dict(totals)


@dataclass
class Env:
    db: Database
    ws: WorkspaceFixture
    accounts: dict[str, int]
    post_id: int


@pytest.fixture
def env(db: Database) -> Env:
    ws = make_workspace(db, "rollup-co")
    accounts = {}
    with db.session() as session:
        for platform in PLATFORMS:
            account = TrackedAccount(
                workspace_id=ws.workspace_id,
                platform=platform,
                external_id=f"{platform}-own",
                handle="rollupco",
            )
            session.add(account)
            session.flush()
            accounts[platform] = account.id
        post = Post(
            workspace_id=ws.workspace_id,
            account_id=accounts["simulated"],
            external_id="p1",
            caption="launch day",
            posted_at=NOW - dt.timedelta(days=2),
        )
        session.add(post)
        session.flush()
        return Env(db, ws, accounts, post.id)


def add(
    env: Env,
    posted_at: dt.datetime,
    *,
    platform: str = "simulated",
    status: InteractionStatus = InteractionStatus.unread,
    sentiment: str | None = "positive",
    session_zone: str | None = None,
) -> int:
    with env.db.session() as session:
        if session_zone is not None and env.db.dialect == "postgresql":
            session.execute(text(f"SET LOCAL TIME ZONE '{session_zone}'"))
        row = Interaction(
            workspace_id=env.ws.workspace_id,
            account_id=env.accounts[platform],
            platform=platform,
            kind=InteractionKind.comment,
            external_id=f"c{next(_ids)}",
            author_external_id="fan-1",
            author_handle="ana",
            text="Love it!",
            posted_at=posted_at,
            status=status,
            ai_sentiment=sentiment,
        )
        session.add(row)
        session.flush()
        return row.id


def ingest(env: Env, *comments: pb.Comment) -> list[int]:
    with env.db.session() as session:
        account = session.get(TrackedAccount, env.accounts["simulated"])
        assert account is not None
        outcome = inbox_ingest.ingest_interactions(
            session, account, list(comments), post_id=env.post_id, now=NOW
        )
        return outcome.new_ids


def comment(
    external_id: str, at: dt.datetime, author: str = "fan-1", text: str = "hi"
) -> pb.Comment:
    return pb.Comment(
        platform=pb.Platform.SIMULATED,
        external_id=external_id,
        post_external_id="p1",
        parent_external_id=None,
        author_external_id=author,
        author_handle=author,
        author_display_name=None,
        author_followers_count=None,
        text=text,
        posted_at=at,
        like_count=None,
    )


# --- the triggers keep the rollup exact --------------------------------------------------------


def test_triggers_exist_at_the_migration_head(db: Database) -> None:
    """A later migration that drops them (a SQLite table rebuild) without recreating them
    fails here."""
    expected = set(rollup_migration(db).TRIGGERS)
    assert len(expected) == 3  # insert, delete, update
    with db.engine.connect() as conn:
        assert expected <= _trigger_names(conn)


def test_inserts_are_counted_in_their_utc_hour_whichever_way_they_arrive(env: Env) -> None:
    hour = dt.datetime(2026, 4, 1, 13, tzinfo=dt.UTC)
    add(env, hour - US, sentiment=None)  # the last microsecond of 12:00-13:00
    add(env, hour)
    add(env, hour + 59 * dt.timedelta(minutes=1), platform="youtube")
    # Timestamps in another zone are stored, and counted, as the UTC instant they are, even
    # from a PostgreSQL session whose hours start at :45.
    kolkata = dt.datetime(2026, 4, 1, 18, 44, tzinfo=ZoneInfo("Asia/Kolkata"))  # 13:14 UTC
    add(env, kolkata, session_zone="Asia/Kathmandu")
    new = ingest(
        env,
        comment("i1", hour + 5 * dt.timedelta(minutes=1)),
        comment("i2", hour + 2 * HOUR, author="simulated-own"),  # our own: stored answered
    )
    assert len(new) == 2
    # A second poll of the same comments stores nothing and counts nothing twice.
    assert ingest(env, comment("i1", hour + 5 * dt.timedelta(minutes=1))) == []

    counts = assert_rollup_exact(env.db)
    ws = env.ws.workspace_id
    in_hour = {key[2:]: n for key, n in counts.items() if key[1] == hour}
    assert sum(in_hour.values()) == 4
    assert in_hour[("youtube", "unread", "positive")] == 1
    assert counts[(ws, hour - HOUR, "simulated", "unread", "")] == 1
    assert by_status(counts, ws) == {"unread": 5, "answered": 1}


def test_a_duplicate_that_loses_the_insert_race_is_not_counted(env: Env) -> None:
    add(env, NOW)
    with env.db.session() as session:
        existing = session.scalars(select(Interaction)).one()
        row = {
            column.key: getattr(existing, column.key)
            for column in Interaction.__table__.columns
            if column.key != "id"
        }
        stored = inbox_ingest.store_interaction_rows(
            session, env.ws.workspace_id, "simulated", [row], [existing.external_id], NOW
        )
    assert stored == {}
    assert sum(assert_rollup_exact(env.db).values()) == 1


def test_status_changes_through_the_inbox_services_move_the_counts(env: Env) -> None:
    subject = env.ws.subject
    with env.db.session() as session:
        workflows.create_workflow(
            session,
            subject,
            workflow_schemas.WorkflowCreate.model_validate(
                {
                    "name": "Flag refunds",
                    "conditions": [{"type": "keywords", "words": ["refund"]}],
                    "actions": [{"type": "flag"}],
                }
            ),
        )
    # Ingestion runs the workflow: one comment is flagged on arrival.
    first, second, third, fourth = ingest(
        env,
        comment("s1", NOW - 3 * HOUR, text="I want a refund"),
        comment("s2", NOW - 3 * HOUR, author="fan-2"),
        comment("s3", NOW - 2 * HOUR, author="fan-3"),
        comment("s4", NOW - 26 * HOUR, author="fan-4"),
    )
    ws = env.ws.workspace_id
    assert by_status(assert_rollup_exact(env.db), ws) == {"flagged": 1, "unread": 3}

    with env.db.session() as session:
        inbox_service.update_interaction(
            session, subject, second, status=InteractionStatus.answered
        )
    assert by_status(assert_rollup_exact(env.db), ws) == {"flagged": 1, "unread": 2, "answered": 1}

    with env.db.session() as session:
        inbox_service.bulk_update(
            session,
            subject,
            [first, third],
            action="set_status",
            status=InteractionStatus.ignored,
        )
    assert by_status(assert_rollup_exact(env.db), ws) == {"ignored": 2, "unread": 1, "answered": 1}

    # The reply queue marks the interaction answered with a Core UPDATE once the reply is out.
    with env.db.session() as session:
        interaction = session.get(Interaction, fourth)
        assert interaction is not None
        replies.enqueue_reply(session, interaction, "Thanks!", created_by="user:1", now=NOW)
    assert sender.tick(env.db, now=NOW + dt.timedelta(minutes=5)).sent == 1
    assert by_status(assert_rollup_exact(env.db), ws) == {"ignored": 2, "answered": 2}


def test_core_updates_of_status_sentiment_and_posting_time_move_the_counts(env: Env) -> None:
    ids = [add(env, NOW - HOUR, sentiment=None) for _ in range(3)]
    other = add(env, NOW - 5 * HOUR, sentiment="negative", platform="youtube")
    with env.db.session() as session:
        session.execute(
            update(Interaction)
            .where(Interaction.id.in_(ids[:2]))
            .values(status=InteractionStatus.flagged)
        )
        session.execute(  # the AI analysis arrives
            update(Interaction).where(Interaction.id == ids[2]).values(ai_sentiment="neutral")
        )
        session.execute(  # re-analysed: not analysed any more until the new model answers
            update(Interaction).where(Interaction.id == other).values(ai_sentiment=None)
        )
    counts = assert_rollup_exact(env.db)
    ws, hour = env.ws.workspace_id, (NOW - HOUR).replace(minute=0, second=0, microsecond=0)
    assert counts[(ws, hour, "simulated", "flagged", "")] == 2
    assert counts[(ws, hour, "simulated", "unread", "neutral")] == 1
    assert (ws, hour, "simulated", "unread", "") not in counts  # emptied groups are removed

    with env.db.session() as session:
        moved = session.get(Interaction, ids[2])
        assert moved is not None
        moved.posted_at = NOW - dt.timedelta(days=3)  # another hour, another day
        session.flush()
        session.execute(  # within its hour: no group changes
            update(Interaction)
            .where(Interaction.id == other)
            .values(posted_at=(NOW - 5 * HOUR).replace(minute=1), labels=["vip"], priority=90)
        )
        session.execute(  # a no-op update of every grouping column
            update(Interaction).values(
                status=Interaction.status,
                platform=Interaction.platform,
                ai_sentiment=Interaction.ai_sentiment,
                posted_at=Interaction.posted_at,
                workspace_id=Interaction.workspace_id,
            )
        )
    counts = assert_rollup_exact(env.db)
    assert counts[(ws, hour - dt.timedelta(days=3) + HOUR, "simulated", "unread", "neutral")] == 1
    assert sum(counts.values()) == 4


def test_deletes_and_cascades_remove_interactions_from_the_counts(env: Env, db: Database) -> None:
    other = make_workspace(db, "rollup-other")
    with db.session() as session:
        theirs = TrackedAccount(
            workspace_id=other.workspace_id, platform="simulated", external_id="x", handle="x"
        )
        session.add(theirs)
        session.flush()
        for hours in (1, 2):
            session.add(
                Interaction(
                    workspace_id=other.workspace_id,
                    account_id=theirs.id,
                    platform="simulated",
                    kind=InteractionKind.comment,
                    external_id=f"o{hours}",
                    author_external_id="z",
                    author_handle="z",
                    posted_at=NOW - hours * HOUR,
                )
            )
    single = add(env, NOW - HOUR)
    kept = add(env, NOW - HOUR)
    for _ in range(3):
        add(env, NOW - 2 * HOUR, platform="youtube")
    with db.session() as session:
        interaction = session.get(Interaction, single)
        session.delete(interaction)
    counts = assert_rollup_exact(db)
    assert by_status(counts, env.ws.workspace_id) == {"unread": 4}

    # Removing an account deletes its interactions in batches (a job, run inline at commit by
    # the tests' memory:// queue), then the account row itself.
    with db.session() as session:
        account_service.delete_account(session, env.ws.subject, env.accounts["youtube"])
    counts = assert_rollup_exact(db)
    assert by_status(counts, env.ws.workspace_id) == {"unread": 1}
    with db.session(readonly=True) as session:
        assert session.get(Interaction, kept) is not None

    with db.session() as session:
        session.execute(delete(Workspace).where(Workspace.id == env.ws.workspace_id))
    counts = assert_rollup_exact(db)
    assert {key[0] for key in counts} == {other.workspace_id}
    assert sum(counts.values()) == 2


@pytest.fixture
def rolled_back(db: Database) -> Iterator[Connection]:
    """A connection whose transaction (DDL included) is rolled back at the end."""
    with db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def _trigger_names(conn: Connection) -> set[str]:
    """The triggers on `interactions`."""
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT tgname FROM pg_trigger "
            "WHERE tgrelid = 'interactions'::regclass AND NOT tgisinternal"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'interactions'"
    return set(conn.scalars(text(sql)))


def test_the_migration_helper_restores_triggers_a_table_rebuild_dropped(
    env: Env, rolled_back: Connection
) -> None:
    conn = rolled_back
    migration = rollup_migration(env.db)
    if conn.dialect.name == "sqlite":
        # What a later `batch_alter_table("interactions")` does on SQLite.
        with Operations(MigrationContext.configure(conn)).batch_alter_table(
            "interactions", recreate="always"
        ):
            pass
    else:
        migration.drop_triggers(conn)
    assert not set(migration.TRIGGERS) & _trigger_names(conn)
    row = {
        "workspace_id": env.ws.workspace_id,
        "account_id": env.accounts["simulated"],
        "platform": "simulated",
        "kind": InteractionKind.comment,
        "author_external_id": "a",
        "author_handle": "a",
        "text": "",
        "posted_at": NOW,
        "labels": [],
    }
    conn.execute(insert(Interaction), [{**row, "external_id": "lost"}])
    migration.create_triggers(conn)
    migration.create_triggers(conn)  # idempotent
    assert set(migration.TRIGGERS) <= _trigger_names(conn)
    conn.execute(insert(Interaction), [{**row, "external_id": "counted"}])
    count = select(InteractionHourlyCount.count)
    assert conn.scalars(count).all() == [1]  # the row inserted without triggers is missed...
    migration.rebuild_counts(conn)
    assert conn.scalars(count).all() == [2]  # ...until the counts are rebuilt


# --- the analytics read the rollup and stay exact ----------------------------------------------


def _instants(zone: ZoneInfo, now: dt.datetime, days: int, rng: random.Random) -> list[dt.datetime]:
    """Both sides of every edge the period and its days have, and a scatter in between."""
    today = now.astimezone(zone).date()
    edges = [now, now.replace(minute=0, second=0, microsecond=0)]
    for back in range(days + 1):
        midnight = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(0), tzinfo=zone)
        edges.append(midnight.astimezone(dt.UTC))
    instants = []
    for edge in edges:
        floor = edge.replace(minute=0, second=0, microsecond=0)
        instants += [edge - US, edge, edge + US, floor, floor - US, floor + HOUR - US]
    span = (days + 2) * 86400
    instants += [now - dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(120)]
    return instants


def _seed(
    db: Database, workspace_id: int, account_id: int, instants: list[dt.datetime]
) -> list[tuple[dt.datetime, str, str, str | None]]:
    rows = []
    seeded = []
    for n, at in enumerate(instants):
        status, sentiment = STATUSES[n % len(STATUSES)], SENTIMENTS[n % len(SENTIMENTS)]
        platform = PLATFORMS[n % 3 % 2]
        seeded.append((at, platform, status.value, sentiment))
        rows.append(
            {
                "workspace_id": workspace_id,
                "account_id": account_id,
                "platform": platform,
                "kind": InteractionKind.comment,
                "external_id": f"e{next(_ids)}",
                "author_external_id": "a",
                "author_handle": "a",
                "text": "",
                "posted_at": at,
                "status": status,
                "ai_sentiment": sentiment,
                "labels": [],
            }
        )
    with db.session() as session:
        session.execute(insert(Interaction), rows)
    return seeded


CASES = [
    pytest.param(zone, days, NOW, id=f"{zone}-{days}d")
    for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu")
    for days in (1, 30)
] + [
    # 00:20 in Kathmandu: the period so far holds no whole UTC hour.
    pytest.param(
        "Asia/Kathmandu",
        1,
        dt.datetime(2026, 4, 1, 18, 35, 5, tzinfo=dt.UTC),
        id="Asia/Kathmandu-just-after-midnight",
    ),
    # More partial hours than one statement may hold on SQLite.
    pytest.param("Asia/Kolkata", 365, NOW, id="Asia/Kolkata-365d"),
]


@pytest.mark.parametrize(("zone_name", "days", "now"), CASES)
def test_overview_and_timeline_equal_a_direct_count_in_every_zone(
    env: Env, db: Database, zone_name: str, days: int, now: dt.datetime
) -> None:
    zone = ZoneInfo(zone_name)
    with db.session() as session:
        workspace = session.get(Workspace, env.ws.workspace_id)
        assert workspace is not None
        workspace.timezone = zone_name
    instants = _instants(zone, now, days, random.Random(days))
    seeded = _seed(db, env.ws.workspace_id, env.accounts["simulated"], instants)
    other = make_workspace(db, "rollup-noise")
    with db.session() as session:
        noise_account = TrackedAccount(
            workspace_id=other.workspace_id, platform="simulated", external_id="n", handle="n"
        )
        session.add(noise_account)
        session.flush()
        noise_account_id = noise_account.id
    _seed(db, other.workspace_id, noise_account_id, instants)

    start = dt.datetime.combine(
        now.astimezone(zone).date() - dt.timedelta(days=days - 1), dt.time(0), tzinfo=zone
    )
    inside = [row for row in seeded if start <= row[0] <= now]
    assert any(row[0] < start for row in seeded) and any(row[0] > now for row in seeded)
    with db.session(readonly=True) as session:
        overview = analytics.overview(session, env.ws.subject, days, now=now)
        plain = analytics.timeline(session, env.ws.subject, days, now=now)
        split = analytics.timeline(session, env.ws.subject, days, by_sentiment=True, now=now)

    assert overview.period.start == start
    assert overview.total_interactions == len(inside)
    statuses = Counter(status for _at, _platform, status, _sentiment in inside)
    assert overview.by_status == {s.value: statuses[s.value] for s in InteractionStatus}
    platforms = Counter(platform for _at, platform, _status, _sentiment in inside)
    assert overview.by_platform == dict(platforms)
    sentiments = Counter(sentiment or "unanalysed" for *_rest, sentiment in inside)
    assert overview.by_sentiment == {
        label: sentiments[label] for label in ("positive", "neutral", "negative", "unanalysed")
    }

    per_day = Counter(at.astimezone(zone).date() for at, *_rest in inside)
    assert [(d.date, d.count) for d in plain.timeline] == [
        (d.date, per_day[d.date]) for d in plain.timeline
    ]
    assert sum(d.count for d in plain.timeline) == overview.total_interactions
    per_day_sentiment = Counter(
        (at.astimezone(zone).date(), sentiment or "unanalysed") for at, *_rest, sentiment in inside
    )
    for day in split.timeline:
        assert day.by_sentiment == {
            label: per_day_sentiment[(day.date, label)]
            for label in ("positive", "neutral", "negative", "unanalysed")
        }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC)


@settings(max_examples=300, deadline=None)
@given(
    lo=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 1, 3)),
    length=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=30)),
)
def test_split_hours_covers_a_range_exactly_with_whole_hours_and_at_most_two_pieces(
    lo: dt.datetime, length: dt.timedelta
) -> None:
    start, end = _aware(lo), _aware(lo) + length
    whole, partial = analytics.split_hours([(start, end)])
    pieces = sorted((a, b, "whole") for _i, a, b in whole) + sorted(
        (a, b, "partial") for _i, a, b in partial
    )
    pieces.sort()
    if start == end:
        assert pieces == []
        return
    assert pieces[0][0] == start and pieces[-1][1] == end
    assert all(left[1] == right[0] for left, right in itertools.pairwise(pieces))
    assert len(whole) <= 1 and len(partial) <= 2
    for a, b, kind in pieces:
        assert a < b
        if kind == "whole":
            assert a.minute == a.second == a.microsecond == 0
            assert b.minute == b.second == b.microsecond == 0
        else:  # never a whole hour counted row by row
            first_hour = a.replace(minute=0, second=0, microsecond=0)
            first_hour += HOUR if first_hour < a else dt.timedelta(0)
            assert first_hour + HOUR > b
