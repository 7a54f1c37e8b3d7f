"""A platform registered only in this test (no subpackage, no table anywhere in the inbox) gets
comment polling, replies through the queue, hiding and budget accounting from its
`ProviderInfo` alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts import budget
from socialpulse.accounts.models import ApiUsage, Post, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox import moderation, polling
from socialpulse.inbox.models import CommentPoll, Interaction, ReplyQueueItem, ReplyStatus
from socialpulse.inbox.replies import sender
from socialpulse.inbox.replies import service as replies
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import PublishedReply

PLATFORM = "testnet"
BOX = SecretBox(TEST_SECRET_KEY)
QUOTA = 1_000


def _call(observer: pb.CallObserver | None, endpoint: str, cost: int = 1) -> None:
    if observer is None:
        return
    observer.before_call(PLATFORM, endpoint, cost)
    observer.after_call(
        pb.ApiCall(
            platform=PLATFORM,
            endpoint=endpoint,
            status_code=200,
            ok=True,
            latency_ms=1.0,
            quota_cost=cost,
        )
    )


@dataclass
class TestNetClient:
    """ProfileSource, PostSource and CommentSource of the test platform."""

    observer: pb.CallObserver | None = None

    def get_profile(self, handle: str) -> pb.Profile:
        raise pb.NotFoundError(f"no {handle} on {PLATFORM}", platform=PLATFORM)

    def list_posts(
        self, account: pb.AccountLike, cursor: str | None = None, limit: int = 50
    ) -> pb.Page[pb.Post]:
        return pb.Page(items=())

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> pb.Page[pb.Comment]:
        _call(self.observer, "testnet.comments")
        comment = pb.Comment(
            platform=PLATFORM,  # type: ignore[arg-type]
            external_id="c1",
            post_external_id=post_external_id,
            parent_external_id=None,
            author_external_id="fan-1",
            author_handle="fan",
            author_display_name="A Fan",
            author_followers_count=None,
            text="Where can I buy this?",
            posted_at=utcnow() - dt.timedelta(minutes=5),
            like_count=2,
        )
        return pb.Page(items=(comment,))


@dataclass
class NetPublisher:
    """Replies and hides, remembered in memory."""

    observer: pb.CallObserver | None = None
    replies: list[tuple[str, str]] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    can_hide: bool = True

    def reply(
        self, account: Any, interaction: Any, text: str, *, idempotency_key: str
    ) -> PublishedReply:
        _call(self.observer, "testnet.reply")
        self.replies.append((interaction.external_id, text))
        return PublishedReply(f"r{len(self.replies)}")

    def find_existing(self, account: Any, interaction: Any, text: str) -> PublishedReply | None:
        return None

    def hide(self, account: Any, interaction: Any) -> None:
        _call(self.observer, "testnet.hide")
        self.hidden.add(interaction.external_id)

    def unhide(self, account: Any, interaction: Any) -> None:
        self.hidden.discard(interaction.external_id)


@pytest.fixture
def testnet() -> Iterator[NetPublisher]:
    publisher = NetPublisher()

    def build(
        credentials: Mapping[str, Any],
        observer: pb.CallObserver | None = None,
        http_client: Any = None,
    ) -> TestNetClient:
        return TestNetClient(observer)

    def build_publisher(
        credentials: Mapping[str, Any],
        observer: pb.CallObserver | None = None,
        http_client: Any = None,
        *,
        handle: str = "",
    ) -> NetPublisher:
        publisher.observer = observer
        return publisher

    registry.register_provider(
        registry.ProviderInfo(
            platform=PLATFORM,
            display_name="TestNet",
            needs_credentials=False,
            capabilities=frozenset(
                {
                    registry.Capability.PROFILE,
                    registry.Capability.POSTS,
                    registry.Capability.COMMENTS,
                    registry.Capability.REPLY,
                    registry.Capability.HIDE,
                }
            ),
            parse_profile_url=lambda url: None,
            build=build,
            publisher=build_publisher,
            reply_limits=registry.ReplyLimits(100, 10, 0.0, 0.0, 0.0),
            text_limit=registry.TextLimit(50),
            daily_quota_units=QUOTA,
        )
    )
    try:
        yield publisher
    finally:
        registry.unregister_provider(PLATFORM)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "testnet-co")


def _account_with_post(db: Database, workspace_id: int) -> tuple[int, int]:
    with db.session() as session:
        account = TrackedAccount(
            workspace_id=workspace_id,
            platform=PLATFORM,
            external_id="brand-1",
            handle="brand",
            display_name="Brand",
        )
        session.add(account)
        session.flush()
        post = Post(
            workspace_id=workspace_id,
            account_id=account.id,
            external_id="p1",
            caption="a post",
            posted_at=utcnow() - dt.timedelta(hours=2),
        )
        session.add(post)
        session.flush()
        return account.id, post.id


def _poll(db: Database, account_id: int) -> int:
    with db.session() as session:
        polling.ensure_polls(session, utcnow(), account_id=account_id)
        poll_id = session.scalar(select(CommentPoll.id).where(CommentPoll.account_id == account_id))
    assert poll_id is not None
    result = polling.poll_post_comments(db, poll_id, box=BOX)
    assert (result.status, result.interactions_new) == ("completed", 1), result.error
    with db.session(readonly=True) as session:
        interaction_id = session.scalar(
            select(Interaction.id).where(Interaction.platform == PLATFORM)
        )
    assert interaction_id is not None
    return interaction_id


def test_a_registered_platform_is_polled_replied_on_and_hidden(
    db: Database, ws: WorkspaceFixture, testnet: NetPublisher
) -> None:
    account_id, _ = _account_with_post(db, ws.workspace_id)
    interaction_id = _poll(db, account_id)

    with db.session() as session:
        too_long = "x" * 51
        with pytest.raises(Exception, match="testnet replies are limited to 50 characters"):
            replies.reply_to(session, ws.subject, interaction_id, too_long)
    with db.session() as session:
        item_id = replies.reply_to(session, ws.subject, interaction_id, "Link in bio!").id
    result = sender.tick(db, now=utcnow() + dt.timedelta(minutes=1))
    assert result.sent == 1
    assert testnet.replies == [("c1", "Link in bio!")]
    with db.session(readonly=True) as session:
        item = session.get(ReplyQueueItem, item_id)
        assert item is not None and item.status == ReplyStatus.sent

    assert moderation.can_hide(PLATFORM)
    with db.session() as session:
        moderation.request_hide(session, ws.subject, interaction_id)
    # The hide job ran after commit (jobs run inline in the tests) through the publisher.
    assert testnet.hidden == {"c1"}
    with db.session(readonly=True) as session:
        hidden = session.get(Interaction, interaction_id)
        assert hidden is not None and moderation.HIDDEN_LABEL in hidden.labels

    with db.session(readonly=True) as session:
        usage = session.scalars(select(ApiUsage).where(ApiUsage.platform == PLATFORM)).all()
    # One comments page, one reply, one hide: each recorded against the platform's usage.
    assert sum(row.quota_units for row in usage) == 3


def test_a_registered_platform_s_quota_is_its_default_budget(
    db: Database, ws: WorkspaceFixture, testnet: NetPublisher
) -> None:
    with db.session(readonly=True) as session:
        limit = budget.budget_for(session, ws.workspace_id, PLATFORM)
    assert limit is not None and limit.daily_units == QUOTA


def test_an_unregistered_platform_keeps_the_fallbacks(db: Database) -> None:
    from socialpulse.inbox.replies import pacing

    assert pacing.default_limits("nowhere") == registry.FALLBACK_REPLY_LIMITS
    assert pacing.validate_text("nowhere", " " + "y" * 5000 + " ") == "y" * 5000
    assert not moderation.can_hide("nowhere")
