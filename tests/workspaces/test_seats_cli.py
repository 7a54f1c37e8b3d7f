"""Seat limits are the instance operator's: set on the command line, read by the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.config import get_settings
from socialpulse.db import Database
from socialpulse.workspaces import service

runner = CliRunner()


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def seat_limit(db: Database, slug: str) -> int | None:
    with db.session() as session:
        return service.get_workspace_by_slug(session, slug).seat_limit


@pytest.mark.usefixtures("cli_env")
def test_operator_sets_and_clears_a_seat_limit(db: Database) -> None:
    runner.invoke(app, ["create-user", "--email", "ana@example.com", "--password", "s3cret-pass"])
    created = runner.invoke(
        app, ["create-workspace", "ana-brand", "--owner", "ana@example.com", "--seat-limit", "3"]
    )
    assert created.exit_code == 0, created.output
    assert seat_limit(db, "ana-brand") == 3
    changed = runner.invoke(app, ["set-seat-limit", "ana-brand", "5"])
    assert changed.exit_code == 0, changed.output
    assert "seat limit 5, 1 in use" in changed.output
    assert seat_limit(db, "ana-brand") == 5
    cleared = runner.invoke(app, ["set-seat-limit", "ana-brand", "none"])
    assert cleared.exit_code == 0, cleared.output
    assert seat_limit(db, "ana-brand") is None


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set-seat-limit", "ana-brand", "many"], "invalid seat limit"),
        (["set-seat-limit", "ana-brand", "0"], "at least 1"),
        (["set-seat-limit", "no-such-ws", "4"], "not found"),
        (
            ["create-workspace", "ana-two", "--owner", "ana@example.com", "--seat-limit", "0"],
            "at least 1",
        ),
    ],
)
def test_bad_seat_limits_are_refused(args: list[str], message: str) -> None:
    runner.invoke(app, ["create-user", "--email", "ana@example.com", "--password", "s3cret-pass"])
    runner.invoke(app, ["create-workspace", "ana-brand", "--owner", "ana@example.com"])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
