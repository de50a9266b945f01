"""Schedules on the real clock (compressed with --speed): triggers fire on their own, on time.

Wall time passes here (a fraction of a second) because the real clock is what is under test.
"""

from __future__ import annotations

import itertools

from delivery_log import recorded_deliveries
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEFAULT_TOKEN


def test_cron_triggers_fire_by_themselves_never_early() -> None:
    with EmulatorServer(clock="real", speed=600) as server, Endpoint() as endpoint, \
            EmulatorControl(server.url) as control:
        client = QStash(DEFAULT_TOKEN, base_url=server.url)
        schedule_id = client.schedule.create(destination=endpoint.url, cron="* * * * *")
        endpoint.wait_for(3, timeout=10)
        client.schedule.delete(schedule_id)
        deliveries = recorded_deliveries(control, 3)
        created = [client.message.get(d["messageId"]).created_at for d in deliveries]
        assert len(deliveries) >= 3
        assert all(c % 60_000 == 0 for c in created)  # each message is made at its cron time
        assert [b - a for a, b in itertools.pairwise(created)] == [60_000] * (len(created) - 1)
        assert all(d["time"] >= c for d, c in zip(deliveries, created, strict=True))
