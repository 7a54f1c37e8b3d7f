"""Delivering events to a real local receiver: signatures, retries with backoff and
Retry-After, giving up, redirects, 410 Gone, timeouts, replays and a worker that died."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from sqlalchemy import update
from werkzeug import Request, Response

from factories import WorkspaceFixture
from socialpulse.db import Database, utcnow
from socialpulse.webhooks import delivery as sender
from socialpulse.webhooks import service
from socialpulse.webhooks.models import DeliveryStatus, WebhookDelivery
from socialpulse.webhooks.schemas import SubscriptionUpdate
from socialpulse.worker import jobs
from webhooks.conftest import Receiver
from webhooks.helpers import (
    BOX,
    deliveries,
    delivery,
    emit,
    run_retry,
    subscribe,
    subscription,
)

DATA = {"id": 7, "platform": "simulated", "text_excerpt": "Love it"}


def test_an_event_arrives_signed_per_standard_webhooks(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)

    [got] = receiver.received
    assert got.signature_ok and got.timestamp_ok
    assert got.webhook_id.startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    assert got.event["type"] == "interaction.received"
    assert got.event["data"] == DATA
    assert got.event["timestamp"].endswith("Z")
    [row] = deliveries(db)
    assert row.status is DeliveryStatus.delivered
    assert (row.event_id, row.attempts, row.last_status_code) == (got.webhook_id, 1, 204)
    assert row.delivered_at is not None and row.duration_ms is not None


def test_a_500_is_retried_after_the_backoff_then_delivered(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    receiver.answer(Response("upstream down", status=500))
    subscribe(db, ws, receiver)
    before = utcnow()
    emit(db, ws.workspace_id, "interaction.received", DATA)

    [row] = deliveries(db)
    assert row.status is DeliveryStatus.pending
    assert (row.attempts, row.last_status_code, row.last_error) == (1, 500, "HTTP 500")
    assert row.response_excerpt == "upstream down"
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - before >= sender.RETRY_DELAYS[0]

    row = run_retry(db, row.id)
    assert row.status is DeliveryStatus.delivered
    assert row.attempts == 2
    first, second = receiver.received
    assert first.webhook_id == second.webhook_id  # the receiver can deduplicate
    assert second.signature_ok
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    db: Database, ws: WorkspaceFixture, receiver: Receiver, status: int
) -> None:
    receiver.answer(Response(status=status, headers={"Retry-After": "120"}))
    subscribe(db, ws, receiver)
    before = utcnow()
    emit(db, ws.workspace_id, "interaction.received", DATA)

    [row] = deliveries(db)
    assert row.status is DeliveryStatus.pending
    assert row.next_attempt_at is not None
    wait = row.next_attempt_at - before
    assert dt.timedelta(seconds=120) <= wait < dt.timedelta(seconds=130)
    # Nothing is sent before the receiver's time: the next attempt's job waits for it too.
    jobs.drain(db)
    assert len(receiver.received) == 1
    assert run_retry(db, row.id).status is DeliveryStatus.delivered


def test_a_delivery_fails_after_the_last_attempt_and_says_why(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    receiver.answer(*[Response(status=502) for _ in range(sender.MAX_ATTEMPTS)])
    subscription_id = subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)
    [row] = deliveries(db)
    while row.status is DeliveryStatus.pending:
        row = run_retry(db, row.id)

    assert row.status is DeliveryStatus.failed
    assert row.attempts == sender.MAX_ATTEMPTS == len(receiver.received)
    assert row.last_error == f"HTTP 502 (gave up after {sender.MAX_ATTEMPTS} attempts)"
    with db.session(readonly=True) as session:
        log = service.list_deliveries(session, ws.subject, status=DeliveryStatus.failed)
    assert [d.id for d in log.items] == [row.id]
    # About a day and a half of failures: not yet long enough to disable the subscription.
    assert subscription(db, subscription_id).enabled


def test_a_redirect_is_not_followed(db: Database, ws: WorkspaceFixture, receiver: Receiver) -> None:
    receiver.answer(Response(status=302, headers={"Location": receiver.url("/elsewhere")}))
    subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)

    [row] = deliveries(db)
    assert row.status is DeliveryStatus.pending
    assert row.last_status_code == 302
    assert row.last_error is not None and "not followed" in row.last_error
    assert [r.path for r in receiver.received] == ["/hook"]


def test_410_gone_fails_at_once_and_disables_the_subscription(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    receiver.answer(Response(status=410))
    subscription_id = subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)

    [row] = deliveries(db)
    assert row.status is DeliveryStatus.failed and row.attempts == 1
    disabled = subscription(db, subscription_id)
    assert not disabled.enabled
    assert disabled.disabled_reason == "disabled automatically: the receiver answered 410 Gone"
    emit(db, ws.workspace_id, "interaction.received", DATA)
    assert len(deliveries(db)) == 1  # a disabled subscription gets no new events


def test_a_receiver_failing_for_days_gets_its_subscription_disabled(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscription_id = subscribe(db, ws, receiver)
    receiver.answer(*[Response(status=500) for _ in range(3)])
    emit(db, ws.workspace_id, "interaction.received", DATA)
    later = utcnow() + sender.AUTO_DISABLE_AFTER + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        emit(db, ws.workspace_id, "interaction.received", DATA)

    disabled = subscription(db, subscription_id)
    assert not disabled.enabled
    assert disabled.disabled_reason is not None
    assert disabled.disabled_reason.startswith("disabled automatically: every delivery failed")


def test_a_success_ends_the_failure_run(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscription_id = subscribe(db, ws, receiver)
    receiver.answer(Response(status=500))
    emit(db, ws.workspace_id, "interaction.received", DATA)
    assert subscription(db, subscription_id).failing_since is not None
    run_retry(db, deliveries(db)[0].id)
    assert subscription(db, subscription_id).failing_since is None


def test_a_slow_receiver_times_out_and_is_retried(
    db: Database, ws: WorkspaceFixture, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "REQUEST_TIMEOUT_S", 0.3)

    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(status=204)

    receiver.server.clear_all_handlers()
    receiver.server.expect_oneshot_request("/hook").respond_with_handler(slow)
    subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)

    [row] = deliveries(db)
    assert row.status is DeliveryStatus.pending
    assert (row.last_status_code, row.last_error) == (None, "no answer within 0.3 s")


def test_a_replay_is_a_new_delivery_with_the_same_webhook_id(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)
    [original] = deliveries(db)

    with db.session() as session:
        replay_id = service.replay_delivery(session, ws.subject, original.id).id

    first, again = receiver.received
    assert again.webhook_id == first.webhook_id == original.event_id
    assert again.event == first.event and again.signature_ok
    replay = delivery(db, replay_id)
    assert replay.status is DeliveryStatus.delivered
    assert replay.replay_of_id == original.id and replay.id != original.id


def test_a_delivery_whose_worker_died_is_taken_over_by_the_sweep(
    db: Database, ws: WorkspaceFixture, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)  # jobs wait to be run
    subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)
    [row] = deliveries(db)
    with db.session() as session:  # claimed by a worker that then died mid-request
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row.id)
            .values(
                status=DeliveryStatus.sending,
                attempts=1,
                locked_by="dead-worker",
                lease_expires_at=utcnow() + dt.timedelta(seconds=sender.LEASE_S),
            )
        )
    jobs.drain(db)  # the first attempt's job finds the row held by that worker: it leaves it
    assert receiver.received == []
    assert sender.sweep(db) == {"queued": 0}  # the lease still runs

    with time_machine.travel(utcnow() + dt.timedelta(seconds=sender.LEASE_S + 1), tick=True):
        assert sender.sweep(db) == {"queued": 1}
        jobs.drain(db)
    row = delivery(db, row.id)
    assert row.status is DeliveryStatus.delivered
    assert row.attempts == 2 and len(receiver.received) == 1


def test_a_disabled_subscription_sends_nothing_it_had_queued(
    db: Database, ws: WorkspaceFixture, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)
    subscription_id = subscribe(db, ws, receiver)
    emit(db, ws.workspace_id, "interaction.received", DATA)
    with db.session() as session:
        service.update_subscription(
            session, ws.subject, subscription_id, SubscriptionUpdate(enabled=False)
        )
    jobs.drain(db)
    [row] = deliveries(db)
    assert row.status is DeliveryStatus.failed
    assert row.last_error == "not sent: the subscription is disabled (disabled by a member)"
    assert receiver.received == []


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_day(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscription_id = subscribe(db, ws, receiver)
    old = receiver.secrets["/hook"]
    with db.session() as session:
        new = service.rotate_secret(session, ws.subject, subscription_id, box=BOX).secret
    assert new != old

    emit(db, ws.workspace_id, "interaction.received", DATA)
    assert len(receiver.received[-1].headers["webhook-signature"].split()) == 2
    assert receiver.received[-1].signature_ok  # the old secret still verifies
    receiver.secrets["/hook"] = new
    emit(db, ws.workspace_id, "interaction.received", DATA)
    assert receiver.received[-1].signature_ok  # and so does the new one

    with time_machine.travel(utcnow() + sender.ROTATED_SECRET_GRACE + dt.timedelta(hours=1)):
        emit(db, ws.workspace_id, "interaction.received", DATA)
    assert len(receiver.received[-1].headers["webhook-signature"].split()) == 1
