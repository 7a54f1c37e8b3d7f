"""CSV import: a row-by-row report, all or nothing, dry runs, malformed files, media URLs
through the egress policy, and the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from typer.testing import CliRunner

from factories import WorkspaceFixture
from socialpulse.cli import app as cli_app
from socialpulse.db import Database
from socialpulse.publishing.models import Delivery, Post, Upload

BULK = "/api/v1/publishing/posts/bulk"
HEADER = "text,time,zone,accounts,recurrence,title,visibility,media_url"


def csv_text(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def when(soon: dt.datetime, hours: int = 0) -> str:
    return (soon + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def send(client: TestClient, ws: WorkspaceFixture, data: bytes, **params: Any) -> Any:
    return client.post(
        BULK,
        content=data,
        params=params,
        headers={**ws.headers(), "Content-Type": "text/csv"},
    )


def test_every_valid_row_becomes_a_scheduled_post(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    data = csv_text(
        f"First post,{when(soon)},UTC,@ourbrand,,,,",
        f"Second post,{when(soon, 1)},Europe/Berlin,{account},every 1d,,public,",
        f'"Quoted, with a comma",{when(soon, 2)},,shortnet:ourbrand,0 14 * * 1-5,,,',
    )
    response = send(client, ws, data)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["valid"], report["rows"], report["created"]) == (True, 3, 3)
    assert count(db, Post) == 3


def test_one_bad_row_imports_nothing_and_the_report_names_each_problem(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    data = csv_text(
        f"Fine,{when(soon)},UTC,@ourbrand,,,,",
        f"Yesterday,{when(soon, -30)},UTC,@ourbrand,,,,",
        f"Bad zone,{when(soon)},Mars/Base,@ourbrand,,,,",
        f"Bad cron,{when(soon)},UTC,@ourbrand,0 25 * * *,,,",
        f"Nobody,{when(soon)},UTC,@nobody,,,,",
        f"{'z' * 301},{when(soon)},UTC,@ourbrand,,,,",
        "No time,,UTC,@ourbrand,,,,",
    )
    response = send(client, ws, data)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"].startswith("nothing was imported: 6 problems in 6 of 7 rows")
    found = [(e["row"], e["column"]) for e in error["details"]["errors"]]
    assert found == [
        (2, "time"),
        (3, "zone"),
        (4, "recurrence"),
        (5, "accounts"),
        (6, "text"),
        (7, "time"),
    ]
    messages = {e["row"]: e["message"] for e in error["details"]["errors"]}
    assert "in the past" in messages[2]
    assert "no account '@nobody' in this workspace" == messages[5]
    assert "301 graphemes" in messages[6]
    assert count(db, Post) == 0 and count(db, Delivery) == 0


def test_a_dry_run_reports_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    data = csv_text(f"Fine,{when(soon)},UTC,@ourbrand,,,,", f"Also fine,{when(soon, 1)},,1,,,,")
    response = send(client, ws, data, dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["dry_run"], report["valid"], report["created"]) == (True, True, 0)
    assert count(db, Post) == 0


def test_a_file_can_be_sent_as_multipart(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    data = csv_text(f"Fine,{when(soon)},UTC,@ourbrand,,,,")
    response = client.post(
        BULK, files={"file": ("posts.csv", data, "text/csv")}, headers=ws.headers()
    )
    assert response.status_code == 201, response.text
    assert count(db, Post) == 1


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("text,time,accounts\nCaf\xe9,2030-01-01 09:00,@a\n".encode("latin-1"), "not UTF-8"),
        (b"just some words\n", "missing columns: text, time, accounts"),
        (b"text,time,accounts,colour\nx,2030-01-01 09:00,@a,red\n", "unknown column: colour"),
        (b"text,time,accounts\n", "a header but no rows"),
        (b"text,time,accounts\nx,2030-01-01 09:00,@a,extra\n", "more values than the header"),
        (b"\n", "no header row"),
    ],
)
def test_a_malformed_file_is_refused_with_a_clear_message(
    client: TestClient, ws: WorkspaceFixture, account: int, data: bytes, expected: str
) -> None:
    response = send(client, ws, data)
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]


def test_more_rows_than_allowed_are_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, monkeypatch: Any
) -> None:
    from socialpulse.config import get_settings

    monkeypatch.setattr(get_settings(), "publish_import_max_rows", 2)
    rows = [f"Post {n},{when(soon)},UTC,@ourbrand,,,," for n in range(3)]
    response = send(client, ws, csv_text(*rows))
    assert response.status_code == 422
    assert "more than 2 rows" in response.json()["error"]["message"]


def test_a_media_url_is_downloaded_stored_and_checked(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    httpserver: HTTPServer,
    egress_allow: Callable[[str], None],
    make_png: Callable[..., bytes],
) -> None:
    egress_allow("127.0.0.1")
    httpserver.expect_request("/photo.png").respond_with_data(make_png(), content_type="image/png")
    httpserver.expect_request("/huge.png").respond_with_data(
        make_png(2100, 10), content_type="image/png"
    )
    data = csv_text(
        f"With a photo,{when(soon)},UTC,@ourbrand,,,,{httpserver.url_for('/photo.png')}",
        f"Too wide,{when(soon)},UTC,@ourbrand,,,,{httpserver.url_for('/huge.png')}",
        f"Gone,{when(soon)},UTC,@ourbrand,,,,{httpserver.url_for('/missing.png')}",
    )
    response = send(client, ws, data)
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "media_url"), (3, "media_url")]
    assert "2100 px wide" in errors[0]["message"]
    assert "HTTP 500" in errors[1]["message"] or "HTTP 404" in errors[1]["message"]
    assert count(db, Upload) == 0  # rolled back with the rest


def test_a_media_url_into_the_private_network_is_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    data = csv_text(f"Sneaky,{when(soon)},UTC,@ourbrand,,,,http://127.0.0.1:9/x.png")
    response = send(client, ws, data)
    assert response.status_code == 422
    message = response.json()["error"]["details"]["errors"][0]["message"]
    assert "private address" in message


def test_the_cli_imports_a_file_with_the_same_checks(
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    from socialpulse.config import get_settings

    get_settings.cache_clear()
    try:
        bad = tmp_path / "bad.csv"
        bad.write_bytes(csv_text(f"Old,{when(soon, -30)},UTC,@ourbrand,,,,"))
        refused = CliRunner().invoke(
            cli_app, ["publishing", "import", str(bad), "--workspace", ws.slug]
        )
        assert refused.exit_code == 2
        assert "in the past" in refused.output
        good = tmp_path / "good.csv"
        good.write_bytes(csv_text(f"New,{when(soon)},UTC,@ourbrand,,,,"))
        done = CliRunner().invoke(
            cli_app, ["publishing", "import", str(good), "--workspace", ws.slug]
        )
        assert done.exit_code == 0, done.output
        assert "scheduled 1 post in publish-co" in done.output
    finally:
        get_settings.cache_clear()
    assert count(db, Post) == 1
