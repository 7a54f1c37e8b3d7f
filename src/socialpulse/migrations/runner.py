"""Programmatic Alembic: `socialpulse migrate`, tests and `make run` all come through here."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, inspect, text

from socialpulse.db import Database

MIGRATIONS_DIR = Path(__file__).parent
# Alembic's default, which env.py keeps.
VERSION_TABLE = "alembic_version"


def import_all_models() -> MetaData:
    """Every table of every domain (env.py: autogenerate must see all of them)."""
    from socialpulse import models

    return models.metadata


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option(
        "file_template", "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"
    )
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(db: Database, revision: str) -> None:
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(db: Database) -> str | None:
    return _code_revisions()[0]


@functools.cache
def _code_revisions() -> tuple[str | None, frozenset[str]]:
    """This code's head revision and every revision it knows (the files do not change while
    the process runs; reading them costs tens of milliseconds)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return script.get_current_head(), known


def schema_problem(connection: Connection, *, newer_ok: bool = False) -> str | None:
    """Why this code cannot run on the schema `connection` reaches, or None when the schema is
    at this code's head. Every query of a newer model would otherwise fail one by one, each
    with a raw "no such table" or "no such column". With `newer_ok`, a schema a newer version
    migrated passes: during a rolling upgrade the running processes of the old version keep
    serving on it (migrations add before they take away)."""
    # Read directly, not through alembic's MigrationContext: that logs a line at INFO each
    # time, and /api/health asks every second.
    if not inspect(connection).has_table(VERSION_TABLE):
        current = None
    else:
        current = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    head, known = _code_revisions()
    if current == head:
        return None
    if current is None:
        return (
            "the database was never migrated (it has no alembic_version): run "
            "`socialpulse migrate` first (`make run` does it before it starts)"
        )
    if current not in known:
        if newer_ok:
            return None
        return (
            f"the database schema is at revision {current}, which this version of socialpulse "
            "does not know: a newer version migrated it. Run that version, or downgrade the "
            "database with it first"
        )
    return (
        f"the database schema is at revision {current} and this version needs {head}: run "
        "`socialpulse migrate`"
    )


def check_schema(db: Database) -> str | None:
    """`schema_problem` of `db`, read on its read engine where it has one (on SQLite the write
    engine would take the write lock)."""
    engine = db.read_engine if db.read_engine is not None else db.engine
    with engine.connect() as connection:
        return schema_problem(connection)
