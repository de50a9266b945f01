"""The emulators the docs' snippets run against: one per distinct command, per xdist worker."""

from __future__ import annotations

import os
import shlex
from dataclasses import fields, replace

import httpx

from pytest_qstash.server import EmulatorServer
from qstash_emulator.cli import settings_from_args, startup_lines
from qstash_emulator.core.tenants import DEFAULT_TOKEN


def _without_qstash_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_")}


class DocEmulators:
    """Starts the emulator a doc names (`qstash-emulator --clock virtual ...`) on first use, on a
    free port, and gives the environment a reader has after pasting the lines it prints."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[EmulatorServer, dict[str, str]]] = {}

    def env_for(self, command: str) -> dict[str, str]:
        """`os.environ` without `QSTASH_*`, plus the printed `QSTASH_*` lines of `command`."""
        if command not in self._running:
            self._running[command] = self._start(command)
        return _without_qstash_variables() | self._running[command][1]

    @staticmethod
    def _start(command: str) -> tuple[EmulatorServer, dict[str, str]]:
        program, *flags = shlex.split(command)
        assert program == "qstash-emulator", f"not an emulator command: {command}"
        settings = settings_from_args(flags)
        values = {f.name: getattr(settings, f.name) for f in fields(settings)}
        server = EmulatorServer(**{k: v for k, v in values.items() if k not in ("host", "port")})
        server.start()
        port = int(server.url.rsplit(":", 1)[1])
        printed = startup_lines(replace(settings, host="127.0.0.1", port=port))
        return server, dict(line.split("=", 1) for line in printed)

    def reset(self, command: str) -> None:
        """Forget every tenant's state, so the next snippet starts as on a fresh emulator."""
        server = self._running[command][0]
        httpx.post(f"{server.url}/__emulator__/reset", params={"all": "true"},
                   headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}).raise_for_status()

    def stop(self) -> None:
        for server, _ in self._running.values():
            server.stop()
