"""Publishing test helpers (importable by test modules, unlike a conftest): the platforms
registered for a test (one with Bluesky's 300-grapheme limit and strict media rules, one that
cannot publish), a platform double that records what it publishes, and media files."""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from PIL import Image

from factories import WorkspaceFixture, add_account, make_workspace
from socialpulse.db import Database, utcnow
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import (
    CannotConfirm,
    MediaRules,
    PostDraft,
    PostRules,
    PublishedPost,
)
from socialpulse.publishing import validation

PLATFORM = "shortnet"
READ_ONLY = "readonlynet"
MB = 1024 * 1024

SHORT_RULES = PostRules(
    max_chars=300,
    graphemes=True,
    max_media=4,
    media={
        "image": MediaRules(
            frozenset({"image/jpeg", "image/png"}), max_bytes=1 * MB, max_width=2000
        ),
    },
    visibilities=("public", "followers"),
)


class PlatformDouble:
    """A platform that publishes into memory: counts calls, can fail on demand, finds its
    own posts after a crash (as ``find_post`` must)."""

    can_hide = False

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.posts: list[tuple[str, str, dt.datetime]] = []  # (account, text, when)
        self.errors: list[Exception] = []
        self.cannot_confirm = False
        self.quota_units = 0

    def reply(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no replies in publishing tests")

    def find_existing(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no replies in publishing tests")

    def publish_post(self, account: Any, draft: PostDraft) -> PublishedPost:
        self.calls.append(draft.text)
        if self.errors:
            raise self.errors.pop(0)
        self.posts.append((account.external_id, draft.text, utcnow()))
        number = len(self.posts)
        return PublishedPost(
            f"post-{number}", f"https://{PLATFORM}.invalid/p/{number}", self.quota_units
        )

    def find_post(
        self, account: Any, draft: PostDraft, *, since: dt.datetime
    ) -> PublishedPost | None:
        if self.cannot_confirm:
            raise CannotConfirm("no read access to the account's posts")
        for number, (owner, text, _) in enumerate(self.posts, start=1):
            if owner == account.external_id and text == draft.text:
                return PublishedPost(f"post-{number}", None)
        return None


def _no_source(
    credentials: Mapping[str, Any],
    observer: pb.CallObserver | None = None,
    http_client: Any = None,
) -> object:
    return object()


@pytest.fixture
def platform() -> Iterator[PlatformDouble]:
    double = PlatformDouble()

    def build_publisher(
        credentials: Mapping[str, Any],
        observer: pb.CallObserver | None = None,
        http_client: Any = None,
        *,
        handle: str = "",
    ) -> Any:
        return double

    registry.register_provider(
        registry.ProviderInfo(
            platform=PLATFORM,
            display_name="ShortNet",
            needs_credentials=False,
            capabilities=frozenset({registry.Capability.PROFILE, registry.Capability.PUBLISH}),
            parse_profile_url=lambda url: None,
            build=_no_source,
            publisher=build_publisher,
            post_rules=SHORT_RULES,
        )
    )
    registry.register_provider(
        registry.ProviderInfo(
            platform=READ_ONLY,
            display_name="ReadOnlyNet",
            needs_credentials=False,
            capabilities=frozenset({registry.Capability.PROFILE}),
            parse_profile_url=lambda url: None,
            build=_no_source,
        )
    )
    validation.forget_live_rules()
    yield double
    registry.unregister_provider(PLATFORM)
    registry.unregister_provider(READ_ONLY)
    validation.forget_live_rules()


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "publish-co")


@pytest.fixture
def account(db: Database, ws: WorkspaceFixture, platform: PlatformDouble) -> int:
    return add_account(db, ws.workspace_id, PLATFORM, handle="ourbrand", external_id="own-1")


@pytest.fixture
def read_only_account(db: Database, ws: WorkspaceFixture, platform: PlatformDouble) -> int:
    return add_account(db, ws.workspace_id, READ_ONLY, handle="watcher", external_id="ro-1")


@pytest.fixture
def soon() -> dt.datetime:
    """An hour from now, on the minute: a time the checks accept and no job reaches."""
    return (utcnow() + dt.timedelta(hours=1)).replace(second=0, microsecond=0)


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 255)).save(out, format="GIF")
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(
    *, seconds: float = 12.5, width: int = 1280, height: int = 720, brand: bytes = b"isom"
) -> bytes:
    """A minimal ISO BMFF file laid out as ISO/IEC 14496-12 specifies: ``ftyp``, ``mdat``
    (before the movie header, as a camera writes it) and ``moov`` with ``mvhd`` (version 0:
    timescale 1000) and one ``trak`` whose ``tkhd`` carries the picture size (16.16)."""
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 0) + brand + b"mp41")
    mdat = _box(b"mdat", b"\x00" * 64)
    mvhd = _box(
        b"mvhd",
        bytes(4) + struct.pack(">IIII", 0, 0, 1000, int(seconds * 1000)) + bytes(80),
    )
    tkhd = _box(
        b"tkhd",
        bytes([0, 0, 0, 3])
        + struct.pack(">IIIII", 0, 0, 1, 0, int(seconds * 1000))
        + bytes(8)
        + struct.pack(">hhhh", 0, 0, 0, 0)
        + bytes(36)
        + struct.pack(">II", width << 16, height << 16),
    )
    trak = _box(b"trak", tkhd)
    moov = _box(b"moov", mvhd + trak)
    return ftyp + mdat + moov


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture
def make_mp4() -> Callable[..., bytes]:
    return mp4_bytes
