from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from socialpulse.creators import search_index
from socialpulse.db import Base, Database, created_on
from socialpulse.migrations import runner


def test_models_match_the_migrations(db: Database) -> None:
    """A model change without a migration fails here, on SQLite and on PostgreSQL."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            # The full-text index's tables have no model (see creators/search_index.py).
            opts={
                "include_name": lambda name, type_, _parents: (
                    not (type_ == "table" and search_index.is_index_table(name))
                ),
                # PostgreSQL-only indexes (ddl_if) are not expected on SQLite.
                "include_object": lambda item, _name, _type, _reflected, _other: created_on(
                    item, db.dialect
                ),
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_database_is_at_head(db: Database) -> None:
    assert runner.current_revision(db) == runner.head_revision(db)


def _set_revision(db: Database, revision: str | None) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(runner.alembic_config("sqlite://"))
    head = script.get_revision(script.get_current_head())
    assert isinstance(head.down_revision, str)
    return head.down_revision


def test_the_schema_check_names_what_to_do_for_each_state(db: Database) -> None:
    head = runner.head_revision(db)
    assert runner.check_schema(db) is None
    previous = _previous_revision()
    try:
        _set_revision(db, previous)
        assert runner.check_schema(db) == (
            f"the database schema is at revision {previous} and this version needs {head}: "
            "run `socialpulse migrate`"
        )
        _set_revision(db, "from_a_newer_version")
        problem = runner.check_schema(db)
        assert problem is not None
        assert "at revision from_a_newer_version, which this version of socialpulse" in problem
        assert "a newer version migrated it" in problem
        with db.engine.connect() as connection:
            assert runner.schema_problem(connection, newer_ok=True) is None
    finally:
        _set_revision(db, head)
    assert runner.check_schema(db) is None


def test_a_database_never_migrated_is_told_to_migrate(tmp_path: Path) -> None:
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        problem = runner.check_schema(empty)
    finally:
        empty.dispose()
    assert problem is not None
    assert problem.startswith("the database was never migrated")
    assert "run `socialpulse migrate`" in problem
