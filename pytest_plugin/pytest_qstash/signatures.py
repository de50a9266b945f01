"""Checking a delivery's `Upstash-Signature` as `qstash.Receiver` does (current key, then
next), also for bodies that are not UTF-8, which the SDK's receiver cannot take."""

from __future__ import annotations

import base64
import hashlib

import jwt
from qstash.errors import SignatureError
from qstash.receiver import verify_with_key


def check_signature(
    keys: tuple[str, str] | None, headers: dict[str, str], body: bytes, urls: list[str]
) -> tuple[bool | None, str | None]:
    """Verify like `qstash.Receiver` (current key, then next); report the current key's error."""
    signature = headers.get("upstash-signature")
    if keys is None or signature is None:
        return None, None
    errors: list[str] = []
    for url in urls:
        for key in keys:
            try:
                _verify(key, signature, body, url)
            except Exception as exc:
                errors.append(str(exc) or type(exc).__name__)
            else:
                return True, None
    return False, errors[0]


def _verify(key: str, signature: str, body: bytes, url: str) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        _verify_binary((key,), signature, body, url)
        return
    verify_with_key(key, signature=signature, body=text, url=url)


def _verify_binary(keys: tuple[str, ...], signature: str, body: bytes, url: str) -> None:
    """Mirror ``qstash.Receiver`` for bodies that are not UTF-8 (it needs ``str``)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")
    error = "no signing key"
    for key in keys:
        try:
            claims = jwt.decode(
                signature,
                key,
                algorithms=["HS256"],
                issuer="Upstash",
                options={"require": ["iss", "sub", "exp", "nbf"]},
            )
        except jwt.PyJWTError as exc:
            error = f"Error while decoding signature: {exc}"
            continue
        if claims["sub"] != url:
            error = f"Invalid subject: {claims['sub']}, want: {url}"
        elif str(claims.get("body", "")).rstrip("=") != digest:
            error = f"Invalid body hash: {claims.get('body')}, want: {digest}"
        else:
            return
    raise SignatureError(error)
