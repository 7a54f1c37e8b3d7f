"""Publishing and workspace analytics in the dashboard: the calendar and its drag endpoint, the
composer (counts, errors back on the form, scheduling, media, best slot), the queue with
retry, and the overview and ROI pages with their forms."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

import publishing_support as support
from dashboard_pages import csrf, log_in
from factories import PASSWORD, WorkspaceFixture, add_account, make_workspace
from publishing_support import PLATFORM, PlatformDouble, png_bytes
from socialpulse.db import Database
from socialpulse.insights import roi
from socialpulse.publishing import service
from socialpulse.publishing.models import Delivery, DeliveryStatus, PostStatus
from socialpulse.publishing.schemas import PostCreate, PostRead, RecurrenceIn, TargetIn
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role

# The publishing tests' fixtures: a test platform with Bluesky's 300-grapheme limit, a workspace
# and its account on it, and a time an hour ahead.
platform = support.platform
ws = support.ws
account = support.account
soon = support.soon


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+" role="status">([^<]*)</div>', html)


def _local(at: dt.datetime) -> str:
    """``at`` as the composer's datetime-local value in UTC (the test workspace's zone)."""
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")


def _schedule(
    db: Database, ws: WorkspaceFixture, account: int, when: dt.datetime, **extra: object
) -> PostRead:
    with db.session() as session:
        body = PostCreate(
            text="Launch day!", scheduled_at=when, targets=[TargetIn(account_id=account)], **extra
        )
        return service.create_post(session, ws.subject, body)


def _compose(client: TestClient, data: dict[str, object], files: object = None) -> object:
    token = csrf(client.get("/publishing/new").text)
    return client.post(
        "/publishing/new",
        data={**data, "csrf_token": token},
        files=files,  # type: ignore[arg-type]
        follow_redirects=False,
    )


def _viewer(db: Database, ws: WorkspaceFixture) -> WorkspaceFixture:
    with db.session() as session:
        user = workspace_service.create_user(session, "viewer@publish.test", PASSWORD, "Vi")
        workspace_service.add_member(session, ws.subject, user.email, Role.viewer)
        user_id = user.id
    return WorkspaceFixture(ws.workspace_id, ws.slug, user_id, "viewer@publish.test", ws.keys)


# --------------------------------------------------------------------------- pages


def test_every_publishing_and_analytics_page_renders_for_a_member(
    client: TestClient, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    for path, heading in [
        ("/publishing", "Calendar"),
        ("/publishing/new", "New post"),
        ("/publishing/queue", "Queue"),
        ("/analytics/overview", "Engagement by day"),
        ("/analytics/roi", "How it is computed"),
    ]:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert f"<h2>{heading}</h2>" in page.text or f">{heading}</h2>" in page.text, path
    assert 'href="/publishing"' in client.get("/").text  # in the main navigation


def test_another_workspaces_post_is_not_found_in_the_composer(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    other = make_workspace(db, "someone-else")
    log_in(client, other)
    assert client.get(f"/publishing/posts/{post.id}/edit").status_code == 404


# --------------------------------------------------------------------------- composer


def test_a_refused_post_comes_back_with_the_input_and_the_message_next_to_the_time(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    refused = _compose(
        client,
        {
            "text": "Our spring launch",
            "hashtags": "spring launch",
            "account_ids": str(account),
            "scheduled_at": _local(past),
            "zone": "UTC",
            "action": "schedule",
        },
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    error = re.search(r'data-testid="error-scheduled_at">([^<]+)<', html)
    assert error is not None and "is in the past" in error.group(1)
    assert ">Our spring launch</textarea>" in html
    assert 'value="spring launch"' in html
    assert re.search(rf'value="{account}"[^>]*checked', html)
    with db.session() as session:
        assert service.list_posts(session, ws.subject).total == 0


def test_scheduling_from_the_form_creates_a_scheduled_post(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, ws)
    done = _compose(
        client,
        {
            "text": "Doors open at nine",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "action": "schedule",
        },
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    with db.session() as session:
        [post] = service.list_posts(session, ws.subject).items
    assert (post.status, post.text, post.scheduled_at) == (
        PostStatus.scheduled,
        "Doors open at nine",
        soon,
    )
    assert any("scheduled for" in text for text in _flashes(client.get("/publishing").text))


def test_a_draft_from_the_form_has_no_delivery(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    saved = _compose(client, {"text": "Idea for later", "action": "draft"})
    assert saved.status_code == 303  # type: ignore[attr-defined]
    with db.session() as session:
        [summary] = service.list_posts(session, ws.subject).items
        post = service.read_post(session, ws.subject, summary.id)
    assert (post.status, post.deliveries) == (PostStatus.draft, [])


def test_a_recurring_series_is_scheduled_from_the_form(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, ws)
    _compose(
        client,
        {
            "text": "Daily tip",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "repeat": "interval",
            "every": "1d",
            "count": "3",
            "action": "schedule",
        },
    )
    with db.session() as session:
        [summary] = service.list_posts(session, ws.subject).items
        post = service.read_post(session, ws.subject, summary.id)
    assert post.recurrence is not None
    assert (post.recurrence.interval_s, post.recurrence.count) == (86_400, 3)


def test_the_composer_counts_graphemes_where_the_platform_does(
    client: TestClient, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    # Two thumbs with a skin tone: 4 code points, 2 graphemes (the test platform counts those).
    shown = _compose(client, {"text": "👍🏽👍🏽", "account_ids": str(account), "action": "suggest"})
    html = shown.text  # type: ignore[attr-defined]
    count = re.search(rf'data-testid="count-{account}"><span data-count>(\d+)</span> / 300', html)
    assert count is not None and count.group(1) == "2"
    assert "graphemes" in html


def test_too_long_text_is_refused_with_the_platforms_limit(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, ws)
    refused = _compose(
        client,
        {
            "text": "x" * 301,
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "action": "schedule",
        },
    )
    html = refused.text  # type: ignore[attr-defined]
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert re.search(r'data-testid="error-accounts">[^<]*300', html), html
    assert f'data-testid="count-{account}"><span data-count>301</span>' in html


def test_an_uploaded_image_is_attached_and_kept_when_the_post_is_refused(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    refused = _compose(
        client,
        {"text": "With a photo", "account_ids": str(account), "action": "schedule"},
        files={"file": ("photo.png", png_bytes(), "image/png")},
    )
    html = refused.text  # type: ignore[attr-defined]
    # No time: refused, but the stored upload stays on the form for the next try.
    assert refused.status_code == 422  # type: ignore[attr-defined]
    media = re.search(r'name="media_ids" value="(\d+)"', html)
    assert media is not None


def test_the_best_slot_button_fills_the_time(
    client: TestClient, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    filled = _compose(
        client, {"text": "When?", "account_ids": str(account), "zone": "UTC", "action": "best_slot"}
    )
    html = filled.text  # type: ignore[attr-defined]
    slot = re.search(r'data-use-slot="([^"]+)"', html)
    assert slot is not None
    assert f'name="scheduled_at" value="{slot.group(1)}"' in html


def test_offline_suggestions_show_the_platform_checks(
    client: TestClient, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    shown = _compose(
        client, {"text": "see http://localhost/x", "account_ids": str(account), "action": "suggest"}
    )
    html = shown.text  # type: ignore[attr-defined]
    assert 'data-testid="suggestions"' in html
    assert re.search(r'data-testid="checks">.*<li', html, re.S)


def test_editing_a_post_changes_its_text(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    page = client.get(f"/publishing/posts/{post.id}/edit").text
    assert ">Launch day!</textarea>" in page
    saved = client.post(
        f"/publishing/posts/{post.id}/edit",
        data={
            "csrf_token": csrf(page),
            "text": "Launch day, take two",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "action": "schedule",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with db.session() as session:
        assert service.read_post(session, ws.subject, post.id).text == "Launch day, take two"


def test_a_viewer_cannot_write_a_post(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, _viewer(db, ws))
    refused = _compose(
        client,
        {
            "text": "Not mine to say",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "action": "schedule",
        },
    )
    assert refused.status_code == 303  # type: ignore[attr-defined]
    with db.session() as session:
        assert service.list_posts(session, ws.subject).total == 0
    assert any("editor" in text for text in _flashes(client.get("/publishing").text))


# --------------------------------------------------------------------------- calendar


def test_the_calendar_feed_has_the_post_in_the_visible_range(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    start = (soon - dt.timedelta(days=3)).isoformat()
    end = (soon + dt.timedelta(days=3)).isoformat()
    [event] = client.get("/publishing/events", params={"start": start, "end": end}).json()
    assert event["extendedProps"]["postId"] == post.id
    assert event["classNames"] == ["ev-scheduled"]
    # A wall time in the workspace's zone (UTC here), as the calendar shows it.
    assert event["start"] == soon.replace(tzinfo=None).isoformat()
    later = client.get(
        "/publishing/events",
        params={
            "start": (soon + dt.timedelta(days=1)).isoformat(),
            "end": (soon + dt.timedelta(days=5)).isoformat(),
        },
    )
    assert later.json() == []


def test_the_calendar_shows_a_series_occurrences_beyond_its_deliveries(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    _schedule(db, ws, account, soon, recurrence=RecurrenceIn(every="1d", count=40))
    log_in(client, ws)
    events = client.get(
        "/publishing/events",
        params={"start": soon.isoformat(), "end": (soon + dt.timedelta(days=35)).isoformat()},
    ).json()
    assert len(events) == 35
    assert len({e["start"] for e in events}) == 35


def test_the_calendar_lists_upcoming_posts_without_javascript(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    page = client.get("/publishing").text
    assert f'href="/publishing/posts/{post.id}/edit"' in page and "Launch day!" in page


def _move(client: TestClient, body: dict[str, object], token: str | None = None) -> object:
    token = token or csrf(client.get("/publishing/new").text)
    return client.post(
        "/publishing/events/move",
        json=body,
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )


def test_dragging_a_post_reschedules_it(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    later = soon + dt.timedelta(days=2, hours=3)
    moved = _move(client, {"post_id": post.id, "start": later.isoformat()})
    assert moved.status_code == 200, moved.text  # type: ignore[attr-defined]
    with db.session() as session:
        again = service.read_post(session, ws.subject, post.id)
    assert again.scheduled_at == later
    assert [d.scheduled_for for d in again.deliveries if d.status == DeliveryStatus.scheduled] == [
        later
    ]


def test_dragging_to_a_past_time_is_refused_with_the_reason(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    refused = _move(client, {"post_id": post.id, "start": past.isoformat()})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "in the past" in refused.json()["error"]  # type: ignore[attr-defined]
    with db.session() as session:
        assert service.read_post(session, ws.subject, post.id).scheduled_at == soon


def test_dragging_one_occurrence_of_a_series_moves_only_it(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon, recurrence=RecurrenceIn(every="1d", count=3))
    log_in(client, ws)
    second = soon + dt.timedelta(days=1)
    moved_to = second + dt.timedelta(hours=5)
    moved = _move(
        client,
        {
            "post_id": post.id,
            "occurrence_at": second.isoformat(),
            "recurring": True,
            "start": moved_to.isoformat(),
        },
    )
    assert moved.status_code == 200, moved.text  # type: ignore[attr-defined]
    with db.session() as session:
        found = service.list_occurrences(session, ws.subject, post.id)
    assert [(o.scheduled_for, o.edited) for o in found] == [
        (soon, False),
        (moved_to, True),
        (soon + dt.timedelta(days=2), False),
    ]


def test_dragging_needs_the_csrf_token(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    refused = _move(client, {"post_id": post.id, "start": soon.isoformat()}, token="forged")
    assert refused.status_code == 303  # type: ignore[attr-defined]
    with db.session() as session:
        assert service.read_post(session, ws.subject, post.id).scheduled_at == soon


def test_dragging_another_workspaces_post_is_not_found(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    other = make_workspace(db, "someone-else")
    log_in(client, other)
    refused = _move(
        client, {"post_id": post.id, "start": (soon + dt.timedelta(hours=1)).isoformat()}
    )
    assert refused.status_code == 404  # type: ignore[attr-defined]


def test_a_viewer_cannot_drag(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, _viewer(db, ws))
    refused = _move(
        client, {"post_id": post.id, "start": (soon + dt.timedelta(hours=1)).isoformat()}
    )
    assert refused.status_code == 403  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- queue


def _fail(db: Database, delivery_id: int, message: str) -> None:
    with db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.status = DeliveryStatus.failed
        row.attempts = 3
        row.last_error = message


def test_the_queue_shows_a_failed_delivery_with_its_error_and_retries_it(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    platform: PlatformDouble,
) -> None:
    post = _schedule(db, ws, account, soon)
    [delivery] = post.deliveries
    _fail(db, delivery.id, "the platform said: duplicate status")
    log_in(client, ws)
    page = client.get("/publishing/queue").text
    assert "the platform said: duplicate status" in page
    retried = client.post(
        f"/publishing/queue/{delivery.id}/retry",
        data={"csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert retried.status_code == 303
    with db.session() as session:
        again = service.read_post(session, ws.subject, post.id)
    # Tried again at once (the test worker runs the job inline): published on this attempt.
    assert [(d.status, d.attempts) for d in again.deliveries] == [(DeliveryStatus.published, 1)]
    assert platform.calls == ["Launch day!"]


def test_cancelling_from_the_queue_cancels_the_post(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = _schedule(db, ws, account, soon)
    log_in(client, ws)
    page = client.get("/publishing/queue").text
    done = client.post(
        f"/publishing/posts/{post.id}/cancel",
        data={"csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.session() as session:
        assert service.read_post(session, ws.subject, post.id).status == PostStatus.cancelled
    assert "The queue is empty." in client.get("/publishing/queue").text


def test_the_queue_is_paginated(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    for minutes in range(27):
        _schedule(db, ws, account, soon + dt.timedelta(minutes=minutes))
    log_in(client, ws)
    first = client.get("/publishing/queue").text
    assert first.count('data-testid="delivery-') == 25 and 'rel="next"' in first
    second = client.get("/publishing/queue", params={"page": 2}).text
    assert second.count('data-testid="delivery-') == 2


# --------------------------------------------------------------------------- analytics


def test_the_overview_counts_a_published_post(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    from factories import add_post

    add_post(db, account, "p-1", caption="A hit", likes=30, comments=5, shares=2)
    log_in(client, ws)
    page = client.get("/analytics/overview", params={"days": 7}).text
    assert re.search(r'data-testid="total-posts">1<', page)
    assert re.search(r'data-testid="total-engagement">37<', page)
    assert "A hit" in page


def test_an_unknown_platform_filter_is_a_clear_error(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    log_in(client, ws)
    page = client.get("/analytics/overview", params={"platform": "myspace"})
    assert page.status_code == 422
    assert "myspace" in page.text


def test_the_roi_values_form_saves(client: TestClient, db: Database, ws: WorkspaceFixture) -> None:
    log_in(client, ws)
    page = client.get("/analytics/roi").text
    saved = client.post(
        "/analytics/roi/settings",
        data={
            "csrf_token": csrf(page),
            "currency": "eur",
            "value_per_like": "0.05",
            "value_per_comment": "0.25",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with db.session() as session:
        settings = roi.get_settings(session, ws.subject)
    assert (settings.currency, str(settings.value_per_like), str(settings.value_per_comment)) == (
        "EUR",
        "0.05",
        "0.25",
    )
    assert 'value="0.05"' in client.get("/analytics/roi").text


def test_a_recorded_cost_counts_in_the_roi(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    log_in(client, ws)
    page = client.get("/analytics/roi").text
    today = dt.date.today().isoformat()
    added = client.post(
        "/analytics/roi/costs",
        data={
            "csrf_token": csrf(page),
            "category": "tools",
            "label": "Scheduler licence",
            "amount": "12.50",
            "incurred_on": today,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    html = client.get("/analytics/roi").text
    assert "Scheduler licence" in html
    assert re.search(r'data-testid="roi-cost">12.50 ', html)


def test_a_bad_cost_amount_comes_back_on_the_form(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    log_in(client, ws)
    page = client.get("/analytics/roi").text
    refused = client.post(
        "/analytics/roi/costs",
        data={
            "csrf_token": csrf(page),
            "category": "ads",
            "label": "Boost",
            "amount": "lots",
            "incurred_on": dt.date.today().isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "not a number" in refused.text and 'value="Boost"' in refused.text


def test_a_viewer_cannot_change_the_roi_values(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    log_in(client, _viewer(db, ws))
    page = client.get("/analytics/roi").text
    refused = client.post(
        "/analytics/roi/settings",
        data={"csrf_token": csrf(page), "value_per_like": "9"},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    with db.session() as session:
        assert roi.get_settings(session, ws.subject).is_default


def test_an_account_that_cannot_publish_is_not_offered(
    client: TestClient, db: Database, ws: WorkspaceFixture, platform: PlatformDouble
) -> None:
    able = add_account(db, ws.workspace_id, PLATFORM, handle="speaker", external_id="s-1")
    tracked = add_account(
        db, ws.workspace_id, PLATFORM, handle="rival", external_id="r-1", is_own=False
    )
    log_in(client, ws)
    page = client.get("/publishing/new").text
    assert f'value="{able}"' in page
    assert f'value="{tracked}"' not in page


def test_the_calendar_speaks_the_workspaces_wall_time(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    from factories import Builder

    Builder(db).set_timezone(ws.workspace_id, "Europe/Berlin")
    post = _schedule(db, ws, account, soon)
    berlin = ZoneInfo("Europe/Berlin")
    log_in(client, ws)
    wall = soon.astimezone(berlin).replace(tzinfo=None)
    [event] = client.get(
        "/publishing/events",
        params={
            "start": (wall - dt.timedelta(days=1)).isoformat(),
            "end": (wall + dt.timedelta(days=1)).isoformat(),
        },
    ).json()
    assert event["start"] == wall.isoformat()
    # A drop without an offset is a Berlin wall time.
    target = wall + dt.timedelta(days=1)
    moved = _move(client, {"post_id": post.id, "start": target.isoformat()})
    assert moved.status_code == 200, moved.text  # type: ignore[attr-defined]
    with db.session() as session:
        again = service.read_post(session, ws.subject, post.id)
    assert again.scheduled_at == target.replace(tzinfo=berlin).astimezone(dt.UTC)


def test_a_draft_with_a_time_is_on_the_calendar_as_a_draft(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    with db.session() as session:
        draft = service.create_post(
            session, ws.subject, PostCreate(text="Maybe", scheduled_at=soon, draft=True)
        )
    log_in(client, ws)
    [event] = client.get(
        "/publishing/events",
        params={
            "start": (soon - dt.timedelta(days=1)).isoformat(),
            "end": (soon + dt.timedelta(days=1)).isoformat(),
        },
    ).json()
    assert (event["extendedProps"]["postId"], event["classNames"]) == (draft.id, ["ev-draft"])


def test_a_calendar_range_over_two_months_is_refused(
    client: TestClient, ws: WorkspaceFixture, soon: dt.datetime
) -> None:
    log_in(client, ws)
    refused = client.get(
        "/publishing/events",
        params={"start": soon.isoformat(), "end": (soon + dt.timedelta(days=90)).isoformat()},
    )
    assert refused.status_code == 422
    assert "at most 62 days" in refused.text


def test_the_roi_of_another_workspaces_campaign_is_not_found(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    log_in(client, ws)
    assert client.get("/analytics/roi", params={"campaign": 987_654}).status_code == 404


def test_an_account_gets_its_own_text_from_the_form(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, ws)
    done = _compose(
        client,
        {
            "text": "The long version for everyone",
            f"variant_{account}": "Short one",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "action": "schedule",
        },
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    with db.session() as session:
        [summary] = service.list_posts(session, ws.subject).items
        post = service.read_post(session, ws.subject, summary.id)
    assert [(t.account_id, t.text) for t in post.targets] == [(account, "Short one")]
    page = client.get(f"/publishing/posts/{post.id}/edit").text
    assert re.search(rf'name="variant_{account}"[^>]*>Short one</textarea>', page)


def test_with_a_model_the_rewrite_fills_each_accounts_own_text(
    client: TestClient,
    app: FastAPI,
    httpserver: HTTPServer,
    ws: WorkspaceFixture,
    account: int,
) -> None:
    """Against a local OpenAI-compatible server (as Ollama answers)."""
    original = app.state.settings
    app.state.settings = original.model_copy(
        update={
            "llm_base_url": httpserver.url_for("/v1"),
            "llm_model": "llama3.1:8b",
            "llm_api_key": SecretStr("sk-local"),
            "llm_allow_private": True,
        }
    )
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1764739800,
        "model": "llama3.1:8b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Spring is here: our launch is live!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(answer)
    try:
        log_in(client, ws)
        page = client.get("/publishing/new").text
        assert "Rewrite for each account with the model" in page
        shown = _compose(
            client, {"text": "launch live", "account_ids": str(account), "action": "rewrite"}
        )
    finally:
        app.state.settings = original
    html = shown.text  # type: ignore[attr-defined]
    assert shown.status_code == 200, html  # type: ignore[attr-defined]
    assert re.search(
        rf'name="variant_{account}"[^>]*>Spring is here: our launch is live!</textarea>', html
    )
    assert ">launch live</textarea>" in html  # the post's own text is kept


def test_without_a_model_there_is_no_rewrite_button(
    client: TestClient, ws: WorkspaceFixture, account: int
) -> None:
    log_in(client, ws)
    assert "Rewrite for each account" not in client.get("/publishing/new").text


def test_a_bad_count_is_shown_next_to_the_repeat_fields(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, ws)
    refused = _compose(
        client,
        {
            "text": "Weekly",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "repeat": "cron",
            "cron": "0 14 * * 1",
            "count": "0",
            "action": "schedule",
        },
    )
    html = refused.text  # type: ignore[attr-defined]
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert 'data-testid="error-recurrence"' in html
    assert 'value="0 14 * * 1"' in html


def test_an_invalid_cron_pattern_is_refused_next_to_the_repeat_fields(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    log_in(client, ws)
    refused = _compose(
        client,
        {
            "text": "Weekly",
            "account_ids": str(account),
            "scheduled_at": _local(soon),
            "zone": "UTC",
            "repeat": "cron",
            "cron": "61 25 * * *",
            "action": "schedule",
        },
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    error = re.search(r'data-testid="error-recurrence">([^<]+)<', refused.text)  # type: ignore[attr-defined]
    assert error is not None and "cron" in error.group(1).lower()
