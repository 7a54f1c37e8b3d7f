"""Fuzz every operation of the JSON API from its own OpenAPI document (schemathesis).

Each operation gets a freshly seeded workspace (simulated accounts with history, analysed
posts, comments in the inbox, fans, a workflow, a queued reply, a content item with mappings,
a queued fetch job) whose ids are the small ones generated ids hit first, and every generated
request is sent twice: with a viewer key and with an editor key. Schemathesis's explicit
examples, coverage (boundaries, wrong types, missing parameters and auth) and fuzzing phases
all run. Every response must not be a 5xx, must have a status the operation declares, the
declared content type, and a body that conforms to the declared schema (errors included:
`{"error": {"code", "message", "details"}}`).

New routes are covered without touching this file: the operations come from the app's OpenAPI.
No operation is excluded; none leaves the process: the seeded accounts are on the simulated
platform, jobs are queued and not run (see `fuzz_client`), and a connection to anything but
loopback fails (`_no_outbound_network`), which the API answers as a platform being down.

Reproducible: Hypothesis is derandomized (the same examples on every run). Sized for two to
three minutes per database on two cores. FUZZ_EXAMPLES=N changes the generated examples per
operation (default 25); FUZZ_ONLY=REGEX runs the operations whose "METHOD /path" matches.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient, get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import content
from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import AccountSnapshot, Post, TrackedAccount
from socialpulse.ai.service import analyze_pending_posts
from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.inbox import fans, ingest
from socialpulse.inbox.models import Interaction
from socialpulse.inbox.replies import service as replies
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflows
from socialpulse.providers.simulated import SimulatedPlatform
from socialpulse.worker.queue import configure_tasks
from socialpulse.workspaces.models import Role

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
ROLES = (Role.viewer, Role.editor)


def no_server_error(ctx: CheckContext, response: Response, case: schemathesis.Case) -> None:
    """`not_a_server_error`, except a 503 the operation declares: adding an account checks it
    on its platform, and a generated profile URL of a real platform (the schema's examples
    are Bluesky and Mastodon ones) meets no network here, which the API must answer with
    its documented 503 "platform down"."""
    declared = case.operation.definition.raw.get("responses", {})
    if response.status_code == 503 and "503" in declared:
        return None
    not_a_server_error(ctx, response, case)
    return None


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Not run: `negative_data_rejection` (pydantic's lax mode accepts 0 for false, a Unix time
# for a date, on purpose) and `positive_data_acceptance` (a schema-valid request may still be
# a 404 for a random id, a 403 for the viewer, or a 422 for semantics no schema states, such
# as a regex with nested repetition).

# Per operation: examples run and statuses answered (printed at the end of the module).
_TALLY: dict[str, Counter[str]] = {}


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document, built at collection: one test per operation needs the
    operations before any fixture runs. This app is never called (its database is unused);
    requests go to `fuzz_client`'s app."""
    from socialpulse.app import create_app

    unused = Path(tempfile.mkdtemp(prefix="socialpulse-openapi-")) / "unused.db"
    settings = Settings(_env_file=None, database_url=f"sqlite:///{unused}", tasks_url="memory://")  # type: ignore[call-arg]
    return create_app(settings, start_worker=False).openapi()


schema = schemathesis.openapi.from_dict(
    _openapi(), config=schemathesis.Config.from_dict({"generation": {"max-examples": EXAMPLES}})
)
if os.environ.get("FUZZ_ONLY"):  # e.g. FUZZ_ONLY='^GET /api/v1/inbox/interactions$' to debug one
    schema = schema.include(name_regex=os.environ["FUZZ_ONLY"])


@dataclass(frozen=True)
class Seeded:
    workspace: WorkspaceFixture

    def headers(self, role: Role) -> dict[str, str]:
        return self.workspace.headers(role)


def _seed_accounts(db: Database, workspace_id: int) -> list[int]:
    """Two simulated accounts (own and a competitor) with 30 days of snapshots and posts,
    stored the way a fetch stores them."""
    now = utcnow()
    sim = SimulatedPlatform(seed=7, now=lambda: now)
    ids = []
    for handle, is_own in (("garden_lab", True), ("green_thumb_tv", False)):
        with db.session() as session:
            account = TrackedAccount(
                workspace_id=workspace_id, platform="simulated", is_own=is_own, last_fetched_at=now
            )
            accounts_service.apply_profile(account, sim.get_profile(handle))
            session.add(account)
            session.flush()
            for snap in sim.history(handle, 30):
                session.add(
                    AccountSnapshot(
                        account_id=account.id,
                        day=snap.date,
                        followers_count=snap.followers,
                        following_count=snap.following,
                        posts_count=snap.posts_count,
                    )
                )
            posts = sim.posts_between(handle, now - dt.timedelta(days=30), now)
            accounts_service.ingest_posts(session, account, posts, day=now.date(), captured_at=now)
            ids.append(account.id)
    return ids


