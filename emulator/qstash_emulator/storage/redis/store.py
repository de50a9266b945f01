"""The Redis store as a whole: its areas over one connection, plus reset, close and batching.

Key layout (`P` is the prefix, `T` a tenant with `%` and `:` escaped): every key of a tenant is
`P:t:T:<kind>`; emulator-wide structures are `P:<name>`. Each area's class lists its keys.
`P:instances` and `P:lease:<instance>` are the live instances (see `Lease`); `P:seq`,
`P:order` and `P:fault-numbers` are counters that reset leaves alone, like `P:meta`.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import Any

import redis

from .availability import (
    DEFAULT_TIMEOUT_S,
    Availability,
    GuardedPool,
    RedisUnavailable,
    Watchdog,
    guarded_client,
)
from .base import RedisBase
from .config import RedisConfig
from .gates import RedisGates
from .harness import RedisHarness
from .history import RedisHistory
from .lease import Lease
from .messages import RedisMessages
from .usage import RedisUsage
from .workflows import RedisWorkflowStore

DEFAULT_PREFIX = "qstash-emulator"


class RedisStore:
    """Everything in Redis under `prefix`; safe to share between processes.

    `from_url` guards the connection (see `availability`): a Redis that stops answering makes
    store calls fail within `timeout_s` (`RedisUnavailable`, a 503) instead of blocking.

    >>> store = RedisStore.from_url("redis://127.0.0.1:6379/0", prefix="my-tests")  # doctest: +SKIP
    """

    name = "redis"
    poll_s: float | None = 0.2
    holds_writes = True

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease_ms: int = 5000,
        max_finished: int = 50_000,
        max_logs: int = 200_000,
        max_deliveries: int = 100_000,
        availability: Availability | None = None,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.prefix = prefix
        self.availability = availability
        self._watchdog = watchdog
        self._base = RedisBase(client, prefix, max_finished, availability)
        self.client = self._base.client
        self.lease = Lease(client, prefix, lease_ms)
        self.lease.start()
        self.closed = False
        self.messages = RedisMessages(self._base, self.lease)
        self.history = RedisHistory(self._base, max_logs, max_deliveries)
        self.gates = RedisGates(self._base)
        self.usage = RedisUsage(self._base)
        self.config = RedisConfig(self._base)
        self.harness = RedisHarness(self._base)
        self.workflows = RedisWorkflowStore(self.client, prefix=prefix)

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, **options: Any
                 ) -> RedisStore:
        availability = Availability(timeout_s)
        client = guarded_client(url, availability)
        pool = client.connection_pool
        assert isinstance(pool, GuardedPool)
        try:
            client.ping()  # unreachable at start: fail now, with the reason
        except RedisUnavailable as exc:
            client.close()
            raise redis.ConnectionError(exc.reason) from None
        watchdog = Watchdog(url, availability, pool)
        watchdog.start()
        return cls(client, availability=availability, watchdog=watchdog, **options)

    def deferred(self) -> AbstractContextManager[None]:
        """Within this block, storing messages, logging and counting usage are queued; they
        reach Redis at `commit()` or before this process's next command, whichever is first."""
        return self._base.writes.deferred()

    async def commit(self) -> None:
        """Wait until every deferred write is in Redis (one round trip for all waiting)."""
        await self._base.writes.commit()

    def reset(self, tenant: str | None) -> None:
        self.messages.reset(tenant)  # reads the tenant's message ids: before its keys go
        self.gates.reset(tenant)
        self.usage.reset(tenant)
        self.config.reset(tenant)
        self.harness.reset(tenant)
        self.workflows.reset(tenant)
        self._base.delete_tenant(tenant)

    def close(self) -> None:
        """Stop renewing the lease and give unfinished claims back to the due index."""
        if self.closed:
            return
        self.closed = True
        self.lease.stop()
        try:  # unreachable now: the claims go back when the lease runs out
            with contextlib.suppress(redis.ConnectionError):
                self.messages.release_claims()
        finally:
            if self._watchdog is not None:
                self._watchdog.stop()
            self._base.raw.close()
