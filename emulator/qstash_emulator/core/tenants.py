"""Who may call the API: the public dev users, added tokens, and (optionally) any token."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from .messages.signing import derive_key
from .model import SigningKeys, Tenant


@dataclass(frozen=True, slots=True)
class DevUser:
    name: str
    token: str
    keys: SigningKeys


DEV_USERS = (
    DevUser(
        "defaultUser",
        "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=",
        SigningKeys("sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r", "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"),
    ),
    DevUser(
        "testUser1",
        "eyJVc2VySUQiOiJ0ZXN0VXNlcjEiLCJQYXNzd29yZCI6InRlc3RQYXNzd29yZCJ9",
        SigningKeys("sig_7GVPjvuwsfqF65iC8fSrs1dfYruM", "sig_5NoELc3EFnZn4DVS5bDs2Nk4b7Ua"),
    ),
    DevUser(
        "testUser2",
        "eyJVc2VySUQiOiJ0ZXN0VXNlcjIiLCJQYXNzd29yZCI6InRlc3RQYXNzd29yZCJ9",
        SigningKeys("sig_6jWGaWRxHsw4vMSPJprXadyvrybF", "sig_7qHbvhmahe5GwfePDiS5Lg3pi6Qx"),
    ),
    DevUser(
        "testUser3",
        "eyJVc2VySUQiOiJ0ZXN0VXNlcjMiLCJQYXNzd29yZCI6InRlc3RQYXNzd29yZCJ9",
        SigningKeys("sig_5T8FcSsynBjn9mMLBsXhpacRovJf", "sig_7GFR4YaDshFcqsxWRZpRB161jguD"),
    ),
)
DEFAULT_TOKEN = DEV_USERS[0].token
ID_PREFIX = "t-"


def tenant_id(token: str) -> str:
    """The id a tenant is kept and shown under: a dev user's name, else a digest of its token
    (stable across instances and restarts; the token cannot be read back from it)."""
    for user in DEV_USERS:
        if user.token == token:
            return user.name
    return ID_PREFIX + hashlib.sha256(b"qstash-emulator tenant\n" + token.encode()).hexdigest()[:24]


def derived_keys(token: str) -> SigningKeys:
    """The deterministic initial keys of a tenant created from `token`."""
    return SigningKeys(derive_key(token, "current"), derive_key(token, "next"))


class TenantDirectory:
    """Maps tokens to tenants. A tenant's id (`Tenant.name`) is never its token, so listings,
    the dashboard and logs can name tenants without revealing a credential.

    `admin_token` (None: no one) may act on every tenant at once (`?all=true`).
    """

    def __init__(
        self, extra_tokens: Iterable[str] = (), *, any_token: bool = False,
        default_keys: SigningKeys | None = None, admin_token: str | None = None,
    ) -> None:
        """`default_keys` replace the default dev user's public keys (`--signing-keys`)."""
        self.any_token = any_token
        self.admin_token = admin_token
        self._tenants: dict[str, Tenant] = {}  # by token
        self._initial_keys: dict[str, SigningKeys] = {}
        for user in DEV_USERS:
            self._add(user.token, user.keys)
        if default_keys is not None:
            self._initial_keys[DEV_USERS[0].name] = default_keys
        for token in extra_tokens:
            if token not in self._tenants:
                self._add(token, derived_keys(token))

    def _add(self, token: str, keys: SigningKeys) -> Tenant:
        tenant = self._tenants[token] = Tenant(name=tenant_id(token), token=token)
        self._initial_keys[tenant.name] = keys
        return tenant

    def resolve(self, token: str | None) -> Tenant | None:
        if not token:
            return None
        tenant = self._tenants.get(token)
        if tenant is None and self.any_token:
            tenant = self._add(token, derived_keys(token))
        return tenant

    def is_admin(self, token: str | None) -> bool:
        """Is `token` the admin credential (compared in constant time)?"""
        if not token or self.admin_token is None:
            return False
        return hmac.compare_digest(token.encode(), self.admin_token.encode())

    def initial_keys(self, tenant: str) -> SigningKeys | None:
        """The keys a tenant starts with; None for a tenant this instance never saw."""
        return self._initial_keys.get(tenant)

    @property
    def count(self) -> int:
        return len(self._initial_keys)

    def known(self) -> list[str]:
        return list(self._initial_keys)
