from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from socialpulse.creators import search_index
from socialpulse.db import Base, Database
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
                )
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_database_is_at_head(db: Database) -> None:
    assert runner.current_revision(db) == runner.head_revision(db)
