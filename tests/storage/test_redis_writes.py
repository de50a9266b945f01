"""Redis only: writes held back by `deferred()` reach Redis together, and never out of order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import redis
from test_store_contract import A, message

from qstash_emulator.core.model import LogEvent, State, Usage
from qstash_emulator.storage.redis import RedisStore

Factory = Callable[..., RedisStore]


class CountingRedis(redis.Redis):
    """A real client that counts the MULTI/EXEC transactions it opens."""

    transactions = 0

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        if transaction:
            self.transactions += 1
        return super().pipeline(transaction, shard_hint)


def counting_store(url: str, prefix: str) -> tuple[RedisStore, CountingRedis]:
    client = CountingRedis.from_url(url)
    return RedisStore(client, prefix=prefix), client


def test_held_back_writes_are_read_here_at_once_and_elsewhere_after_commit(
    open_redis_store: Factory,
) -> None:
    here, elsewhere = open_redis_store(), open_redis_store()
    created = message("m1")
    with here.deferred():
        here.messages.put_message(created)
        here.history.append_log(A, LogEvent(1, 1, State.CREATED, created))
        here.usage.charge_usage(A, [("daily", 7)], 2)
        assert elsewhere.messages.get_message(A, "m1") is None, "not sent yet"
        assert elsewhere.history.logs(A) == []
        assert here.messages.get_message(A, "m1") == created, "a read here sends them first"
    assert [e.message.message_id for e in elsewhere.history.logs(A)] == ["m1"]
    assert elsewhere.usage.usage(A, "daily", 7) == Usage(2)
    asyncio.run(here.commit())  # nothing left to send
    assert [m.message_id for m in elsewhere.messages.pop_due(10_000, 10)] == ["m1"]


def test_many_concurrent_commits_share_one_transaction(
    redis_server_url: str, prefix: str, open_redis_store: Factory
) -> None:
    store, client = counting_store(redis_server_url, prefix)
    elsewhere = open_redis_store()

    async def publish(index: int) -> None:
        with store.deferred():
            store.messages.put_message(message(f"m{index}", 1000 + index))
            store.usage.charge_usage(A, [("daily", 1), ("monthly", 1)], 1)
        await store.commit()

    async def all_at_once() -> None:
        await asyncio.gather(*(publish(i) for i in range(50)))

    before = client.transactions
    try:
        asyncio.run(all_at_once())
    finally:
        store.close()
    assert client.transactions - before == 1
    assert len(elsewhere.messages.pop_due(10_000, 100)) == 50
    assert elsewhere.usage.usage(A, "daily", 1) == Usage(50)
    assert elsewhere.usage.usage(A, "monthly", 1) == Usage(50)


def test_a_later_direct_write_never_overtakes_a_held_back_one(open_redis_store: Factory) -> None:
    here, elsewhere = open_redis_store(), open_redis_store()
    created = message("m1")
    with here.deferred():
        here.messages.put_message(created)
    here.messages.put_message(replace(created, state=State.DELIVERED))
    found = elsewhere.messages.get_message(A, "m1")
    assert found is not None and found.state is State.DELIVERED
    assert elsewhere.messages.pop_due(10_000, 10) == [], "finished: not due any more"


def test_writes_made_under_the_gate_lock_land_before_it_is_released(
    open_redis_store: Factory,
) -> None:
    here, elsewhere = open_redis_store(), open_redis_store()
    with here.deferred():
        with here.gates.gate_lock():
            here.messages.put_message(message("m1"))
        assert elsewhere.messages.get_message(A, "m1") is not None
