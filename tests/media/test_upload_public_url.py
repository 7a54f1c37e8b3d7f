"""Instagram fetches post media by URL: an upload has one only under a public media URL."""

from __future__ import annotations

from pathlib import Path

from conftest import make_settings
from socialpulse.media import service


def test_an_upload_has_a_public_url_under_the_configured_media_url(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, "sqlite://", media_public_url="https://cdn.example.com/media/"
    )
    assert (
        service.upload_public_url("posts/ab/cd/abcd.mp4", settings)
        == "https://cdn.example.com/media/posts/ab/cd/abcd.mp4"
    )


def test_without_a_public_media_url_an_upload_has_none(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://", media_public_url="")
    assert service.upload_public_url("posts/ab/cd/abcd.mp4", settings) is None
