"""The Standard Webhooks signature scheme, symmetric version (https://www.standardwebhooks.com/,
spec: github.com/standard-webhooks/standard-webhooks, ``spec/standard-webhooks.md``).

* secret: 24 to 64 random bytes, shown as ``whsec_`` + base64;
* signed content: ``{webhook-id}.{webhook-timestamp}.{body}``, the body exactly as sent;
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(secret bytes, signed content)); several
  signatures are space-separated (we send two while a rotated-out secret is still valid);
* ``webhook-timestamp``: unix seconds of the *attempt* (a retry is signed anew), which the
  receiver checks against its clock (5 minutes of tolerance) to refuse replayed requests.

``verify`` is the receiver's side, for our tests and the README's example.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
TOLERANCE_S = 5 * 60


class InvalidSecret(ValueError):
    """Not a ``whsec_`` secret of 24 to 64 base64-encoded bytes."""


class VerificationError(Exception):
    """A request whose signature headers are missing, stale or do not match."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_...`` secret (the prefix is optional, as in the official libraries)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret(f"the secret is not base64 after {SECRET_PREFIX!r}") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidSecret(
            f"the secret must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, "
            f"this one has {len(key)}"
        )
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(msg_id: str, timestamp: int, body: bytes, secrets_: Iterable[str]) -> dict[str, str]:
    """The three ``webhook-*`` headers, signed with each secret (current first)."""
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def verify(
    secret: str,
    body: bytes,
    request_headers: Mapping[str, str],
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Raise ``VerificationError`` unless one ``v1`` signature matches and the timestamp is
    within ``tolerance_s`` of ``now`` (both ways)."""
    lowered = {k.lower(): v for k, v in request_headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signature_header = lowered.get("webhook-signature")
    if not (msg_id and stamp and signature_header):
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise VerificationError(f"webhook-timestamp is not unix seconds: {stamp!r}") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise VerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in signature_header.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise VerificationError("no matching signature")
