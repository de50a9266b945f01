"""The real clock, compressed with --speed: delays are honoured, never early.

These are the only tests that let wall time pass (a fraction of a second), because the real
clock is what they are about.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from delivery_log import recorded_deliveries
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEFAULT_TOKEN


@pytest.fixture(scope="module")
def fast_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="real", speed=100) as server:
        yield server


def test_speed_divides_delays_and_no_delivery_is_early(fast_server: EmulatorServer) -> None:
    client = QStash(DEFAULT_TOKEN, base_url=fast_server.url)
    with Endpoint() as endpoint, EmulatorControl(fast_server.url) as control:
        ids = [
            client.message.publish(url=endpoint.url, body=str(i), delay=f"{i}s").message_id
            for i in range(0, 20)
        ]
        endpoint.wait_for(20, timeout=10)
        for message_id in ids:
            message = client.message.get(message_id)
            [attempt] = recorded_deliveries(control, 1, message_id)
            assert attempt["time"] >= message.not_before
        control.reset()


def test_health_reports_a_real_clock(fast_server: EmulatorServer) -> None:
    with EmulatorControl(fast_server.url) as control:
        assert control.health()["clock"] == "real"
