"""The public data sets in ``../shared/data`` as texts and labels, and their folds."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

SEED = 0

IntArray = npt.NDArray[np.int64]


@dataclass
class Dataset:
    texts: list[str]
    labels: IntArray
    groups: list[str] = field(default_factory=list)


def read_sentiment(path: Path) -> Dataset:
    texts: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            line = line.rstrip("\n")
            if number == 0 and line.startswith("label"):
                continue
            if not line:
                continue
            label, _, text = line.partition("\t")
            labels.append(int(label))
            texts.append(text)
    return Dataset(texts, np.asarray(labels, dtype=np.int64))


def read_complaints(path: Path) -> Dataset:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Dataset(
        [row["text"] for row in rows],
        np.asarray([int(row["is_complaint"]) for row in rows], dtype=np.int64),
        [row["domain"] for row in rows],
    )


# The YouTube spam files hold each comment's textDisplay, YouTube's HTML rendering of it: line
# breaks as <br />, timestamps and links as <a href="...">label</a>. The platform stores
# textOriginal, the text as written (`providers.youtube.parse`), so the training text is turned
# back into that: a tag becomes a space, an anchor keeps its visible label ("2:19", or the URL
# itself when that is what was written).
_HTML_TAG = re.compile(r"<br\s*/?>|</?(?:a|b|i|s|strong|em|span)\b[^>]*>", re.IGNORECASE)


def display_to_original(text: str) -> str:
    """The text a YouTube comment was written as, from its HTML textDisplay."""
    return _HTML_TAG.sub(" ", text) if "<" in text else text


def read_spam(intent_dir: Path) -> Dataset:
    texts: list[str] = []
    labels: list[int] = []
    groups: list[str] = []
    files = sorted(intent_dir.glob("youtube-spam-*.csv"))
    if not files:
        raise FileNotFoundError(f"no youtube-spam-*.csv files in {intent_dir}")
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.append(display_to_original(row["CONTENT"]))
                labels.append(int(row["CLASS"]))
                groups.append(path.stem.removeprefix("youtube-spam-"))
    return Dataset(texts, np.asarray(labels, dtype=np.int64), groups)


def read_lingua(path: Path) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t", 2)
            if number == 0 and parts[0] == "lang" or len(parts) != 3:
                continue
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def kfold_indices(labels: IntArray, folds: int, seed: int = SEED) -> list[IntArray]:
    """Stratified folds: each class shuffled with a fixed seed and dealt round-robin."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int64)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        rng.shuffle(members)
        assignment[members] = np.arange(len(members)) % folds
    return [np.flatnonzero(assignment == k) for k in range(folds)]


def group_folds(groups: list[str]) -> list[IntArray]:
    names = sorted(set(groups))
    array = np.asarray(groups)
    return [np.flatnonzero(array == name) for name in names]
