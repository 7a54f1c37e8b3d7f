"""A real `socialpulse serve` configured by the fake Stripe's environment (what the dashboard's
browser test builds on): checkout, the hosted page's Pay button, the webhook, the balance."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from billing.stripe_fake import StripeFake
from conftest import REDIS_URL
from factories import make_workspace
from socialpulse.billing import usage as billing_usage
from socialpulse.db import Database
from socialpulse.kit.liveserver import live_server


@pytest.mark.slow
def test_a_top_up_paid_on_the_hosted_page_credits_the_live_server(
    db: Database, tmp_path: Path
) -> None:
    acme = make_workspace(db, "acme")
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with StripeFake() as fake:
        fake.price_plans(db)
        with live_server(db.url, tmp_path, tasks_url=tasks_url, **fake.env()) as base:
            fake.webhook_url = f"{base}/api/v1/billing/webhooks/stripe"
            checkout = httpx.post(
                f"{base}/api/v1/billing/checkout",
                json={"topup": "credits_1000"},
                headers=acme.headers(),
                timeout=30,
            )
            assert checkout.status_code == 200, checkout.text
            page = httpx.get(checkout.json()["url"], timeout=30)
            assert "<button" in page.text

            paid = httpx.post(f"{checkout.json()['url']}/pay", follow_redirects=False, timeout=60)

            assert paid.status_code == 303
            assert paid.headers["location"].startswith(f"{base}/billing?checkout=success")
            [delivery] = fake.deliveries
            assert delivery.status == 200, delivery.body
            with db.session(readonly=True) as session:
                assert billing_usage.balance(session, acme.workspace_id).balance == 1000
