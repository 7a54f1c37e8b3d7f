"""The demo workspace that `make run` guarantees: an owner, a second workspace to switch to,
and a fresh API key printed at each start (keys are stored hashed, so the previous one
cannot be shown again; it is revoked instead)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import ApiKey, Role
from socialpulse.workspaces.tenancy import Subject

DEMO_EMAIL = "demo@socialpulse.local"
DEMO_SLUG = "demo"
DEMO_SECOND_SLUG = "demo-agency"
DEMO_KEY_NAME = "Demo key (make run)"


@dataclass(frozen=True)
class DemoCredentials:
    email: str
    password: str
    api_key: str
    workspace_slug: str


def _demo_password(settings: Settings) -> str:
    """Random per install, kept beside the data (0600) so each start prints the same one."""
    path: Path = settings.data_dir / "demo-credentials.json"
    if path.exists():
        return str(json.loads(path.read_text())["password"])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"email": DEMO_EMAIL, "password": password}))
    path.chmod(0o600)
    return password


def ensure_demo(db: Database, settings: Settings) -> DemoCredentials:
    password = _demo_password(settings)
    with db.session() as session:
        user = workspace_service.get_user_by_email(session, DEMO_EMAIL)
        if user is None:
            user = workspace_service.create_user(session, DEMO_EMAIL, password, "Demo Owner")
        elif not workspace_service.authenticate(session, DEMO_EMAIL, password):
            workspace_service.set_password(session, user, password)
        slugs = {ws.slug: ws for ws, _ in workspace_service.workspaces_for_user(session, user.id)}
        if DEMO_SLUG not in slugs:
            slugs[DEMO_SLUG] = workspace_service.create_workspace(
                session, DEMO_SLUG, "Demo Creator", user, timezone="Europe/Berlin"
            )
        if DEMO_SECOND_SLUG not in slugs:
            slugs[DEMO_SECOND_SLUG] = workspace_service.create_workspace(
                session, DEMO_SECOND_SLUG, "Demo Agency", user, timezone="America/New_York"
            )
        workspace = slugs[DEMO_SLUG]
        subject = Subject(workspace_id=workspace.id, role=Role.owner, user_id=user.id)
        stale = session.scalars(
            select(ApiKey).where(
                ApiKey.workspace_id == workspace.id,
                ApiKey.name == DEMO_KEY_NAME,
                ApiKey.revoked_at.is_(None),
            )
        )
        for key in stale:
            key.revoked_at = utcnow()
        _key, plaintext = workspace_service.create_api_key(session, subject, DEMO_KEY_NAME)
    return DemoCredentials(DEMO_EMAIL, password, plaintext, DEMO_SLUG)
