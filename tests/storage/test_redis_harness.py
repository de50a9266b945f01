"""Two emulators on one Redis prefix apply the same faults and outages, set through either.

Most emulators here run in this process on virtual clocks and deliver through function
dispatchers (a transport seam); each drives only its own scheduler, so which instance makes
which attempt is chosen by the test. The last test runs two servers and goes through HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from qstash import QStash

from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.harness.model import Outage, OutageMode
from qstash_emulator.core.harness.view import SHARED_REFRESH_S
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import Response
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.redis import RedisStore

TENANT = "t"
URL = "http://127.0.0.1:9/hook"
START_S = 1_700_000_000


def emulator_on(store: RedisStore | MemoryStore) -> tuple[Emulator, FunctionDispatcher]:
    dispatcher = FunctionDispatcher(lambda request: Response(200))
    emulator = Emulator(Settings(clock="virtual", tokens=(TENANT,)),
                        clock=VirtualClock(start=START_S), store=store, dispatcher=dispatcher)
    return emulator, dispatcher


@pytest.fixture
def two(open_redis_store: Callable[..., RedisStore]
        ) -> Iterator[tuple[tuple[Emulator, FunctionDispatcher], ...]]:
    """Two emulators, each with its own connection to the same prefix."""
    yield emulator_on(open_redis_store()), emulator_on(open_redis_store())


async def attempt_through(emulator: Emulator) -> int:
    """Publish one message (no retries) and make its attempt on `emulator`; its status."""
    request = PublishRequest(URL, {"upstash-retries": "0"}, b"x")
    [published] = emulator.service.publish(TENANT, request, None)
    await emulator.drain()
    [record] = [r for r in emulator.service.deliveries(TENANT)
                if r.message_id == published.message_id]
    return record.response.status


@pytest.mark.anyio
async def test_a_status_sequence_runs_once_across_both_instances(two: tuple) -> None:
    (one, one_sent), (other, other_sent) = two
    rule = one.service.add_fault(TENANT, {"match": URL, "statuses": [500, 500, 200]})
    statuses = [await attempt_through(e) for e in (other, one, other, one)]
    assert statuses == [500, 500, 200, 200]
    assert [r.rule_id for r in other.service.list_faults(TENANT)] == [rule.rule_id]
    assert (len(one_sent.requests), len(other_sent.requests)) == (1, 0), (
        "the sequence's answers are injected; only the attempt after it reaches the destination")


@pytest.mark.anyio
async def test_probability_draws_are_one_sequence_from_the_seed(two: tuple) -> None:
    (one, _), (other, _) = two
    single, _ = emulator_on(MemoryStore())
    fault = {"match": URL, "probability": 0.5, "seed": 11}
    single.service.add_fault(TENANT, fault)
    expected = [await attempt_through(single) for _ in range(12)]
    other.service.add_fault(TENANT, fault)
    shared = [await attempt_through((one, other)[i % 2]) for i in range(12)]
    assert shared == expected and set(expected) == {200, 500}


@pytest.mark.anyio
async def test_a_duplicate_scheduled_by_one_is_delivered_by_the_other(
    open_redis_store: Callable[..., RedisStore],
) -> None:
    one, one_sent = emulator_on(open_redis_store())
    one.service.add_fault(TENANT, {"match": URL, "duplicate_after_s": 5})
    assert await attempt_through(one) == 200
    other, other_sent = emulator_on(open_redis_store())  # reads the harness state now
    await other.advance(5)
    assert [r.message_id for r in other_sent.requests] == [one_sent.requests[0].message_id]
    await one.advance(60)
    assert len(one_sent.requests) == 1, "the duplicate went to one instance only"


def test_an_outage_and_its_count_are_shared(two: tuple) -> None:
    (one, _), (other, _) = two
    one.service.start_outage(TENANT, {"mode": "error", "status": 503, "count": 3})
    path = "/v2/publish/" + URL
    taken = [e.service.take_outage(TENANT, path) for e in (other, one, other, one)]
    assert [o.status if o else None for o in taken] == [503, 503, 503, None]
    assert one.service.list_outages(TENANT) == other.service.list_outages(TENANT) == []


def test_an_outage_ended_through_one_is_over_for_the_other(two: tuple) -> None:
    (one, _), (other, _) = two
    one.service.start_outage(None, {"mode": "reset"})
    [outage] = other.service.list_outages(TENANT)
    assert outage.tenant is None and other.service.take_outage(TENANT, "/v2/keys") is not None
    assert other.service.end_outage(None) == 1
    assert one.service.list_outages(None) == []
    assert one.service.take_outage(TENANT, "/v2/keys") is None


def test_faults_cleared_through_one_stop_on_the_other(two: tuple) -> None:
    (one, _), (other, _) = two
    one.service.add_fault(TENANT, {"match": URL, "statuses": [500, 500]})
    assert [r.match for r in other.service.list_faults(TENANT)] == [URL]
    assert other.service.clear_faults(TENANT) == 1
    assert one.service.list_faults(None) == []


class HandWall(VirtualClock):
    """A virtual clock whose wall time is moved by hand too."""

    wall_s = 1_000.0

    def wall(self) -> float:
        return self.wall_s


class CountingRedis(redis.Redis):
    """A real client that counts the round trips the test's own thread makes."""

    round_trips = 0
    thread: int | None = None

    def _count(self) -> None:
        if threading.get_ident() == self.thread:
            self.round_trips += 1

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self._count()
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        self._count()
        return super().pipeline(transaction, shard_hint)


