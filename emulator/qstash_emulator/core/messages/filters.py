"""Filters and cursor paging shared by `/v2/events`, `/v2/dlq` and bulk cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from .. import protocol as p
from ..errors import BadRequest
from ..model import Message

T = TypeVar("T")

MESSAGE_FIELDS: dict[str, Callable[[Message], Iterable[str | None]]] = {
    "messageid": lambda m: [m.message_id],
    "messageids": lambda m: [m.message_id],
    "url": lambda m: [m.url],
    "topicname": lambda m: [m.topic_name],
    "queuename": lambda m: [m.queue_name],
    "scheduleid": lambda m: [m.schedule_id],
    "callerip": lambda m: [m.caller_ip],
    "label": lambda m: m.labels,
    "flowcontrolkey": lambda m: [m.flow_control.key if m.flow_control else None],
    "host": lambda m: [urlsplit(m.url).hostname],
    "path": lambda m: [urlsplit(m.url).path],
}


_IDENTITY = frozenset({
    "messageid", "url", "topicname", "queuename", "scheduleid", "callerip", "label",
    "flowcontrolkey", "fromdate", "todate",
    "api",  # the SDKs still send it; QStash ignores it
    "qstash_token",  # authentication, not a filter
})
_WORKFLOW_DLQ = frozenset({
    "source", "workflowrunid", "workflowurl", "workflowcreatedat", "failurefunctionstate",
})
KNOWN_PARAMS = {
    "messages": _IDENTITY | {"messageids", "host", "path", "count"},
    "dlq": _IDENTITY | _WORKFLOW_DLQ | {"dlqids", "responsestatus", "cursor", "count"},
    "logs": _IDENTITY | {"messageids", "host", "path", "state", "cursor", "count"},
}
"""The query (or legacy body) keys each filtered endpoint knows, lower-cased."""

MAX_CANCEL_COUNT = 500


def refuse_unknown(params: Mapping[str, Sequence[str]], endpoint: str) -> None:
    """400 for a key `endpoint` does not know (a typo must not widen a bulk action)."""
    known = KNOWN_PARAMS[endpoint]
    unknown = sorted(name for name in params if name.lower() not in known)
    if unknown:
        raise BadRequest(p.UNKNOWN_FILTER.format(name=unknown[0]))


def values(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """All values of a multi-value filter: repeated params and comma lists alike."""
    found: list[str] = []
    for key, raw in params.items():
        if key.lower() == name.lower():
            for item in raw:
                found.extend(part.strip() for part in item.split(",") if part.strip())
    return found


def int_param(params: Mapping[str, Sequence[str]], name: str) -> int | None:
    raw = values(params, name)
    if not raw:
        return None
    try:
        return int(raw[0])
    except ValueError as exc:
        raise BadRequest(f"invalid {name}: {raw[0]!r} is not an integer") from exc


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """AND across fields, OR within a field; dates are unix ms, inclusive."""

    fields: dict[str, frozenset[str]]
    from_ms: int | None = None
    to_ms: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> MessageFilter:
        chosen = {
            name: frozenset(values(params, name))
            for name in MESSAGE_FIELDS
            if values(params, name)
        }
        return cls(chosen, int_param(params, "fromDate"), int_param(params, "toDate"))

    @property
    def empty(self) -> bool:
        return not self.fields and self.from_ms is None and self.to_ms is None

    def matches(self, message: Message, time_ms: int) -> bool:
        if self.from_ms is not None and time_ms < self.from_ms:
            return False
        if self.to_ms is not None and time_ms > self.to_ms:
            return False
        return all(
            any(value in wanted for value in MESSAGE_FIELDS[name](message) if value is not None)
            for name, wanted in self.fields.items()
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None


def paginate(
    ordered: Iterable[T], key: Callable[[T], str], cursor: str | None, count: int
) -> Page[T]:
    """Items after `cursor` (a previous page's last key); `cursor` is None on the last page."""
    items: list[T] = []
    skipping = cursor is not None
    for item in ordered:
        if skipping:
            skipping = key(item) != cursor
            continue
        items.append(item)
        if len(items) > count:
            return Page(items[:count], key(items[count - 1]))
    return Page(items, None)


def cancel_count(params: Mapping[str, Sequence[str]]) -> int | None:
    """A bulk cancel's `count` (1..500); None: every match."""
    count = int_param(params, "count")
    if count is not None and not 1 <= count <= MAX_CANCEL_COUNT:
        raise BadRequest(f"invalid count: {count}, want 1..{MAX_CANCEL_COUNT}")
    return count


def page_size(params: Mapping[str, Sequence[str]], default: int, maximum: int) -> int:
    count = int_param(params, "count")
    if count is None:
        return default
    if count < 1:
        raise BadRequest(f"invalid count: {count}, want 1..{maximum}")
    return min(count, maximum)
