"""The price list as the database holds it: plans, pricing rules and top-up packages, their
reads and the instance administrator's edits. The rows an instance starts with are in
``catalog.py``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.billing import schemas
from socialpulse.billing.models import Plan, PricingRule, TopupPackage, Wallet
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput, NotFound


def get_plan(session: Session, code: str) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        known = ", ".join(p.code for p in list_plans(session))
        raise NotFound(f"unknown plan {code!r}; known: {known}")
    return plan


def list_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.sort_order, Plan.id)))


def get_rule(session: Session, action: str) -> PricingRule:
    rule = session.scalar(select(PricingRule).where(PricingRule.action == action))
    if rule is None:
        known = ", ".join(r.action for r in list_rules(session))
        raise InvalidInput(f"unknown action {action!r}; known: {known}")
    return rule


def list_rules(session: Session) -> list[PricingRule]:
    return list(session.scalars(select(PricingRule).order_by(PricingRule.action)))


def list_topups(session: Session, *, active_only: bool = True) -> list[TopupPackage]:
    stmt = select(TopupPackage).order_by(TopupPackage.credits)
    if active_only:
        stmt = stmt.where(TopupPackage.active.is_(True))
    return list(session.scalars(stmt))


def discounted_price(price_cents: int, plan: Plan) -> int:
    """A top-up's price for a workspace on `plan` (Premium pays 20 % less), in whole cents."""
    return (price_cents * (100 - plan.topup_discount_pct) + 50) // 100


def topups_for(session: Session, plan: Plan) -> list[schemas.TopupRead]:
    return [
        schemas.TopupRead(
            code=p.code,
            credits=p.credits,
            price_cents=p.price_cents,
            discounted_price_cents=discounted_price(p.price_cents, plan),
        )
        for p in list_topups(session)
    ]


def update_plan(session: Session, code: str, changes: schemas.PlanUpdate) -> Plan:
    """The instance administrator's edit; only the fields set in `changes` change."""
    plan = get_plan(session, code)
    for name in changes.model_fields_set:
        value = getattr(changes, name)
        if value is None and name != "stripe_price_id":
            raise InvalidInput(f"{name} cannot be null")
        setattr(plan, name, value)
    plan.updated_at = utcnow()
    session.flush()
    return plan


def update_rule(session: Session, action: str, changes: schemas.PricingRuleUpdate) -> PricingRule:
    rule = get_rule(session, action)
    for name in changes.model_fields_set:
        value = getattr(changes, name)
        if value is None and name not in ("allowance", "access_days"):
            raise InvalidInput(f"{name} cannot be null")
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    session.flush()
    return rule


def plan_of(session: Session, wallet: Wallet) -> Plan:
    return get_plan(session, wallet.plan_code)
