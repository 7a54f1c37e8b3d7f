"""The budget observer reads a platform's budget once per observer, and what is used per call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from factories import make_workspace
from socialpulse.accounts import budget
from socialpulse.accounts.models import ApiUsage
from socialpulse.db import Database
from socialpulse.providers.base import BudgetDeferredError


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL sent from here on, on both engines (SQLite reads have their own)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engines = {db.engine, db.read_engine or db.engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


def test_a_platform_without_a_budget_costs_one_lookup_per_observer(
    db: Database, statements: list[str]
) -> None:
    ws = make_workspace(db, "no-budget")
    observer = budget.BudgetObserver(db, ws.workspace_id)
    seen = statements
    seen.clear()
    for _ in range(5):
        observer.before_call("simulated", "simulated.posts", 1)
    assert len([s for s in seen if "api_budgets" in s]) == 1
    assert not [s for s in seen if "api_usage" in s]


def test_usage_written_meanwhile_still_counts_against_the_budget(db: Database) -> None:
    ws = make_workspace(db, "budgeted")
    with db.session() as session:
        budget.set_budget(session, ws.workspace_id, "simulated", 10, 1.0)
    observer = budget.BudgetObserver(db, ws.workspace_id)
    observer.before_call("simulated", "simulated.posts", 5)
    with db.session() as session:  # another fetch of the workspace flushes its usage
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform="simulated",
                day=budget.quota_day("simulated"),
                quota_units=8,
            )
        )
    with pytest.raises(BudgetDeferredError):
        observer.before_call("simulated", "simulated.posts", 5)
