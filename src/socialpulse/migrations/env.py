from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from socialpulse.migrations.runner import import_all_models

config = context.config
target_metadata = import_all_models()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    # UTCDateTime only converts on the Python side; migrations store a plain timestamptz.
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


# The full-text index's tables (creators/search_index.py; FTS5 adds creator_fts_data, _idx...)
# are created by hand in migration 0016: an FTS5 virtual table has no model.
_HAND_MADE_TABLES = "creator_fts"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and (name or "").startswith(_HAND_MADE_TABLES))


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
