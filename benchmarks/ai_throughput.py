"""Throughput of the full text analysis (`socialpulse.ai.analyze`), per backend.

    python benchmarks/ai_throughput.py [--data ../shared/data] [--backend default] [-n 2000]
        [--multilingual]

Uses the tweets of ``sentiment/val.tsv`` when the shared data is there (realistic lengths),
otherwise generated captions and comments; with ``--multilingual`` the seven other languages'
val tweets, which go through the multilingual model. The distinct texts are shuffled and split
three ways, so no figure profits from work (caches, warm paths) another step already did on the
same text: a warm-up slice, the one-at-a-time slice (--single texts) and the batch slice
(the rest, at most -n). Prints texts/s in batches and one at a time, in one process.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.base import BackendUnavailable

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "love this new drop where can i buy it price please collab dm me my order never arrived "
    "terrible service amazing workout leg day gym recipe pasta dinner travel beach sunset "
    "check out my channel free gift cards so happy sad angry today tomorrow the a and is"
).split()
WARMUP = 64
DECOR = ["#fitness", "#ootd", "@friend", "😂", "🔥", "https://example.com/p/1", "?", "!"]


MULTILINGUAL = ("ar", "de", "es", "fr", "hi", "it", "pt")


def load_texts(data: Path, n: int, multilingual: bool = False) -> tuple[list[str], str]:
    """At least `n` distinct texts (fewer only when the shared file has fewer); with
    `multilingual`, the seven other languages' val tweets (the multilingual model's path)."""
    if multilingual:
        files = [data / "sentiment-multilingual" / code / "val.tsv" for code in MULTILINGUAL]
        if not all(path.is_file() for path in files):
            raise SystemExit(f"{data} holds no sentiment-multilingual/<code>/val.tsv")
        lines = [line for path in files for line in path.read_text("utf-8").splitlines()[1:]]
        texts = list(dict.fromkeys(line.partition("\t")[2] for line in lines if line))
        return texts, f"distinct val tweets of {', '.join(MULTILINGUAL)}"
    val = data / "sentiment" / "val.tsv"
    if val.is_file():
        lines = val.read_text(encoding="utf-8").splitlines()[1:]
        texts = list(dict.fromkeys(line.partition("\t")[2] for line in lines if line))
        return texts, f"distinct {val} tweets"
    rng = random.Random(0)
    generated: dict[str, None] = {}
    while len(generated) < n:
        text = (
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 24)))
            + " "
            + " ".join(rng.sample(DECOR, 2))
        )
        generated[text] = None
    return list(generated), "distinct generated texts"


def split(texts: list[str], warmup: int, single: int, batch: int) -> tuple[list[str], ...]:
    """Disjoint (warm-up, one-at-a-time, batch) slices of the shuffled texts."""
    shuffled = texts[:]
    random.Random(1).shuffle(shuffled)
    if len(shuffled) < warmup + single + 1:
        raise SystemExit(f"{len(shuffled)} distinct texts: too few for the split")
    return (
        shuffled[:warmup],
        shuffled[warmup : warmup + single],
        shuffled[warmup + single : warmup + single + batch],
    )


def main() -> None:
    default_data = os.environ.get("SOCIALPULSE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--backend", action="append", help="default, accurate (repeatable)")
    parser.add_argument("-n", type=int, default=2000, help="texts for the batch run")
    parser.add_argument("--single", type=int, default=500, help="texts for one-at-a-time")
    parser.add_argument(
        "--multilingual",
        action="store_true",
        help="the seven other languages' val tweets instead of the English ones",
    )
    args = parser.parse_args()

    texts, source = load_texts(args.data, WARMUP + args.single + args.n, args.multilingual)
    warm, single, batch = split(texts, WARMUP, args.single, args.n)
    mean = sum(map(len, batch + single)) / len(batch + single)
    print(
        f"{source}: {len(batch)} for the batch run, {len(single)} other ones one at a time "
        f"({WARMUP} more to warm up), mean {mean:.0f} chars"
    )
    for backend in args.backend or ["default", "accurate"]:
        started = time.perf_counter()
        try:
            analyzer = get_analyzer(backend)
        except BackendUnavailable as exc:
            print(f"{backend:9s} unavailable: {exc}")
            continue
        load_s = time.perf_counter() - started
        analyzer.analyze(warm)
        started = time.perf_counter()
        analyzer.analyze(batch)
        batch_rate = len(batch) / (time.perf_counter() - started)
        started = time.perf_counter()
        for text in single:
            analyzer.analyze([text])
        single_rate = len(single) / (time.perf_counter() - started)
        print(
            f"{backend:9s} load {load_s:.2f}s  batch {batch_rate:,.0f} texts/s  "
            f"one-at-a-time {single_rate:,.0f} texts/s (texts the batch did not see)  "
            f"({analyzer.model_version})"
        )


if __name__ == "__main__":
    main()
