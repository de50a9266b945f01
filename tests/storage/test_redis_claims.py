"""Redis only: due work is claimed by exactly one instance; a dead instance's claims are retried."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from test_store_contract import A, message

from qstash_emulator.core.model import State
from qstash_emulator.storage.redis import RedisStore

Factory = Callable[..., RedisStore]


def crash(store: RedisStore) -> None:
    """What SIGKILL leaves behind: claims without a lease (the key is gone as if expired)."""
    store.lease.stop()
    store.client.delete(store.lease.key)
    store.closed = True


def test_two_instances_popping_at_once_each_get_disjoint_messages(
    open_redis_store: Factory,
) -> None:
    stores = [open_redis_store(), open_redis_store()]
    for index in range(400):
        stores[0].messages.put_message(message(f"m{index}", 1000 + index))
    taken: list[list[str]] = [[], []]

    def worker(which: int) -> None:
        while batch := stores[which].messages.pop_due(10_000, 7):
            taken[which].extend(m.message_id for m in batch)

    threads = [threading.Thread(target=worker, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    counts = Counter(taken[0] + taken[1])
    assert len(counts) == 400 and set(counts.values()) == {1}


def test_a_message_published_on_one_instance_is_read_on_the_other(
    open_redis_store: Factory,
) -> None:
    first, second = open_redis_store(), open_redis_store()
    first.messages.put_message(message("m1"))
    assert second.messages.get_message(A, "m1") == message("m1")
    assert [m.message_id for m in second.messages.pop_due(1000, 10)] == ["m1"]
    assert first.messages.pop_due(1000, 10) == []


def test_claims_of_a_crashed_instance_are_retried_by_another(open_redis_store: Factory) -> None:
    crashed, survivor = open_redis_store(), open_redis_store()
    crashed.messages.put_message(message("claimed", 1000))
    crashed.messages.put_message(message("in-flight", 1000, retried=2, state=State.RETRY))
    popped = crashed.messages.pop_due(1000, 10)
    crashed.messages.put_message(replace(popped[1], state=State.ACTIVE))
    assert survivor.messages.pop_due(5000, 10) == []
    crash(crashed)
    recovered = {m.message_id: m for m in survivor.messages.pop_due(5000, 10)}
    assert recovered == {
        "claimed": message("claimed", 1000),
        "in-flight": message("in-flight", 1000, retried=2, state=State.RETRY),
    }
    assert survivor.messages.get_message(A, "in-flight") == recovered["in-flight"]
    assert survivor.messages.pop_due(5000, 10) == []


def test_a_live_instance_keeps_its_claims(open_redis_store: Factory) -> None:
    owner, other = open_redis_store(lease_ms=60_000), open_redis_store()
    owner.messages.put_message(message("m1", 1000))
    [popped] = owner.messages.pop_due(1000, 10)
    owner.messages.put_message(replace(popped, state=State.ACTIVE))
    assert other.messages.pop_due(10**13, 10) == []
    owner.messages.put_message(replace(popped, state=State.DELIVERED))
    assert other.messages.pop_due(10**13, 10) == [] and owner.messages.pop_due(10**13, 10) == []


def test_a_clean_close_gives_unfinished_claims_back(open_redis_store: Factory) -> None:
    leaving, staying = open_redis_store(), open_redis_store()
    leaving.messages.put_message(message("m1", 1000))
    assert len(leaving.messages.pop_due(1000, 10)) == 1
    leaving.close()
    assert [m.message_id for m in staying.messages.pop_due(1000, 10)] == ["m1"]


def test_the_lease_expires_by_itself_after_its_owner_stops_renewing(
    open_redis_store: Factory,
) -> None:
    short = open_redis_store(lease_ms=200)
    short.lease.stop()
    ttl_ms = short.client.pttl(short.lease.key)
    assert 0 < ttl_ms <= 200


def test_a_cancel_on_another_instance_wins_over_an_attempt_begun_after_it(
    open_redis_store: Factory,
) -> None:
    claimer, canceller = open_redis_store(), open_redis_store()
    claimer.messages.put_message(message("m1", 1000))
    [popped] = claimer.messages.pop_due(5000, 10)
    canceller.messages.put_message(replace(popped, state=State.CANCELED))
    claimer.messages.put_message(replace(popped, state=State.ACTIVE))
    found = claimer.messages.get_message(A, "m1")
    assert found is not None and found.state is State.CANCELED
    assert claimer.messages.pop_due(10**13, 10) == []
    assert canceller.messages.pop_due(10**13, 10) == []
