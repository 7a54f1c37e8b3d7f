"""discovery and unlocks

Revision ID: 0016
Revises: 0014 (0015 once payments is merged: the integrator re-chains)
Create Date: 2026-12-02 20:30:00.000000

* ``creator_fts``: the full-text index of analysed creators (SQLite FTS5 virtual table with a
  delete trigger; PostgreSQL tsvector under GIN), backfilled here from what is stored.
* ``saved_searches``: a workspace's named discovery searches.
* Indexes on the creator figures discovery sorts by.
* Access model (#14): a report requested by search under #13 granted access with no end; such
  rows now end 30 days after they were granted, like an unlock.
"""

import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REQUESTED_ACCESS_DAYS = 30
# As creators/search_index.py writes them (frozen here: a migration must not change with the
# application's code).
CAPTIONS_PER_CREATOR = 50
CAPTION_CHARS = 600
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE creator_fts USING fts5(handle, display_name, bio, captions, hashtags, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    "CREATE TRIGGER creator_fts_creator_deleted AFTER DELETE ON creators BEGIN "
    "DELETE FROM creator_fts WHERE rowid = old.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS creator_fts_creator_deleted",
    "DROP TABLE IF EXISTS creator_fts",
)
POSTGRES_DDL = (
    "CREATE TABLE creator_fts (creator_id integer PRIMARY KEY "
    "REFERENCES creators (id) ON DELETE CASCADE, document tsvector NOT NULL)",
    "CREATE INDEX ix_creator_fts_document ON creator_fts USING gin (document)",
)
POSTGRES_DROP = ("DROP TABLE IF EXISTS creator_fts",)
SQLITE_INSERT = (
    "INSERT INTO creator_fts (rowid, handle, display_name, bio, captions, hashtags) "
    "VALUES (:id, :handle, :name, :bio, :captions, :tags)"
)
POSTGRES_INSERT = (
    "INSERT INTO creator_fts (creator_id, document) VALUES (:id, "
    "setweight(to_tsvector('simple', :handle || ' ' || :name), 'A') || "
    "setweight(to_tsvector('simple', :tags || ' ' || :bio), 'B') || "
    "setweight(to_tsvector('simple', :captions), 'C'))"
)


def _backfill_index(connection: sa.engine.Connection) -> None:
    """Every creator with a report, indexed as ``search_index.refresh`` would (with core SQL:
    the ORM models of a later version may have columns this schema lacks)."""
    creators = connection.execute(
        sa.text(
            "SELECT id, handle, display_name, bio FROM creators "
            "WHERE refreshed_at IS NOT NULL ORDER BY id"
        )
    ).all()
    insert = sa.text(POSTGRES_INSERT if connection.dialect.name == "postgresql" else SQLITE_INSERT)
    for start in range(0, len(creators), 500):
        chunk = creators[start : start + 500]
        rows = []
        for creator_id, handle, name, bio in chunk:
            posts = connection.execute(
                sa.text(
                    "SELECT caption, hashtags FROM creator_posts WHERE creator_id = :id "
                    "ORDER BY posted_at DESC, id DESC LIMIT :n"
                ),
                {"id": creator_id, "n": CAPTIONS_PER_CREATOR},
            ).all()
            captions = "\n".join((caption or "")[:CAPTION_CHARS] for caption, _ in posts)
            tags: list[str] = []
            for _, hashtags in posts:
                parsed = json.loads(hashtags) if isinstance(hashtags, str) else hashtags
                for tag in parsed or []:
                    tag = str(tag).lstrip("#").lower()
                    if tag and tag not in tags:
                        tags.append(tag)
            rows.append(
                {
                    "id": creator_id,
                    "handle": handle,
                    "name": name or "",
                    "bio": bio or "",
                    "captions": captions,
                    "tags": " ".join(tags),
                }
            )
        connection.execute(insert, rows)


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    for statement in POSTGRES_DDL if postgres else SQLITE_DDL:
        op.execute(statement)
    _backfill_index(connection)

    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_saved_searches_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_saved_searches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_saved_searches_workspace_id_name")
        ),
    )
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_searches_created_by_user_id"), ["created_by_user_id"], unique=False
        )
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.create_index("ix_creators_engagement_rate", ["engagement_rate"], unique=False)
        batch_op.create_index("ix_creators_audience_quality", ["audience_quality"], unique=False)
        batch_op.create_index("ix_creators_refreshed_at", ["refreshed_at"], unique=False)
        batch_op.create_index(
            "ix_creators_discovery_followers",
            [
                "followers_count",
                "refreshed_at",
                "engagement_rate",
                "audience_quality",
                "category",
                "language",
                "platform",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_creators_discovery_category",
            [
                "category",
                "language",
                "refreshed_at",
                "followers_count",
                "engagement_rate",
                "audience_quality",
                "platform",
            ],
            unique=False,
        )

    access = sa.table(
        "creator_access",
        sa.column("id", sa.Integer()),
        sa.column("reason", sa.String()),
        sa.column("granted_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    rows = connection.execute(
        sa.select(access.c.id, access.c.granted_at).where(
            access.c.reason == "requested", access.c.expires_at.is_(None)
        )
    ).all()
    for row_id, granted_at in rows:
        connection.execute(
            access.update()
            .where(access.c.id == row_id)
            .values(expires_at=granted_at + dt.timedelta(days=REQUESTED_ACCESS_DAYS))
        )


def downgrade() -> None:
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_index("ix_creators_discovery_category")
        batch_op.drop_index("ix_creators_discovery_followers")
        batch_op.drop_index("ix_creators_refreshed_at")
        batch_op.drop_index("ix_creators_audience_quality")
        batch_op.drop_index("ix_creators_engagement_rate")
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_searches_created_by_user_id"))
    op.drop_table("saved_searches")
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DROP if postgres else SQLITE_DROP:
        op.execute(statement)
    # The access rows' end dates stay: which of them had none before is not recorded.
