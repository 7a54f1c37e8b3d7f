"""Image bytes for the media tests, made on the spot (nothing is downloaded)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg(width: int = 1280, height: int = 720, *, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 80, 40))
    for x in range(0, width, 40):  # some detail, so the JPEG is not trivially small
        image.paste((40, 120, 200), (x, 0, x + 10, height))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, format="JPEG", quality=85)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, format="JPEG", quality=85, exif=exif)
    return out.getvalue()


def png(width: int = 400, height: int = 300, *, mode: str = "RGB") -> bytes:
    colour: tuple[int, ...] = (10, 200, 90, 128) if mode == "RGBA" else (10, 200, 90)
    out = io.BytesIO()
    Image.new(mode, (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` with a few hundred bytes of data:
    decoding it would need width * height bytes of memory."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # four rows, the rest missing
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )
