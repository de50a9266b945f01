"""`EmulatorServer`: an emulator in a background thread, or a handle on one running elsewhere."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from .serving import ServerThread

if TYPE_CHECKING:
    from qstash_emulator import Emulator
    from qstash_emulator.core.ports import Clock

PATIENT_STORE_TIMEOUT_MS = 1000
"""How long Redis may take before a test's emulator counts it unavailable. Tests share busy
machines, where Redis is now and then starved for longer than the server's default (75 ms);
a test that pauses Redis on purpose passes its own `store_timeout_ms`."""


class EmulatorServer:
    """Start an emulator on a free loopback port (or attach to `url`), no pytest needed.

    `follow_freezegun=True` gives a virtual-clock emulator a :class:`FreezableClock`, which
    follows freezegun's frozen time while a test freezes it.

    >>> with EmulatorServer(clock="virtual", any_token=True) as server:  # doctest: +SKIP
    ...     QStash("my-token", base_url=server.url).message.publish(url=..., body="hi")
    """

    def __init__(
        self, url: str | None = None, *, follow_freezegun: bool = False, **settings: Any
    ) -> None:
        self._external_url = url.rstrip("/") if url else None
        self._follow_freezegun = follow_freezegun
        self._settings = settings
        self._thread: ServerThread | None = None
        self.emulator: Emulator | None = None

    @property
    def url(self) -> str:
        if self._external_url:
            return self._external_url
        if self._thread is None:
            raise RuntimeError("the emulator server is not started")
        return self._thread.url

    def start(self) -> EmulatorServer:
        if self._external_url or self._thread is not None:
            return self
        from qstash_emulator import Emulator, Settings, create_app

        settings = Settings(**{"port": 0, "store_timeout_ms": PATIENT_STORE_TIMEOUT_MS,
                               **self._settings})
        self.emulator = Emulator(settings, clock=self._clock(settings.clock))
        from qstash_emulator.http.wire import EmulatorHttpProtocol

        self._thread = ServerThread(create_app(self.emulator), lifespan="on",
                                    http=EmulatorHttpProtocol).start()
        return self

    def _clock(self, kind: str) -> Clock | None:
        if not (self._follow_freezegun and kind == "virtual"):
            return None
        from .clock import FreezableClock

        return FreezableClock()

    @property
    def external(self) -> bool:
        """True when this handle attaches to an emulator running elsewhere."""
        return self._external_url is not None

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
