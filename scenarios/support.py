"""Processes the scenario scripts run: an emulator, a logging destination, a private Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0="
ROOT = Path(__file__).resolve().parents[1]

# A destination that appends the Upstash-Message-Id of every POST to a log file (its own record
# of what arrived) and answers GET /count with the number of POSTs.
DESTINATION = """
import sys
import uvicorn
log = open(sys.argv[2], "a", buffering=1) if len(sys.argv) > 2 else None
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "POST":
        count += 1
        if log is not None:
            ids = [v for k, v in scope["headers"] if k == b"upstash-message-id"]
            log.write((ids[0] if ids else b"?").decode() + "\\n")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(count).encode()})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python_env() -> dict[str, str]:
    """The environment for child processes: this checkout's packages first on the path."""
    paths = [str(ROOT / part) for part in ("emulator", "client", "pytest_plugin")]
    extra = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, *([extra] if extra else [])])}


def start_emulator(port: int, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "qstash_emulator", "--port", str(port), *args],
        stdout=subprocess.DEVNULL, env=python_env(),
    )


def start_destination(port: int, log_path: str | None = None) -> subprocess.Popen[bytes]:
    args = [str(port)] + ([log_path] if log_path else [])
    return subprocess.Popen([sys.executable, "-c", DESTINATION, *args], env=python_env())


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def wait_up(session: aiohttp.ClientSession, url: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            async with session.get(url) as response:
                await response.read()
                return
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """`url` when given, else a private `redis-server` without persistence on a free port."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qstash-redis-") as workdir:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--daemonize", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port, process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop(process)


def delete_prefix(url: str, prefix: str) -> None:
    """Remove every key a run left under `prefix` (never anything else)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError("redis-server did not start")
