"""Every model has a factory: a new model is buildable in tests the day it is added."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make
from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.db import Base, Database
from socialpulse.inbox.models import Interaction

MODELS = sorted((m.class_ for m in Base.registry.mappers), key=lambda cls: cls.__name__)


@pytest.mark.parametrize("model", MODELS, ids=lambda cls: cls.__name__)
def test_every_model_builds_a_valid_row_with_its_parents(db: Database, model: type[Base]) -> None:
    with db.session() as session:
        first = make(session, model)
        second = make(session, model)  # unique columns do not collide
        assert first is not second
    with db.session() as session:
        assert len(session.scalars(select(model)).all()) >= 2


def test_children_share_their_parents_workspace(db: Database) -> None:
    with db.session() as session:
        account = make(session, TrackedAccount)
        post = make(session, Post, account_id=account.id)
        comment = make(session, Interaction, account_id=account.id, post_id=post.id)
        assert post.workspace_id == comment.workspace_id == account.workspace_id
