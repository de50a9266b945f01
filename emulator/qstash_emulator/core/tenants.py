"""Who may call the API: the public dev users, added tokens, and (optionally) any token."""

from __future__ import annotations

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


def derived_keys(token: str) -> SigningKeys:
    """The deterministic initial keys of a tenant created from `token`."""
    return SigningKeys(derive_key(token, "current"), derive_key(token, "next"))


class TenantDirectory:
    """Maps tokens to tenants; a tenant's name is its token, so ids never collide."""

    def __init__(
        self, extra_tokens: Iterable[str] = (), *, any_token: bool = False,
        default_keys: SigningKeys | None = None,
    ) -> None:
        """`default_keys` replace the default dev user's public keys (`--signing-keys`)."""
        self.any_token = any_token
        self._initial_keys: dict[str, SigningKeys] = {u.token: u.keys for u in DEV_USERS}
        if default_keys is not None:
            self._initial_keys[DEFAULT_TOKEN] = default_keys
        for token in extra_tokens:
            self._initial_keys.setdefault(token, derived_keys(token))

    def resolve(self, token: str | None) -> Tenant | None:
        if not token:
            return None
        if token not in self._initial_keys:
            if not self.any_token:
                return None
            self._initial_keys[token] = derived_keys(token)
        return Tenant(name=token, token=token)

    def initial_keys(self, tenant: str) -> SigningKeys:
        return self._initial_keys.get(tenant) or derived_keys(tenant)

    def known(self) -> list[str]:
        return list(self._initial_keys)
