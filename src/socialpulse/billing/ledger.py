"""The append-only ledger: the one function that changes a balance, the sum it always equals,
and the checks of what a ledger row may carry (quantities, credits, idempotency keys,
references).

Every change of a balance appends its ledger row in the same transaction; the ledger is also
the usage counter (no separate counter to drift)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.billing import schemas
from socialpulse.billing.models import Allowance, Funding, LedgerEntry, LedgerKind, Wallet
from socialpulse.billing.wallets import cycle_date, cycle_of, workspace_of, zone_of
from socialpulse.errors import InvalidInput

MAX_KEY_LENGTH = 200
MAX_REFERENCE_LENGTH = 200


# --- input checks ---------------------------------------------------------------------------


def whole_number(value: object, what: str, *, minimum: int, maximum: int) -> int:
    # bool is an int subclass: True credits are a bug in the caller, not one credit.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number, got {value!r}")
    if value < minimum or value > maximum:
        raise InvalidInput(f"{what} must be between {minimum:,} and {maximum:,}, got {value:,}")
    return value


def check_quantity(quantity: object) -> int:
    return whole_number(quantity, "quantity", minimum=1, maximum=schemas.MAX_QUANTITY)


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters")
    return key


def check_reference(reference: str) -> str:
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidInput(f"a reference is at most {MAX_REFERENCE_LENGTH} characters")
    return reference


# --- the ledger -----------------------------------------------------------------------------


def append_entry(
    session: Session,
    wallet: Wallet,
    *,
    kind: LedgerKind,
    amount: int,
    now: dt.datetime,
    action: str | None = None,
    funding: Funding = Funding.none,
    allowance: Allowance | None = None,
    units: int = 0,
    reference: str = "",
    actor_user_id: int | None = None,
    idempotency_key: str | None = None,
    description: str = "",
    actor_api_key_id: int | None = None,
) -> LedgerEntry:
    """The one place a balance changes: the wallet and its ledger row, in one flush."""
    if wallet.balance + amount < 0:
        raise InvalidInput(
            f"the balance cannot go below 0 (it is {wallet.balance:,}, the change {amount:,})"
        )
    workspace = workspace_of(session, wallet.workspace_id)
    start, _ = cycle_of(wallet.cycle_anchor, zone_of(workspace), now)
    wallet.balance += amount
    wallet.updated_at = now
    entry = LedgerEntry(
        workspace_id=wallet.workspace_id,
        created_at=now,
        kind=kind,
        action=action,
        amount=amount,
        balance_after=wallet.balance,
        funding=funding,
        allowance=allowance,
        units=units,
        cycle_start=cycle_date(start, workspace),
        reference=reference,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        idempotency_key=idempotency_key,
        description=description[:500],
    )
    session.add(entry)
    session.flush()
    return entry


def ledger_sum(session: Session, workspace_id: int) -> int:
    """The sum of the workspace's ledger amounts: always equal to its wallet's balance."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.workspace_id == workspace_id
        )
    )
    return int(total or 0)
