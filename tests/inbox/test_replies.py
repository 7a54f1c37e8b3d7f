"""The reply queue end to end: enqueue at a human pace, the tick, never a double send."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.accounts.budget import quota_day
from socialpulse.accounts.models import AccountStatus, ApiUsage, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.errors import Conflict, InvalidInput
from socialpulse.inbox.models import (
    InboxSettings,
    Interaction,
    InteractionStatus,
    ReplyLimit,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.inbox.replies import sender
from socialpulse.inbox.replies import service as replies
from socialpulse.providers import base as pb
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.publishing import CannotConfirm, DryRunPublisher, PublishedReply
from socialpulse.providers.simulated import publish as simulated_publish
from socialpulse.providers.youtube.publish import YouTubePublisher

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "reply-co")


def make_account(db: Database, ws: WorkspaceFixture, platform: str = "youtube", **kw: Any) -> int:
    kw.setdefault("handle", "ourbrand")
    kw.setdefault("external_id", f"{platform}-own")
    return add_account(db, ws.workspace_id, platform, **kw)


def make_interaction(db: Database, ws: WorkspaceFixture, account_id: int, n: int = 1) -> int:
    return add_interaction(
        db,
        account_id,
        external_id=f"comment-{account_id}-{n}",
        author_external_id=f"fan-{n}",
        author_handle=f"fan{n}",
        text="Love this video! When is part two?",
        posted_at=NOW - dt.timedelta(hours=1),
    )


def enqueue(db: Database, interaction_id: int, text: str = "Thanks! Soon.", **kw: Any) -> int:
    with db.session() as session:
        interaction = session.get(Interaction, interaction_id)
        assert interaction is not None
        kw.setdefault("now", NOW)
        return replies.enqueue_reply(session, interaction, text, created_by="user:1", **kw).id


def item(db: Database, item_id: int) -> ReplyQueueItem:
    with db.session() as session:
        row = session.get(ReplyQueueItem, item_id)
        assert row is not None
        return row


class FakePublisher:
    """A platform double: counts calls, keeps the replies it made, can fail on demand."""

    can_hide = False

    def __init__(self, errors: list[Exception] | None = None) -> None:
        self.calls: list[str] = []
        self.store: dict[tuple[str, str], PublishedReply] = {}
        self.errors = list(errors or [])
        self.cannot_confirm = False

    def reply(self, account: Any, interaction: Any, text: str, *, idempotency_key: str) -> Any:
        self.calls.append(text)
        if self.errors:
            raise self.errors.pop(0)
        published = PublishedReply(f"r{len(self.calls)}", None)
        self.store[(interaction.external_id, text)] = published
        return published

    def find_existing(self, account: Any, interaction: Any, text: str) -> Any:
        if self.cannot_confirm:
            raise CannotConfirm("no read access")
        return self.store.get((interaction.external_id, text))


def factory(publisher: Any) -> Any:
    return lambda account, observer: publisher


# --- enqueue ---------------------------------------------------------------------------------


def test_enqueued_replies_are_spaced_at_the_platform_pace(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = make_account(db, ws)
    ids = [enqueue(db, make_interaction(db, ws, account, n)) for n in range(3)]
    times = [item(db, i).scheduled_for for i in ids]
    assert 5 <= (times[0] - NOW).total_seconds() <= 30
    assert all(15 <= (b - a).total_seconds() <= 40 for a, b in zip(times, times[1:], strict=False))
    keys = {item(db, i).idempotency_key for i in ids}
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)


def test_account_override_replaces_the_platform_defaults(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = make_account(db, ws)
    with db.session() as session:
        session.add(
            ReplyLimit(
                workspace_id=ws.workspace_id,
                account_id=account,
                max_per_hour=100,
                max_per_minute=1,
                min_interval_s=0,
                jitter_min_s=0,
                jitter_max_s=0,
            )
        )
    first, second = (enqueue(db, make_interaction(db, ws, account, n)) for n in range(2))
    gap = item(db, second).scheduled_for - item(db, first).scheduled_for
    assert gap == dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("platform", "text", "message"),
    [
        ("youtube", "   ", "empty"),
        ("bluesky", "é" * 301, "300 characters"),
        ("mastodon", "x" * 501, "500 characters"),
        ("instagram", "x" * 2201, "2200 characters"),
    ],
)
def test_text_the_platform_would_refuse_is_rejected_before_queueing(
    db: Database, ws: WorkspaceFixture, platform: str, text: str, message: str
) -> None:
    interaction = make_interaction(db, ws, make_account(db, ws, platform))
    with pytest.raises(InvalidInput, match=message):
        enqueue(db, interaction, text)


def test_bluesky_counts_emoji_sequences_as_one_character(
    db: Database, ws: WorkspaceFixture
) -> None:
    interaction = make_interaction(db, ws, make_account(db, ws, "bluesky"))
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 5 code points, one grapheme
    text = family * 100 + "x" * 200  # 700 code points, 300 graphemes, 2,000 bytes
    assert item(db, enqueue(db, interaction, text)).text == text


def test_a_second_reply_while_one_is_queued_is_a_conflict(
    db: Database, ws: WorkspaceFixture
) -> None:
    interaction = make_interaction(db, ws, make_account(db, ws))
    enqueue(db, interaction)
    with pytest.raises(Conflict):
        enqueue(db, interaction, "another")


def test_higher_priority_reply_takes_the_earliest_waiting_slot(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = make_account(db, ws)
    low = [enqueue(db, make_interaction(db, ws, account, n), priority=10) for n in range(3)]
    slots = [item(db, i).scheduled_for for i in low]
    urgent = enqueue(db, make_interaction(db, ws, account, 9), priority=90)
    assert item(db, urgent).scheduled_for == slots[0]
    moved = [item(db, i).scheduled_for for i in low]
    assert moved[:2] == slots[1:]  # everyone else moves one slot later, order kept
    assert moved[2] > slots[2]


# --- the tick --------------------------------------------------------------------------------


def test_tick_sends_due_replies_and_marks_interactions_answered(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = make_account(db, ws)
    interactions = [make_interaction(db, ws, account, n) for n in range(2)]
    ids = [enqueue(db, i, f"Thanks {n}") for n, i in enumerate(interactions)]
    publisher = FakePublisher()
    early = sender.tick(db, now=NOW, publisher_factory=factory(publisher))
    assert early.sent == 0 and publisher.calls == []  # nothing due yet
    later = NOW + dt.timedelta(minutes=5)
    assert sender.tick(db, now=later, publisher_factory=factory(publisher)).sent == 1
    # The second was due too, but not 10 s after the first: it leaves on the next tick.
    later += dt.timedelta(minutes=1)
    assert sender.tick(db, now=later, publisher_factory=factory(publisher)).sent == 1
    assert publisher.calls == ["Thanks 0", "Thanks 1"]
    for item_id, interaction_id in zip(ids, interactions, strict=True):
        row = item(db, item_id)
        assert (row.status, row.external_reply_id, row.attempts) == (
            ReplyStatus.sent,
            row.external_reply_id,
            1,
        )
        assert row.publish_started_at is not None and row.sent_at is not None
        with db.session() as session:
            interaction = session.get(Interaction, interaction_id)
            assert interaction is not None
            assert interaction.status == InteractionStatus.answered
            assert interaction.answered_at is not None


def test_tick_sends_at_most_the_per_tick_limit_per_account(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = make_account(db, ws, "simulated")
    with db.session() as session:
        session.add(InboxSettings(workspace_id=ws.workspace_id, max_replies_per_tick=2))
    for n in range(4):
        enqueue(db, make_interaction(db, ws, account, n))
    publisher = FakePublisher()
    later = NOW + dt.timedelta(hours=1)
    assert sender.tick(db, now=later, publisher_factory=factory(publisher)).claimed == 2
    assert len(publisher.calls) <= 2


def test_actual_recent_sends_hold_back_a_due_reply(db: Database, ws: WorkspaceFixture) -> None:
    account = make_account(db, ws)
    first = enqueue(db, make_interaction(db, ws, account, 1))
    second = enqueue(db, make_interaction(db, ws, account, 2))
    with db.session() as session:  # a manual retry made both due at the same instant
        for row in session.scalars(select(ReplyQueueItem)):
            row.scheduled_for = NOW
    publisher = FakePublisher()
    result = sender.tick(db, now=NOW, publisher_factory=factory(publisher))
    assert (result.sent, result.deferred) == (1, 1)
    held = item(db, second)
    assert held.status == ReplyStatus.pending
    assert held.scheduled_for >= item(db, first).publish_started_at + dt.timedelta(seconds=10)  # type: ignore[operator]


def test_transient_failures_back_off_then_fail_with_the_platform_message(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = make_account(db, ws)
    item_id = enqueue(db, make_interaction(db, ws, account))
    errors: list[Exception] = [
        pb.TransientError(
            f"YouTube returned HTTP 429 (try {n})",
            platform="youtube",
            endpoint="youtube.comments.insert",
            status_code=429,
        )
        for n in range(3)
    ]
    publisher = FakePublisher(errors)
    at = NOW + dt.timedelta(minutes=1)
    delays = []
    for _ in range(3):
        sender.tick(db, now=at, publisher_factory=factory(publisher))
        row = item(db, item_id)
        if row.status != ReplyStatus.pending:
            break
        delays.append(round((row.scheduled_for - at).total_seconds()))
        at = row.scheduled_for
    assert delays == [60, 120]
    row = item(db, item_id)
    assert row.status == ReplyStatus.failed
    assert row.last_error == "YouTube returned HTTP 429 (try 2)"
    assert len(publisher.calls) == 3


def test_auth_error_fails_at_once_and_asks_to_reconnect(db: Database, ws: WorkspaceFixture) -> None:
    account = make_account(db, ws)
    item_id = enqueue(db, make_interaction(db, ws, account))
    publisher = FakePublisher([pb.AuthError("Token expired", platform="youtube", endpoint="x")])
    sender.tick(db, now=NOW + dt.timedelta(minutes=1), publisher_factory=factory(publisher))
    row = item(db, item_id)
    assert row.status == ReplyStatus.failed and "reconnect" in (row.last_error or "")
    assert row.attempts == 1
    with db.session() as session:
        stored = session.get(TrackedAccount, account)
        assert stored is not None
        assert stored.status == AccountStatus.needs_reconnect


def test_platform_without_a_reply_api_fails_the_item_with_a_clear_message(
    db: Database, ws: WorkspaceFixture
) -> None:
    item_id = enqueue(db, make_interaction(db, ws, make_account(db, ws, "tiktok")))
    sender.tick(db, now=NOW + dt.timedelta(minutes=1))
    row = item(db, item_id)
    assert row.status == ReplyStatus.failed
    assert "cannot reply on tiktok" in (row.last_error or "")


def test_simulated_platform_replies_through_the_dry_run_publisher(
    db: Database, ws: WorkspaceFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dry = DryRunPublisher(tmp_path / "dry.jsonl")
    monkeypatch.setattr(simulated_publish, "dry_run_publisher", lambda path=None: dry)
    item_id = enqueue(db, make_interaction(db, ws, make_account(db, ws, "simulated")), "Hi!")
    assert sender.tick(db, now=NOW + dt.timedelta(minutes=1)).sent == 1
    assert [r["text"] for r in dry.sent] == ["Hi!"]
    assert item(db, item_id).external_reply_id == dry.sent[0]["external_id"]


@respx.mock
def test_youtube_reply_over_the_daily_budget_waits_for_the_next_quota_day(
    db: Database, ws: WorkspaceFixture
) -> None:
    route = respx.post("https://www.googleapis.com/youtube/v3/comments").mock(
        return_value=httpx.Response(200, json={"id": "never"})
    )
    account = make_account(db, ws)
    item_id = enqueue(db, make_interaction(db, ws, account), now=utcnow())
    with db.session() as session:
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform="youtube",
                day=quota_day("youtube"),
                quota_units=7_990,
            )
        )
    result = sender.tick(
        db,
        now=utcnow() + dt.timedelta(minutes=1),
        publisher_factory=lambda acc, obs: YouTubePublisher.create("token", observer=obs),
    )
    assert result.deferred == 1 and not route.called
    row = item(db, item_id)
    assert row.status == ReplyStatus.pending
    assert row.attempts == 0 and row.publish_started_at is None
    assert row.scheduled_for > utcnow() + dt.timedelta(minutes=5)
    assert "budget" in (row.last_error or "")


# --- crash recovery --------------------------------------------------------------------------


def _crashed_mid_send(db: Database, item_id: int) -> None:
    """What a worker killed right after committing publish_started_at leaves behind."""
    with db.session() as session:
        row = session.get(ReplyQueueItem, item_id)
        assert row is not None
        row.status = ReplyStatus.processing
        row.locked_by = "dead-worker"
        row.lease_expires_at = NOW + dt.timedelta(minutes=1)
        row.publish_started_at = NOW
        row.attempts = 1


def test_crashed_send_that_reached_the_platform_is_marked_sent_not_resent(
    db: Database, ws: WorkspaceFixture
) -> None:
    interaction = make_interaction(db, ws, make_account(db, ws))
    item_id = enqueue(db, interaction, "Thanks!")
    _crashed_mid_send(db, item_id)
    publisher = FakePublisher()
    publisher.store[(f"comment-{item(db, item_id).account_id}-1", "Thanks!")] = PublishedReply(
        "yt1"
    )
    assert (
        sender.tick(
            db, now=NOW + dt.timedelta(seconds=30), publisher_factory=factory(publisher)
        ).claimed
        == 0
    )  # lease still held
    result = sender.tick(
        db, now=NOW + dt.timedelta(minutes=5), publisher_factory=factory(publisher)
    )
    assert result.recovered == 1 and publisher.calls == []
    row = item(db, item_id)
    assert (row.status, row.external_reply_id) == (ReplyStatus.sent, "yt1")


def test_crashed_send_that_never_reached_the_platform_is_sent_once(
    db: Database, ws: WorkspaceFixture
) -> None:
    item_id = enqueue(db, make_interaction(db, ws, make_account(db, ws)), "Thanks!")
    _crashed_mid_send(db, item_id)
    publisher = FakePublisher()
    sender.tick(db, now=NOW + dt.timedelta(minutes=5), publisher_factory=factory(publisher))
    sender.tick(db, now=NOW + dt.timedelta(minutes=10), publisher_factory=factory(publisher))
    assert publisher.calls == ["Thanks!"]
    assert item(db, item_id).status == ReplyStatus.sent


def test_crashed_send_that_cannot_be_checked_fails_instead_of_sending_twice(
    db: Database, ws: WorkspaceFixture
) -> None:
    item_id = enqueue(db, make_interaction(db, ws, make_account(db, ws)), "Thanks!")
    _crashed_mid_send(db, item_id)
    publisher = FakePublisher()
    publisher.cannot_confirm = True
    sender.tick(db, now=NOW + dt.timedelta(minutes=5), publisher_factory=factory(publisher))
    row = item(db, item_id)
    assert row.status == ReplyStatus.failed and publisher.calls == []
    assert sender.CANNOT_CONFIRM in (row.last_error or "")


def test_timeout_during_the_call_is_checked_before_the_retry(
    db: Database, ws: WorkspaceFixture
) -> None:
    item_id = enqueue(db, make_interaction(db, ws, make_account(db, ws)), "Thanks!")

    class TimesOutAfterPosting(FakePublisher):
        def reply(self, account: Any, interaction: Any, text: str, *, idempotency_key: str) -> Any:
            super().reply(account, interaction, text, idempotency_key=idempotency_key)
            raise pb.TransientError("read timeout", platform="youtube", endpoint="x")

    publisher = TimesOutAfterPosting()
    sender.tick(db, now=NOW + dt.timedelta(minutes=1), publisher_factory=factory(publisher))
    assert item(db, item_id).status == ReplyStatus.pending
    sender.tick(db, now=NOW + dt.timedelta(minutes=3), publisher_factory=factory(publisher))
    assert len(publisher.calls) == 1
    assert item(db, item_id).status == ReplyStatus.sent


# --- a real worker process, killed -----------------------------------------------------------

_KILLABLE_TICK = """
import datetime as dt, json, os, time
from pathlib import Path
from socialpulse.db import init_database
from socialpulse.inbox.replies import sender
from socialpulse.providers.publishing import PublishedReply

