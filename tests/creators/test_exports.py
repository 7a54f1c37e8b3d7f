"""Exports of a list and of the unlocked creators: CSV cells a spreadsheet would run as formulas
are neutralised, a locked creator exports its preview fields only, and ``bulk_export`` is
charged (one free a month, then 50 credits; a retried request once; an empty export never)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import WorkspaceFixture, make
from socialpulse.billing import service as billing
from socialpulse.billing import usage as billing_usage
from socialpulse.billing.models import LedgerEntry
from socialpulse.creators.exports import csv_cell
from socialpulse.creators.models import (
    Creator,
    CreatorAccess,
    CreatorList,
    CreatorListItem,
    CreatorReport,
)
from socialpulse.db import Database, utcnow
from socialpulse.workspaces.models import Role

SECTIONS = {
    "overview": {"bio": "+SUM(A1:A2) runner", "follower_tier": "1k-10k", "posts_per_week": 2.5},
    "engagement": {
        "avg_likes": 40.0,
        "avg_views": None,
        "comment_sentiment": {"positive_share": 0.5, "negative_share": 0.25},
    },
    "content": {"content_quality_score": 70, "top_hashtags": [{"tag": "run"}, {"tag": "5k"}]},
}


@pytest.fixture
def listed(db: Database, ws: WorkspaceFixture) -> dict[str, int]:
    """A list with an unlocked creator (handle ``=cmd``, a report whose bio starts with ``+``)
    and a locked one (handle ``-locked``, bio ``=HYPERLINK(...)`` the export must not show)."""
    with db.session() as session:
        unlocked = make(
            session,
            Creator,
            handle="=cmd",
            display_name="@evil",
            followers_count=1000,
            bio="+SUM(A1:A2) runner",
        ).id
        locked = make(
            session,
            Creator,
            handle="-locked",
            display_name="Locked",
            followers_count=2000,
            bio='=HYPERLINK("http://x.invalid","secret bio")',
        ).id
        make(session, CreatorReport, creator_id=unlocked, sections=SECTIONS)
        make(session, CreatorReport, creator_id=locked, sections=SECTIONS)
        make(session, CreatorAccess, workspace_id=ws.workspace_id, creator_id=unlocked)
        saved = make(session, CreatorList, workspace_id=ws.workspace_id, name="Shortlist")
        now = utcnow()
        make(
            session,
            CreatorListItem,
            list_id=saved.id,
            creator_id=unlocked,
            note="=1+1",
            added_at=now - dt.timedelta(minutes=2),
        )
        make(
            session,
            CreatorListItem,
            list_id=saved.id,
            creator_id=locked,
            note="",
            added_at=now - dt.timedelta(minutes=1),
        )
        return {"list": saved.id, "unlocked": unlocked, "locked": locked}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _ledger(db: Database, ws: WorkspaceFixture) -> list[tuple[int, str, str]]:
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(LedgerEntry.amount, LedgerEntry.funding, LedgerEntry.reference)
            .where(LedgerEntry.workspace_id == ws.workspace_id, LedgerEntry.action == "bulk_export")
            .order_by(LedgerEntry.id)
        )
        return [(amount, str(funding), reference) for amount, funding, reference in rows]


def _grant(db: Database, ws: WorkspaceFixture, credits: int) -> None:
    with db.session() as session:
        billing.grant_credits(session, ws.workspace_id, credits, reason="test")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain text", "plain text"),
        (-5, -5),
        (0.25, 0.25),
        (True, True),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(value: Any, expected: Any) -> None:
    assert csv_cell(value) == expected


def test_the_list_csv_is_formula_safe_and_locked_creators_show_their_preview_only(
    client: TestClient, ws: WorkspaceFixture, listed: dict[str, int]
) -> None:
    response = client.get(f"/api/v1/lists/{listed['list']}/export.csv", headers=ws.headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="list-{listed["list"]}.csv"' in response.headers["content-disposition"]
    assert "HYPERLINK" not in response.text and "secret bio" not in response.text
    unlocked, locked = _rows(response.text)
    assert (unlocked["handle"], unlocked["display_name"]) == ("'=cmd", "'@evil")
    assert unlocked["bio"] == "'+SUM(A1:A2) runner"
    assert unlocked["note"] == "'=1+1"
    assert (unlocked["access"], unlocked["followers_count"]) == ("full", "1000")
    assert (unlocked["avg_likes"], unlocked["top_hashtags"]) == ("40.0", "#run #5k")
    assert unlocked["comment_positive_share"] == "0.5" and unlocked["avg_views"] == ""
    assert (locked["handle"], locked["access"], locked["followers_count"]) == (
        "'-locked",
        "preview",
        "2000",
    )
    assert locked["bio"] == locked["avg_likes"] == locked["content_quality_score"] == ""


def test_the_list_json_leaves_the_report_fields_out_for_a_locked_creator(
    client: TestClient, ws: WorkspaceFixture, listed: dict[str, int]
) -> None:
    response = client.get(f"/api/v1/lists/{listed['list']}/export.json", headers=ws.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == f"list:{listed['list']}" and body["count"] == 2
    unlocked, locked = body["items"]
    # JSON is not run by a spreadsheet: values are as stored.
    assert unlocked["handle"] == "=cmd" and unlocked["bio"] == "+SUM(A1:A2) runner"
    assert unlocked["note"] == "=1+1" and unlocked["content_quality_score"] == 70
    assert locked["access"] == "preview" and locked["handle"] == "-locked"
    assert "bio" not in locked and "avg_likes" not in locked
    assert "secret bio" not in response.text


def test_an_expired_unlock_exports_as_locked(
    client: TestClient, ws: WorkspaceFixture, db: Database, listed: dict[str, int]
) -> None:
    with db.session() as session:
        access = session.scalar(
            select(CreatorAccess).where(CreatorAccess.creator_id == listed["unlocked"])
        )
        assert access is not None
        access.expires_at = utcnow() - dt.timedelta(seconds=1)
    body = client.get(f"/api/v1/lists/{listed['list']}/export.json", headers=ws.headers()).json()
    assert [item["access"] for item in body["items"]] == ["preview", "preview"]
    assert "+SUM" not in json.dumps(body)


def test_the_unlocked_export_holds_the_unexpired_unlocks_only(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        current = make(session, Creator, handle="current").id
        expired = make(session, Creator, handle="expired").id
        theirs = make(session, Creator, handle="theirs").id
        until = utcnow() + dt.timedelta(days=29)
        make(
            session,
            CreatorAccess,
            workspace_id=ws.workspace_id,
            creator_id=current,
            reason="unlock",
            expires_at=until,
        )
        make(
            session,
            CreatorAccess,
            workspace_id=ws.workspace_id,
            creator_id=expired,
            expires_at=utcnow() - dt.timedelta(days=1),
        )
        make(session, CreatorAccess, workspace_id=other_ws.workspace_id, creator_id=theirs)
    response = client.get("/api/v1/discovery/unlocked-profiles/export.csv", headers=ws.headers())
    assert response.status_code == 200
    rows = _rows(response.text)
    assert [row["handle"] for row in rows] == ["current"]
    assert rows[0]["access"] == "full"
    exported = dt.datetime.fromisoformat(rows[0]["access_expires_at"])
    assert abs(exported - until) < dt.timedelta(seconds=1)


def test_one_export_a_month_is_free_then_each_costs_its_price(
    client: TestClient, ws: WorkspaceFixture, db: Database, listed: dict[str, int]
) -> None:
    path = f"/api/v1/lists/{listed['list']}/export.csv"
    assert client.get(path, headers=ws.headers()).status_code == 200
    short = client.get(path, headers=ws.headers())
    assert short.status_code == 402
    error = short.json()["error"]
    assert error["code"] == "insufficient_credits" and error["details"]["price"] == 50
    _grant(db, ws, 60)
    assert client.get(path, headers=ws.headers()).status_code == 200
    reference = f"list:{listed['list']}.csv"
    assert _ledger(db, ws) == [(0, "free", reference), (-50, "credits", reference)]
    with db.session(readonly=True) as session:
        assert billing_usage.balance(session, ws.workspace_id).balance == 10


def test_a_retried_export_is_charged_once(
    client: TestClient, ws: WorkspaceFixture, db: Database, listed: dict[str, int]
) -> None:
    _grant(db, ws, 100)
    path = f"/api/v1/lists/{listed['list']}/export.json"
    client.get(path, headers=ws.headers())  # this month's free one
    headers = {**ws.headers(), "Idempotency-Key": "export-7"}
    first = client.get(path, headers=headers)
    again = client.get(path, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["items"] == first.json()["items"]
    assert [amount for amount, _, _ in _ledger(db, ws)] == [0, -50]
    reused = client.get(f"/api/v1/lists/{listed['list']}/export.csv", headers=headers)
    assert reused.status_code == 409, "a key belongs to one request"
    with db.session(readonly=True) as session:
        assert billing_usage.balance(session, ws.workspace_id).balance == 50


def test_an_empty_export_charges_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    with db.session() as session:
        empty = make(session, CreatorList, workspace_id=ws.workspace_id, name="Empty").id
    response = client.get(f"/api/v1/lists/{empty}/export.csv", headers=ws.headers())
    assert response.status_code == 200
    assert response.text.splitlines()[0].startswith("creator_id,platform,handle")
    assert len(response.text.splitlines()) == 1
    unlocked = client.get("/api/v1/discovery/unlocked-profiles/export.json", headers=ws.headers())
    assert unlocked.json()["count"] == 0
    assert _ledger(db, ws) == []


def test_a_viewer_cannot_spend_the_teams_credits_on_an_export(
    client: TestClient, ws: WorkspaceFixture, db: Database, listed: dict[str, int]
) -> None:
    viewer = ws.headers(Role.viewer)
    for path in (
        f"/api/v1/lists/{listed['list']}/export.csv",
        "/api/v1/discovery/unlocked-profiles/export.json",
    ):
        response = client.get(path, headers=viewer)
        assert response.status_code == 403, path
    assert _ledger(db, ws) == []
