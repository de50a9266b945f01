"""A real Redis for tests: `QSTASH_TEST_REDIS_URL` when set, else a private `redis-server`.

Tests never flush a database: each one works under its own key prefix (`unique_prefix()`).
Import from any test module (`tests/` is on `sys.path` through the root conftest):

    from redis_support import redis_url_or_skip, unique_prefix
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

ENV_URL = "QSTASH_TEST_REDIS_URL"
_START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_prefix(name: str = "test") -> str:
    return f"qstash-test-{name}-{uuid.uuid4().hex[:12]}"


def redis_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )


@contextmanager
def private_redis() -> Iterator[str]:
    """Run `redis-server` on a free port without persistence; yields its URL."""
    binary = redis_binary()
    if binary is None:
        raise FileNotFoundError("redis-server is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qstash-redis-") as workdir:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for_redis(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(10)


def wait_for_redis(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    client = redis.Redis.from_url(url)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if process is not None and process.poll() is not None:
                    raise RuntimeError("redis-server exited during start-up") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
    finally:
        client.close()


@contextmanager
def redis_url() -> Iterator[str | None]:
    """The test Redis URL, or None (with no server available)."""
    given = os.environ.get(ENV_URL)
    if given:
        yield given
        return
    if redis_binary() is None:
        yield None
        return
    with private_redis() as url:
        yield url


SKIP_REASON = (
    f"no Redis for tests: set {ENV_URL}=redis://host:port/db or install redis-server"
)
