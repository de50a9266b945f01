"""The Upstash-Signature JWT as the official Receiver and PyJWT read it."""

from __future__ import annotations

import base64
import hashlib
import time

import jwt
import pytest
from qstash import Receiver
from qstash.errors import SignatureError

from qstash_emulator.core.messages.signing import SignatureClaims, body_hash, derive_key, sign

KEY = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"
NEXT = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"
URL = "http://127.0.0.1:9000/hook?x=1"


def claims(**changes: object) -> SignatureClaims:
    base = {"url": URL, "body": b"payload", "issued_at": int(time.time()), "jwt_id": "jwt_1"}
    return SignatureClaims(**(base | changes))  # type: ignore[arg-type]


def test_token_has_the_documented_header_and_claims() -> None:
    token = sign(KEY, claims())
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    decoded = jwt.decode(token, KEY, algorithms=["HS256"], issuer="Upstash")
    assert decoded["sub"] == URL and decoded["nbf"] == 0 and decoded["jti"] == "jwt_1"
    assert decoded["exp"] == decoded["iat"] + 300
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"payload").digest()).decode()
    assert decoded["body"] == digest and digest.endswith("=")
    assert "aud" not in decoded


def test_official_receiver_accepts_current_and_next_key() -> None:
    Receiver(KEY, NEXT).verify(signature=sign(KEY, claims()), body="payload", url=URL)
    Receiver("sig_other_key_of_32_characters__", KEY).verify(
        signature=sign(KEY, claims()), body="payload", url=URL
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"subject": "http://elsewhere/"}, "Invalid subject"),
        ({"body_hash": body_hash(b"other")}, "Invalid body hash"),
        ({"issued_at": int(time.time()) - 3600}, "Signature has expired"),
    ],
)
def test_receiver_rejects_tampered_claims(changes: dict[str, object], reason: str) -> None:
    # Receiver retries with the next key and reports that try, so give it the same key twice.
    with pytest.raises(SignatureError, match=reason):
        Receiver(KEY, KEY).verify(signature=sign(KEY, claims(**changes)), body="payload",
                                   url=URL)


def test_wrong_key_is_rejected() -> None:
    with pytest.raises(SignatureError):
        Receiver(NEXT, NEXT).verify(signature=sign(KEY, claims()), body="payload", url=URL)


def test_derived_keys_are_deterministic_and_distinct() -> None:
    assert derive_key("token-a", "current") == derive_key("token-a", "current")
    assert derive_key("token-a", "current") != derive_key("token-a", "next")
    assert derive_key("token-a", "current") != derive_key("token-b", "current")
    assert derive_key("token-a", "current").startswith("sig_")
    assert len(derive_key("token-a", "current")) == 32
