"""Billing fixtures: a workspace on a chosen plan with a chosen balance."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from billing_support import Setup
from factories import WorkspaceFixture, make_workspace
from socialpulse.billing import pricing, schemas, service
from socialpulse.db import Database
from socialpulse.workspaces import service as workspace_service


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme")


@pytest.fixture
def other(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "rival")


@pytest.fixture
def setup_wallet(db: Database) -> Setup:
    """``setup_wallet(ws, plan="standard", credits=40, **plan_overrides)``: the workspace on
    `plan` (edited by the overrides), with `credits` granted."""

    def setup(
        ws: WorkspaceFixture, plan: str = "standard", credits: int = 0, **overrides: int
    ) -> None:
        with db.session() as session:
            if overrides:
                pricing.update_plan(session, plan, schemas.PlanUpdate(**overrides))
            service.set_plan(session, ws.workspace_id, plan, reason="test setup")
            if credits:
                service.grant_credits(session, ws.workspace_id, credits, reason="test setup")

    return setup


@pytest.fixture
def make_instance_admin(db: Database) -> Callable[[WorkspaceFixture], None]:
    def make(ws: WorkspaceFixture) -> None:
        with db.session() as session:
            workspace_service.set_instance_admin(session, ws.owner_email, True)

    return make
