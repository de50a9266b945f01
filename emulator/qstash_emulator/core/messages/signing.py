"""The `Upstash-Signature` JWT (HS256, keyed with the signing key's text)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from ..protocol import BASE58

ISSUER = "Upstash"
LIFETIME_S = 300
HEADER_SEGMENT = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # built once: signing runs per attempt


@dataclass(frozen=True, slots=True)
class SignatureClaims:
    url: str
    body: bytes
    issued_at: int
    jwt_id: str
    lifetime_s: int = LIFETIME_S
    subject: str | None = None
    body_hash: str | None = None


def body_hash(body: bytes) -> str:
    """base64url SHA-256 of the body, with `=` padding as QStash sends it."""
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()


def sign(key: str, claims: SignatureClaims) -> str:
    """Return the compact JWT QStash would send for `claims`."""
    payload = {
        "iss": ISSUER,
        "sub": claims.subject if claims.subject is not None else claims.url,
        "iat": claims.issued_at,
        "nbf": 0,
        "exp": claims.issued_at + claims.lifetime_s,
        "jti": claims.jwt_id,
        "body": claims.body_hash if claims.body_hash is not None else body_hash(claims.body),
    }
    encoded = _COMPACT_JSON.encode(payload).encode()
    signing_input = HEADER_SEGMENT + b"." + base64.urlsafe_b64encode(encoded).rstrip(b"=")
    # HS256 is HMAC-SHA256 keyed with the key's UTF-8 text (as PyJWT signs it)
    signature = hmac.digest(key.encode(), signing_input, "sha256")
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def derive_key(secret: str, purpose: str) -> str:
    """A deterministic `sig_...` key derived from `secret` (for tokens made up by tests)."""
    digest = hmac.new(purpose.encode(), secret.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(28):
        number, rest = divmod(number, 58)
        chars.append(BASE58[rest])
    return "sig_" + "".join(chars)
