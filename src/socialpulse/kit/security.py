"""Password hashing, token generation, and at-rest encryption of provider credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the hasher (the test suite uses argon2's cheapest profile to stay fast)."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A real hash, so a login for an unknown email costs the same time as a wrong password.
DUMMY_PASSWORD_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough; argon2 is for passwords.
    return hashlib.sha256(value.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SecretBox:
    """Symmetric encryption for credentials at rest, keyed from the app secret."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"socialpulse-credentials:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "stored credentials cannot be decrypted: was SOCIALPULSE_SECRET_KEY changed?"
            ) from exc
