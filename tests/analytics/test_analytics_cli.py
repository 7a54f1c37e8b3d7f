"""`socialpulse accounts list|report` (the report is analytics', mounted under accounts):
readable output, clean failures with exit code 2."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from factories import WorkspaceFixture, make_workspace
from socialpulse.cli import app
from socialpulse.config import get_settings
from socialpulse.db import Database, utcnow

if TYPE_CHECKING:
    from factories import Builder

runner = CliRunner()


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[None]:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    monkeypatch.setenv("COLUMNS", "160")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def ws(db: Database, cli_env: None) -> WorkspaceFixture:
    return make_workspace(db, "report-co")


def test_every_command_has_help() -> None:
    for args in ([], ["list"], ["report"]):
        result = runner.invoke(app, ["accounts", *args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_list_shows_the_workspaces_accounts(build: Builder, ws: WorkspaceFixture) -> None:
    build.account(ws.workspace_id, "garden_lab", followers=12_345)
    result = runner.invoke(app, ["accounts", "list", "--workspace", "report-co"])
    assert result.exit_code == 0, result.output
    assert "@garden_lab" in result.output
    assert "12,345" in result.output


def test_report_prints_deltas_engagement_top_posts_hashtags_and_best_times(
    build: Builder, ws: WorkspaceFixture
) -> None:
    account = build.account(ws.workspace_id, "garden_lab", followers=1000)
    today = utcnow().date()
    build.snapshots(account, [(today - dt.timedelta(days=7), 800), (today, 1000)])
    first = utcnow() - dt.timedelta(days=1)
    for week in range(3):
        build.post(
            account,
            f"p{week}",
            first - dt.timedelta(weeks=week),
            views=100 * (week + 1),
            likes=50,
            hashtags=["tomatoes"],
            caption=f"Tomato harvest {week}",
        )
    result = runner.invoke(app, ["accounts", "report", "@garden_lab", "--workspace", "report-co"])
    assert result.exit_code == 0, result.output
    output = result.output
    assert "+200 (+25.0 %)" in output  # 7-day follower delta
    assert "no snapshot on or before" in output  # 30 and 90 days: no history, said so
    assert "Engagement rate (30 days): 5.00 % averaged over 3 posts" in output
    assert "(likes + comments + shares) / followers, per post, averaged" in output
    assert "Tomato harvest 0" in output
    assert "#tomatoes" in output
    weekday = first.strftime("%A")
    assert f"1. {weekday} {first.hour:02d}:00" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "nobody", "--workspace", "report-co"], "no tracked account @nobody"),
        (["report", "nobody", "--workspace", "no-such-ws"], "workspace 'no-such-ws' not found"),
        (["list", "--workspace", "no-such-ws"], "workspace 'no-such-ws' not found"),
    ],
)
@pytest.mark.usefixtures("ws")
def test_unknown_handle_or_workspace_exits_2_without_traceback(
    args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["accounts", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
