"""The crawl's admin API and CLI: stats, config, queue status and the manual trigger, and the
periodic tick's job."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from creator_crawl_helpers import cli_env, finish_builds, open_builds, seed_related  # noqa: F401
from factories import make_workspace
from socialpulse.cli import app as cli_app
from socialpulse.creators import crawl_tasks
from socialpulse.db import Database
from socialpulse.worker.jobs import run_job
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role

runner = CliRunner()
# Queued builds stay pending (tests/creators/conftest.py): the crawl's tests end them.
pytestmark = pytest.mark.usefixtures("manual_jobs")
BASE = "/api/v1/admin/repair/discovery"


@pytest.mark.usefixtures("cli_env")
def test_cli_config_stats_queue_and_trigger(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALPULSE_DISCOVERY_MAX_CONCURRENT", "2")
    seed_related(db, 5, source_handle="source_one")
    result = runner.invoke(cli_app, ["creators", "crawl", "config"])
    assert result.exit_code == 0, result.output
    assert "SOCIALPULSE_DISCOVERY_MAX_CONCURRENT=2" in result.stdout
    assert "SOCIALPULSE_DISCOVERY_PER_HOUR=100" in result.stdout

    result = runner.invoke(
        cli_app, ["creators", "crawl", "trigger", "source_one", "--platform", "simulated"]
    )
    assert result.exit_code == 0, result.output
    assert "5 related waiting, 2 builds queued" in result.stdout
    assert len(open_builds(db)) == 2

    result = runner.invoke(
        cli_app, ["creators", "crawl", "trigger", "source_one", "--platform", "simulated"]
    )
    assert (
        "0 builds queued" in result.stdout and "held back by the concurrent limit" in result.stdout
    )

    stats = json.loads(runner.invoke(cli_app, ["creators", "crawl", "stats", "--json"]).stdout)
    assert stats["related"]["queued"] == 2 and stats["related"]["pending"] == 3
    assert (stats["in_flight"], stats["room_now"], stats["held_back_by"]) == (2, 0, "concurrent")

    queue = json.loads(runner.invoke(cli_app, ["creators", "crawl", "queue", "--json"]).stdout)
    assert [b["handle"] for b in queue["in_flight"]] == ["rel0", "rel1"]
    assert [p["handle"] for p in queue["next_due"]] == ["rel2", "rel3", "rel4"]

    missing = runner.invoke(
        cli_app, ["creators", "crawl", "trigger", "nobody", "--platform", "simulated"]
    )
    assert missing.exit_code == 2
    assert "no stored creator" in missing.output


@pytest.mark.usefixtures("cli_env")
def test_admin_api_stats_config_queue_and_trigger(client: TestClient, db: Database) -> None:
    ws = make_workspace(db, "ops")
    with db.session() as session:
        service.set_instance_admin(session, ws.owner_email, True)
    headers = ws.headers(Role.owner)
    seed_related(db, 4, source_handle="source_two")

    config = client.get(f"{BASE}/config", headers=headers).json()
    assert config["max_concurrent"] == 3 and config["min_followers"] == 1000

    trigger = client.post(f"{BASE}/manual-trigger/source_two?platform=simulated", headers=headers)
    assert trigger.status_code == 200, trigger.text
    assert (trigger.json()["pending_related"], trigger.json()["queued"]) == (4, 3)

    stats = client.get(f"{BASE}/stats", headers=headers).json()
    assert stats["in_flight"] == 3 and stats["queued_last_hour"] == 3
    queue = client.get(f"{BASE}/queue-status", headers=headers).json()
    assert len(queue["in_flight"]) == 3 and len(queue["next_due"]) == 1

    finish_builds(db)
    trigger = client.post(f"{BASE}/manual-trigger/source_two?platform=simulated", headers=headers)
    assert trigger.json()["queued"] == 1
    stats = client.get(f"{BASE}/stats", headers=headers).json()
    assert stats["related"]["done"] == 3
    assert stats["outcomes_last_day"] == {"done": 3}


@pytest.mark.usefixtures("cli_env")
def test_the_periodic_tick_runs_as_a_durable_job(db: Database) -> None:
    seed_related(db, 5)
    assert crawl_tasks.schedule_crawl_tick() == {"queued": 1}
    assert crawl_tasks.schedule_crawl_tick() == {"queued": 1}  # the same waiting job
    with db.session(readonly=True) as session:
        ticks = session.scalars(select(Job.id).where(Job.kind == crawl_tasks.CRAWL_TICK_KIND))
        (tick_id,) = ticks.all()
    assert run_job(db, tick_id) is JobStatus.completed
    assert len(open_builds(db)) == 3
