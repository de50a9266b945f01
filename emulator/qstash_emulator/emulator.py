"""The composition root: store, clock, ids, service, dispatcher and scheduler wired together;
each part is handed the store areas it uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .clocks import SystemClock, VirtualClock
from .core import protocol as p
from .core.context import Context, Limits
from .core.errors import BadRequest
from .core.harness import bounds
from .core.harness.faults import Faults
from .core.harness.outages import Outages
from .core.harness.quotas import Quotas
from .core.harness.view import SHARED_REFRESH_S, HarnessView
from .core.model import SigningKeys
from .core.plans import Plans
from .core.ports import Clock, Dispatcher, IdSource, MetaStore, Store, UsageStore
from .core.service import Service
from .core.tenants import TenantDirectory
from .delivery.destinations import DestinationRewriter
from .delivery.faults import DuplicateTicker, FaultInjector
from .delivery.http1 import Http1Dispatcher
from .delivery.scheduler import Scheduler
from .ids import RandomIds
from .settings import Settings, admin_token_of

T = TypeVar("T")
VERSION = "0.1.0"
CLOCK_META = "virtual_clock_ms"


class Emulator:
    """One emulated QStash. Pass parts to replace the defaults (e.g. a transport for tests).

    >>> emulator = Emulator(Settings(clock="virtual"))
    >>> app = create_app(emulator)  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        dispatcher: Dispatcher | None = None,
        ids: IdSource | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock or _clock_for(self.settings)
        self.store = store = store or _store_for(self.settings)
        inner = DestinationRewriter.wrap(
            dispatcher or Http1Dispatcher(self.settings.concurrency),
            self.settings.rewrite, self.settings.localhost_alias)
        ids = ids or RandomIds(self.settings.seed)
        ctx = Context(store.messages, store.history, self.clock, ids,
                      Limits(max_body_bytes=self.settings.max_body_bytes),
                      region=self.settings.region)
        plans = _plans_for(self.settings, self.clock, store.usage)
        shared_s = None if store.poll_s is None else SHARED_REFRESH_S
        view = HarnessView(store.harness, self.clock.wall, shared_s)
        faults = Faults(store.harness, view, ids)
        self.service = Service(
            ctx, store, _tenants_for(self.settings),
            plans, Quotas(self.clock, plans, store.usage), faults,
            Outages(store.harness, view, ids),
        )
        self.dispatcher = FaultInjector(inner, faults, self.clock)
        self.scheduler = Scheduler(
            self.service.attempts, self.dispatcher, self.store, self.clock,
            concurrency=self.settings.concurrency,
            destination_concurrency=self.settings.destination_concurrency,
            tickers=self.service.tickers,
        )
        ctx.wake = self.scheduler.notify
        self.scheduler.tickers.append(DuplicateTicker(
            faults, self.service.attempts, store.messages, inner, self.scheduler.spawn))
        self._restore_clock()
        if isinstance(self.clock, VirtualClock) and store.poll_s is not None:
            self.scheduler.tickers.append(SharedClock(self.clock, store.config))

    @property
    def store_name(self) -> str:
        return self.store.name

    async def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.dispatcher.aclose()
        self.store.close()

    def run_due(self) -> int:
        """Start every attempt that is due now; returns how many started."""
        return self.scheduler.run_due()

    async def drain(self) -> None:
        """Wait until nothing is due and nothing is in flight."""
        await self.scheduler.drain()

    def next_due_ms(self) -> int | None:
        """When the next attempt (or schedule trigger, or gate wake-up) falls due."""
        return self.scheduler.next_due_ms()

    async def advance(self, seconds: float) -> None:
        """Move a virtual clock forward, making every attempt that falls due on the way."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise BadRequest("the clock is real; start the emulator with --clock virtual")
        seconds = bounds.number(seconds, "seconds", bounds.CLOCK_ADVANCE_S)
        target_ms = clock.now_ms() + round(seconds * 1000)
        if target_ms > bounds.MAX_CLOCK_MS:
            raise BadRequest(p.CLOCK_PAST_RANGE)
        await self.drain()
        while (next_due := self.scheduler.next_due_ms()) is not None and next_due <= target_ms:
            self._set_clock(clock, next_due)
            await self.drain()
        self._set_clock(clock, target_ms)
        await self.drain()

    def _set_clock(self, clock: VirtualClock, timestamp_ms: int) -> None:
        """Move the virtual clock and keep its time in the store (a restart resumes from it)."""
        clock.set_ms(timestamp_ms)
        self.store.config.set_meta(CLOCK_META, str(clock.now_ms()))

    def _restore_clock(self) -> None:
        saved = _saved_clock_ms(self.store.config)
        if saved is not None and isinstance(self.clock, VirtualClock):
            self.clock.set_ms(saved)

    def reset(self, tenant: str | None = None) -> None:
        self.service.reset(tenant)

    async def stored(self, work: Callable[[], T]) -> T:
        """Run `work` with the store's writes held back, then wait until they are stored (a
        remote store sends the writes of many concurrent publishes in one round trip)."""
        if not self.store.holds_writes:
            return work()
        try:
            with self.store.deferred():
                return work()
        finally:
            await self.store.commit()


class SharedClock:
    """A ticker that moves this instance's virtual clock to where another instance on the same
    store moved it (looked up on every scheduler pass, so within the store's poll time)."""

    def __init__(self, clock: VirtualClock, meta: MetaStore) -> None:
        self._clock = clock
        self._meta = meta

    def next_due_ms(self) -> int | None:
        return None

    def fire_due(self, now_ms: int) -> int:
        saved = _saved_clock_ms(self._meta)
        if saved is None or saved <= self._clock.now_ms():
            return 0
        self._clock.set_ms(saved)
        return 1


def _saved_clock_ms(meta: MetaStore) -> int | None:
    """The virtual clock's time kept in the store; None when missing or out of range."""
    saved = meta.get_meta(CLOCK_META)
    if saved is None or not saved.isdigit() or int(saved) > bounds.MAX_CLOCK_MS:
        return None
    return int(saved)


def _clock_for(settings: Settings) -> Clock:
    return VirtualClock() if settings.clock == "virtual" else SystemClock(settings.speed)


def _tenants_for(settings: Settings) -> TenantDirectory:
    keys = SigningKeys(*settings.signing_keys) if settings.signing_keys else None
    return TenantDirectory(settings.tokens, any_token=settings.any_token, default_keys=keys,
                           admin_token=admin_token_of(settings))


def _plans_for(settings: Settings, clock: Clock, store: UsageStore) -> Plans:
    overrides = {"daily": settings.daily_quota, "monthly": settings.monthly_quota,
                 "burst": settings.burst_rate}
    chosen = {k: v for k, v in overrides.items() if v is not None}
    return Plans(store, clock.wall, settings.plan, chosen)


def _store_for(settings: Settings) -> Store:
    if settings.store == "memory":
        from .storage.memory import MemoryStore

        return MemoryStore(max_history_bytes=settings.history_mb * 1024 * 1024)
    from .storage.redis import RedisStore

    return RedisStore.from_url(settings.store, prefix=settings.store_prefix,
                               timeout_s=settings.store_timeout_ms / 1000)
