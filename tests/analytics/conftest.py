"""Analytics tests build their data with `factories.Builder`."""

from __future__ import annotations

import pytest

from factories import Builder
from socialpulse.db import Database


@pytest.fixture
def build(db: Database) -> Builder:
    return Builder(db)
