"""Start an emulator in its own process for a scenario run (or attach to a running one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass

import httpx

from ..clocks import wall_now, wall_wait
from ..control import AsyncEmulatorControl, ControlError
from .features import FeatureMissing
from .model import RunSettings

STARTUP_S = 20.0


@dataclass
class EmulatorHandle:
    url: str
    token: str
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def emulator_command(run: RunSettings, port: int, plan: str | None) -> list[str]:
    command = [sys.executable, "-m", "qstash_emulator", "--port", str(port), "--clock", run.clock,
               "--any-token", "--seed", str(run.seed)]
    if run.clock == "real" and run.speed != 1:
        command += ["--speed", f"{run.speed:g}"]
    if plan is not None:
        command += ["--plan", plan]
    if run.store != "memory":
        command += ["--store", run.store]
    return command


async def start_emulator(run: RunSettings, plan: str | None = None) -> EmulatorHandle:
    """Start `python -m qstash_emulator` on a free port; a refused flag means a missing feature."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_EMULATOR_")}
    process = subprocess.Popen(emulator_command(run, port, plan), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    handle = EmulatorHandle(f"http://127.0.0.1:{port}", f"scenario-{uuid.uuid4().hex}", process)
    try:
        await _wait_healthy(handle)
    except BaseException:
        handle.stop()
        raise
    return handle


async def _wait_healthy(handle: EmulatorHandle) -> None:
    deadline = wall_now() + STARTUP_S
    async with AsyncEmulatorControl(handle.url) as control:
        while wall_now() < deadline:
            process = handle.process
            if process is not None and process.poll() is not None:
                _explain_exit(process)
            try:
                await control.health()
                return
            except (httpx.TransportError, ControlError):
                pass
            await wall_wait(0.05)
    raise RuntimeError(f"the emulator did not start within {STARTUP_S:g}s")


def _explain_exit(process: subprocess.Popen[bytes]) -> None:
    error = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
    if "--plan" in error and "unrecognized" in error:
        raise FeatureMissing("this emulator has no --plan flag (plans and quotas, issue 4)")
    if "store" in error.lower():
        last = error.strip().splitlines()[-1] if error.strip() else error
        raise FeatureMissing(f"this emulator cannot use the requested store: {last}")
    raise RuntimeError(f"the emulator exited with {process.returncode}: {error.strip()}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
