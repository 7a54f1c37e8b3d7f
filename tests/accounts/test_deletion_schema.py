"""Which tables an account's removal empties is read from the schema: a new domain's table
that points at an account (or at a row of one) is cleaned up without editing accounts."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

from socialpulse.accounts import deletion
from socialpulse.migrations.runner import import_all_models


def _with_a_new_domain() -> MetaData:
    metadata = MetaData()
    for table in import_all_models().sorted_tables:
        table.to_metadata(metadata)
    Table(
        "creator_notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    )
    Table(
        "creator_note_tags",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("note_id", ForeignKey("creator_notes.id", ondelete="CASCADE"), nullable=False),
    )
    # A row that only mentions a post (SET NULL) outlives it: not the account's to delete.
    Table(
        "post_mentions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("post_id", ForeignKey("posts.id", ondelete="SET NULL"), nullable=True),
    )
    return metadata


def test_a_new_domains_tables_are_deleted_children_first() -> None:
    steps = {step.name: step for step in deletion.deletion_steps(_with_a_new_domain())}
    names = list(steps)
    assert "post_mentions" not in names
    assert names.index("creator_note_tags") < names.index("creator_notes")
    note_tags = steps["creator_note_tags"]
    where = str(note_tags.belongs(7).compile(compile_kwargs={"literal_binds": True}))
    assert "creator_notes.account_id = 7" in where


def test_every_table_that_points_at_an_account_is_a_step_after_its_children() -> None:
    import_all_models()
    steps = deletion.deletion_steps()
    position = {step.name: i for i, step in enumerate(steps)}
    assert {
        "interactions",
        "workflow_matches",
        "reply_queue",
        "comment_polls",
        "reply_limits",
        "posts",
        "post_metric_snapshots",
        "post_analyses",
        "content_mappings",
        "account_snapshots",
        "fetch_runs",
        # Publishing: the account's targets of posts and their deliveries.
        "publishing_targets",
        "publishing_deliveries",
        # Performance alerts (issue #16): the account's rules and the alerts they fired.
        "alert_rules",
        "alerts",
        # "Wrong label" corrections of the account's interactions (issue #17).
        "ai_label_corrections",
    } == set(position)
    for step in steps:
        for fk in step.table.foreign_keys:
            parent = fk.column.table.name
            if parent in position and parent != step.name:
                assert position[step.name] < position[parent], (step.name, parent)
