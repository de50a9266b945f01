"""Signing memory-backend deliveries exactly as QStash signs its own.

The claims match QStash's `Upstash-Signature` (HS256, `iss` "Upstash", `sub` the destination
URL, `body` the base64url SHA-256 of the body, `exp` five minutes on), so one handler that
verifies with `qstash.Receiver` accepts deliveries from both backends.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt

TOKEN_LIFETIME_S = 300


def body_hash(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()


def sign(key: str, url: str, body: bytes, now_s: int | None = None) -> str:
    """An `Upstash-Signature` JWT for a request of `body` to `url`, signed with `key`."""
    now = int(time.time()) if now_s is None else now_s
    claims = {
        "iss": "Upstash", "sub": url, "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_S,
        "jti": f"jwt_{uuid.uuid4().hex}", "body": body_hash(body),
    }
    return jwt.encode(claims, key, algorithm="HS256")
