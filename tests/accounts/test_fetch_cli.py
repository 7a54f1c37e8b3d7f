"""`socialpulse fetch`: fetches tracked accounts now and says, per account, what happened."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from alerts.helpers import add_rule, alerts, snapshot
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import service
from socialpulse.accounts.models import (
    AccountStatus,
    FetchRun,
    FetchStatus,
    Post,
    TrackedAccount,
)
from socialpulse.cli import app
from socialpulse.config import get_settings
from socialpulse.db import Database, utcnow
from socialpulse.kit.security import SecretBox
from socialpulse.providers import registry

runner = CliRunner()
SLUG = "cli-fetchers"


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[None]:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def ws(cli_env: None, db: Database) -> WorkspaceFixture:
    return make_workspace(db, SLUG)


def box() -> SecretBox:
    return SecretBox(get_settings().resolved_secret_key())


def track(db: Database, ws: WorkspaceFixture, handle: str) -> TrackedAccount:
    return service.add_account(db, ws.subject, handle, box=box(), platform="simulated")


def fetch(*args: str) -> tuple[Result, str]:
    """Run the command; also its output as one line (Rich wraps long lines at 80 columns)."""
    result = runner.invoke(app, ["fetch", *args])
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.output)
    return result, " ".join(text.split())


def cli_runs(db: Database, account_id: int) -> list[FetchRun]:
    with db.session(readonly=True) as session:
        runs = session.scalars(
            select(FetchRun).where(FetchRun.account_id == account_id).order_by(FetchRun.id)
        ).all()
        session.expunge_all()
    return list(runs)


def test_fetch_one_account_prints_its_post_counts(db: Database, ws: WorkspaceFixture) -> None:
    account = track(db, ws, "garden_lab")

    result, line = fetch("simulated", "@garden_lab", "--workspace", SLUG)

    assert result.exit_code == 0, result.output
    (run,) = cli_runs(db, account.id)
    assert (run.trigger, run.status) == ("cli", FetchStatus.completed)
    assert run.posts_seen > 0
    assert f"✓ simulated @garden_lab: {run.posts_seen} posts ({run.posts_seen} new)" in line
    assert "✗" not in line
    with db.session(readonly=True) as session:
        stored = session.scalar(select(func.count()).where(Post.account_id == account.id))
    assert stored == run.posts_seen

    # Again: the same posts, none new.
    result, line = fetch("simulated", "garden_lab", "--workspace", SLUG)
    assert result.exit_code == 0, result.output
    assert f"✓ simulated @garden_lab: {run.posts_seen} posts (0 new)" in line


def test_fetch_without_a_handle_fetches_every_account_of_the_workspace(
    db: Database, ws: WorkspaceFixture
) -> None:
    first, second = track(db, ws, "garden_lab"), track(db, ws, "daily_vlog")
    other = make_workspace(db, "someone-else")
    outsider = service.add_account(
        db, other.subject, "street_food", box=box(), platform="simulated"
    )

    result, line = fetch("--workspace", SLUG)

    assert result.exit_code == 0, result.output
    assert line.count("✓") == 2
    assert "@garden_lab" in line and "@daily_vlog" in line
    assert "@street_food" not in line
    assert [len(cli_runs(db, a.id)) for a in (first, second, outsider)] == [1, 1, 0]


def test_nothing_to_fetch_is_an_error(db: Database, ws: WorkspaceFixture) -> None:
    result, line = fetch()
    assert result.exit_code != 0
    assert "no active tracked accounts match" in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["myspace"], "Unknown platform 'myspace'"),
        (["myspace", "@garden_lab"], "Unknown platform 'myspace'"),
    ],
)
def test_unknown_platform_exits_2_listing_the_supported_ones(
    db: Database, ws: WorkspaceFixture, args: list[str], message: str
) -> None:
    account = track(db, ws, "garden_lab")
    result, line = fetch(*args, "--workspace", SLUG)
    assert result.exit_code == 2, result.output
    assert message in line
    supported = sorted(registry.all_providers())
    assert {"bluesky", "instagram", "mastodon", "tiktok", "youtube"} <= set(supported)
    assert f"supported platforms: {', '.join(supported)}" in line
    assert cli_runs(db, account.id) == []


@pytest.mark.parametrize("args", [["", "@garden_lab"], ["@garden_lab"]])
def test_handle_without_platform_exits_2(
    db: Database, ws: WorkspaceFixture, args: list[str]
) -> None:
    account = track(db, ws, "garden_lab")
    result, line = fetch(*args, "--workspace", SLUG)
    assert result.exit_code == 2, result.output
    assert "give the platform before the handle" in line
    assert cli_runs(db, account.id) == []


def test_untracked_handle_exits_2(db: Database, ws: WorkspaceFixture) -> None:
    track(db, ws, "garden_lab")
    result, line = fetch("simulated", "@nobody_here", "--workspace", SLUG)
    assert result.exit_code == 2, result.output
    assert "no tracked account @nobody_here" in line


def test_a_failing_account_exits_1_with_the_reason_and_the_others_still_fetch(
    db: Database, ws: WorkspaceFixture
) -> None:
    healthy = track(db, ws, "garden_lab")
    flaky = track(db, ws, "flaky_cam")
    with db.session() as session:  # every call to this account's platform fails
        stored = session.get(TrackedAccount, flaky.id)
        assert stored is not None
        stored.credentials_encrypted = box().encrypt(json.dumps({"error_rate": 1.0}))

    result, line = fetch("--workspace", SLUG)

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (failed,) = cli_runs(db, flaky.id)
    assert failed.status == FetchStatus.failed
    assert failed.error is not None and "did not answer" in failed.error
    assert f"✗ simulated @flaky_cam: failed: {failed.error}" in line
    assert "error_rate=1.0" in line
    (ok,) = cli_runs(db, healthy.id)
    assert f"✓ simulated @garden_lab: {ok.posts_seen} posts ({ok.posts_seen} new)" in line
    with db.session(readonly=True) as session:
        account = session.get(TrackedAccount, flaky.id)
        assert account is not None
        assert account.status == AccountStatus.error


def test_the_command_evaluates_alert_rules_after_each_completed_fetch(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = track(db, ws, "@garden_lab")
    assert account.followers_count
    snapshot(db, account.id, utcnow().date() - dt.timedelta(days=1), account.followers_count * 2)
    add_rule(db, ws, account.id, kind="follower_drop")
    result, output = fetch("simulated", "@garden_lab", "--workspace", SLUG)
    assert result.exit_code == 0, output
    assert "1 alert fired" in output
    [alert] = alerts(db)
    assert (alert.account_id, alert.kind.value) == (account.id, "follower_drop")
