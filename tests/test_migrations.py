from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from socialpulse.db import Base, Database
from socialpulse.migrations import runner


def test_models_match_the_migrations(db: Database) -> None:
    """A model change without a migration fails here, on SQLite and on PostgreSQL."""
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_database_is_at_head(db: Database) -> None:
    assert runner.current_revision(db) == runner.head_revision(db)
