"""Helpers of the billing tests (tests/billing/conftest.py holds the fixtures)."""

from __future__ import annotations

from collections.abc import Callable

# A plan edited so that every allowance is used up from the start: priced actions are paid
# in top-up credits (unless free units apply), which most tests want to count exactly.
NO_ALLOWANCE = {"profiles_per_month": 0, "emails_per_month": 0, "posts_per_month": 0}

# setup_wallet(ws, plan="standard", credits=0, **plan_overrides)
Setup = Callable[..., None]
