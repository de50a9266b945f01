"""`ServerPool` (the emulators of a test session) and `Tenant` (one test's private view of one).

Usable without pytest::

    with ServerPool() as pool:
        tenant = Tenant.create(pool.get(QStashSettings()))
        QStash(tenant.token, base_url=tenant.url).message.publish(url=..., body="hi")
        tenant.close()
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any

from qstash_emulator.control import EmulatorControl

from .options import QStashSettings
from .server import EmulatorServer


class ServerPool:
    """Starts one local emulator per distinct (clock, plan) on first use, or attaches to
    the external one (`settings.url`) or to a Docker container (`settings.docker`)."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, str | None], EmulatorServer] = {}
        self._shared: EmulatorServer | None = None
        self._shared_clock: str | None = None
        self._container: Any = None

    def get(self, settings: QStashSettings) -> EmulatorServer:
        if settings.url or settings.docker:
            return self._external(settings)
        server = self._servers.get(settings.server_key)
        if server is None:
            server = EmulatorServer(**_local_settings(settings)).start()
            self._servers[settings.server_key] = server
        return server

    def shared_clock(self, settings: QStashSettings) -> str | None:
        """The clock ("virtual"/"real") of the external or Docker emulator, None for local ones."""
        if not (settings.url or settings.docker):
            return None
        self._external(settings)
        return self._shared_clock

    def _external(self, settings: QStashSettings) -> EmulatorServer:
        if self._shared is None:
            url = settings.url
            if not url:
                from .container import DockerEmulator

                self._container = DockerEmulator(settings.docker_image).start()
                url = self._container.url
            server = EmulatorServer(url)
            with EmulatorControl(server.url) as control:
                self._shared_clock = str(control.health().get("clock", "virtual"))
            self._shared = server
        return self._shared

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._container is not None:
            self._container.stop()
            self._container = None
        self._shared = None

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _local_settings(settings: QStashSettings) -> dict[str, Any]:
    values: dict[str, Any] = {"clock": settings.clock, "any_token": True}
    if settings.plan is not None:
        from qstash_emulator import Settings

        if "plan" not in {item.name for item in fields(Settings)}:
            raise RuntimeError(f"plan={settings.plan!r}: this qstash-emulator has no plans")
        values["plan"] = settings.plan
    return {"follow_freezegun": True, **values}


@dataclass
class Tenant:
    """One test's own tenant on an emulator: a fresh token, its signing keys and controls."""

    server: EmulatorServer
    token: str
    current_signing_key: str
    next_signing_key: str
    control: EmulatorControl

    @classmethod
    def create(cls, server: EmulatorServer, token: str | None = None) -> Tenant:
        token = token or f"pytest-qstash-{uuid.uuid4().hex}"
        control = EmulatorControl(server.url, token)
        current, following = _keys(server, token, control)
        return cls(server, token, current, following, control)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def keys(self) -> tuple[str, str]:
        """(current, next) signing keys, as `Receiver` and `Endpoint` take them."""
        return self.current_signing_key, self.next_signing_key

    def close(self) -> None:
        """Forget everything this tenant left on the emulator."""
        try:
            self.control.reset()
        finally:
            self.control.close()


def _keys(server: EmulatorServer, token: str, control: EmulatorControl) -> tuple[str, str]:
    if not server.external:
        from qstash_emulator.core.tenants import derived_keys

        keys = derived_keys(token)
        return keys.current, keys.next
    return control.signing_keys()
