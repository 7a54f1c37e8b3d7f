"""The inbox's text and label filters are user input put into SQL LIKE patterns: `%` and `_`
in them are literal characters, never wildcards (a pattern built from input stays a single
substring search, on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox import service
from socialpulse.inbox.models import Interaction, InteractionKind

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
TEXTS = {
    "percent": ("100% organic", ["v_p"]),
    "plain": ("100 organic cotton", ["vip"]),
    "underscore": ("snake_case rocks", []),
    "letter": ("snakeXcase rocks", []),
    "backslash": (r"a\b path", []),
}


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    workspace = make_workspace(db, "wildcard-shop")
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=workspace.workspace_id,
            platform="simulated",
            external_id="own",
            handle="shop",
        )
        session.add(account)
        session.flush()
        for n, (text, labels) in enumerate(TEXTS.values()):
            session.add(
                Interaction(
                    workspace_id=workspace.workspace_id,
                    account_id=account.id,
                    platform="simulated",
                    kind=InteractionKind.comment,
                    external_id=uuid.uuid4().hex,
                    author_external_id=f"a{n}",
                    author_handle=f"fan{n}",
                    text=text,
                    labels=labels,
                    posted_at=T0 + dt.timedelta(minutes=n),
                )
            )
    return workspace


def _found(db: Database, ws: WorkspaceFixture, **filters: str) -> set[str]:
    by_text = {text: key for key, (text, _labels) in TEXTS.items()}
    with db.session(readonly=True) as session:
        page = service.list_interactions(
            session, ws.subject, service.InteractionFilters(**filters), limit=50
        )
        return {by_text[row.text or ""] for row in page.items}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", {"percent"}),
        ("0% o", {"percent"}),
        ("_", {"underscore"}),
        ("e_c", {"underscore"}),
        ("\\", {"backslash"}),
        ("organic", {"percent", "plain"}),
    ],
)
def test_search_text_wildcards_are_literal(
    db: Database, ws: WorkspaceFixture, q: str, expected: set[str]
) -> None:
    assert _found(db, ws, q=q) == expected


def test_label_filter_wildcards_are_literal(db: Database, ws: WorkspaceFixture) -> None:
    assert _found(db, ws, label="v_p") == {"percent"}
    assert _found(db, ws, label="vip") == {"plain"}
    assert _found(db, ws, label="%") == set()
