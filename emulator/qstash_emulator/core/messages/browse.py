"""Reading a large store page by page, newest first: the message list with filters, the log
stream and one message's events. Each read looks at a bounded number of stored items."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ..errors import BadRequest
from ..model import TERMINAL_STATES, LogEvent, Message, MessageCounts
from ..ports import HistoryStore, MessageStore
from .filters import MessageFilter, Page, page_size, values

CHUNK = 200
SCAN_LIMIT = 2_000
"""Most messages one page of a filtered list examines; past it the page ends early and its
cursor continues the search (a rare filter never makes one request read the whole store)."""
UNFINISHED, FINISHED = "u", "f"


def message_counts(messages: MessageStore, history: HistoryStore, tenant: str
                   ) -> MessageCounts:
    """A tenant at a glance, from counters the stores keep (no scan)."""
    return MessageCounts(messages.unfinished_count(tenant), history.dlq_count(tenant),
                         history.event_counts(tenant))


def newest_logs(store: HistoryStore, tenant: str) -> Iterator[LogEvent]:
    """Every log event, newest first, read in chunks. Events appended while reading shift the
    positions; those seen already in the previous chunk are skipped."""
    start = 0
    previous: set[int] = set()
    while True:
        chunk = store.log_page(tenant, start, CHUNK)
        yield from (event for event in chunk if event.seq not in previous)
        if len(chunk) < CHUNK:
            return
        start, previous = start + CHUNK, {event.seq for event in chunk}


def message_events(store: HistoryStore, message: Message) -> list[LogEvent]:
    """The message's log events, oldest first (as far back as the bounded log keeps them)."""
    found = []
    for event in newest_logs(store, message.tenant):
        if event.time_ms < message.created_at_ms:
            break
        if event.message.message_id == message.message_id:
            found.append(event)
    return found[::-1]


def browse_messages(store: MessageStore, tenant: str, params: Mapping[str, Sequence[str]]
                    ) -> Page[Message]:
    """Stored messages, unfinished ones first, each part newest first; filtered by `state`
    and the filters of `/v2/logs`. The cursor is `<u|f>:<position>`."""
    wanted = MessageFilter.from_params(params)
    states = {state.upper() for state in values(params, "state")}
    count = page_size(params, 50, 200)
    cursor = next(iter(values(params, "cursor")), None)
    part, position = _parse_cursor(cursor) if cursor else (UNFINISHED, 0)
    found: list[Message] = []
    examined = 0
    for name in _parts(states, part):
        for offset, message in _read(store, tenant, name, position, count):
            examined += 1
            if (not states or message.state.value in states) and wanted.matches(
                    message, message.created_at_ms):
                found.append(message)
            if len(found) == count or examined == SCAN_LIMIT:
                return Page(found, f"{name}:{offset + 1}")
        position = 0
    return Page(found, None)


def _read(store: MessageStore, tenant: str, part: str, start: int, first: int
          ) -> Iterator[tuple[int, Message]]:
    """(position, message) from `start` on: `first` messages (a page without filters needs no
    more), then chunks of CHUNK."""
    size = min(first, CHUNK)
    while True:
        chunk = store.message_page(tenant, part == FINISHED, start, size)
        yield from enumerate(chunk, start)
        if len(chunk) < size:
            return
        start, size = start + size, CHUNK


def _parts(states: set[str], first: str) -> list[str]:
    terminal = {state.value for state in TERMINAL_STATES}
    parts = []
    if first == UNFINISHED and (not states or states - terminal):
        parts.append(UNFINISHED)
    if not states or states & terminal:
        parts.append(FINISHED)
    return parts


def _parse_cursor(cursor: str) -> tuple[str, int]:
    part, _, position = cursor.partition(":")
    if part not in (UNFINISHED, FINISHED) or not position.isdigit():
        raise BadRequest(f"invalid cursor: {cursor!r}")
    return part, int(position)

