"""What pages show, from core values (no browser): timeline rows, figures, forms, formats."""

from __future__ import annotations

import pytest

from qstash_emulator.core.model import LogEvent, Message, MessageCounts, Redaction, Response, State
from qstash_emulator.ui import format as fmt
from qstash_emulator.ui.nav import NAV, active_entry
from qstash_emulator.ui.overview import DeliveryRate
from qstash_emulator.ui.views import (
    REDACTED,
    figures,
    form_body,
    shown_body,
    shown_headers,
    timeline,
)

MESSAGE = Message("m1", "t", "http://h", b"", 0, 0)


def event(state: State, time_ms: int, **extra: object) -> LogEvent:
    return LogEvent(time_ms, time_ms, state, MESSAGE, **extra)  # type: ignore[arg-type]


def test_timeline_rows_carry_status_latency_retry_time_and_injected_faults() -> None:
    rows = timeline([
        event(State.CREATED, 0),
        event(State.ACTIVE, 10),
        event(State.ERROR, 35, error="boom",
              response=Response(503, body=b"down", injected=True, fault="f1")),
        event(State.RETRY, 35, next_delivery_ms=1035),
        event(State.ACTIVE, 1035),
        event(State.DELIVERED, 1042, response=Response(200, body=b"ok")),
    ])
    error, retry, delivered = rows[2], rows[3], rows[5]
    assert (error.status, error.latency_ms, error.fault, error.body) == (503, 25, "f1", b"down")
    assert (retry.retry_at_ms, retry.status) == (1035, None)
    assert (delivered.status, delivered.latency_ms, delivered.fault) == (200, 7, None)


def test_figures_and_their_version() -> None:
    counts = MessageCounts(2, 1, {"CREATED": 5, "DELIVERED": 3, "FAILED": 1})
    shown = figures(counts)
    assert (shown.pending, shown.delivered, shown.failed, shown.dlq) == (2, 3, 1, 1)
    assert figures(MessageCounts(2, 1, {"CREATED": 6, "DELIVERED": 3, "FAILED": 1})
                   ).version != shown.version


def test_forms_become_the_bodies_the_control_api_takes() -> None:
    form = {"match": " http://h ", "statuses": "500, 503", "latency_ms": "20",
            "probability": "0.5", "timeout": "on", "seed": "", "signature": "x1"}
    assert form_body(form, numbers=("latency_ms", "probability", "seed"), lists=("statuses",),
                     flags=("timeout",)) == {
        "match": "http://h", "statuses": [500, 503], "latency_ms": 20, "probability": 0.5,
        "timeout": True, "signature": "x1"}
    assert form_body({"daily": "ten"}, numbers=("daily",)) == {"daily": "ten"}


def test_redacted_headers_and_bodies_stay_hidden() -> None:
    redaction = Redaction(body=True, header_names=frozenset({"authorization"}))
    headers = {"Authorization": "secret", "X-A": "a"}
    assert shown_headers(headers, redaction) == [("Authorization", REDACTED), ("X-A", "a")]
    assert shown_body(b"{}", redaction) == REDACTED
    assert shown_body(b'{"a": 1}', Redaction()) == '{\n  "a": 1\n}'


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h"), (90_061, "1d 1h")])
def test_spans(seconds: int, text: str) -> None:
    assert fmt.span(seconds) == text


def test_formats() -> None:
    assert fmt.when(1_700_000_000_123) == "2023-11-14 22:13:20.123"
    assert fmt.when(None) == "—"
    assert (fmt.relative(5000, 0), fmt.relative(0, 65_000), fmt.relative(10, 0)) == (
        "in 5s", "1m 5s ago", "now")
    assert fmt.text_of(b"\xffnot json") == "\ufffdnot json"
    assert fmt.preview(b"a\n  b" + b"c" * 300, 10) == "a bcccccc…"
    assert (fmt.number(12_345), fmt.number(None), fmt.number(2.25)) == ("12,345", "∞", "2.2")
    assert (fmt.percent(5, 10), fmt.percent(5, None), fmt.percent(0, 0)) == (50, 0, 100)


def test_the_delivery_rate_spans_its_window() -> None:
    rate = DeliveryRate(window_s=2)
    assert rate.update(10.0, 0) == 0.0
    assert rate.update(11.0, 50) == 50.0
    assert rate.update(13.0, 150) == 50.0  # over 11.0..13.0: the sample at 10.0 left
    assert rate.update(14.0, 0) == 0.0  # a reset


def test_the_active_page_is_the_longest_matching_path() -> None:
    assert active_entry("/").key == "overview"
    assert active_entry("/messages/m1").key == "messages"
    assert active_entry("/dlq/1-2").key == "dlq"
    assert active_entry("/unknown").key == "overview"
    assert len({entry.key for entry in NAV}) == len(NAV)