def test_with_nothing_configured_the_hot_paths_ask_redis_once_per_refresh_time(
    redis_server_url: str, prefix: str, open_redis_store: Callable[..., RedisStore]
) -> None:
    client = CountingRedis.from_url(redis_server_url)
    clock = HandWall(start=START_S)
    emulator = Emulator(Settings(clock="virtual", tokens=(TENANT,)), clock=clock,
                        store=RedisStore(client, prefix=prefix), dispatcher=FunctionDispatcher(
                            lambda request: Response(200)))
    faults = emulator.service.attempts.faults
    try:
        client.thread, client.round_trips = threading.get_ident(), 0

        def ask_like_requests_and_attempts() -> None:
            for _ in range(100):
                assert emulator.service.take_outage(TENANT, "/v2/publish/" + URL) is None
                assert faults.effect_for(TENANT, URL) is None
                assert faults.signature_for(TENANT, URL) is None

        ask_like_requests_and_attempts()
        assert client.round_trips == 1, "one read of the harness state, then its copy"
        other = open_redis_store()
        other.harness.start_outage(Outage(OutageMode.ERROR, TENANT, outage_id="elsewhere"))
        ask_like_requests_and_attempts()
        assert client.round_trips == 1, "another instance's outage: not seen yet"
        clock.wall_s += SHARED_REFRESH_S
        assert emulator.service.take_outage(TENANT, "/v2/publish/" + URL) is not None
        assert client.round_trips == 2
    finally:
        emulator.store.close()


def answers_503(base_url: str, token: str) -> bool:
    answer = httpx.get(f"{base_url}/v2/queues", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code == 503


def test_over_http_an_outage_and_a_fault_set_through_one_server_hold_on_the_other(
    redis_settings: dict[str, object], token: str, endpoint: Endpoint
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    with EmulatorServer(**redis_settings) as one, EmulatorServer(**redis_settings) as two:
        assert not answers_503(two.url, token)
        httpx.post(f"{one.url}/__emulator__/outage", json={"mode": "error"}, headers=auth)
        deadline = time.monotonic() + 10 * SHARED_REFRESH_S
        while not answers_503(two.url, token) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert answers_503(two.url, token), "the other server's copy is read again in time"
        httpx.delete(f"{two.url}/__emulator__/outage", headers=auth)
        url = endpoint.url_for("/seq")
        httpx.post(f"{one.url}/__emulator__/faults", headers=auth,
                   json={"match": url, "statuses": [500, 500, 200]})
        listed = httpx.get(f"{two.url}/__emulator__/faults", headers=auth).json()["faults"]
        assert [f["statuses"] for f in listed] == [[500, 500, 200]]
        client = QStash(token, base_url=two.url, retry=False)
        ids = [client.message.publish(url=url, body=str(i), retries=0).message_id
               for i in range(3)]
        statuses = sorted(wait_for_status(server, token, message_id)
                          for server, message_id in zip((one, two, one), ids, strict=True))
    assert statuses == [200, 500, 500], "one sequence for both servers"
    assert endpoint.requests == [], "every answer of the sequence was injected"


def wait_for_status(server: EmulatorServer, token: str, message_id: str) -> int:
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(f"{server.url}/__emulator__/deliveries", headers=auth,
                          params={"messageId": message_id}).json()["deliveries"]
        if found:
            return int(found[0]["status"])
        time.sleep(0.02)
    raise AssertionError(f"no delivery of {message_id} recorded within 30 s")
