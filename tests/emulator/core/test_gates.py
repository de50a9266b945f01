"""The pure gate rules, then admission with the scheduler on a virtual clock (in process,
delivering through a function dispatcher), including the plan limits as data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.errors import BadRequest, PreconditionFailed
from qstash_emulator.core.gating import rules as g
from qstash_emulator.core.gating.queues import QueueUpsert
from qstash_emulator.core.gating.rules import Gate, GateKind
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest, FlowControl, Response
from qstash_emulator.core.plans import DEFAULT_PLAN, PLANS, plan_named
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.ids import RandomIds
from qstash_emulator.storage.memory import MemoryStore

TENANT = "t"
START_MS = 1_700_000_000_000



def make(
    answer: Callable[[DeliveryRequest], Response], plan: str = "payg"
) -> tuple[Emulator, FunctionDispatcher]:
    dispatcher = FunctionDispatcher(answer)
    emulator = Emulator(
        Settings(clock="virtual", tokens=(TENANT,), plan=plan),
        clock=VirtualClock(start=START_MS / 1000),
        store=MemoryStore(), dispatcher=dispatcher, ids=RandomIds(seed=1),
    )
    return emulator, dispatcher


def flow_gate(**changes: object) -> Gate:
    return g.new_flow(FlowControl("k", **changes), 0)  # type: ignore[arg-type]


def test_rate_window_rolls_only_when_over() -> None:
    gate = g.roll(flow_gate(rate=2, period_s=60), 1_000)
    assert (gate.window_start_ms, gate.window_count) == (1_000, 0)
    gate = g.take(g.take(gate, "a", 1_000), "b", 1_000)
    assert not g.has_room(gate)
    assert g.wake_time(gate) == 61_000
    assert g.roll(gate, 60_999) is gate
    assert g.has_room(g.roll(gate, 61_000))
    assert g.rate_count(gate, 61_000) == 0


def test_rate_is_a_sliding_window() -> None:
    gate = g.roll(flow_gate(rate=2, period_s=60), 0)
    gate = g.take(gate, "a", 0)
    gate = g.take(g.roll(gate, 50_000), "b", 50_000)
    assert not g.has_room(g.roll(gate, 60_000 - 1))
    assert g.wake_time(gate) == 60_000  # the oldest start leaves the window
    rolled = g.roll(gate, 60_000)
    assert g.has_room(rolled)
    rolled = g.take(rolled, "c", 60_000)
    assert not g.has_room(g.roll(rolled, 109_999)) and g.wake_time(rolled) == 110_000


def test_parallelism_and_pause_block_without_a_wake_time() -> None:
    gate = g.take(flow_gate(parallelism=1, rate=5), "a", 0)
    assert not g.has_room(gate) and g.wake_time(gate) is None
    assert g.has_room(g.release(gate, "a"))
    paused = Gate(**{**_fields(g.release(gate, "a")), "paused": True})
    assert not g.has_room(paused) and g.wake_time(paused) is None


def _fields(gate: Gate) -> dict[str, object]:
    return {name: getattr(gate, name) for name in gate.__slots__}  # type: ignore[attr-defined]


def test_pinned_values_survive_new_message_values() -> None:
    gate = flow_gate(parallelism=2, rate=3, period_s=10)
    pinned = Gate(**{**_fields(gate), "pinned_rate": True})
    changed = g.configure_flow(pinned, FlowControl("k", 9, 9, 99), 5)
    assert (changed.parallelism, changed.rate, changed.period_s) == (9, 3, 10)
    assert changed.updated_at_ms == 5
    assert g.configure_flow(changed, FlowControl("k", 9, 1, 1), 6) == changed


def test_children_keep_a_queue_slot() -> None:
    gate = g.take(g.new_queue("q", 0), "m", 0)
    gate = g.adopt(gate, "m", "cb")
    assert g.has_children(gate, "m") and not g.has_children(gate, "x")
    assert not g.has_children(g.drop_child(gate, "m", "cb"), "m")


def test_plan_limits_are_data() -> None:
    assert DEFAULT_PLAN == "payg"
    assert (PLANS["payg"].queues, PLANS["payg"].parallelism) == (100, 100)
    assert (PLANS["free"].queues, PLANS["free"].parallelism) == (10, 2)
    with pytest.raises(BadRequest, match="unknown plan"):
        plan_named("no-such-plan")


@pytest.mark.anyio
async def test_free_plan_limits_queues_and_parallelism() -> None:
    emulator, _ = make(lambda r: Response(200), plan="free")
    service = emulator.service
    with pytest.raises(PreconditionFailed):
        service.upsert_queue(TENANT, QueueUpsert("q", 3, False))
    for n in range(10):
        service.upsert_queue(TENANT, QueueUpsert(f"q{n}", 2, False))
    with pytest.raises(PreconditionFailed):
        service.upsert_queue(TENANT, QueueUpsert("q10", 1, False))
    assert len(service.list_queues(TENANT)) == 10


@pytest.mark.anyio
async def test_queue_and_flow_key_together_honour_both_limits() -> None:
    emulator, dispatcher = make(lambda r: Response(200))
    await emulator.start()
    service = emulator.service
    headers = {"upstash-flow-control-key": "k", "upstash-flow-control-value": "rate=1,period=10"}
    for n in range(3):
        service.publish(TENANT, PublishRequest("http://d/x", headers, b"%d" % n, "q"), None)
    await emulator.drain()
    assert len(dispatcher.requests) == 1
    assert emulator.scheduler.next_due_ms() == START_MS + 10_000
    await emulator.advance(20)
    starts = [r.started_at_ms - START_MS for r in dispatcher.requests]
    assert starts == [0, 10_000, 20_000]
    assert emulator.service.get_queue(TENANT, "q").lag == 0
    gate = emulator.store.gates.get_gate(TENANT, GateKind.QUEUE.value, "q")
    assert gate is not None and gate.holders == frozenset()
    await emulator.stop()


@pytest.mark.anyio
async def test_ungated_messages_overtake_a_blocked_key() -> None:
    emulator, dispatcher = make(lambda r: Response(200))
    await emulator.start()
    service = emulator.service
    headers = {"upstash-flow-control-key": "k", "upstash-flow-control-value": "rate=1,period=60"}
    for _ in range(3):
        service.publish(TENANT, PublishRequest("http://d/slow", headers, b""), None)
    service.publish(TENANT, PublishRequest("http://d/free", {}, b""), None)
    await emulator.drain()
    assert [r.url for r in dispatcher.requests] == ["http://d/slow", "http://d/free"]
    await emulator.stop()
