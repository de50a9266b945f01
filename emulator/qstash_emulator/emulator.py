"""The composition root: store, clock, ids, service, dispatcher and scheduler wired together."""

from __future__ import annotations

from .clocks import SystemClock, VirtualClock
from .core.context import Context, Limits
from .core.errors import BadRequest
from .core.ports import Clock, Dispatcher, IdSource, Store
from .core.service import Service
from .core.tenants import TenantDirectory
from .delivery.dispatchers import AiohttpDispatcher
from .delivery.scheduler import Scheduler
from .ids import RandomIds
from .settings import Settings

VERSION = "0.1.0"


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
        self.store = store or _store_for(self.settings)
        self.dispatcher = dispatcher or AiohttpDispatcher(self.settings.concurrency)
        tenants = TenantDirectory(self.settings.tokens, any_token=self.settings.any_token)
        limits = Limits(max_body_bytes=self.settings.max_body_bytes)
        ctx = Context(self.store, self.clock, ids or RandomIds(self.settings.seed), tenants, limits)
        self.service = Service(ctx)
        self.scheduler = Scheduler(
            self.service.attempts,
            self.dispatcher,
            self.store,
            self.clock,
            concurrency=self.settings.concurrency,
        )
        ctx.wake = self.scheduler.notify
        self.scheduler.tickers.append(self.service.gates)

    async def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.dispatcher.aclose()

    def run_due(self) -> int:
        """Start every attempt that is due now; returns how many started."""
        return self.scheduler.run_due()

    async def drain(self) -> None:
        """Wait until nothing is due and nothing is in flight."""
        await self.scheduler.drain()

    async def advance(self, seconds: float) -> None:
        """Move a virtual clock forward, making every attempt that falls due on the way."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise BadRequest("the clock is real; start the emulator with --clock virtual")
        if seconds < 0:
            raise BadRequest("seconds must not be negative")
        target_ms = clock.now_ms() + round(seconds * 1000)
        await self.drain()
        while (next_due := self.scheduler.next_due_ms()) is not None and next_due <= target_ms:
            clock.set_ms(next_due)
            await self.drain()
        clock.set_ms(target_ms)
        await self.drain()

    def reset(self, tenant: str | None = None) -> None:
        self.service.reset(tenant)


def _clock_for(settings: Settings) -> Clock:
    return VirtualClock() if settings.clock == "virtual" else SystemClock(settings.speed)


def _store_for(settings: Settings) -> Store:
    from .storage.memory import MemoryStore

    return MemoryStore()
