"""The Standard Webhooks signature: the official libraries' test vector, and verification."""

from __future__ import annotations

import base64

import pytest

from socialpulse.webhooks import signing

# The fixed case every official Standard Webhooks library tests (standard-webhooks/
# standard-webhooks, libraries/*/: "test_sign_function").
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_official_test_vector() -> None:
    assert signing.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )


def _headers(secret: str = VECTOR_SECRET, body: bytes = VECTOR_BODY) -> dict[str, str]:
    return signing.headers(VECTOR_ID, VECTOR_TIMESTAMP, body, [secret])


def test_verify_accepts_the_headers_we_send() -> None:
    signing.verify(VECTOR_SECRET, VECTOR_BODY, _headers(), now=VECTOR_TIMESTAMP + 60)


def test_verify_refuses_a_changed_body() -> None:
    with pytest.raises(signing.VerificationError, match="no matching signature"):
        signing.verify(VECTOR_SECRET, b'{"test": 1}', _headers(), now=VECTOR_TIMESTAMP)


def test_verify_refuses_a_timestamp_older_than_five_minutes() -> None:
    with pytest.raises(signing.VerificationError, match="tolerance"):
        signing.verify(VECTOR_SECRET, VECTOR_BODY, _headers(), now=VECTOR_TIMESTAMP + 301)


def test_verify_refuses_missing_headers() -> None:
    headers = _headers()
    del headers["webhook-id"]
    with pytest.raises(signing.VerificationError, match="missing"):
        signing.verify(VECTOR_SECRET, VECTOR_BODY, headers, now=VECTOR_TIMESTAMP)


def test_any_of_several_signatures_may_match() -> None:
    other = signing.new_secret()
    headers = signing.headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, [other, VECTOR_SECRET])
    assert len(headers["webhook-signature"].split()) == 2
    signing.verify(VECTOR_SECRET, VECTOR_BODY, headers, now=VECTOR_TIMESTAMP)


def test_new_secrets_are_whsec_prefixed_32_random_bytes() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


@pytest.mark.parametrize(
    "secret", ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_a_secret_that_is_not_24_to_64_base64_bytes_is_refused(secret: str) -> None:
    with pytest.raises(signing.InvalidSecret):
        signing.secret_bytes(secret)
