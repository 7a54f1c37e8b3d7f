"""Fixtures of the workspace tests: two workspaces with a row of every kind a route takes by
id (the tenancy tables), a real SMTP server on loopback, and dashboard helpers."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import (
    ContentItem,
    ContentMapping,
    MappingMethod,
    Post,
    TrackedAccount,
)
from socialpulse.alerts.models import Alert, AlertKind, AlertRule
from socialpulse.billing.payments_models import PaymentEvent, PaymentEventStatus
from socialpulse.creators.models import (
    Campaign,
    CampaignCost,
    CampaignCreator,
    Creator,
    CreatorList,
    CreatorListItem,
    SavedSearch,
)
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Fan, Interaction, InteractionKind, ReplyQueueItem, Workflow
from socialpulse.insights.models import CostCategory, WorkspaceCost
from socialpulse.publishing.models import Delivery as PublishingDelivery
from socialpulse.publishing.models import Post as PublishingPost
from socialpulse.publishing.models import PostStatus as PublishingStatus
from socialpulse.publishing.models import PostTarget as PublishingTarget
from socialpulse.webhooks.models import WebhookDelivery, WebhookSubscription
from socialpulse.worker.models import Job
from socialpulse.workspaces.models import ApiKey, Invitation, Membership, Role, UserSession

SMTP_USER = "mailer@example.test"
SMTP_PASSWORD = "p@ss:word"  # needs percent-encoding in the URL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    port: int
    messages: list[Message] = field(default_factory=list)
    reject_recipients: bool = False
    logins: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://mailer%40example.test:p%40ss%3Aword@127.0.0.1:{self.port}"

    # aiosmtpd handler hooks
    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.reject_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        ):
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=_free_port())
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=server.authenticate,
        auth_require_tls=False,  # loopback test server without a certificate
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def csrf() -> Callable[[str], str]:
    return csrf_of


@pytest.fixture
def web_login() -> Callable[..., Any]:
    def login(client: TestClient, email: str, password: str, next: str = "/") -> Any:
        page = client.get("/login")
        return client.post(
            "/login",
            data={
                "email": email,
                "password": password,
                "next": next,
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )

    return login


@pytest.fixture
def two(db: Database) -> tuple[WorkspaceFixture, WorkspaceFixture]:
    return make_workspace(db, "alpha-co"), make_workspace(db, "beta-co")


def _rows_of(db: Database, other: WorkspaceFixture) -> dict[str, Any]:
    """One row of every kind that a route takes by id, in `other`: {path parameter: id}."""
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=other.workspace_id, platform="simulated", external_id="x", handle="x"
        )
        session.add(account)
        session.flush()
        post = Post(
            workspace_id=other.workspace_id,
            account_id=account.id,
            external_id="p",
            posted_at=utcnow(),
        )
        item = ContentItem(workspace_id=other.workspace_id, title="Theirs")
        session.add_all([post, item])
        session.flush()
        mapping = ContentMapping(
            workspace_id=other.workspace_id,
            content_item_id=item.id,
            post_id=post.id,
            confidence=1.0,
            method=MappingMethod.manual,
            confirmed=True,
        )
        session.add(mapping)
        session.flush()
        member = session.scalar(
            select(Membership.id).where(Membership.workspace_id == other.workspace_id)
        )
        key = session.scalar(select(ApiKey.id).where(ApiKey.workspace_id == other.workspace_id))
        job = Job(workspace_id=other.workspace_id, kind="test.noop", payload={})
        fan = Fan(
            workspace_id=other.workspace_id, platform="simulated", external_id="f", handle="fan"
        )
        workflow = Workflow(workspace_id=other.workspace_id, name="Theirs")
        invitation = Invitation(
            workspace_id=other.workspace_id,
            email="theirs@x.test",
            role=Role.viewer,
            token_hash="0" * 64,
            expires_at=utcnow() + dt.timedelta(days=1),
        )
        user_session = UserSession(
            user_id=other.owner_id,
            token_hash=secrets.token_hex(32),
            expires_at=utcnow() + dt.timedelta(days=1),
        )
        saved_search = SavedSearch(
            workspace_id=other.workspace_id, name="Theirs", criteria={"query": "travel"}
        )
        payment = PaymentEvent(
            provider="stripe",
            event_id=f"evt_other_{other.workspace_id}",
            type="checkout.session.completed",
            workspace_id=other.workspace_id,
            status=PaymentEventStatus.fulfilled,
        )
        session.add_all([job, fan, workflow, invitation, user_session, saved_search, payment])
        session.flush()
        interaction = Interaction(
            workspace_id=other.workspace_id,
            account_id=account.id,
            post_id=post.id,
            fan_id=fan.id,
            platform="simulated",
            kind=InteractionKind.comment,
            external_id="c",
            author_external_id="f",
            author_handle="fan",
            text="hello",
            posted_at=utcnow(),
        )
        session.add(interaction)
        session.flush()
        item = ReplyQueueItem(
            workspace_id=other.workspace_id,
            account_id=account.id,
            interaction_id=interaction.id,
            platform="simulated",
            text="hi",
            scheduled_for=utcnow(),
            idempotency_key="k-" + str(interaction.id),
        )
        session.add(item)
        session.flush()
        # A shared creator on the workspace's list and in its campaign (with a cost line).
        creator = Creator(platform="simulated", handle=f"listed-{other.workspace_id}")
        saved = CreatorList(workspace_id=other.workspace_id, name="Theirs")
        campaign = Campaign(
            workspace_id=other.workspace_id,
            name="Theirs",
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2026, 1, 31),
        )
        session.add_all([creator, saved, campaign])
        session.flush()
        cost = CampaignCost(campaign_id=campaign.id, label="Ads", amount_cents=100)
        session.add_all(
            [
                CreatorListItem(list_id=saved.id, creator_id=creator.id),
                CampaignCreator(campaign_id=campaign.id, creator_id=creator.id),
                cost,
            ]
        )
        session.flush()
        # A recurring post scheduled for the account, with one delivery (publishing/api.py).
        soon = utcnow().replace(microsecond=0) + dt.timedelta(days=1)
        scheduled = PublishingPost(
            workspace_id=other.workspace_id,
            text="Theirs",
            status=PublishingStatus.scheduled,
            scheduled_at=soon,
            interval_s=86_400,
        )
        session.add(scheduled)
        session.flush()
        target = PublishingTarget(
            workspace_id=other.workspace_id, post_id=scheduled.id, account_id=account.id
        )
        session.add(target)
        session.flush()
        publication = PublishingDelivery(
            workspace_id=other.workspace_id,
            post_id=scheduled.id,
            target_id=target.id,
            account_id=account.id,
            platform="simulated",
            occurrence_at=soon,
            scheduled_for=soon,
            next_attempt_at=soon,
            idempotency_key=f"theirs-{other.workspace_id}",
        )
        session.add(publication)
        # A cost recorded for ROI (insights), tagged with the campaign.
        recorded = WorkspaceCost(
            workspace_id=other.workspace_id,
            category=CostCategory.tools,
            label="Theirs",
            amount_cents=100,
            currency="USD",
            incurred_on=dt.date(2026, 1, 2),
            campaign_id=campaign.id,
        )
        session.add(recorded)
        # Outbound webhooks (issue #15): a subscription and one delivery of it.
        hook = WebhookSubscription(
            workspace_id=other.workspace_id,
            url="https://hooks.example.com/theirs",
            event_types=["reply.sent"],
            secret_encrypted="not-decrypted-by-these-tests",
        )
        session.add(hook)
        session.flush()
        hook_delivery = WebhookDelivery(
            workspace_id=other.workspace_id,
            subscription_id=hook.id,
            event_id="msg_theirs",
            event_type="reply.sent",
            payload={"type": "reply.sent", "data": {}},
        )
        session.add(hook_delivery)
        session.flush()
        # Performance alerts (issue #16): a rule on the account and an alert it fired.
        alert_rule = AlertRule(
            workspace_id=other.workspace_id,
            account_id=account.id,
            kind=AlertKind.follower_drop,
            percent=5.0,
            days=7,
        )
        session.add(alert_rule)
        session.flush()
        alert = Alert(
            workspace_id=other.workspace_id,
            account_id=account.id,
            rule_id=alert_rule.id,
            kind=AlertKind.follower_drop,
            measured_value=10.0,
            threshold=5.0,
            unit="percent",
            message="theirs",
        )
        session.add(alert)
        session.flush()
        assert member
        assert key
        return {
            "publishing_post_id": scheduled.id,
            "delivery_id": publication.id,
            "workspace_cost_id": recorded.id,
            "subscription_id": hook.id,
            "webhook_delivery_id": hook_delivery.id,
            "rule_id": alert_rule.id,
            "alert_id": alert.id,
            "creator_id": creator.id,
            "list_id": saved.id,
            "campaign_id": campaign.id,
            "cost_id": cost.id,
            "fmt": "csv",
            "member_id": member,
            "key_id": key,
            "job_id": job.id,
            "account_id": account.id,
            "post_id": post.id,
            "item_id": item.id,
            "mapping_id": mapping.id,
            "fan_id": fan.id,
            "workflow_id": workflow.id,
            "interaction_id": interaction.id,
            "queue_item_id": item.id,
            "invitation_id": invitation.id,
            "session_id": user_session.id,
            "search_id": saved_search.id,
            "event_id": payment.id,
        }


@pytest.fixture
def other_ids(db: Database) -> Callable[[WorkspaceFixture], dict[str, int]]:
    """Rows of every kind a route takes by id, made in the given workspace."""
    return lambda workspace: _rows_of(db, workspace)
