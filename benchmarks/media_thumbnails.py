"""Thumbnails: images processed per second (verify + decode + two WebP sizes + local store).

    python benchmarks/media_thumbnails.py [--images 60] [--rounds 2]

The images are made here, photo-like (gradients, shapes and sensor-like noise, so JPEG and PNG
sizes are realistic): 1280x720 JPEG (a video thumbnail), 1080x1350 JPEG (a portrait post),
1080x1080 PNG (a graphic) and 400x400 JPEG (a profile picture). Downloads are not measured
(the egress client's latency is the platform's); the database row is not either.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from socialpulse.config import Settings
from socialpulse.kit.logging import configure_logging
from socialpulse.media.service import media_key, process_image
from socialpulse.media.storage import LocalStorage

KINDS = (
    ("1280x720 JPEG", (1280, 720), "JPEG"),
    ("1080x1350 JPEG", (1080, 1350), "JPEG"),
    ("1080x1080 PNG", (1080, 1080), "PNG"),
    ("400x400 JPEG", (400, 400), "JPEG"),
)


def photo(size: tuple[int, int], seed: int, fmt: str) -> bytes:
    width, height = size
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, ((seed * 53) % 255, (seed * 97) % 255, (seed * 31) % 255))
    image = Image.blend(base, tint, 0.6)
    draw = ImageDraw.Draw(image)
    for k in range(12):
        x, y = (seed * 37 + k * 113) % width, (seed * 71 + k * 59) % height
        r = 20 + (seed + k * 17) % (min(size) // 4)
        colour = ((seed + k * 40) % 255, (seed * 3 + k * 70) % 255, (k * 90) % 255)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(size, 24).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=88)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=60, help="images per round (all kinds)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the best is reported")
    args = parser.parse_args()
    configure_logging("WARNING", False)

    per_kind = max(1, args.images // len(KINDS))
    images = [
        (label, photo(size, seed, fmt)) for label, size, fmt in KINDS for seed in range(per_kind)
    ]
    total_in = sum(len(data) for _, data in images)
    print(
        f"{len(images)} images ({per_kind} of each kind), "
        f"{total_in / len(images) / 1024:.0f} KiB on average"
    )
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="sp-media-bench-") as root:
        storage = LocalStorage(Path(root))
        timings: dict[str, list[float]] = {label: [] for label, *_ in KINDS}
        best = float("inf")
        out_bytes = 0
        for _ in range(args.rounds):
            began = time.perf_counter()
            out_bytes = 0
            for label, data in images:
                one = time.perf_counter()
                processed = process_image(data, settings)
                for size, webp in processed.webp.items():
                    storage.put(media_key(processed.sha256, size), webp, "image/webp")
                    out_bytes += len(webp)
                timings[label].append(time.perf_counter() - one)
            best = min(best, time.perf_counter() - began)
    print(f"{'kind':<16} {'median ms':>10}")
    for label, values in timings.items():
        print(f"{label:<16} {statistics.median(values) * 1000:>10.1f}")
    print(
        f"stored {out_bytes / len(images) / 1024:.1f} KiB of WebP per image (both sizes); "
        f"best round {best:.2f} s"
    )
    print(f"thumbnails: {len(images) / best:.1f} images/s (one core)")


if __name__ == "__main__":
    main()
