"""Redis only: an error answer means nothing was stored.

A client wrapper injects failures at the commit (a real Redis underneath): a reply lost after
Redis applied the writes is settled as applied; writes that reach Redis only after the sender
gave up are declined; writes queued by an operation that raised are never sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis
from test_store_contract import A, message

from qstash_emulator.core.model import LogEvent, State
from qstash_emulator.storage.redis import RedisStore
from qstash_emulator.storage.redis.availability import RedisUnavailable
from qstash_emulator.storage.redis.writes import UnsureCommit

Factory = Callable[..., RedisStore]


class FailingRedis(redis.Redis):
    """A real client whose next transaction fails as if its answer never came: after Redis
    ran it (`applied`), or before it reached Redis (its commands kept in `held_back`)."""

    mode: str | None = None
    held_back: list[Any] = []

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        mode, self.mode = self.mode, None
        if mode is None:
            return pipe
        real_execute = pipe.execute

        def execute(raise_on_error: bool = True) -> Any:
            if mode == "applied":
                real_execute(raise_on_error)
            else:
                self.held_back = [(args, options) for args, options in pipe.command_stack]
            raise RedisUnavailable("injected: no answer", sent=mode != "unsent")

        pipe.execute = execute
        return pipe


def failing_store(url: str, prefix: str) -> tuple[RedisStore, FailingRedis]:
    client = FailingRedis.from_url(url)
    return RedisStore(client, prefix=prefix), client


def test_a_commit_whose_answer_was_lost_after_it_was_applied_succeeds(
    redis_server_url: str, prefix: str, open_redis_store: Factory
) -> None:
    store, client = failing_store(redis_server_url, prefix)
    with store.deferred():
        store.messages.put_message(message("m1"))
    client.mode = "applied"
    asyncio.run(store.commit())
    assert open_redis_store().messages.get_message(A, "m1") is not None
    store.close()


def test_a_commit_that_reaches_redis_after_the_error_answer_stores_nothing(
    redis_server_url: str, prefix: str, open_redis_store: Factory
) -> None:
    store, client = failing_store(redis_server_url, prefix)
    with store.deferred():
        store.messages.put_message(message("m1"))
    client.mode = "late"
    with pytest.raises(RedisUnavailable) as caught:
        asyncio.run(store.commit())
    assert not isinstance(caught.value, UnsureCommit), "settled: declined for good"
    [(args, options)] = client.held_back  # Redis reads the commit only now
    assert redis.Redis.execute_command(client, *args, **options) == 0
    assert open_redis_store().messages.get_message(A, "m1") is None
    assert open_redis_store().messages.pop_due(10**12, 10) == []
    store.close()


def test_writes_queued_by_an_operation_that_raised_are_never_sent(
    open_redis_store: Factory,
) -> None:
    store = open_redis_store()
    with store.deferred():
        store.messages.put_message(message("kept"))
        with pytest.raises(RuntimeError), store.deferred():
            store.messages.put_message(message("dropped"))
            store.history.append_log(A, _event("dropped"))
            raise RuntimeError("the publish failed")
    asyncio.run(store.commit())
    elsewhere = open_redis_store()
    assert elsewhere.messages.get_message(A, "kept") is not None
    assert elsewhere.messages.get_message(A, "dropped") is None
    assert elsewhere.history.logs(A) == []


def _event(message_id: str) -> LogEvent:
    return LogEvent(1, 1, State.CREATED, message(message_id))


@pytest.mark.parametrize("failure", ["raised", "unsent", "late"])
def test_a_dedup_id_claimed_by_a_publish_that_failed_is_given_up(
    failure: str, redis_server_url: str, prefix: str
) -> None:
    store, client = failing_store(redis_server_url, prefix)
    claim = store.messages.claim_dedup
    with pytest.raises((RuntimeError, RedisUnavailable)):
        with store.deferred():
            assert claim(A, "order-7", "m1", now_ms=0, window_ms=60_000) is None
            store.messages.put_message(message("m1"))
            if failure == "raised":
                raise RuntimeError("the publish failed after claiming")
        client.mode = failure
        asyncio.run(store.commit())
    asyncio.run(_commit_something(store))  # the next commit gives the claim up first
    assert claim(A, "order-7", "m2", now_ms=1, window_ms=60_000) is None, "the retry is new"
    assert claim(A, "order-7", "m3", now_ms=2, window_ms=60_000) == "m2"
    store.close()


async def _commit_something(store: RedisStore) -> None:
    with store.deferred():
        store.messages.put_message(message("other"))
    await store.commit()
