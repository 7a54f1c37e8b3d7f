"""The catalogue an instance starts with: plans, pricing rules and top-up packages as the
issue priced them. Migration 0014 seeds the same rows (it keeps its own frozen copy, checked
equal by tests/billing/test_catalog.py); ``seed_defaults`` puts them back in an emptied
database (the test suite truncates every table between tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from socialpulse.billing.models import Plan, PricingRule, TopupPackage

DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "code": "free",
        "name": "Free",
        "price_cents": 0,
        "seats": 1,
        "profiles_per_month": 5,
        "emails_per_month": 0,
        "posts_per_month": 0,
        "topup_discount_pct": 0,
        "sort_order": 0,
    },
    {
        "code": "standard",
        "name": "Standard",
        "price_cents": 19900,
        "seats": 2,
        "profiles_per_month": 500,
        "emails_per_month": 250,
        "posts_per_month": 125,
        "topup_discount_pct": 0,
        "sort_order": 1,
    },
    {
        "code": "premium",
        "name": "Premium",
        "price_cents": 49900,
        "seats": 5,
        "profiles_per_month": 2000,
        "emails_per_month": 800,
        "posts_per_month": 300,
        "topup_discount_pct": 20,
        "sort_order": 2,
    },
]

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "action": "influencer_unlock",
        "credits": 25,
        "free_per_month": 0,
        "allowance": "profiles",
        "access_days": 30,
        "description": "Unlock a creator's full report for the workspace for 30 days",
    },
    {
        "action": "post_analytics",
        "credits": 5,
        "free_per_month": 0,
        "allowance": "posts",
        "access_days": None,
        "description": "Analyse one post of a creator the workspace has not unlocked",
    },
    {
        "action": "discovery_pagination",
        "credits": 10,
        "free_per_month": 5,
        "allowance": None,
        "access_days": None,
        "description": "A discovery results page after the first",
    },
    {
        "action": "email_unlock",
        "credits": 1,
        "free_per_month": 0,
        "allowance": "emails",
        "access_days": None,
        "description": "A contact e-mail the creator published in their profile",
    },
    {
        "action": "campaign_analysis",
        "credits": 10,
        "free_per_month": 0,
        "allowance": None,
        "access_days": None,
        "description": "A campaign's reach, engagement, sentiment and costs",
    },
    {
        "action": "bulk_export",
        "credits": 50,
        "free_per_month": 1,
        "allowance": None,
        "access_days": None,
        "description": "Export unlocked creators or a list as CSV or JSON",
    },
    {
        "action": "advanced_search",
        "credits": 15,
        "free_per_month": 10,
        "allowance": None,
        "access_days": None,
        "description": "A multi-criteria discovery search",
    },
]

DEFAULT_TOPUPS: list[dict[str, Any]] = [
    {"code": "credits_1000", "credits": 1000, "price_cents": 5000},
    {"code": "credits_2500", "credits": 2500, "price_cents": 12500},
    {"code": "credits_10000", "credits": 10000, "price_cents": 50000},
]


def seed_defaults(connection: Connection) -> None:
    """Insert each default plan, rule and package whose code is missing (edits are kept)."""
    for model, key, rows in (
        (Plan, "code", DEFAULT_PLANS),
        (PricingRule, "action", DEFAULT_RULES),
        (TopupPackage, "code", DEFAULT_TOPUPS),
    ):
        column = getattr(model, key)
        present = set(connection.scalars(select(column)))
        missing = [row for row in rows if row[key] not in present]
        if missing:
            connection.execute(insert(model), missing)
