"""Whole emulators on one real Redis: restarts keep everything, instances share the work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0


@pytest.fixture
def on_redis(redis_server_url: str, prefix: str) -> Iterator[dict[str, object]]:
    """Settings for an emulator on the test Redis under this test's own prefix."""
    yield {"store": redis_server_url, "store_prefix": prefix, "any_token": True}
    from qstash_emulator.storage.redis import RedisStore

    cleanup = RedisStore.from_url(redis_server_url, prefix=prefix)
    cleanup.reset(None)
    cleanup.client.delete(*(f"{prefix}:{name}" for name in ("seq", "order", "meta")))
    cleanup.close()


def recorded_deliveries(control: EmulatorControl, total: int) -> list[dict[str, object]]:
    """The emulator's delivery records, once it has recorded `total` (an attempt is recorded
    just after the destination answered, so the endpoint can see it first)."""
    deadline = time.monotonic() + WAIT_S
    deliveries = control.deliveries()
    while len(deliveries) < total and time.monotonic() < deadline:
        time.sleep(0.02)
        deliveries = control.deliveries()
    return deliveries


def states(client: QStash, message_id: str) -> list[str]:
    logs = client.log.list(filter={"message_id": message_id}).logs
    return [log.state.value for log in reversed(logs)]


def test_the_virtual_clock_and_pending_work_survive_a_restart(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    with EmulatorServer(clock="virtual", **on_redis) as first:
        client = QStash(token, base_url=first.url, retry=False)
        result = client.message.publish(url=endpoint.url_for("/later"), body="x", delay="1h")
        with EmulatorControl(first.url, token) as control:
            before = control.advance(600)
    assert endpoint.requests == []
    with EmulatorServer(clock="virtual", **on_redis) as second, \
            EmulatorControl(second.url, token) as control:
        assert control.now_ms() == before
        control.advance(3000)
        [delivered] = endpoint.wait_for(1)
        assert delivered.header("upstash-message-id") == result.message_id
        client = QStash(token, base_url=second.url, retry=False)
        assert states(client, result.message_id)[-1] == "DELIVERED"


def test_publish_on_one_instance_read_cancel_and_list_on_another(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    with EmulatorServer(**on_redis) as one, EmulatorServer(**on_redis) as two:
        client_one = QStash(token, base_url=one.url, retry=False)
        client_two = QStash(token, base_url=two.url, retry=False)
        result = client_one.message.publish(url=endpoint.url_for("/x"), body="hi", delay="1h")
        assert client_two.message.get(result.message_id).url == endpoint.url_for("/x")
        client_two.message.cancel(result.message_id)
        assert states(client_one, result.message_id) == ["CREATED", "CANCEL_REQUESTED",
                                                         "CANCELED"]
    assert endpoint.requests == []


def test_two_instances_deliver_each_message_exactly_once(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    total = 200
    with EmulatorServer(**on_redis) as one, EmulatorServer(**on_redis) as two:
        clients = [QStash(token, base_url=s.url, retry=False) for s in (one, two)]
        published = {clients[i % 2].message.publish(url=endpoint.url_for("/n"), body=str(i))
                     .message_id for i in range(total)}
        endpoint.wait_for(total, timeout=WAIT_S)
        with EmulatorControl(two.url, token) as control:
            recorded = Counter(d["messageId"] for d in recorded_deliveries(control, total))
    received = Counter(r.header("upstash-message-id") for r in endpoint.requests)
    assert set(received) == published and set(received.values()) == {1}
    assert recorded == received


def test_crash_script_every_acknowledged_message_is_delivered(redis_server_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.bench.crash_redis", "--messages", "500",
         "--redis-url", redis_server_url, "--seed", "5", "--timeout", "60", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["missing"] == 0
    assert 0 < report["killed_after_acks"] < report["acknowledged"] <= 500
    assert report["delivered_ids"] >= report["acknowledged"]


def test_queue_parallelism_one_holds_across_two_instances(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    from pytest_qstash.measure import max_in_flight

    endpoint.delay(0.02)  # each delivery takes a little while, so overlaps would show
    with EmulatorServer(**on_redis) as one, EmulatorServer(**on_redis) as two:
        clients = [QStash(token, base_url=s.url, retry=False) for s in (one, two)]
        clients[0].queue.upsert("serial", parallelism=1)
        for i in range(20):
            clients[i % 2].message.enqueue(queue="serial", url=endpoint.url_for("/q"),
                                           body=str(i))
        endpoint.wait_for(20, timeout=WAIT_S)
        with EmulatorControl(one.url, token) as control:
            deliveries = recorded_deliveries(control, 20)
    starts = sorted(r.received_at for r in endpoint.requests)
    assert len(starts) == 20 and len(deliveries) == 20
    assert [r.text for r in endpoint.requests] == [str(i) for i in range(20)]  # FIFO
    assert max_in_flight(deliveries) == 1


def test_quota_counters_are_shared_by_instances(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    from qstash.errors import DailyMessageLimitExceededError

    with EmulatorServer(**on_redis) as one, EmulatorServer(**on_redis) as two:
        with EmulatorControl(one.url, token) as control:
            control.set_quota(daily=3)
        clients = [QStash(token, base_url=s.url, retry=False) for s in (one, two)]
        for i in range(3):
            clients[i % 2].message.publish(url=endpoint.url_for("/q"), body=str(i))
        with pytest.raises(DailyMessageLimitExceededError) as refused:
            clients[1].message.publish(url=endpoint.url_for("/q"), body="over")
    assert (refused.value.limit, refused.value.remaining) == ("3", "0")


@pytest.mark.bad_signatures_expected  # the endpoint knows only the first tenant's keys
def test_a_second_instance_follows_the_virtual_clock_and_lists_every_tenants_deliveries(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    import httpx

    with EmulatorServer(clock="virtual", **on_redis) as one, \
            EmulatorServer(clock="virtual", **on_redis) as two, \
            EmulatorControl(one.url, token) as control_one, \
            EmulatorControl(two.url, token) as control_two:
        for name in (token, "another-tenant"):
            QStash(name, base_url=one.url, retry=False).message.publish(
                url=endpoint.url_for("/t"), body=name)
        moved_to = control_one.advance(3600)
        deadline = time.monotonic() + WAIT_S
        while control_two.now_ms() < moved_to and time.monotonic() < deadline:
            time.sleep(0.02)
        assert control_two.now_ms() == moved_to
        listed = httpx.get(f"{two.url}/__emulator__/deliveries", params={"all": "true"},
                           headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
                           ).json()["deliveries"]
    assert sorted(d["body"] for d in listed) == sorted([token, "another-tenant"])


def test_an_instance_that_never_saw_a_token_signs_its_tenants_messages_alike(
    on_redis: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    from qstash_emulator.storage.redis import RedisStore

    with EmulatorServer(clock="virtual", **on_redis) as two:
        with EmulatorServer(clock="virtual", **on_redis) as one:
            QStash(token, base_url=one.url, retry=False).message.publish(
                url=endpoint.url_for("/later"), body="x", delay="1h")
        with EmulatorControl(two.url) as control:  # the dev token: two never sees `token`
            control.advance(3660)  # one's virtual clock started a moment after two's
        assert [r.path for r in endpoint.wait_for(1)] == ["/later"]
        assert endpoint.requests[0].signature_valid  # keys derived from `token`, stored by one
    store = RedisStore.from_url(str(on_redis["store"]), prefix=str(on_redis["store_prefix"]))
    names = [key.decode() for key in store.client.scan_iter(f"{on_redis['store_prefix']}:*")]
    store.close()
    assert names and not [name for name in names if token in name]
