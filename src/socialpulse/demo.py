"""The demo workspace that `make run` guarantees: an owner, a second workspace to switch to,
a fresh API key printed at each start (keys are stored hashed, so the previous one cannot be
shown again; it is revoked instead), and six accounts on the simulated platform with 180 days
of history so every page shows real-looking data at first start."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.ingest import write_account_snapshot
from socialpulse.accounts.models import AccountSnapshot, Post, PostMetricSnapshot, TrackedAccount
from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.kit.security import SecretBox
from socialpulse.kit.upsert import upsert
from socialpulse.providers.simulated import SimulatedPlatform
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import ApiKey, Role
from socialpulse.workspaces.tenancy import Subject

DEMO_EMAIL = "demo@socialpulse.local"
# The accounts domain lets these workspaces use the simulated platform.
DEMO_SLUG, DEMO_SECOND_SLUG = accounts_service.SIMULATED_WORKSPACE_SLUGS
DEMO_KEY_NAME = "Demo key (make run)"
DEMO_SEED = 42
DEMO_HISTORY_DAYS = 180
# (handle, is_own): the creator's own channels and two competitors they watch.
DEMO_ACCOUNTS = [
    ("garden_lab", True),
    ("garden_lab_shorts", True),
    ("fit_with_maya", True),
    ("city_eats_daily", True),
    ("green_thumb_tv", False),
    ("urban_jungle_co", False),
]


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
        workspace_id, owner_id = workspace.id, user.id
    seed_demo_accounts(db, settings, workspace_id)
    # Every demo caption is analysed before the dashboard opens (fractions of a second).
    from socialpulse.ai.service import analyze_pending_posts

    analyze_pending_posts(db, workspace_id=workspace_id)
    seed_demo_inbox(db, settings, workspace_id, owner_id)
    # Creator intelligence (#13): 60 creators with complete reports and related profiles.
    from socialpulse.demo_creators import DEMO_CREATOR_SEED, seed_demo_creators

    seed_demo_creators(db, workspace_id, owner_id, DEMO_CREATOR_SEED)
    # Credits and teams (#14): the Standard plan, a top-up, unlocks, a list and a campaign.
    from socialpulse.demo_billing import seed_demo_billing

    seed_demo_billing(db, workspace_id, owner_id)
    # Publishing (#15): next week's posts, a recurring series, a failed post, ROI values.
    from socialpulse.demo_publishing import seed_demo_publishing

    seed_demo_publishing(db, workspace_id, owner_id)
    return DemoCredentials(DEMO_EMAIL, password, plaintext, DEMO_SLUG)


def _snapshot_days(posted: dt.date, today: dt.date) -> list[dt.date]:
    """Daily for a post's first two weeks (when its numbers move), weekly after."""
    days = []
    day = posted
    while day <= today:
        days.append(day)
        day += dt.timedelta(days=1 if (day - posted).days < 14 else 7)
    if days[-1] != today:
        days.append(today)
    return days