state = Path({state!r})

class FilePlatform:
    can_hide = False
    def reply(self, account, interaction, text, *, idempotency_key):
        if {crash_before!r}:
            (state / "marker").write_text(str(os.getpid()))
            time.sleep(600)
        with (state / "calls").open("a") as f:
            f.write(text + "\\n")
        (state / "replies.json").write_text(json.dumps([[interaction.external_id, text]]))
        (state / "marker").write_text(str(os.getpid()))
        time.sleep(600)  # killed here: after the platform call, before the status update
        return PublishedReply("never")
    def find_existing(self, account, interaction, text):
        raise AssertionError("the first tick has nothing to check")

sender.tick(init_database({url!r}), publisher_factory=lambda a, o: FilePlatform(),
             now=dt.datetime.fromisoformat({now!r}), lease_s=1)
"""


class FilePlatform:
    """The same platform as the killed process sees, read from its files."""

    can_hide = False

    def __init__(self, state: Path) -> None:
        self.state = state

    def reply(self, account: Any, interaction: Any, text: str, *, idempotency_key: str) -> Any:
        with (self.state / "calls").open("a") as handle:
            handle.write(text + "\n")
        return PublishedReply("second-send")

    def find_existing(self, account: Any, interaction: Any, text: str) -> Any:
        path = self.state / "replies.json"
        made = json.loads(path.read_text()) if path.exists() else []
        return PublishedReply("first-send") if [interaction.external_id, text] in made else None


def _kill_during_tick(db: Database, state: Path, now: dt.datetime, crash_before: bool) -> None:
    code = _KILLABLE_TICK.format(
        state=str(state), url=db.url, now=now.isoformat(), crash_before=crash_before
    )
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'tests'}{os.pathsep}{ROOT / 'src'}"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (state / "marker").exists():
        assert proc.poll() is None, "worker exited before reaching the crash point"
        assert time.monotonic() < deadline, "worker never reached the crash point"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _calls(state: Path) -> list[str]:
    path = state / "calls"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_worker_killed_after_the_platform_call_never_sends_twice(
    db: Database, ws: WorkspaceFixture, tmp_path: Path
) -> None:
    item_id = enqueue(
        db, make_interaction(db, ws, make_account(db, ws)), "Thank you!", now=utcnow()
    )
    now = utcnow() + dt.timedelta(minutes=1)
    _kill_during_tick(db, tmp_path, now, crash_before=False)
    assert _calls(tmp_path) == ["Thank you!"]
    row = item(db, item_id)
    assert row.status == ReplyStatus.processing and row.publish_started_at is not None

    platform = FilePlatform(tmp_path)
    later = now + dt.timedelta(minutes=2)  # the dead worker's lease has expired
    result = sender.tick(db, now=later, publisher_factory=factory(platform))
    assert result.recovered == 1
    assert _calls(tmp_path) == ["Thank you!"]  # no second call
    row = item(db, item_id)
    assert (row.status, row.external_reply_id) == (ReplyStatus.sent, "first-send")
    sender.tick(db, now=later + dt.timedelta(minutes=5), publisher_factory=factory(platform))
    assert _calls(tmp_path) == ["Thank you!"]


@pytest.mark.slow
def test_worker_killed_before_the_platform_call_sends_exactly_once(
    db: Database, ws: WorkspaceFixture, tmp_path: Path
) -> None:
    item_id = enqueue(
        db, make_interaction(db, ws, make_account(db, ws)), "Thank you!", now=utcnow()
    )
    now = utcnow() + dt.timedelta(minutes=1)
    _kill_during_tick(db, tmp_path, now, crash_before=True)
    assert _calls(tmp_path) == []
    assert item(db, item_id).publish_started_at is not None

    platform = FilePlatform(tmp_path)
    later = now + dt.timedelta(minutes=2)
    assert sender.tick(db, now=later, publisher_factory=factory(platform)).sent == 1
    sender.tick(db, now=later + dt.timedelta(minutes=5), publisher_factory=factory(platform))
    assert _calls(tmp_path) == ["Thank you!"]
    row = item(db, item_id)
    assert (row.status, row.external_reply_id) == (ReplyStatus.sent, "second-send")


class _StopsTheWorker(FakePublisher):
    """Sends, then the worker is asked to stop (Ctrl-C on `serve`) while the tick waits."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def reply(self, account: Any, interaction: Any, text: str, *, idempotency_key: str) -> Any:
        published = super().reply(account, interaction, text, idempotency_key=idempotency_key)
        threading.Timer(0.2, self.stop.set).start()
        return published


