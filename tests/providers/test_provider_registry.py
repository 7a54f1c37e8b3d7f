"""Provider discovery, lookup by name, and profile URL recognition."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import socialpulse.providers as providers_package
from socialpulse.providers import registry
from socialpulse.providers.base import (
    CommentSource,
    Platform,
    PostSource,
    ProfileSource,
    RecordingObserver,
)
from socialpulse.providers.registry import (
    Capability,
    MissingCredentialsError,
    ProviderInfo,
    UnknownPlatformError,
    UnsupportedUrlError,
    get_provider,
    parse_account_ref,
)

REAL_CLIENTS = (Platform.BLUESKY, Platform.MASTODON, Platform.YOUTUBE)


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()  # restore the package path before discovering the real providers again
    registry.reload_providers()


def test_discovers_each_real_client_subpackage() -> None:
    found = registry.all_providers()
    for platform in REAL_CLIENTS:
        info = found[platform]
        assert isinstance(info, ProviderInfo)
        assert info.platform is platform
        assert info.supports("comments")
        assert info.url_forms


def test_get_provider_is_case_insensitive() -> None:
    assert get_provider("YouTube").platform is Platform.YOUTUBE
    assert get_provider(Platform.BLUESKY).display_name == "Bluesky"


def test_unknown_platform_lists_the_supported_ones() -> None:
    with pytest.raises(UnknownPlatformError, match="Unknown platform 'myspace'") as excinfo:
        get_provider("myspace")
    assert {"bluesky", "mastodon", "youtube"} <= set(excinfo.value.supported)
    assert "bluesky" in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    ("text", "platform", "handle"),
    [
        ("https://bsky.app/profile/alice.bsky.social", Platform.BLUESKY, "alice.bsky.social"),
        ("https://bsky.app/profile/did:plc:abc123/post/3k", Platform.BLUESKY, "did:plc:abc123"),
        ("bsky.app/profile/Alice.bsky.social", Platform.BLUESKY, "alice.bsky.social"),
        ("https://mastodon.social/@alice", Platform.MASTODON, "alice@mastodon.social"),
        ("https://fosstodon.org/@bob/11234", Platform.MASTODON, "bob@fosstodon.org"),
        ("https://mastodon.social/@bob@fosstodon.org", Platform.MASTODON, "bob@fosstodon.org"),
        ("@carol@hachyderm.io", Platform.MASTODON, "carol@hachyderm.io"),
        ("https://www.youtube.com/@GoogleDevelopers", Platform.YOUTUBE, "@GoogleDevelopers"),
        ("https://youtube.com/@handle/videos", Platform.YOUTUBE, "@handle"),
        (
            "https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw",
            Platform.YOUTUBE,
            "UC_x5XG1OV2P6uZZ5FSM9Ttw",
        ),
    ],
)
def test_parse_account_ref_recognises_profile_urls(
    text: str, platform: Platform, handle: str
) -> None:
    assert parse_account_ref(text) == (platform, handle)


@pytest.mark.parametrize(
    ("text", "platform", "handle"),
    [
        ("https://www.instagram.com/name/", Platform.INSTAGRAM, "name"),
        ("https://www.tiktok.com/@name", Platform.TIKTOK, "name"),
    ],
)
def test_parse_account_ref_uses_other_providers_parsers(
    text: str, platform: Platform, handle: str
) -> None:
    assert parse_account_ref(text) == (platform, handle)


def test_fixed_host_urls_are_never_taken_for_mastodon_instances() -> None:
    for url in ("https://www.tiktok.com/@name", "https://www.youtube.com/@x/"):
        try:
            platform, _ = parse_account_ref(url)
        except UnsupportedUrlError:
            continue
        assert platform is not Platform.MASTODON


@pytest.mark.parametrize(
    "text",
    ["", "hello", "https://example.com/", "https://www.youtube.com/watch?v=abc", "ftp://x/@y"],
)
def test_unsupported_text_names_the_supported_forms(text: str) -> None:
    with pytest.raises(UnsupportedUrlError) as excinfo:
        parse_account_ref(text)
    message = str(excinfo.value)
    assert "https://bsky.app/profile/alice.bsky.social" in message
    assert "https://mastodon.social/@alice" in message
    assert "https://www.youtube.com/@handle" in message


def test_build_returns_clients_implementing_the_protocols() -> None:
    observer = RecordingObserver()
    credentials = {"api_key": "k", "instance": "mastodon.social"}
    for platform in REAL_CLIENTS:
        client = get_provider(platform).build(credentials, observer)
        assert isinstance(client, ProfileSource)
        assert isinstance(client, PostSource)
        assert isinstance(client, CommentSource)


def test_youtube_needs_an_api_key() -> None:
    info = get_provider("youtube")
    assert info.needs_credentials
    with pytest.raises(MissingCredentialsError, match="youtube needs credentials: api_key"):
        info.build({})


def _write_package(root: Path, name: str, body: str) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(body), encoding="utf-8")


def _discover_only(monkeypatch: pytest.MonkeyPatch, root: Path) -> dict[Platform, ProviderInfo]:
    monkeypatch.setattr(providers_package, "__path__", [str(root)])
    return registry.reload_providers()


PROVIDER_BODY = """
    from socialpulse.providers.base import Platform
    from socialpulse.providers.registry import Capability, ProviderInfo

    PROVIDER = ProviderInfo(
        platform=Platform.TIKTOK,
        display_name="Plugged in",
        needs_credentials=False,
        capabilities=frozenset({Capability.PROFILE}),
        parse_profile_url=lambda url: "plugged" if url.startswith("https://plug.test/") else None,
        build=lambda credentials, observer=None, http_client=None: object(),
        url_forms=("https://plug.test/name",),
    )
"""


def test_a_new_subpackage_is_discovered_without_registry_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_registry: None
) -> None:
    _write_package(tmp_path, "zz_plugged", PROVIDER_BODY)
    _write_package(tmp_path, "zz_helpers", "VALUE = 1\n")  # no PROVIDER: not a platform
    (tmp_path / "zz_module.py").write_text("PROVIDER = 1\n", encoding="utf-8")  # not a package
    monkeypatch.delitem(sys.modules, "socialpulse.providers.zz_plugged", raising=False)
    try:
        found = _discover_only(monkeypatch, tmp_path)
        assert list(found) == [Platform.TIKTOK]
        assert found[Platform.TIKTOK].capabilities == frozenset({Capability.PROFILE})
        assert parse_account_ref("https://plug.test/x") == (Platform.TIKTOK, "plugged")
    finally:
        for name in ("zz_plugged", "zz_helpers"):
            sys.modules.pop(f"socialpulse.providers.{name}", None)


def test_provider_that_is_not_provider_info_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_registry: None
) -> None:
    _write_package(tmp_path, "zz_wrong", "PROVIDER = {'platform': 'x'}\n")
    try:
        with pytest.raises(TypeError, match="zz_wrong.PROVIDER is a dict, not a ProviderInfo"):
            _discover_only(monkeypatch, tmp_path)
    finally:
        sys.modules.pop("socialpulse.providers.zz_wrong", None)


def test_two_subpackages_claiming_one_platform_are_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_registry: None
) -> None:
    _write_package(tmp_path, "zz_one", PROVIDER_BODY)
    _write_package(tmp_path, "zz_two", PROVIDER_BODY)
    try:
        with pytest.raises(ValueError, match="two provider subpackages claim platform 'tiktok'"):
            _discover_only(monkeypatch, tmp_path)
    finally:
        for name in ("zz_one", "zz_two"):
            sys.modules.pop(f"socialpulse.providers.{name}", None)
