"""Fulfilment under concurrency and repeated events, at the service (both databases)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from factories import make_workspace
from socialpulse.billing import payments_webhooks
from socialpulse.billing import wallets as billing_wallets
from socialpulse.billing.models import LedgerEntry, LedgerKind
from socialpulse.billing.payments_models import PaymentEvent
from socialpulse.db import Database


def _paid_topup(event_id: str, workspace_id: int, credits: int = 1000) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_concurrent",
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "status": "complete",
                "amount_total": 5000,
                "currency": "usd",
                "client_reference_id": str(workspace_id),
                "metadata": {
                    "workspace_id": str(workspace_id),
                    "kind": "topup",
                    "package": "credits_1000",
                    "credits": str(credits),
                },
            }
        },
    }


def _topups(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(
                    LedgerEntry.workspace_id == workspace_id, LedgerEntry.kind == LedgerKind.topup
                )
            )
            or 0
        )


def _balance(db: Database, workspace_id: int) -> int:
    with db.session() as session:
        return billing_wallets.wallet_for(session, workspace_id).balance


def test_two_deliveries_of_one_event_at_once_credit_it_once(db: Database) -> None:
    workspace_id = make_workspace(db, "acme").workspace_id
    _balance(db, workspace_id)  # the wallet exists before the race, as after any checkout
    event = _paid_topup("evt_raced", workspace_id)
    barrier = threading.Barrier(4)
    answers: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            with db.session() as session:
                answers.append(payments_webhooks.handle_event(session, "stripe", event).status)
        except BaseException as exc:  # reported below, with the thread's answer
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(answers) == ["duplicate", "duplicate", "duplicate", "fulfilled"]
    assert _balance(db, workspace_id) == 1000
    assert _topups(db, workspace_id) == 1
    with db.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(PaymentEvent)) == 1


def test_one_checkout_announced_by_two_events_is_credited_once(db: Database) -> None:
    workspace_id = make_workspace(db, "acme").workspace_id
    completed = _paid_topup("evt_completed", workspace_id)
    succeeded = {**_paid_topup("evt_async", workspace_id)}
    succeeded["type"] = "checkout.session.async_payment_succeeded"

    with db.session() as session:
        first = payments_webhooks.handle_event(session, "stripe", completed)
    with db.session() as session:
        second = payments_webhooks.handle_event(session, "stripe", succeeded)

    assert (first.status, second.status) == ("fulfilled", "ignored")
    assert "credited by event evt_completed" in second.message
    assert _balance(db, workspace_id) == 1000
    assert _topups(db, workspace_id) == 1


def test_a_checkout_whose_metadata_names_no_credits_is_rejected_and_credits_nothing(
    db: Database,
) -> None:
    workspace_id = make_workspace(db, "acme").workspace_id
    event = _paid_topup("evt_bad_meta", workspace_id)
    event["data"]["object"]["metadata"]["credits"] = "-5"

    with db.session() as session:
        ack = payments_webhooks.handle_event(session, "stripe", event)

    assert ack.status == "rejected"
    assert _balance(db, workspace_id) == 0
    assert _topups(db, workspace_id) == 0
