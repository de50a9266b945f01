"""A private Redis paused with SIGSTOP under a running emulator (real HTTP on loopback).

While Redis does not answer, health and control endpoints that need no Redis answer at once,
publishes get a 503 JSON error, and nothing answered with an error is stored (not even the
publish whose writes reached the stopped Redis before the emulator noticed). After SIGCONT
everything works again and every acknowledged message is delivered. Wall time passes here only
for the pause itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from redis_support import free_port, redis_binary, unique_prefix, wait_for_redis

from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEFAULT_TOKEN

PAUSE_S = 2.0
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
def stoppable_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = redis_binary()
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qstash-redis-pause-") as workdir:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for_redis(url, process)
            yield url, process
        finally:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            process.wait(10)


def publish(http: httpx.Client, destination: str, body: str) -> httpx.Response:
    return http.post(f"/v2/publish/{destination}", content=body, headers=AUTH)


def publish_until_accepted(http: httpx.Client, destination: str, body: str) -> httpx.Response:
    """After SIGCONT the emulator sees Redis again within a few probes."""
    for _ in range(200):
        answer = publish(http, destination, body)
        if answer.status_code != 503:
            return answer
        time.sleep(0.025)
    raise AssertionError("Redis never came back")


def wait_until_recorded(http: httpx.Client, count: int) -> None:
    """Until the emulator has stored the outcome of `count` attempts (polled, not timed)."""
    for _ in range(400):
        found = http.get("/__emulator__/deliveries", headers=AUTH).json()["deliveries"]
        if len(found) >= count:
            return
        time.sleep(0.025)
    raise AssertionError("the attempts were never recorded")


def stored_bodies(url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    try:
        keys = [
            k
            for k in client.scan_iter(match=f"{prefix}:t:*")
            if k.endswith((b":active", b":finished"))
        ]
        return [value for key in keys for value in client.hvals(key)]
    finally:
        client.close()


def test_a_paused_redis_never_holds_the_emulator_and_errors_store_nothing(
    stoppable_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = stoppable_redis
    prefix = unique_prefix("pause")
    with (
        EmulatorServer(clock="real", store=url, store_prefix=prefix, store_timeout_ms=75) as server,
        Endpoint() as endpoint,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        assert publish(http, endpoint.url, "before").status_code == 200
        endpoint.wait_for(1, timeout=10)
        wait_until_recorded(http, 1)  # else its attempt may be made again: at least once
        os.kill(process.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            refused = [publish(http, endpoint.url, "during-0")]  # reaches the stopped Redis
            health = http.get("/__emulator__/health", timeout=1.0)
            clock = http.get("/__emulator__/clock", headers=AUTH, timeout=1.0)
            refused += [publish(http, endpoint.url, f"during-{n}") for n in range(1, 4)]
            time.sleep(max(0.0, PAUSE_S - (time.monotonic() - stopped_at)))
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert clock.status_code == 200
        for answer in refused:
            assert answer.status_code == 503
            assert "nothing was stored" in answer.json()["error"]
        assert publish_until_accepted(http, endpoint.url, "after").status_code == 200
        endpoint.wait_for(2, timeout=10)
        bodies = stored_bodies(url, prefix)
        assert len(bodies) == 2
        assert not any(b"during" in body for body in bodies)
        assert sorted(r.text for r in endpoint.requests) == ["after", "before"]
