"""`--workers 2` on a private Redis: both processes serve, each message is delivered once, and
the virtual clock is one clock."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from qstash import QStash
from redis_support import private_redis, redis_binary
from test_cli import CliProcess, free_port

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import PATIENT_STORE_TIMEOUT_MS

WAIT_S = 30.0

pytestmark = pytest.mark.skipif(redis_binary() is None, reason="redis-server is not installed")


def answering_pids(url: str, rounds: int = 20, connections: int = 16) -> set[int]:
    """The process ids that answer health checks on fresh concurrent connections."""

    def one(_: int) -> int:
        with httpx.Client() as client:  # a connection of its own
            return int(client.get(f"{url}/__emulator__/health").json()["pid"])

    seen: set[int] = set()
    with ThreadPoolExecutor(connections) as pool:
        for _ in range(rounds):
            seen |= set(pool.map(one, range(connections)))
            if len(seen) > 1:
                break
    return seen


def test_two_workers_share_the_port_the_work_and_the_clock(token: str, endpoint: Endpoint
                                                            ) -> None:
    total = 100
    port = free_port()
    with private_redis() as redis_url, CliProcess(
            ["--port", str(port), "--store", redis_url, "--workers", "2", "--clock", "virtual",
             "--any-token", "--store-timeout-ms", str(PATIENT_STORE_TIMEOUT_MS)]) as cli:
        url = cli.startup()["QSTASH_URL"]
        cli.wait_healthy(url)
        assert len(answering_pids(url)) == 2
        client = QStash(token, base_url=url, retry=False)
        published = {client.message.publish(url=endpoint.url_for("/w"), body=str(i),
                                             delay="1h").message_id for i in range(total)}
        with EmulatorControl(url, token) as control:
            moved_to = control.advance(3600)
        endpoint.wait_for(total, timeout=WAIT_S)
        deadline = time.monotonic() + WAIT_S
        clocks = _clock_readings(url, token)
        while set(clocks) != {moved_to} and time.monotonic() < deadline:
            time.sleep(0.05)
            clocks = _clock_readings(url, token)
        assert set(clocks) == {moved_to}
    received = Counter(r.header("upstash-message-id") for r in endpoint.requests)
    assert set(received) == published and set(received.values()) == {1}


def _clock_readings(url: str, token: str, connections: int = 16) -> list[int]:
    def one(_: int) -> int:
        with EmulatorControl(url, token) as control:
            return control.now_ms()

    with ThreadPoolExecutor(connections) as pool:
        return list(pool.map(one, range(connections)))
