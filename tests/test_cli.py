"""The CLI: clear messages and non-zero exits on bad input; api-key prints only the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import make_settings
from socialpulse.app import create_app
from socialpulse.cli import app
from socialpulse.config import get_settings
from socialpulse.db import Database
from socialpulse.workspaces import service
from socialpulse.workspaces.tenancy import Subject

runner = CliRunner()


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_every_command_has_help() -> None:
    for args in (
        [],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["create-user"],
        ["create-workspace"],
        ["api-key", "create"],
        ["user", "deactivate"],
        ["user", "activate"],
        ["demo"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


@pytest.mark.usefixtures("cli_env")
def test_create_user_workspace_and_key() -> None:
    result = runner.invoke(
        app, ["create-user", "--email", "Ana@Example.com", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 0, result.output
    assert "ana@example.com" in result.output
    result = runner.invoke(app, ["create-workspace", "ana-brand", "--owner", "ana@example.com"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["api-key", "create", "--workspace", "ana-brand", "--name", "ci"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("sp_")
    assert len(result.stdout.strip().splitlines()) == 1


@pytest.mark.usefixtures("cli_env")
def test_a_deactivated_user_key_is_refused_until_reactivated(db: Database, tmp_path: Path) -> None:
    runner.invoke(app, ["create-user", "--email", "ana@example.com", "--password", "s3cret-pass"])
    runner.invoke(app, ["create-workspace", "ana-brand", "--owner", "ana@example.com"])
    with db.session() as session:
        user = service.get_user_by_email(session, "ana@example.com")
        assert user is not None
        subject = service.subject_for_user(session, user.id, None)
        assert isinstance(subject, Subject)
        _key, secret = service.create_api_key(session, subject, "mine")
    client = TestClient(create_app(make_settings(tmp_path, db.url), start_worker=False))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/workspace", headers=headers).status_code == 200

    result = runner.invoke(app, ["user", "deactivate", "--email", "ana@example.com"])
    assert result.exit_code == 0, result.output
    assert "deactivated" in result.stdout
    assert client.get("/api/v1/workspace", headers=headers).status_code == 401

    result = runner.invoke(app, ["user", "activate", "--email", "ana@example.com"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/workspace", headers=headers).status_code == 200

    result = runner.invoke(app, ["user", "deactivate", "--email", "nobody@example.com"])
    assert result.exit_code == 2
    assert "no user with email" in result.output


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-user", "--email", "not-an-email", "--password", "longenough"], "invalid email"),
        (["create-user", "--email", "a@b.test", "--password", "short"], "at least 8"),
        (["create-workspace", "Bad Slug!", "--owner", "a@b.test"], "no user with email"),
        (["api-key", "create", "--workspace", "missing", "--name", "x"], "not found"),
        (["api-key", "create", "--workspace", "x", "--name", "x", "--role", "god"], "unknown role"),
    ],
)
def test_bad_input_gives_a_message_and_non_zero_exit(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("cli_env")
def test_invalid_slug_and_duplicate_user_are_explained() -> None:
    runner.invoke(app, ["create-user", "--email", "a@b.test", "--password", "longenough"])
    again = runner.invoke(app, ["create-user", "--email", "a@b.test", "--password", "longenough"])
    assert again.exit_code == 2
    assert "already exists" in again.output
    bad = runner.invoke(app, ["create-workspace", "Bad Slug!", "--owner", "a@b.test"])
    assert bad.exit_code == 2
    assert "invalid workspace slug" in bad.output


@pytest.mark.usefixtures("cli_env")
def test_demo_is_idempotent_and_prints_working_credentials(db: Database) -> None:
    from socialpulse.workspaces import service

    first = runner.invoke(app, ["demo"])
    second = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    password = second.stdout.split("demo@socialpulse.local / ")[1].split()[0]
    key = second.stdout.split("API key:")[1].split()[0]
    with db.session() as session:
        assert service.authenticate(session, "demo@socialpulse.local", password) is not None
        subject, _stale = service.subject_for_api_key(session, key)
        workspaces = service.workspaces_for_user(session, subject.user_id or 1)
        assert {ws.slug for ws, _ in workspaces} == {"demo", "demo-agency"}
    _assert_demo_billing(db)
    _assert_demo_publishing(db)
    _assert_demo_thanks_speak_the_fans_language(db)


def _assert_demo_thanks_speak_the_fans_language(db: Database) -> None:
    """The demo's "Thank happy fans" workflow answers each fan in the language they wrote in
    (the built-in response templates), not in English to everyone."""
    from sqlalchemy import select

    from socialpulse.inbox.models import Interaction, ReplyQueueItem

    with db.session(readonly=True) as session:
        rows = session.execute(
            select(Interaction.ai_language, ReplyQueueItem.text)
            .join(ReplyQueueItem, ReplyQueueItem.interaction_id == Interaction.id)
            .where(Interaction.ai_intent == "praise")
        ).all()
    by_language: dict[str | None, list[str]] = {}
    for language, text in rows:
        by_language.setdefault(language, []).append(text)
    assert by_language.get("en"), "no English fan was thanked"
    assert all(text.startswith("Thank you so much, ") for text in by_language["en"])
    assert by_language.get("es"), "no Spanish fan was thanked"
    assert all(text.startswith("¡Muchas gracias, ") for text in by_language["es"])
    assert all(text.startswith("Merci beaucoup, ") for text in by_language.get("fr", []))


def _assert_demo_publishing(db: Database) -> None:
    """Next week's posts, a recurring series, one failed post with its reason and ROI values;
    the second start created no second set."""
    from socialpulse.demo_publishing import (
        DEMO_FAILED_REASON,
        DEMO_SERIES_COUNT,
        DEMO_WEEK_POSTS,
    )
    from socialpulse.insights import roi
    from socialpulse.publishing import service as publishing
    from socialpulse.publishing.models import DeliveryStatus, PostStatus
    from socialpulse.workspaces import service
    from socialpulse.workspaces.models import Role
    from socialpulse.workspaces.tenancy import Subject

    with db.session() as session:
        workspace = service.get_workspace_by_slug(session, "demo")
        subject = Subject(workspace_id=workspace.id, role=Role.owner, user_id=None)
        posts = publishing.list_posts(session, subject, limit=100).items
        assert len(posts) == len(DEMO_WEEK_POSTS) + 2
        recurring = [p for p in posts if p.recurring]
        assert len(recurring) == 1 and recurring[0].status == PostStatus.scheduled
        series = publishing.read_post(session, subject, recurring[0].id)
        assert series.recurrence is not None and series.recurrence.count == DEMO_SERIES_COUNT
        week = [p for p in posts if not p.recurring and p.status == PostStatus.scheduled]
        assert len(week) == len(DEMO_WEEK_POSTS)
        failed = publishing.queue(session, subject, statuses=[DeliveryStatus.failed]).items
        assert [item.last_error for item in failed] == [DEMO_FAILED_REASON]
        assert roi.get_settings(session, subject).is_default is False


def _assert_demo_billing(db: Database) -> None:
    """The demo workspace is on Standard with part of its allowance used, a top-up, unlocks
    (one about to expire), a list and a campaign; the second start charged nothing more."""
    from socialpulse.billing import ledger as billing_ledger
    from socialpulse.billing import usage as billing_usage
    from socialpulse.billing import wallets as billing_wallets
    from socialpulse.creators import unlocks
    from socialpulse.creators.models import Campaign, CreatorList
    from socialpulse.demo_billing import DEMO_TOPUP_CREDITS, DEMO_UNLOCKS
    from socialpulse.workspaces import service

    with db.session() as session:
        workspace = service.get_workspace_by_slug(session, "demo")
        assert billing_wallets.wallet_for(session, workspace.id).plan_code == "standard"
        used = {
            a.allowance: a.used for a in billing_usage.allowances(session, workspace.id).allowances
        }
        assert used["profiles"] == DEMO_UNLOCKS
        assert billing_usage.balance(session, workspace.id).balance == DEMO_TOPUP_CREDITS
        assert billing_ledger.ledger_sum(session, workspace.id) == DEMO_TOPUP_CREDITS
        page = unlocks.list_unlocked(session, workspace.id, page_size=50)
        assert page.total == DEMO_UNLOCKS
        remaining = [item.access.remaining_seconds or 0 for item in page.items]
        assert 0 < min(remaining) < 3 * 86_400
        assert (
            session.scalar(select(func.count()).where(CreatorList.workspace_id == workspace.id))
            == 1
        )
        assert (
            session.scalar(select(func.count()).where(Campaign.workspace_id == workspace.id)) == 1
        )


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("db_url", "tasks_url"),
    [
        ("sqlite:///unused.db", ""),  # the embedded default: SQLite and its queue
        ("postgresql+psycopg://sp@127.0.0.1:1/sp", ""),  # PostgreSQL, but the SQLite queue
        ("sqlite:///unused.db", "redis://127.0.0.1:1/0"),  # Redis, but the SQLite database
    ],
    ids=["sqlite", "postgres-without-redis", "redis-without-postgres"],
)
def test_serve_refuses_several_web_processes_without_postgres_and_redis(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tasks_url: str
) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", tasks_url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "--workers 2 needs PostgreSQL and Redis" in result.output
    assert "one process" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def unmigrated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command",
    [["demo"], ["serve"], ["accounts", "list", "--workspace", "demo"], ["plan", "list"]],
    ids=["demo", "serve", "accounts-list", "plan-list"],
)
def test_commands_on_a_database_never_migrated_say_to_migrate(
    unmigrated_env: str, command: list[str]
) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "error: the database was never migrated (it has no alembic_version): run "
        "`socialpulse migrate` first (`make run` does it before it starts)"
    ]


def test_migrate_brings_a_database_behind_the_code_to_where_commands_run(
    unmigrated_env: str,
) -> None:
    from alembic.script import ScriptDirectory

    from socialpulse.migrations import runner as migrations

    # The database as the previous version left it: one migration behind this code.
    script = ScriptDirectory.from_config(migrations.alembic_config(unmigrated_env))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    database = Database(unmigrated_env)
    migrations.upgrade(database, previous)
    database.dispose()
    result = runner.invoke(app, ["plan", "list"])
    assert result.exit_code == 1
    assert f"at revision {previous} and this version needs {head}: run `socialpulse migrate`" in (
        result.output
    )
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert f"database at revision {head}" in result.output
    result = runner.invoke(app, ["plan", "list"])
    assert result.exit_code == 0, result.output
    assert "Standard" in result.output
