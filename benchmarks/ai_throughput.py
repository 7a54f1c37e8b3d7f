"""Throughput of the full text analysis (`socialpulse.ai.analyze`), per backend.

    python benchmarks/ai_throughput.py [--data ../shared/data] [--backend default] [-n 2000]

Uses the tweets of ``sentiment/val.tsv`` when the shared data is there (realistic lengths),
otherwise generated captions and comments. Prints texts/s in batches and one at a time, in
one process.
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
DECOR = ["#fitness", "#ootd", "@friend", "😂", "🔥", "https://example.com/p/1", "?", "!"]


def load_texts(data: Path, n: int) -> tuple[list[str], str]:
    val = data / "sentiment" / "val.tsv"
    if val.is_file():
        lines = val.read_text(encoding="utf-8").splitlines()[1:]
        texts = [line.partition("\t")[2] for line in lines if line]
        return (texts * (n // len(texts) + 1))[:n], f"{val} tweets"
    rng = random.Random(0)
    texts = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 24)))
        + " "
        + " ".join(rng.sample(DECOR, 2))
        for _ in range(n)
    ]
    return texts, "generated texts"


def main() -> None:
    default_data = os.environ.get("SOCIALPULSE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--backend", action="append", help="default, accurate (repeatable)")
    parser.add_argument("-n", type=int, default=2000, help="texts for the batch run")
    parser.add_argument("--single", type=int, default=500, help="texts for one-at-a-time")
    args = parser.parse_args()

    texts, source = load_texts(args.data, args.n)
    print(f"{len(texts)} {source}, mean {sum(map(len, texts)) / len(texts):.0f} chars")
    for backend in args.backend or ["default", "accurate"]:
        started = time.perf_counter()
        try:
            analyzer = get_analyzer(backend)
        except BackendUnavailable as exc:
            print(f"{backend:9s} unavailable: {exc}")
            continue
        load_s = time.perf_counter() - started
        analyzer.analyze(texts[:64])
        started = time.perf_counter()
        analyzer.analyze(texts)
        batch = len(texts) / (time.perf_counter() - started)
        sample = texts[: args.single]
        started = time.perf_counter()
        for text in sample:
            analyzer.analyze([text])
        single = len(sample) / (time.perf_counter() - started)
        print(
            f"{backend:9s} load {load_s:.2f}s  batch {batch:,.0f} texts/s  "
            f"one-at-a-time {single:,.0f} texts/s  ({analyzer.model_version})"
        )


if __name__ == "__main__":
    main()
