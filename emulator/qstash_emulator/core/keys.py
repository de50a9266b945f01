"""Each tenant's signing keys: initial ones from the tenant directory, rotated ones stored."""

from __future__ import annotations

from collections.abc import Callable

from .model import SigningKeys
from .ports import IdSource, KeyStore
from .recent import RecentReads
from .tenants import TenantDirectory, derived_keys

SIGNING_CACHE_S = 1.0


class SigningKeyRing:
    """Reads, rotates and caches signing keys.

    The keys used to sign are read at most once per SIGNING_CACHE_S of wall time: a rotation
    through another instance sharing the store shows up that soon, one through this instance
    at once.
    """

    def __init__(
        self, store: KeyStore, tenants: TenantDirectory, ids: IdSource,
        wall: Callable[[], float],
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._ids = ids
        self._recent: RecentReads[SigningKeys] = RecentReads(wall, SIGNING_CACHE_S)

    def keys(self, tenant: str) -> SigningKeys:
        stored = self._store.get_keys(tenant)
        return stored or self._tenants.initial_keys(tenant) or derived_keys(tenant)

    def adopt(self, tenant: str) -> None:
        """Store a tenant's initial keys the first time this instance meets it, so another
        instance sharing the store (which never saw its token) signs with the same keys."""
        initial = self._tenants.initial_keys(tenant)
        if initial is not None and self._store.get_keys(tenant) is None:
            self._store.set_keys(tenant, initial)

    def keys_to_sign(self, tenant: str) -> SigningKeys:
        return self._recent.get((tenant,), lambda: self.keys(tenant))

    def rotate(self, tenant: str) -> SigningKeys:
        """The next key becomes current; a new next key is made."""
        fresh = "sig_" + self._ids.new_id("k")[2:30]
        rotated = SigningKeys(current=self.keys(tenant).next, next=fresh)
        self._store.set_keys(tenant, rotated)
        self._recent.put((tenant,), rotated)
        return rotated

    def forget(self, tenant: str | None) -> None:
        self._recent.forget(tenant)
