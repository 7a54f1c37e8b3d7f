"""Images a platform draws itself instead of hosting them online.

A platform whose image URLs point at a host that never resolves (the simulated platform's
``simulated.invalid``) sets ``ProviderInfo.extra["local_images"]`` to a mapping of host name to
renderer: ``renderer(url) -> bytes`` returns the encoded image (PNG, JPEG...) for that URL,
deterministically. The media store asks ``local_renderer(url)`` before downloading anything, so
such images never leave the machine and no domain names a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from socialpulse.providers.registry import all_providers

__all__ = ["LOCAL_IMAGES", "ImageRenderer", "local_renderer"]

LOCAL_IMAGES = "local_images"

ImageRenderer = Callable[[str], bytes]


def local_renderer(url: str) -> ImageRenderer | None:
    """The renderer a platform registered for ``url``'s host, or ``None`` (download it)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    if not host:
        return None
    for info in all_providers().values():
        renderers: Mapping[str, ImageRenderer] | None = info.extra.get(LOCAL_IMAGES)
        if renderers and host in renderers:
            return renderers[host]
    return None
