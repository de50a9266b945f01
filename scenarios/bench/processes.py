"""The processes the benchmarks start: emulators, destinations, the bench servers, a Redis.

Every child runs with this interpreter from the repository root, without the caller's
`QSTASH_EMULATOR_*` variables, so that only its command line configures it.
"""

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
from collections.abc import Iterator, Mapping
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]

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


def spawn(args: list[str], env: Mapping[str, str] | None = None,
          stderr: int | None = None) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_EMULATOR_")}
    return subprocess.Popen(args, env=clean | dict(env or {}), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=stderr)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextlib.contextmanager
def running(args: list[str],
            env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A child process for the `with` block; its stderr is kept to explain an early exit."""
    process = spawn(args, env, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        stop(process)


def emulator_command(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "qstash_emulator", "--port", str(port), *args]


def start_emulator(port: int, *args: str) -> subprocess.Popen[bytes]:
    return spawn(emulator_command(port, *args))


def start_destination(port: int, log_path: str | None = None) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-c", DESTINATION, str(port), *([log_path] if log_path else [])])


def bench_server(kind: str, port: int) -> contextlib.AbstractContextManager[
        subprocess.Popen[bytes]]:
    """One of `scenarios.bench.servers`: `sink`, `bare` or `toy`."""
    return running([sys.executable, "-m", "scenarios.bench.servers", kind, str(port)])


async def wait_up(session: aiohttp.ClientSession, url: str,
                  process: subprocess.Popen[bytes] | None = None, timeout_s: float = 20) -> None:
    """Wait until `url` answers; fail at once (with its stderr) if `process` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"{url}: process exited: {error.strip()[-300:]}")
        try:
            async with session.get(url) as response:
                await response.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """`url` when given, else a private `redis-server` without persistence on a free port."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qstash-redis-") as workdir:
        process = spawn([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--daemonize", "no", "--dir", workdir])
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
