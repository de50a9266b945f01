"""Fixtures for the client library: a real Redis, scripted stand-ins for QStash, a receiving app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from client_servers import ReceivingApp, ScriptedQStash

from qstash_emulator.core.model import SigningKeys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_redis(url: str, proc: subprocess.Popen[bytes]) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            client.close()
            return
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.02)  # waiting for a process to start, not for time to pass


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """QSTASH_TEST_REDIS_URL, else a private redis-server on a free port for this session."""
    configured = os.environ.get("QSTASH_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("no Redis: set QSTASH_TEST_REDIS_URL or install redis-server")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_redis(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def prefix() -> str:
    """A Redis key prefix of this test's own (nothing is ever flushed)."""
    return f"qstash-queue-test-{uuid.uuid4().hex}"


@pytest.fixture
def scripted() -> Iterator[ScriptedQStash]:
    with ScriptedQStash() as running:
        yield running


@pytest.fixture
def app(keys: SigningKeys) -> Iterator[ReceivingApp]:
    with ReceivingApp(keys) as running:
        yield running
