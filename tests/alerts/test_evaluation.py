"""Each rule kind fires when its condition holds and not otherwise, once per episode (re-armed
when the condition clears), with an `alert.fired` webhook event in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.helpers import add_rule, alerts, comments, evaluate, rule_row, snapshot
from factories import Builder, WorkspaceFixture, make
from socialpulse.alerts import service
from socialpulse.alerts.evaluation import EVENT_TYPE
from socialpulse.alerts.models import AlertKind
from socialpulse.alerts.schemas import AlertRuleUpdate
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import InteractionKind
from socialpulse.webhooks.models import WebhookDelivery, WebhookSubscription
from socialpulse.worker import jobs

TODAY = utcnow().date()


def _day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


@pytest.fixture
def account_id(db: Database, ws: WorkspaceFixture) -> int:
    return Builder(db).account(ws.workspace_id, "garden_lab")


# --- follower_drop ------------------------------------------------------------------------------


def test_a_follower_drop_past_the_percent_fires(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    rule_id = add_rule(db, ws, account_id, kind="follower_drop")  # default: 5 % over 7 days
    snapshot(db, account_id, _day(3), 1000)
    snapshot(db, account_id, _day(1), 990)
    snapshot(db, account_id, TODAY, 940)
    [fired] = evaluate(db, account_id)
    [alert] = alerts(db)
    assert alert.id == fired
    assert (alert.kind, alert.rule_id, alert.unit) == (AlertKind.follower_drop, rule_id, "percent")
    assert (alert.measured_value, alert.threshold, alert.baseline_value) == (6.0, 5.0, 1000)
    assert "lost 60 followers (6.0 %)" in alert.message
    assert alert.acknowledged_at is None


@pytest.mark.parametrize(
    "history",
    [
        [(3, 1000), (0, 970)],  # 3 %: under the 5 % threshold
        [(3, 1000), (0, 1200)],  # a gain
        [(10, 2000), (0, 1000)],  # the drop is older than the 7-day window
        [(0, 500)],  # nothing to compare with yet
    ],
)
def test_a_follower_drop_under_the_threshold_or_outside_the_window_does_not_fire(
    db: Database, ws: WorkspaceFixture, account_id: int, history: list[tuple[int, int]]
) -> None:
    add_rule(db, ws, account_id, kind="follower_drop")
    for days_ago, followers in history:
        snapshot(db, account_id, _day(days_ago), followers)
    assert evaluate(db, account_id) == []
    assert alerts(db) == []


def test_a_follower_drop_rule_with_a_count_fires_on_followers_lost(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    add_rule(db, ws, account_id, kind="follower_drop", count=50, days=3)
    snapshot(db, account_id, _day(2), 100_000)
    snapshot(db, account_id, TODAY, 99_940)  # 0.06 %: only the count says so
    evaluate(db, account_id)
    [alert] = alerts(db)
    assert (alert.unit, alert.measured_value, alert.threshold) == ("followers", 60, 50)


# --- engagement_drop ----------------------------------------------------------------------------


def test_an_engagement_rate_drop_below_the_average_fires(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    add_rule(db, ws, account_id, kind="engagement_drop")  # default: 30 % vs 7 days
    snapshot(db, account_id, _day(2), engagement_rate=0.04)
    snapshot(db, account_id, _day(1), engagement_rate=0.05)
    snapshot(db, account_id, TODAY, engagement_rate=0.018)
    evaluate(db, account_id)
    [alert] = alerts(db)
    assert alert.kind == AlertKind.engagement_drop
    assert alert.unit == "percent"
    assert alert.measured_value == pytest.approx(60.0)
    assert alert.baseline_value == pytest.approx(0.045)
    assert "1.80 %" in alert.message and "4.50 %" in alert.message


def test_an_engagement_rate_close_to_its_average_does_not_fire(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    add_rule(db, ws, account_id, kind="engagement_drop")
    snapshot(db, account_id, _day(2), engagement_rate=0.04)
    snapshot(db, account_id, _day(1), engagement_rate=0.05)
    snapshot(db, account_id, TODAY, engagement_rate=0.04)  # 11 % under: below 30 %
    assert evaluate(db, account_id) == []


# --- negative_spike -----------------------------------------------------------------------------


def test_a_spike_of_negative_comments_fires(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    add_rule(db, ws, account_id, kind="negative_spike")  # default: >= 5 and >= 3x, 7 days
    comments(db, account_id, 4, hours_ago=2)
    comments(db, account_id, 2, hours_ago=20, kind=InteractionKind.reply)
    comments(db, account_id, 7, hours_ago=24 * 4)  # one a day over the 7 days before
    evaluate(db, account_id)
    [alert] = alerts(db)
    assert (alert.kind, alert.unit, alert.measured_value) == (
        AlertKind.negative_spike,
        "comments",
        6,
    )
    assert (alert.threshold, alert.baseline_value) == (5, 1.0)
    assert "6 negative comments in the last 24 h" in alert.message


@pytest.mark.parametrize(
    "recent",
    [
        [(6, "negative", InteractionKind.comment), (70, "negative", InteractionKind.comment)],
        [(3, "negative", InteractionKind.comment), (20, "neutral", InteractionKind.comment)],
        [(9, "negative", InteractionKind.mention), (9, "negative", InteractionKind.direct_message)],
    ],
    ids=["usual-for-this-account", "few-negative", "not-comments-on-posts"],
)
def test_negative_comments_at_their_usual_rate_or_too_few_do_not_fire(
    db: Database,
    ws: WorkspaceFixture,
    account_id: int,
    recent: list[tuple[int, str, InteractionKind]],
) -> None:
    add_rule(db, ws, account_id, kind="negative_spike")
    (n, sentiment, kind), (m, other_sentiment, other_kind) = recent
    comments(db, account_id, n, hours_ago=3, sentiment=sentiment, kind=kind)
    # The second group: the days before (a high usual rate), or more of the last 24 h.
    hours = 24 * 3 if m == 70 else 3
    comments(db, account_id, m, hours_ago=hours, sentiment=other_sentiment, kind=other_kind)
    assert evaluate(db, account_id) == []


# --- episodes -----------------------------------------------------------------------------------


def test_an_alert_fires_once_per_episode_and_again_after_the_condition_cleared(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    rule_id = add_rule(db, ws, account_id, kind="follower_drop", percent=10)
    snapshot(db, account_id, _day(2), 1000)
    snapshot(db, account_id, TODAY, 850)
    assert len(evaluate(db, account_id)) == 1
    assert rule_row(db, rule_id).active_since is not None
    # Still down at the next fetches: the same episode, no new alert.
    snapshot(db, account_id, TODAY, 800)
    assert evaluate(db, account_id) == []
    assert evaluate(db, account_id) == []
    # Recovered: the rule re-arms and the alert says when its condition cleared.
    snapshot(db, account_id, TODAY, 990)
    assert evaluate(db, account_id) == []
    assert rule_row(db, rule_id).active_since is None
    [first] = alerts(db)
    assert first.cleared_at is not None
    # A new drop is a new episode.
    snapshot(db, account_id, TODAY, 700)
    assert len(evaluate(db, account_id)) == 1
    assert [a.cleared_at is None for a in alerts(db)] == [False, True]


def test_a_disabled_rule_does_not_fire(db: Database, ws: WorkspaceFixture, account_id: int) -> None:
    add_rule(db, ws, account_id, kind="follower_drop", enabled=False)
    snapshot(db, account_id, _day(2), 1000)
    snapshot(db, account_id, TODAY, 500)
    assert evaluate(db, account_id) == []


# --- webhooks -----------------------------------------------------------------------------------


def test_a_fired_alert_is_queued_to_the_webhooks_with_the_documented_payload(
    db: Database,
    ws: WorkspaceFixture,
    other_ws: WorkspaceFixture,
    account_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)  # the row, not the sending
    with db.session() as session:
        for fixture, types in [
            (ws, ["alert.fired"]),
            (ws, ["reply.sent"]),
            (other_ws, ["alert.fired"]),
        ]:
            make(
                session,
                WebhookSubscription,
                workspace_id=fixture.workspace_id,
                url="https://hooks.example.com/alerts",
                event_types=types,
                secret_encrypted="unused",
                enabled=True,
            )
    rule_id = add_rule(db, ws, account_id, kind="follower_drop")
    snapshot(db, account_id, _day(1), 1000)
    snapshot(db, account_id, TODAY, 900)
    [alert_id] = evaluate(db, account_id)

    with db.session(readonly=True) as session:
        [delivery] = session.query(WebhookDelivery).all()
        payload, event_type, workspace_id = (
            delivery.payload,
            delivery.event_type,
            delivery.workspace_id,
        )
    assert (event_type, workspace_id) == (EVENT_TYPE, ws.workspace_id)
    assert payload["type"] == "alert.fired"
    [alert] = alerts(db)
    assert payload["data"] == {
        "alert_id": alert_id,
        "rule_id": rule_id,
        "account_id": account_id,
        "platform": "simulated",
        "handle": "garden_lab",
        "kind": "follower_drop",
        "fired_at": alert.fired_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "measured_value": 10.0,
        "threshold": 5.0,
        "baseline_value": 1000.0,
        "unit": "percent",
        "message": alert.message,
    }


def test_new_thresholds_re_arm_a_rule_but_pausing_keeps_its_episode(
    db: Database, ws: WorkspaceFixture, account_id: int
) -> None:
    rule_id = add_rule(db, ws, account_id, kind="follower_drop")
    snapshot(db, account_id, _day(1), 1000)
    snapshot(db, account_id, TODAY, 800)
    assert len(evaluate(db, account_id)) == 1

    def patch(**changes: object) -> None:
        with db.session() as session:
            body = AlertRuleUpdate.model_validate(changes)
            service.update_rule(session, ws.subject, account_id, rule_id, body)

    patch(enabled=False)
    patch(enabled=True)
    assert evaluate(db, account_id) == []  # the same episode
    patch(percent=15)
    assert len(evaluate(db, account_id)) == 1  # 20 % is past the new threshold: a new decision
