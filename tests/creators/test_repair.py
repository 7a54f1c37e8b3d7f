"""Completeness scan and repair: the CLI (scan, dry run, repair, username filter) and the
admin API, and a username filter that cannot backtrack."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from creator_crawl_helpers import cli_env  # noqa: F401
from factories import make_workspace
from socialpulse.cli import app as cli_app
from socialpulse.creators import completeness_repair
from socialpulse.creators.models import Creator, CreatorPost, CreatorStatus
from socialpulse.db import Database
from socialpulse.errors import InvalidInput
from socialpulse.media.models import MediaObject, MediaStatus
from socialpulse.worker.models import Job
from socialpulse.workspaces.models import Role

runner = CliRunner()
# Queued builds stay pending (tests/creators/conftest.py): the crawl's tests end them.
pytestmark = pytest.mark.usefixtures("manual_jobs")
POSTED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def add_creator(
    db: Database, handle: str, *, posts: int = 12, bio: str = "Cooking every day"
) -> int:
    """A built creator: complete with the defaults (12 posts with AI and thumbnails, a bio,
    counts, profile AI); fewer posts or no bio leave it incomplete."""
    with db.session() as session:
        creator = Creator(
            platform="simulated",
            handle=handle,
            status=CreatorStatus.ready,
            bio=bio,
            followers_count=12_000,
            following_count=100,
            posts_count=300,
            category="food",
            category_confidence=0.9,
            language="en",
            profile_ai_at=POSTED,
        )
        session.add(creator)
        session.flush()
        for i in range(posts):
            media = MediaObject(
                source_url=f"https://simulated.invalid/media/thumb/{handle}-{i}.png",
                status=MediaStatus.stored,
                small_key=f"{handle}{i}s",
                large_key=f"{handle}{i}l",
            )
            session.add(media)
            session.flush()
            session.add(
                CreatorPost(
                    creator_id=creator.id,
                    external_id=f"{handle}-{i}",
                    caption="Pasta night",
                    posted_at=POSTED + dt.timedelta(days=i),
                    likes=100,
                    comments=5,
                    thumbnail_url=media.source_url,
                    thumbnail_media_id=media.id,
                    ai_category="food",
                    ai_sentiment="positive",
                    ai_sentiment_score=0.8,
                    ai_language="en",
                    ai_at=POSTED,
                )
            )
        return creator.id


@pytest.fixture
def creators(db: Database) -> dict[str, int]:
    return {
        "chef_anna": add_creator(db, "chef_anna"),
        "chef_bo": add_creator(db, "chef_bo", posts=5),
        "chef_cy": add_creator(db, "chef_cy", bio=""),
        "gamer_dee": add_creator(db, "gamer_dee", posts=3),
    }


def _build_jobs(db: Database) -> int:
    with db.session(readonly=True) as session:
        return (
            session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == "creators.build_report")
            )
            or 0
        )


@pytest.mark.usefixtures("cli_env", "creators")
def test_cli_scan_lists_incomplete_creators_with_what_they_miss() -> None:
    result = runner.invoke(cli_app, ["creators", "repair", "--scan-only", "--json"])
    assert result.exit_code == 0, result.output
    scan = json.loads(result.stdout)
    assert scan["scanned"] == 4
    found = {item["handle"]: item["missing"] for item in scan["incomplete"]}
    assert set(found) == {"chef_bo", "chef_cy", "gamer_dee"}
    assert found["chef_bo"] and found["chef_cy"] and found["chef_bo"] != found["chef_cy"]

    result = runner.invoke(cli_app, ["creators", "repair", "--scan-only"])
    assert result.exit_code == 0
    assert "3 incomplete of 4 scanned" in result.stdout


@pytest.mark.usefixtures("cli_env", "creators")
def test_cli_dry_run_and_repair_with_a_username_filter(db: Database) -> None:
    args = ["creators", "repair", "--username-filter", "^chef_", "--json"]
    result = runner.invoke(cli_app, [*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    dry = json.loads(result.stdout)
    assert (dry["dry_run"], dry["scanned"], dry["incomplete_count"]) == (True, 3, 2)
    assert {a["action"] for a in dry["actions"]} == {"would_queue"}
    assert _build_jobs(db) == 0

    result = runner.invoke(cli_app, [*args, "--repair", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["queued"] == 1
    assert _build_jobs(db) == 1

    result = runner.invoke(cli_app, ["creators", "repair", "--repair", "--username-filter", "chef"])
    assert result.exit_code == 0, result.output
    # The first one is being built: not scanned again, no second job for it.
    assert "queued: simulated chef_cy" in result.stdout
    assert "chef_bo" not in result.stdout
    assert "queued 1 builds; 1 incomplete of 2 scanned" in result.stdout
    assert _build_jobs(db) == 2


@pytest.mark.usefixtures("cli_env")
def test_cli_repair_needs_exactly_one_mode() -> None:
    for args in ([], ["--scan-only", "--repair"]):
        result = runner.invoke(cli_app, ["creators", "repair", *args])
        assert result.exit_code == 2
        assert "choose one of --scan-only, --dry-run or --repair" in result.output


@pytest.mark.usefixtures("cli_env", "creators")
def test_a_backreference_filter_is_refused_with_a_reason() -> None:
    result = runner.invoke(
        cli_app, ["creators", "repair", "--scan-only", "--username-filter", r"(a)\1"]
    )
    assert result.exit_code == 2
    assert "RE2" in result.output


def test_a_hostile_pattern_runs_in_linear_time(db: Database) -> None:
    # Against Python's backtracking `re`, (a+)+$ on 254 "a" and a "!" takes about 2**254
    # steps: this test would never end. RE2 answers in one pass over the handle.
    add_creator(db, "a" * 254 + "!", posts=0)
    add_creator(db, "a" * 255, posts=0)
    with db.session(readonly=True) as session:
        scan = completeness_repair.scan(session, username_filter="(a+)+$")
    assert [item.handle for item in scan.incomplete] == ["a" * 255]
    program = completeness_repair.compile_filter("(x+x+)+y")
    assert program.search("x" * 100_000) is None


def test_filters_re2_cannot_run_are_invalid_input() -> None:
    for pattern in [r"(a)\1", "(?=a)", "(", "a" * 300]:
        with pytest.raises(InvalidInput):
            completeness_repair.compile_filter(pattern)


def test_admin_api_scan_repair_and_validate(
    client: TestClient, db: Database, creators: dict[str, int]
) -> None:
    ws = make_workspace(db, "ops")
    with db.session() as session:
        from socialpulse.workspaces import service

        service.set_instance_admin(session, ws.owner_email, True)
    headers = ws.headers(Role.owner)
    base = "/api/v1/admin/repair"

    scan = client.get(f"{base}/profile-completeness/scan?username_filter=gamer", headers=headers)
    assert scan.status_code == 200, scan.text
    assert [item["handle"] for item in scan.json()["incomplete"]] == ["gamer_dee"]

    bad = client.get(f"{base}/profile-completeness/scan?username_filter=(a)%5C1", headers=headers)
    assert bad.status_code == 422

    dry = client.post(
        f"{base}/profile-completeness/repair", json={"dry_run": True}, headers=headers
    )
    assert dry.status_code == 200
    assert dry.json()["incomplete_count"] == 3 and _build_jobs(db) == 0
    done = client.post(
        f"{base}/profile-completeness/repair",
        json={"dry_run": False, "limit": 2, "username_filter": "^chef"},
        headers=headers,
    )
    assert done.status_code == 200
    assert done.json()["queued"] == 2 and _build_jobs(db) == 2

    check = client.post(
        f"{base}/test/validate-completeness/chef_anna?platform=simulated", headers=headers
    )
    assert check.status_code == 200, check.text
    assert check.json()["complete"] is True
    assert all(check.json()["criteria"].values())
    check = client.post(
        f"{base}/test/validate-completeness/chef_cy?platform=simulated", headers=headers
    )
    assert check.json()["complete"] is False
    assert check.json()["missing"] and not all(check.json()["criteria"].values())