def _seed_inbox(db: Database, ws: WorkspaceFixture, account_id: int) -> None:
    """Comments of the own account's latest posts through the real ingestion (analysis,
    workflows, fans), a queued reply, a content item mapped to posts, and a fetch job."""
    now = utcnow()
    sim = SimulatedPlatform(seed=7, now=lambda: now)
    subject = ws.subject
    with db.session() as session:
        workflows.create_workflow(
            session,
            subject,
            workflow_schemas.WorkflowCreate.model_validate(
                {
                    "name": "Flag complaints",
                    "conditions": [{"type": "intent", "values": ["complaint"]}],
                    "actions": [{"type": "flag"}, {"type": "label", "name": "complaint"}],
                }
            ),
        )
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        posts = session.scalars(
            select(Post).where(Post.account_id == account_id).order_by(Post.posted_at.desc())
        ).all()[:3]
        for post in posts:
            page = sim.list_comments(post.external_id)
            ingest.ingest_interactions(session, account, page.items[:8], post_id=post.id)
        first = session.scalars(
            select(Interaction.id).where(Interaction.workspace_id == ws.workspace_id).limit(1)
        ).first()
        if first is not None:
            replies.reply_to(session, subject, first, "Thank you!")
        item = content.create_content_item(
            session, subject, title=posts[0].caption[:80] or "Launch", url=posts[0].url
        )
        content.auto_map(session, subject, item.id, threshold=0.5)
        accounts_service.request_fetch(session, subject, account_id)  # a queued job
    fans.evaluate_all(db, workspace_id=ws.workspace_id)


@pytest.fixture(scope="module")
def fuzz_client(
    settings: Settings, migrated_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ASGIClient]:
    """One in-process client for the module: the app's lifespan (job handlers registered)
    runs once, not around every request.

    Jobs are queued (durable rows, as in production) but not run: running them inline, as
    the other tests' `memory://` queue does, would make a "poll comments now" request ingest
    and analyse thousands of simulated comments. Job handlers have tests of their own; the
    API's part is answering 202 with the job."""
    from socialpulse.app import create_app

    queue = tmp_path_factory.mktemp("fuzz-tasks") / "tasks.db"
    tasks_url = f"sqlite:///{queue}"
    # The per-key rate limit has tests of its own; here it would answer most examples 429.
    fuzz_settings = settings.model_copy(
        update={"tasks_url": tasks_url, "api_rate_limit": "1000000/minute"}
    )
    app = create_app(fuzz_settings, start_worker=False)
    try:
        with get_client(app) as client:
            yield client
    finally:
        configure_tasks(settings)  # the other modules' inline queue


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    _report(request)


def _report(request: pytest.FixtureRequest) -> None:
    """One line after the module: what was exercised (pytest captures teardown output)."""
    if not _TALLY:
        return
    examples = sum(counter["examples"] for counter in _TALLY.values())
    statuses: Counter[str] = Counter()
    for counter in _TALLY.values():
        statuses.update({key: n for key, n in counter.items() if key != "examples"})
    line = (
        f"api fuzz: {len(_TALLY)} operations, {examples} examples, each sent as "
        f"{' and '.join(role.value for role in ROLES)}; statuses "
        + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)


@pytest.fixture
def seeded(db: Database) -> Seeded:
    ws = make_workspace(db, "fuzz")
    # Another workspace with data of its own: its ids must read as not found.
    other = make_workspace(db, "fuzz-other", "owner@fuzz-other.test")
    account_ids = _seed_accounts(db, ws.workspace_id)
    analyze_pending_posts(db, workspace_id=ws.workspace_id)
    _seed_inbox(db, ws, account_ids[0])
    _seed_accounts(db, other.workspace_id)
    return Seeded(ws)


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback (the test databases) is reachable: an operation that tried to call a real
    platform sees it as down instead of leaving the machine."""
    real = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz test: no network to {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation(case: schemathesis.Case, seeded: Seeded, fuzz_client: ASGIClient) -> None:
    tally = _TALLY.setdefault(case.operation.label, Counter())
    tally["examples"] += 1
    for role in ROLES:
        response = case.call_and_validate(
            session=fuzz_client, headers=seeded.headers(role), checks=CHECKS
        )
        tally[str(response.status_code)] += 1
