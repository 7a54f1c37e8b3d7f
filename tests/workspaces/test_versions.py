"""Every kind of write bumps its workspace's data version once per transaction, and only its
own: ORM flushes, Core upserts, UPDATE and DELETE statements, rows reached through a parent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.orm import Session

from factories import make, make_account, make_post, make_workspace
from socialpulse.accounts.models import AccountSnapshot, Post, TrackedAccount
from socialpulse.db import Base, Database, utcnow
from socialpulse.inbox.models import (
    Interaction,
    InteractionHourlyCount,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.inbox.replies.sender import REPLY_LEASE
from socialpulse.kit import leases
from socialpulse.kit.upsert import upsert
from socialpulse.worker.models import Job
from socialpulse.workspaces import versions
from socialpulse.workspaces.models import Workspace

# Tables that hold no workspace's report data: a new table lands here only on purpose.
# Public data shared by the instance (creators and their images) belongs to no workspace.
NOT_VERSIONED = {
    "users",
    "user_sessions",
    "jobs",
    "api_keys",
    "creators",
    "creator_posts",
    "creator_comments",
    "creator_reports",
    "related_profiles",
    "crawl_launches",
    "media_objects",
    "plans",
    "pricing_rules",
    "topup_packages",
}


def _version(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return versions.current(session, workspace_id)


def _inbox_version(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return versions.current_versions(session, workspace_id).of("inbox_version")


@pytest.fixture
def two(db: Database) -> tuple[int, int]:
    return make_workspace(db, "mine").workspace_id, make_workspace(db, "theirs").workspace_id


@pytest.fixture
def account(db: Database, two: tuple[int, int]) -> int:
    with db.session() as session:
        return make_account(session, two[0]).id


def test_every_table_reaches_its_workspace_or_is_declared_outside_any() -> None:
    routes = versions.versioned_tables(Base.metadata.sorted_tables)
    assert {name for name, route in routes.items() if route is None} == NOT_VERSIONED
    assert routes["account_snapshots"] is not None
    assert routes["account_snapshots"].parent is not None
    assert routes["account_snapshots"].parent.name == "accounts"
    assert routes["reply_queue"] is not None
    assert routes["reply_queue"].version == "queue_version"
    assert routes["interactions"] is not None
    assert routes["interactions"].version == "inbox_version"
    assert {route.version for name, route in routes.items() if route is not None} == {
        "data_version",
        "inbox_version",
        "queue_version",
    }


def test_a_new_workspace_starts_at_an_unpredictable_version(db: Database) -> None:
    # A workspace created under a deleted one's id must not meet its cached reports.
    first = make_workspace(db, "first").workspace_id
    second = make_workspace(db, "second").workspace_id
    assert _version(db, first) != _version(db, second)


def test_orm_writes_bump_their_workspace_once_per_transaction(
    db: Database, two: tuple[int, int], account: int
) -> None:
    mine, theirs = two
    before, other = _version(db, mine), _version(db, theirs)
    with db.session() as session:
        row = session.get(TrackedAccount, account)
        assert row is not None
        for n in range(3):
            make_post(session, row, f"p{n}")
        row.display_name = "Renamed"
    assert _version(db, mine) == before + 1
    assert _version(db, theirs) == other


def test_orm_delete_bumps(db: Database, two: tuple[int, int], account: int) -> None:
    before = _version(db, two[0])
    with db.session() as session:
        row = session.get(TrackedAccount, account)
        post = make_post(session, row, "gone")  # type: ignore[arg-type]
    with db.session() as session:
        session.delete(session.get(Post, post.id))
    assert _version(db, two[0]) == before + 2


def test_a_setting_on_the_workspace_row_bumps_it(db: Database, two: tuple[int, int]) -> None:
    before = _version(db, two[0])
    with db.session() as session:
        workspace = session.get(Workspace, two[0])
        assert workspace is not None
        workspace.timezone = "Europe/Paris"
    assert _version(db, two[0]) == before + 1


def test_core_upsert_of_rows_without_workspace_id_bumps_through_their_parent(
    db: Database, two: tuple[int, int], account: int
) -> None:
    before, other = _version(db, two[0]), _version(db, two[1])
    with db.session() as session:
        upsert(
            session,
            AccountSnapshot.__table__,  # type: ignore[arg-type]
            [{"account_id": account, "day": dt.date(2026, 11, 1), "followers_count": 5}],
            conflict=["account_id", "day"],
            update=["followers_count"],
        )
    assert _version(db, two[0]) == before + 1
    assert _version(db, two[1]) == other


def test_core_update_filtered_by_workspace_bumps_only_it(
    db: Database, two: tuple[int, int], account: int
) -> None:
    mine, theirs = two
    before, other = _version(db, mine), _version(db, theirs)
    with db.session() as session:
        session.execute(
            update(TrackedAccount)
            .where(TrackedAccount.workspace_id == mine, TrackedAccount.id == account)
            .values(display_name="x")
        )
    assert (_version(db, mine), _version(db, theirs)) == (before + 1, other)


def _unread(session: Session, workspace_id: int, account: int) -> Interaction:
    return make(
        session,
        Interaction,
        workspace_id=workspace_id,
        account_id=account,
        platform="simulated",
        text="hi",
        posted_at=utcnow(),
        status=InteractionStatus.unread,
    )


def test_core_update_and_delete_by_other_columns_find_their_workspaces(
    db: Database, two: tuple[int, int], account: int
) -> None:
    mine, theirs = two
    with db.session() as session:
        interaction = _unread(session, mine, account).id
    before, other = _inbox_version(db, mine), _inbox_version(db, theirs)
    with db.session() as session:
        session.execute(
            update(Interaction)
            .where(Interaction.id == interaction)
            .values(status=InteractionStatus.ignored)
        )
    assert (_inbox_version(db, mine), _inbox_version(db, theirs)) == (before + 1, other)
    with db.session() as session:
        session.execute(delete(Interaction).where(Interaction.id == interaction))
    assert (_inbox_version(db, mine), _inbox_version(db, theirs)) == (before + 2, other)


def test_a_statement_that_matches_nothing_bumps_nothing(db: Database, two: tuple[int, int]) -> None:
    before = _version(db, two[0])
    with db.session() as session:
        session.execute(delete(Interaction).where(Interaction.id == -1))
    assert _version(db, two[0]) == before


def test_a_rolled_back_write_bumps_nothing(
    db: Database, two: tuple[int, int], account: int
) -> None:
    before = _version(db, two[0])

    def write_then_fail() -> None:
        with db.session() as session:
            make_post(session, session.get(TrackedAccount, account), "never")  # type: ignore[arg-type]
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert _version(db, two[0]) == before


def test_job_bookkeeping_does_not_bump(db: Database, two: tuple[int, int]) -> None:
    before = _version(db, two[0])
    with db.session() as session:
        job = make(session, Job, kind="test.noop", workspace_id=two[0])
        session.execute(update(Job).where(Job.id == job.id).values(attempts=2))
    assert _version(db, two[0]) == before


def test_a_bulk_update_by_primary_key_bumps_the_rows_workspace(
    db: Database, two: tuple[int, int], account: int
) -> None:
    with db.session() as session:
        post = make_post(session, session.get(TrackedAccount, account), "bulk")  # type: ignore[arg-type]
    before = _version(db, two[0])
    with db.session() as session:
        session.execute(update(Post), [{"id": post.id, "caption": "new caption"}])
    assert _version(db, two[0]) == before + 1


def _queue_version(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return versions.current_versions(session, workspace_id).of("queue_version")


def _queued_reply(db: Database, workspace_id: int, account: int) -> tuple[int, int]:
    """(interaction id, reply queue item id)."""
    with db.session() as session:
        interaction = _unread(session, workspace_id, account)
        item = make(
            session,
            ReplyQueueItem,
            workspace_id=workspace_id,
            account_id=account,
            interaction_id=interaction.id,
            platform="simulated",
            text="Thanks!",
            scheduled_for=utcnow(),
            idempotency_key=f"reply-{interaction.id}",
        )
        return interaction.id, item.id


def test_interactions_and_the_reply_queue_bump_versions_of_their_own(
    db: Database, two: tuple[int, int], account: int
) -> None:
    """The queue commits on every claim, lease renewal and send: account analytics, which read
    neither table, must not miss for that; the inbox and queue reports must."""
    mine, theirs = two

    def now() -> tuple[int, int, int]:
        return _version(db, mine), _inbox_version(db, mine), _queue_version(db, mine)

    data, inbox, queue = now()
    other = (_version(db, theirs), _inbox_version(db, theirs), _queue_version(db, theirs))
    interaction, item = _queued_reply(db, mine, account)
    # One transaction, both kinds of row: each of their versions once.
    assert now() == (data, inbox + 1, queue + 1)
    with db.session() as session:
        claimed = leases.claim(
            session,
            REPLY_LEASE,
            ReplyQueueItem.id == item,
            owner="worker-1",
            until=utcnow() + dt.timedelta(minutes=5),
        )
        assert claimed == 1
    assert now() == (data, inbox + 1, queue + 2)
    with db.session() as session:  # the outcome: the item's status and the interaction's
        assert leases.release(session, REPLY_LEASE, item, "worker-1", status=ReplyStatus.sent)
        session.execute(
            update(Interaction)
            .where(Interaction.id == interaction)
            .values(status=InteractionStatus.answered)
        )
    assert now() == (data, inbox + 2, queue + 3)
    with db.session() as session:  # any other table: the data version
        session.execute(
            update(TrackedAccount).where(TrackedAccount.id == account).values(display_name="x")
        )
    assert now() == (data + 1, inbox + 2, queue + 3)
    assert (_version(db, theirs), _inbox_version(db, theirs), _queue_version(db, theirs)) == other


def test_reading_notes_every_statement_that_names_a_separately_versioned_table(
    db: Database, two: tuple[int, int], account: int
) -> None:
    _queued_reply(db, two[0], account)
    with versions.reading() as reads, db.session(readonly=True) as session:
        session.execute(select(Post.id)).all()
        session.get(TrackedAccount, account)
        assert reads.versions == set()
        session.execute(select(func.count()).select_from(ReplyQueueItem)).scalar_one()
        assert reads.versions == {"queue_version"}
        session.execute(select(Interaction.status)).all()
        assert reads.versions == {"queue_version", "inbox_version"}
    with versions.reading() as reads, db.session(readonly=True) as session:
        # Raw SQL too: a report reaching the queue without the ORM is not missed.
        session.execute(text("SELECT count(*) FROM reply_queue")).scalar_one()
    assert reads.versions == {"queue_version"}
    with db.session(readonly=True) as session:  # outside a reading() block: nothing noted
        session.execute(select(Interaction.id)).all()
    assert reads.versions == {"queue_version"}


def test_the_hourly_rollup_shares_the_interactions_version(
    db: Database, two: tuple[int, int], account: int
) -> None:
    """The database's triggers on interactions write the rollup, out of the session's sight:
    a report that reads only the rollup must wait for the interactions' version."""
    routes = versions.versioned_tables(Base.metadata.sorted_tables)
    rollup = routes["interaction_hourly_counts"]
    assert rollup is not None
    assert rollup.version == "inbox_version"
    with versions.reading() as reads, db.session(readonly=True) as session:
        session.execute(select(func.sum(InteractionHourlyCount.count))).scalar()
    assert reads.versions == {"inbox_version"}


def test_versions_of_the_same_workspaces_are_bumped_in_one_statement(
    db: Database, two: tuple[int, int], account: int
) -> None:
    mine, theirs = two
    bumps: list[str] = []

    def note(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("UPDATE WORKSPACES"):
            bumps.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        before = (_version(db, mine), _inbox_version(db, mine), _queue_version(db, mine))
        _queued_reply(db, mine, account)  # an interaction and its reply: inbox and queue
        assert len(bumps) == 1, bumps
        with db.session() as session:  # the inbox of one workspace, the data of another
            _unread(session, mine, account)
            make_account(session, theirs, handle="theirs")
        assert len(bumps) == 3, bumps
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    after = (_version(db, mine), _inbox_version(db, mine), _queue_version(db, mine))
    assert after == (before[0], before[1] + 2, before[2] + 1)