def seed_demo_accounts(db: Database, settings: Settings, workspace_id: int) -> int:
    """Backfill the demo accounts once; later starts keep (and the daily fetch extends) them."""
    with db.session(readonly=True) as session:
        if session.scalar(select(func.count()).where(TrackedAccount.workspace_id == workspace_id)):
            return 0
    now = utcnow()
    sim = SimulatedPlatform(seed=DEMO_SEED, now=lambda: now)
    box = SecretBox(settings.resolved_secret_key())
    start = now - dt.timedelta(days=DEMO_HISTORY_DAYS)
    for handle, is_own in DEMO_ACCOUNTS:
        profile = sim.get_profile(handle)
        history = sim.history(handle, DEMO_HISTORY_DAYS)
        posts = sim.posts_between(handle, start, now)
        with db.session() as session:
            account = TrackedAccount(
                workspace_id=workspace_id,
                platform="simulated",
                is_own=is_own,
                credentials_encrypted=box.encrypt(json.dumps({"seed": DEMO_SEED})),
                last_fetched_at=now,
            )
            accounts_service.apply_profile(account, profile)
            session.add(account)
            session.flush()
            upsert(
                session,
                AccountSnapshot.__table__,  # type: ignore[arg-type]
                [
                    {
                        "account_id": account.id,
                        "day": snap.date,
                        "followers_count": snap.followers,
                        "following_count": snap.following,
                        "posts_count": snap.posts_count,
                        "captured_at": snap.at,
                    }
                    for snap in history
                ],
                conflict=["account_id", "day"],
                update=["followers_count", "following_count", "posts_count"],
            )
            accounts_service.ingest_posts(session, account, posts, day=now.date(), captured_at=now)
            # Today's snapshot with the totals over the posts, as a fetch writes it.
            write_account_snapshot(session, account, now.date())
            ids = dict(
                session.execute(
                    select(Post.external_id, Post.id).where(Post.account_id == account.id)
                ).all()
            )
            rows = []
            for post in posts:
                for day in _snapshot_days(post.posted_at.date(), now.date()):
                    end_of_day = min(now, dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC))
                    metrics = sim.post_metrics_at(post, end_of_day)
                    rows.append(
                        {
                            "post_id": ids[post.external_id],
                            "day": day,
                            "views": metrics.views,
                            "likes": metrics.likes,
                            "comments": metrics.comments,
                            "shares": metrics.shares,
                            "saves": metrics.saves,
                            "captured_at": end_of_day,
                        }
                    )
            upsert(
                session,
                PostMetricSnapshot.__table__,  # type: ignore[arg-type]
                rows,
                conflict=["post_id", "day"],
                update=["views", "likes", "comments", "shares", "saves"],
            )
    return len(DEMO_ACCOUNTS)


DEMO_WORKFLOWS: list[dict[str, object]] = [
    {
        "name": "Thank happy fans",
        "priority": 10,
        "conditions": [
            {"type": "sentiment", "values": ["positive"], "min_confidence": 0.8},
            {"type": "intent", "values": ["praise"]},
        ],
        "actions": [
            # No text of its own: the response template for the fan's language ("¡Muchas
            # gracias, …!" to a Spanish compliment), as a multilingual audience expects.
            {"type": "auto_reply"},
            {"type": "label", "name": "thanked"},
        ],
    },
    {
        "name": "Flag collaboration requests",
        "priority": 20,
        "conditions": [{"type": "intent", "values": ["collaboration"]}],
        "actions": [{"type": "flag"}, {"type": "label", "name": "collab"}],
    },
    {
        "name": "Escalate complaints unanswered for 4 hours",
        "priority": 30,
        "trigger": "unanswered_for",
        "trigger_hours": 4,
        "conditions": [{"type": "intent", "values": ["complaint"]}],
        "actions": [
            {"type": "flag"},
            {"type": "set_priority", "priority": 95},
            {"type": "label", "name": "escalated"},
        ],
    },
]


def seed_demo_inbox(db: Database, settings: Settings, workspace_id: int, owner_id: int) -> int:
    """Once: three example workflows, then the own accounts' recent comments pulled through
    the real pipeline (analysis, workflows, fans, paced replies on the dry-run publisher)."""
    from socialpulse.inbox import fans, polling
    from socialpulse.inbox.models import CommentPoll, Workflow
    from socialpulse.inbox.workflows import schemas as workflow_schemas
    from socialpulse.inbox.workflows import service as workflows

    with db.session(readonly=True) as session:
        if session.scalar(select(func.count()).where(Workflow.workspace_id == workspace_id)):
            return 0
    subject = Subject(workspace_id=workspace_id, role=Role.owner, user_id=owner_id)
    with db.session() as session:
        for definition in DEMO_WORKFLOWS:
            workflows.create_workflow(
                session, subject, workflow_schemas.WorkflowCreate.model_validate(definition)
            )
        polling.ensure_polls(session, utcnow())
        poll_ids = list(
            session.scalars(
                select(CommentPoll.id)
                .where(CommentPoll.workspace_id == workspace_id)
                .order_by(CommentPoll.id)
            )
        )
    box = SecretBox(settings.resolved_secret_key())
    stored = 0
    for poll_id in poll_ids:
        stored += polling.poll_post_comments(db, poll_id, box=box).interactions_new
    fans.evaluate_all(db, workspace_id=workspace_id)
    return stored
