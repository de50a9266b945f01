"""The memory store's one history budget for every tenant: oldest records out first, whichever
tenant they belong to; resets and per-tenant caps give their share back."""

from __future__ import annotations

from qstash_emulator.core.model import DeliveryRecord, Kind, LogEvent, Message, Response, State
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.memory.budget import delivery_bytes, log_bytes, message_bytes


def message(tenant: str, number: int, state: State = State.CREATED) -> Message:
    return Message(f"m{number}", tenant, "http://x/y", b"b" * 100, 0, 0, state=state)


def event(tenant: str, number: int) -> LogEvent:
    return LogEvent(number, number, State.CREATED, message(tenant, number))


def record(tenant: str, number: int) -> DeliveryRecord:
    return DeliveryRecord(
        number,
        tenant,
        f"m{number}",
        "http://x/y",
        "POST",
        {"A": "b"},
        b"b" * 100,
        0,
        number,
        Response(200),
        Kind.MESSAGE,
    )


def log_numbers(store: MemoryStore, tenant: str) -> list[int]:
    return [e.seq for e in store.history.logs(tenant)]


def test_the_oldest_records_of_every_tenant_go_first() -> None:
    size = log_bytes(event("a", 0))
    store = MemoryStore(max_history_bytes=10 * size)
    for number in range(30):  # three tenants taking turns: a, b, c, a, b, c...
        tenant = "abc"[number % 3]
        store.history.append_log(tenant, event(tenant, number))
    assert store.budget.records == 10
    assert store.budget.used <= 10 * size
    kept = sorted(log_numbers(store, "a") + log_numbers(store, "b") + log_numbers(store, "c"))
    assert kept == list(range(20, 30))
    assert log_numbers(store, "a") == [21, 24, 27]
    assert store.history.event_counts("a") == {"CREATED": 10}  # counts are not history


def test_kinds_share_the_budget_and_a_busy_tenant_pushes_out_a_quiet_one() -> None:
    unit = max(
        log_bytes(event("q", 0)),
        delivery_bytes(record("q", 0)),
        message_bytes(message("q", 0, State.DELIVERED)),
    )
    store = MemoryStore(max_history_bytes=20 * unit)
    store.history.append_log("quiet", event("quiet", 0))
    store.history.append_delivery(record("quiet", 1))
    store.messages.put_message(message("quiet", 2, State.DELIVERED))
    for number in range(100):
        store.history.append_log("busy", event("busy", number))
        store.history.append_delivery(record("busy", number))
        store.messages.put_message(message("busy", number, State.DELIVERED))
    assert store.budget.used <= 20 * unit
    assert store.history.logs("quiet") == []
    assert store.history.deliveries("quiet") == []
    assert store.messages.get_message("quiet", "m2") is None
    assert store.messages.get_message("busy", "m99") is not None
    assert store.history.deliveries("busy")[-1].seq == 99


def test_resets_and_per_tenant_caps_give_their_share_back() -> None:
    size = log_bytes(event("a", 0))
    store = MemoryStore(max_logs=5, max_history_bytes=100 * size)
    for number in range(20):
        store.history.append_log("a", event("a", number))
    assert log_numbers(store, "a") == list(range(15, 20))
    assert store.budget.records == 5
    assert store.budget.used == 5 * size
    store.reset("a")
    assert store.budget.records == 0
    assert store.budget.used == 0
    for number in range(100):  # the budget is whole again: no tenant pushes another out
        store.history.append_log(f"t{number}", event(f"t{number}", number))
    assert store.budget.records == 100
    assert all(log_numbers(store, f"t{n}") == [n] for n in range(100))


def test_the_ledger_does_not_grow_with_tenants_that_come_and_go() -> None:
    store = MemoryStore(max_history_bytes=10**9)
    for number in range(5000):
        tenant = f"t{number}"
        store.history.append_log(tenant, event(tenant, number))
        store.reset(tenant)
    assert store.budget.records == 0
    assert len(store.budget._ledger) <= 2048


def test_no_budget_keeps_only_the_per_tenant_caps() -> None:
    store = MemoryStore(max_logs=3, max_history_bytes=None)
    for number in range(10):
        store.history.append_log("a", event("a", number))
    assert log_numbers(store, "a") == [7, 8, 9]
