"""`socialpulse credits grant|ledger` and `socialpulse plan set|list`: the operator's way to
credit and move a workspace without a payment provider, both in the ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from factories import WorkspaceFixture
from socialpulse.billing import reports, usage
from socialpulse.cli import app
from socialpulse.config import get_settings
from socialpulse.db import Database

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[None]:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_grant_is_a_ledger_row_by_the_cli(db: Database, ws: WorkspaceFixture) -> None:
    args = ["credits", "grant", "--workspace", "acme", "--credits", "500", "--reason", "pilot"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "granted 500 credits to acme: balance 500" in result.stdout
    with db.session(readonly=True) as session:
        (row,) = reports.transactions(session, ws.workspace_id).items
    assert (row.kind, row.amount, row.actor_user_id, row.reference, row.description) == (
        "grant",
        500,
        None,
        "cli",
        "pilot",
    )
    ledger = runner.invoke(app, ["credits", "ledger", "--workspace", "acme"])
    assert ledger.exit_code == 0, ledger.output
    assert "balance 500 credits" in ledger.stdout
    assert "+500" in ledger.stdout


@pytest.mark.parametrize("credits", ["0", "-5", "2.5", "many"])
def test_grant_refuses_bad_amounts_and_writes_nothing(
    db: Database, ws: WorkspaceFixture, credits: str
) -> None:
    args = ["credits", "grant", "--workspace", "acme", "--credits", credits, "--reason", "x"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    with db.session(readonly=True) as session:
        assert reports.transactions(session, ws.workspace_id).total == 0


def test_grant_to_an_unknown_workspace_says_so(db: Database) -> None:
    args = ["credits", "grant", "--workspace", "nobody", "--credits", "5", "--reason", "x"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "workspace 'nobody' not found" in result.stderr


def test_plan_set_and_list(db: Database, ws: WorkspaceFixture) -> None:
    listed = runner.invoke(app, ["plan", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Premium" in listed.stdout and "2,000" in listed.stdout and "-20%" in listed.stdout
    result = runner.invoke(app, ["plan", "set", "--workspace", "acme", "--plan", "standard"])
    assert result.exit_code == 0, result.output
    assert "acme is now on standard (2 seats)" in result.stdout
    with db.session(readonly=True) as session:
        assert usage.balance(session, ws.workspace_id).plan == "standard"
        (row,) = reports.transactions(session, ws.workspace_id).items
    assert (row.kind, row.amount, row.actor_user_id) == ("plan_change", 0, None)
    assert row.description == "plan premium -> standard: set by operator"
    unknown = runner.invoke(app, ["plan", "set", "--workspace", "acme", "--plan", "gold"])
    assert unknown.exit_code == 2
    assert "unknown plan 'gold'; known: free, standard, premium" in unknown.stderr


def test_the_billing_commands_have_help() -> None:
    for args in (["credits", "grant"], ["credits", "ledger"], ["plan", "set"], ["plan", "list"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output