def test_a_stopping_worker_hands_back_the_replies_it_was_waiting_to_send(
    db: Database, ws: WorkspaceFixture
) -> None:
    """The tick claims what is due in the next 50 s and waits for each planned second. Asked
    to stop, it must not wait that out (it held Ctrl-C for up to 30 s): the replies not yet
    started go back to the queue as they were planned, and the next tick sends them once."""
    account = make_account(db, ws, "simulated")
    first = enqueue(db, make_interaction(db, ws, account, 1), "One", now=NOW)
    later = [
        enqueue(
            db,
            make_interaction(db, ws, account, n),
            f"Reply {n}",
            now=NOW + dt.timedelta(seconds=40),
        )
        for n in (2, 3)
    ]
    tick_at = item(db, first).scheduled_for
    planned = {i: item(db, i).scheduled_for for i in later}
    assert all(when - tick_at >= dt.timedelta(seconds=35) for when in planned.values())
    stop = threading.Event()
    publisher = _StopsTheWorker(stop)
    outcome: dict[str, int] = {}

    def run_tick() -> None:
        result = sender.tick(
            db, now=tick_at, publisher_factory=factory(publisher), lookahead_s=50, stop=stop
        )
        outcome.update(result.as_dict())

    worker = threading.Thread(target=run_tick)
    worker.start()
    worker.join(timeout=20)  # the next reply is planned 35+ s out: a stop must end the wait
    assert not worker.is_alive(), "the tick waited for its next reply after the stop"
    assert outcome["claimed"] == 3 and outcome["sent"] == 1 and outcome["released"] == 2
    assert publisher.calls == ["One"]
    for item_id in later:
        row = item(db, item_id)
        assert row.status == ReplyStatus.pending
        assert row.locked_by is None and row.lease_expires_at is None
        assert row.scheduled_for == planned[item_id]  # not pushed back, not brought forward
        assert row.attempts == 0 and row.publish_started_at is None

    # The next ticks (a restarted worker, stop flag clear) send them once each, paced.
    restarted = FakePublisher()
    for minute in range(1, 4):
        at = max(planned.values()) + dt.timedelta(minutes=minute)
        sender.tick(db, now=at, publisher_factory=factory(restarted))
    assert sorted(restarted.calls) == ["Reply 2", "Reply 3"]
    assert [item(db, i).status for i in later] == [ReplyStatus.sent, ReplyStatus.sent]
    assert publisher.calls == ["One"]


