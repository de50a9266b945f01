"""What pages show, built from core values: a message's attempt timeline, the overview's
figures, forms read into the bodies the service validates. No web library here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..core.model import LogEvent, MessageCounts, Redaction, State
from . import format as fmt


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One log event of a message, with what the attempt it ends took."""

    time_ms: int
    state: str
    status: int | None = None
    body: bytes | None = None
    latency_ms: int | None = None
    retry_at_ms: int | None = None
    error: str | None = None
    fault: str | None = None


def timeline(events: Iterable[LogEvent]) -> list[TimelineRow]:
    """Rows in order; an outcome's latency runs from the ACTIVE event that started it."""
    rows = []
    started_ms: int | None = None
    for event in events:
        response = event.response
        if event.state is State.ACTIVE:
            started_ms = event.time_ms
        outcome = response is not None and event.state in (State.DELIVERED, State.ERROR)
        latency = event.time_ms - started_ms if outcome and started_ms is not None else None
        rows.append(TimelineRow(
            time_ms=event.time_ms, state=event.state.value,
            status=response.status if response else None,
            body=response.body if response else None,
            latency_ms=latency, retry_at_ms=event.next_delivery_ms, error=event.error,
            fault=(response.fault or "injected") if response and response.injected else None,
        ))
    return rows


@dataclass(frozen=True, slots=True)
class Figures:
    """The overview's counters."""

    pending: int
    delivered: int
    failed: int
    dlq: int
    version: str
    """Changes whenever a message changes state: pages refresh their lists when it does."""


def figures(counts: MessageCounts) -> Figures:
    events = counts.events
    version = f"{counts.unfinished}.{counts.dlq}.{sum(events.values())}"
    return Figures(counts.unfinished, events.get(State.DELIVERED.value, 0),
                   events.get(State.FAILED.value, 0), counts.dlq, version)


def form_body(form: Mapping[str, str], *, numbers: Iterable[str] = (),
              lists: Iterable[str] = (), flags: Iterable[str] = ()) -> dict[str, object]:
    """A form as the JSON body the control API takes: empty fields left out, numbers and
    comma lists of numbers converted where they parse (the service rejects what does not)."""
    body: dict[str, object] = {}
    for name, raw in form.items():
        value = raw.strip()
        if name in flags:
            body[name] = value not in ("", "off", "false")
        elif not value:
            continue
        elif name in lists:
            body[name] = [_number(part.strip()) for part in value.split(",") if part.strip()]
        elif name in numbers:
            body[name] = _number(value)
        else:
            body[name] = value
    return body


def _number(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


REDACTED = "(redacted)"


def shown_headers(headers: Mapping[str, str], redaction: Redaction) -> list[tuple[str, str]]:
    """Headers as the API shows them: redacted ones hidden."""
    return [(name, REDACTED if redaction.all_headers or name.lower() in redaction.header_names
             else value) for name, value in sorted(headers.items())]


def shown_body(body: bytes, redaction: Redaction) -> str:
    return REDACTED if redaction.body else fmt.text_of(body)
