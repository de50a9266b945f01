"""The store's dashboard reads (`Browsing`): counters kept on every write and newest-first
pages, run against the memory store and the Redis store alike (`SMALL_LIMITS` apply)."""

from __future__ import annotations

from dataclasses import replace

from qstash_emulator.core.messages.browse import message_counts
from qstash_emulator.core.model import (
    DlqEntry,
    LogEvent,
    Message,
    MessageCounts,
    Response,
    State,
)
from qstash_emulator.core.ports import Store

A, B = "tenant-a", "tenant:b%"


def counts(store: Store, tenant: str) -> MessageCounts:
    return message_counts(store.messages, store.history, tenant)


def message(message_id: str, tenant: str = A, **changes: object) -> Message:
    base = Message(message_id=message_id, tenant=tenant, url="http://h/x", body=b"body",
                   created_at_ms=500, not_before_ms=1000, due_at_ms=1000)
    return replace(base, **changes)  # type: ignore[arg-type]


def ids(messages: list[Message]) -> list[str]:
    return [m.message_id for m in messages]


def event(store: Store, message_id: str, state: State, tenant: str = A) -> LogEvent:
    logged = LogEvent(store.history.next_seq(), 1000, state, message(message_id, tenant=tenant))
    store.history.append_log(tenant, logged)
    return logged


def test_counts_start_at_zero(store: Store) -> None:
    assert counts(store, A) == MessageCounts(0, 0, {})


def test_counts_follow_unfinished_messages_dlq_entries_and_events(store: Store) -> None:
    store.messages.put_message(message("m1"))
    store.messages.put_message(message("m2", state=State.ACTIVE))
    store.messages.put_message(message("m3", state=State.DELIVERED))
    store.history.put_dlq(A, DlqEntry("d1", message("m4", state=State.FAILED), Response(500), 1))
    for state in (State.CREATED, State.CREATED, State.DELIVERED):
        event(store, "m1", state)
    event(store, "m9", State.CREATED, tenant=B)
    assert counts(store, A) == MessageCounts(2, 1, {"CREATED": 2, "DELIVERED": 1})
    assert counts(store, B) == MessageCounts(0, 0, {"CREATED": 1})


def test_event_counts_outlive_the_bounded_log_and_end_with_a_reset(store: Store) -> None:
    for number in range(6):  # the log keeps 4
        event(store, f"m{number}", State.CREATED)
    assert counts(store, A).events == {"CREATED": 6}
    store.reset(A)
    assert counts(store, A) == MessageCounts(0, 0, {})


def test_counts_read_inside_deferred_writes_see_them(store: Store) -> None:
    with store.deferred():
        store.messages.put_message(message("m1"))
        event(store, "m1", State.CREATED)
        assert counts(store, A) == MessageCounts(1, 0, {"CREATED": 1})


def test_message_pages_are_newest_first_by_first_store(store: Store) -> None:
    for name in ("m1", "m2", "m3"):
        store.messages.put_message(message(name))
    store.messages.put_message(message("m1", state=State.RETRY, retried=1))  # keeps its place
    assert ids(store.messages.message_page(A, False, 0, 10)) == ["m3", "m2", "m1"]
    assert ids(store.messages.message_page(A, False, 1, 1)) == ["m2"]
    assert store.messages.message_page(A, False, 3, 5) == []
    assert store.messages.message_page(B, False, 0, 5) == []
    assert store.messages.message_page(A, False, 0, 10)[2].retried == 1


def test_finished_pages_are_newest_first_by_finish_and_bounded(store: Store) -> None:
    for name in ("m1", "m2", "m3", "m4"):
        store.messages.put_message(message(name))
    for name in ("m2", "m1", "m4", "m3"):  # finish order; 3 finished messages are kept
        store.messages.put_message(message(name, state=State.DELIVERED))
    assert ids(store.messages.message_page(A, True, 0, 10)) == ["m3", "m4", "m1"]
    assert ids(store.messages.message_page(A, True, 1, 2)) == ["m4", "m1"]
    assert store.messages.message_page(A, False, 0, 10) == []


def test_log_pages_are_newest_first_and_bounded(store: Store) -> None:
    logged = [event(store, f"m{number}", State.CREATED) for number in range(6)]
    newest_first = [e.seq for e in reversed(logged)][:4]
    assert [e.seq for e in store.history.log_page(A, 0, 10)] == newest_first
    assert [e.seq for e in store.history.log_page(A, 1, 2)] == newest_first[1:3]
    assert [e.seq for e in store.history.log_page(A, 3, 2)] == newest_first[3:]
    assert store.history.log_page(A, 4, 2) == []
    assert store.history.log_page(B, 0, 2) == []
    assert store.history.log_page(A, 0, 1)[0] == logged[-1]
