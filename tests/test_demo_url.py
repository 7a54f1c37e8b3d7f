"""`socialpulse demo` prints the URL the server will really use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.config import Settings, get_settings
from socialpulse.db import Database
from socialpulse.demo import DemoCredentials

runner = CliRunner()


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SOCIALPULSE_DATABASE_URL", db.url)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOCIALPULSE_TASKS_URL", "memory://")
    monkeypatch.delenv("SOCIALPULSE_BASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_demo_prints_the_port_from_socialpulse_port(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seeding the demo data takes minutes and is covered by tests/test_cli.py; here only the
    # printed addresses matter, with the settings the command really reads.
    seen: list[Settings] = []

    def ensure_demo(_db: Database, settings: Settings) -> DemoCredentials:
        seen.append(settings)
        return DemoCredentials("demo@socialpulse.local", "pw", "sp_key", "demo")

    monkeypatch.setattr("socialpulse.demo.ensure_demo", ensure_demo)
    monkeypatch.setenv("SOCIALPULSE_PORT", "8123")
    get_settings.cache_clear()
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Dashboard: http://127.0.0.1:8123/" in result.output
    assert "http://127.0.0.1:8123/api/v1/workspace" in result.output
    assert ":8000" not in result.output and seen[0].port == 8123


def test_an_explicit_public_url_wins_over_the_bind_address(tmp_path: Path) -> None:
    assert Settings(port=9000, data_dir=tmp_path).base_url == "http://127.0.0.1:9000"
    assert Settings(host="0.0.0.0", port=80, data_dir=tmp_path).base_url == "http://127.0.0.1:80"
    explicit = Settings(port=9000, base_url="https://pulse.example.com", data_dir=tmp_path)
    assert explicit.base_url == "https://pulse.example.com"
