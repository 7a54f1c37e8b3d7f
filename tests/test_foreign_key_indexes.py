"""Every foreign key of the migrated database is indexed.

Read from the real schema (the Alembic migrations applied to SQLite or PostgreSQL), not from
the models, so a table added by any later migration is checked as soon as it exists. An
unindexed foreign key makes every delete of a referenced row scan the referencing table:
deleting one account's 11,827 interactions held SQLite's write lock for 122 s that way."""

from __future__ import annotations

from sqlalchemy import inspect

from socialpulse.db import Database


def unindexed_foreign_keys(db: Database) -> list[str]:
    """`table(columns) -> referred` for each foreign key whose columns do not lead an index,
    the primary key or a unique constraint (any of which the database can search by)."""
    inspector = inspect(db.engine)
    missing = []
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        leading: list[list[str]] = [inspector.get_pk_constraint(table)["constrained_columns"]]
        leading += [list(ix["column_names"]) for ix in inspector.get_indexes(table)]
        leading += [list(uq["column_names"]) for uq in inspector.get_unique_constraints(table)]
        for fk in inspector.get_foreign_keys(table):
            columns = list(fk["constrained_columns"])
            if not any(cols[: len(columns)] == columns for cols in leading):
                missing.append(f"{table}({', '.join(columns)}) -> {fk['referred_table']}")
    return sorted(missing)


def test_every_foreign_key_of_the_migrated_database_is_indexed(db: Database) -> None:
    assert unindexed_foreign_keys(db) == []


def test_the_check_sees_the_foreign_keys_it_must_cover(db: Database) -> None:
    """Guards the guard: an inspector that returned no foreign keys would pass vacuously."""
    inspector = inspect(db.engine)
    keys = {
        (table, tuple(fk["constrained_columns"]))
        for table in inspector.get_table_names()
        for fk in inspector.get_foreign_keys(table)
    }
    assert ("interactions", ("parent_id",)) in keys
    assert ("workflow_matches", ("interaction_id",)) in keys
    assert len(keys) >= 30