class _VirtualTime:
    """The sender's clock in a test: `sleep` moves it instead of waiting."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.elapsed += max(0.0, seconds)


def test_a_backlog_found_after_a_pause_leaves_with_each_replys_own_random_delay(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker was stopped while 40 replies waited; when it comes back they are overdue.
    They must not go out at the bare minimum interval (2.000 s on the demo platform) in bursts
    of 10: each keeps the interval plus its own random extra delay. Ticks run as the periodic
    task runs them (every minute, 50 s ahead), on a virtual clock."""
    account = make_account(db, ws, "simulated")
    ids = [enqueue(db, make_interaction(db, ws, account, n)) for n in range(40)]
    publisher = FakePublisher()
    clock = _VirtualTime()
    monkeypatch.setattr(sender, "time", clock)
    tick_at = NOW + dt.timedelta(hours=2)
    for _ in range(30):
        clock.elapsed = 0.0
        sender.tick(
            db, now=tick_at, publisher_factory=factory(publisher), lookahead_s=50, sleep=clock.sleep
        )
        if len(publisher.calls) == 40:
            break
        tick_at += dt.timedelta(seconds=max(60.0, clock.elapsed))  # the next minute's tick
    sent = sorted(item(db, i).publish_started_at for i in ids)  # type: ignore[type-var]
    assert len(publisher.calls) == 40 and None not in sent
    exact = [(b - a).total_seconds() for a, b in zip(sent, sent[1:], strict=False)]
    gaps = [round(gap, 3) for gap in exact]
    assert all(gap >= 2.0 for gap in gaps), gaps
    assert sum(gap == 2.0 for gap in gaps) <= 1, gaps
    # Compared to the microsecond: two independent draws agree to the millisecond about once
    # in 2,500 pairs (39 pairs here), to the microsecond practically never; one shared
    # delay would make them all equal.
    assert all(x != y for x, y in zip(exact, exact[1:], strict=False)), exact
    per_minute = max(
        sum(1 for t in sent if s <= t < s + dt.timedelta(minutes=1))
        for s in sent  # type: ignore[operator]
    )
    assert per_minute <= 10
