"""The simulated platform's images, drawn locally: a deterministic PNG for each URL.

``https://simulated.invalid/media/{avatar|thumb}/<key>.png`` never resolves (RFC 2606), so the
media store asks the platform to draw it (``providers.images``). The colours and shapes come
from a hash of the URL: the same URL always gives the same bytes, two URLs almost never look
alike, and nothing goes online. Thumbnails are 16:9, avatars square, both at sizes the real
platforms serve, so the demo exercises the same decode and resize work as a real report.
"""

from __future__ import annotations

import hashlib
import io
import random
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

__all__ = ["AVATAR_SIZE", "THUMB_SIZE", "render_image"]

THUMB_SIZE = (640, 360)
AVATAR_SIZE = (400, 400)

RGB = tuple[int, int, int]


def _colour(rng: random.Random, lightness: tuple[int, int] = (40, 230)) -> RGB:
    low, high = lightness
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _contrast(colour: RGB) -> RGB:
    # A silhouette readable on any background: dark on light, light on dark.
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return (30, 30, 40) if luma > 140 else (235, 235, 240)


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        row = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=row)
    return image


def _thumbnail(rng: random.Random) -> Image.Image:
    width, height = THUMB_SIZE
    image = _gradient(THUMB_SIZE, _colour(rng), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 7)):
        x0, y0 = rng.randint(-60, width - 40), rng.randint(-60, height - 40)
        x1, y1 = x0 + rng.randint(40, width // 2), y0 + rng.randint(40, height // 2)
        shape = rng.choice(("ellipse", "rectangle", "triangle"))
        fill = _colour(rng)
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == "rectangle":
            draw.rounded_rectangle((x0, y0, x1, y1), radius=rng.randint(0, 24), fill=fill)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=fill)
    return image


def _avatar(rng: random.Random) -> Image.Image:
    width, height = AVATAR_SIZE
    background = _colour(rng)
    image = Image.new("RGB", AVATAR_SIZE, background)
    draw = ImageDraw.Draw(image)
    figure = _contrast(background)
    head = width // 5
    cx, cy = width // 2, height * 2 // 5
    draw.ellipse((cx - head, cy - head, cx + head, cy + head), fill=figure)
    draw.ellipse((cx - 2 * head, cy + head + 12, cx + 2 * head, cy + 5 * head), fill=figure)
    return image


def render_image(url: str) -> bytes:
    """The PNG at ``url``: an avatar for ``/media/avatar/...``, a thumbnail otherwise."""
    rng = random.Random(hashlib.sha256(url.encode()).digest())
    path = urlsplit(url).path
    image = _avatar(rng) if path.startswith("/media/avatar/") else _thumbnail(rng)
    out = io.BytesIO()
    # compress_level 1: the demo draws thousands of these; the bytes are never sent anywhere.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()
