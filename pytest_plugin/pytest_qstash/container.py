"""`DockerEmulator`: the project's Docker image under testcontainers (optional extra `docker`)."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx

_STARTUP_TIMEOUT_S = 60.0
_INSTALL_HINT = "pip install 'qstash-emulator[docker]'"


class DockerUnavailable(RuntimeError):
    """testcontainers is not installed or no Docker engine answers."""


class DockerEmulator:
    """Run `image` on the host network (so it reaches destinations on 127.0.0.1) with a virtual
    clock and any token accepted; `url` is where it listens.

    >>> with DockerEmulator("qstash-emulator:latest") as emulator:  # doctest: +SKIP
    ...     QStash("any-token", base_url=emulator.url)
    """

    def __init__(self, image: str = "qstash-emulator:latest", clock: str = "virtual") -> None:
        self.image = image
        self.clock = clock
        self.port = 0
        self._container: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DockerEmulator:
        container_class = _container_class()
        _ping_engine()
        self.port = _free_port()
        container = container_class(self.image)
        for name, value in self._environment().items():
            container = container.with_env(name, value)
        self._container = container.with_kwargs(network_mode="host").start()
        self._wait_healthy()
        return self

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None

    def __enter__(self) -> DockerEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _environment(self) -> dict[str, str]:
        return {
            "QSTASH_EMULATOR_HOST": "127.0.0.1",
            "QSTASH_EMULATOR_PORT": str(self.port),
            "QSTASH_EMULATOR_CLOCK": self.clock,
            "QSTASH_EMULATOR_ANY_TOKEN": "true",
            "QSTASH_EMULATOR_LOCALHOST_ALIAS": "",  # on the host network 127.0.0.1 is the host
        }

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/__emulator__/health", timeout=1).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # waiting for a container to boot: real time by nature
        self.stop()
        raise DockerUnavailable(f"{self.image} did not answer on {self.url} within 60 s")


def _container_class() -> Any:
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError as exc:
        raise DockerUnavailable(
            f"--qstash-docker needs testcontainers, which is not installed: {_INSTALL_HINT}"
        ) from exc
    return DockerContainer


def _ping_engine() -> None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:
        raise DockerUnavailable(
            "--qstash-docker: no Docker engine is reachable "
            f"({type(exc).__name__}: {exc}); start Docker (or set DOCKER_HOST), "
            "or run without --qstash-docker to use the in-process emulator"
        ) from exc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
