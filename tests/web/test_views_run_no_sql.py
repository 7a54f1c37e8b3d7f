"""Dashboard pages call the same services as the API, so the two cannot disagree: no module of
`socialpulse.web` builds or runs a query of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "src" / "socialpulse" / "web"
# Building a statement, or running one through a session or connection.
SQL_CALLS = {"select", "insert", "update", "delete", "execute", "scalar", "scalars", "query"}


def _sql_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in SQL_CALLS:
                found.append(f"{path.name}:{node.lineno} {name}()")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names = {alias.name for alias in node.names}
            if names & SQL_CALLS:
                found.append(f"{path.name}:{node.lineno} imports {sorted(names & SQL_CALLS)}")
    return found


@pytest.mark.parametrize("path", sorted(WEB.glob("*.py")), ids=lambda p: p.name)
def test_dashboard_module_runs_no_sql(path: Path) -> None:
    assert _sql_calls(path) == []
