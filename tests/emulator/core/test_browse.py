"""Reading a large store page by page: the message list, the log stream, one message's events."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qstash_emulator.core.errors import BadRequest
from qstash_emulator.core.messages import browse
from qstash_emulator.core.messages.browse import browse_messages, message_events, newest_logs
from qstash_emulator.core.model import LogEvent, Message, State
from qstash_emulator.storage.memory import MemoryStore

T = "tenant"


def message(number: int, **changes: object) -> Message:
    base = Message(message_id=f"m{number}", tenant=T, url=f"http://h/{number % 2}", body=b"",
                   created_at_ms=number, not_before_ms=number, due_at_ms=number)
    return replace(base, **changes)  # type: ignore[arg-type]


def stored(*messages: Message) -> MemoryStore:
    store = MemoryStore()
    for item in messages:
        store.messages.put_message(item)
    return store


def ids(page: browse.Page[Message]) -> list[str]:
    return [m.message_id for m in page.items]


def test_unfinished_messages_come_first_then_finished_ones_each_newest_first() -> None:
    store = stored(*(message(n) for n in range(4)))
    store.messages.put_message(message(1, state=State.DELIVERED))
    page = browse_messages(store.messages, T, {})
    assert ids(page) == ["m3", "m2", "m0", "m1"]
    assert page.cursor is None


def test_pages_continue_from_their_cursor_across_both_parts() -> None:
    store = stored(*(message(n) for n in range(5)))
    store.messages.put_message(message(0, state=State.FAILED))
    first = browse_messages(store.messages, T, {"count": ["3"]})
    second = browse_messages(store.messages, T, {"count": ["3"], "cursor": [first.cursor or ""]})
    assert (ids(first), first.cursor) == (["m4", "m3", "m2"], "u:3")
    assert (ids(second), second.cursor) == (["m1", "m0"], None)


def test_state_and_log_filters_apply_and_choose_the_parts_read() -> None:
    store = stored(*(message(n) for n in range(6)))
    store.messages.put_message(message(2, state=State.DELIVERED))
    store.messages.put_message(message(3, state=State.DELIVERED))
    assert ids(browse_messages(store.messages, T, {"state": ["DELIVERED"]})) == ["m3", "m2"]
    created = browse_messages(store.messages, T, {"state": ["created"], "url": ["http://h/1"]})
    assert ids(created) == ["m5", "m1"]


def test_a_rare_filter_ends_a_page_early_with_a_cursor_to_search_on(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browse, "SCAN_LIMIT", 3)
    monkeypatch.setattr(browse, "CHUNK", 2)
    store = stored(*(message(n, labels=("x",) if n == 0 else ()) for n in range(5)))
    first = browse_messages(store.messages, T, {"label": ["x"]})
    assert (ids(first), first.cursor) == ([], "u:3")
    second = browse_messages(store.messages, T, {"label": ["x"], "cursor": [first.cursor or ""]})
    assert ids(second) == ["m0"]


@pytest.mark.parametrize("cursor", ["x:1", "u:", "u:-1", "f"])
def test_a_bad_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(BadRequest, match="invalid cursor"):
        browse_messages(MemoryStore().messages, T, {"cursor": [cursor]})


def log(store: MemoryStore, item: Message, state: State, time_ms: int) -> LogEvent:
    event = LogEvent(store.history.next_seq(), time_ms, state, item)
    store.history.append_log(T, event)
    return event


def test_newest_logs_read_in_chunks_skip_events_seen_before_the_log_moved(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browse, "CHUNK", 2)
    store = MemoryStore()
    events = [log(store, message(n), State.CREATED, n) for n in range(5)]
    reading = newest_logs(store.history, T)
    seen = [next(reading), next(reading)]
    log(store, message(9), State.CREATED, 9)  # shifts every position by one
    seen += list(reading)
    assert [e.seq for e in seen] == [e.seq for e in reversed(events)]


def test_one_message_events_stop_at_its_creation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browse, "CHUNK", 2)
    store = MemoryStore()
    older = message(1, created_at_ms=100)
    mine = message(2, created_at_ms=200)
    for time_ms in (50, 60, 100):
        log(store, older, State.CREATED, time_ms)
    log(store, mine, State.CREATED, 200)
    log(store, older, State.DELIVERED, 250)
    log(store, mine, State.ACTIVE, 300)
    log(store, mine, State.DELIVERED, 300)
    reads: list[int] = []
    page = store.history.log_page
    monkeypatch.setattr(store.history, "log_page", lambda *a: reads.append(a[1]) or page(*a))
    found = message_events(store.history, mine)
    assert [e.state for e in found] == [State.CREATED, State.ACTIVE, State.DELIVERED]
    assert reads == [0, 2, 4]  # the first event older than the message ends the reading


def test_a_page_without_filters_reads_just_its_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    store = stored(*(message(n) for n in range(10)))
    asked: list[tuple[int, int]] = []
    page = store.messages.message_page
    monkeypatch.setattr(store.messages, "message_page",
                        lambda tenant, finished, start, count: asked.append((start, count))
                        or page(tenant, finished, start, count))
    assert ids(browse_messages(store.messages, T, {"count": ["3"]})) == ["m9", "m8", "m7"]
    assert asked == [(0, 3)]
