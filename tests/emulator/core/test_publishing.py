"""Parsing a publish: every header's rules, without HTTP."""

from __future__ import annotations

import pytest

from qstash_emulator.core.errors import BadRequest, NotFound
from qstash_emulator.core.headers import canonical, split_query
from qstash_emulator.core.messages.parse import parse_destination, parse_publish
from qstash_emulator.core.model import FlowControl, Redaction

NOW = 1_700_000_000_000
URL = "https://example.com/hook"


def parse(headers: dict[str, str], body: bytes = b"", destination: str = URL):
    return parse_publish(destination, headers, body, now_ms=NOW, caller_ip="10.0.0.1")


def test_defaults() -> None:
    message = parse({}).template
    assert (message.method, message.max_retries, message.not_before_ms) == ("POST", 3, NOW)
    assert message.headers == {} and message.caller_ip == "10.0.0.1"


def test_forwarded_headers_lose_their_prefix_and_get_canonical_names() -> None:
    message = parse({"upstash-forward-x-trace-id": "t", "content-type": "a/b",
                     "upstash-forward-content-type": "c/d", "x-not-forwarded": "n"}).template
    assert message.headers == {"X-Trace-Id": "t", "Content-Type": "c/d"}


def test_header_forward_mode_keeps_plain_headers_but_not_credentials() -> None:
    message = parse({"upstash-header-forward": "True", "x-webhook": "1",
                     "authorization": "Bearer secret", "upstash-retries": "1"}).template
    assert message.headers == {"X-Webhook": "1"}


@pytest.mark.parametrize(
    ("headers", "expected_ms"),
    [
        ({"upstash-delay": "1d10h30m"}, (86400 + 36000 + 1800) * 1000),
        ({"upstash-delay": "45"}, 45_000),
        ({"upstash-not-before": str(NOW // 1000 + 90), "upstash-delay": "1h"}, 90_000),
        ({"upstash-not-before": str(NOW // 1000 - 90)}, 0),
    ],
)
def test_delay_and_not_before(headers: dict[str, str], expected_ms: int) -> None:
    assert parse(headers).template.not_before_ms == NOW + expected_ms


def test_callbacks_take_config_words_and_forward_the_rest() -> None:
    message = parse({
        "upstash-callback": "https://cb.example/ok",
        "upstash-callback-retries": "1",
        "upstash-callback-delay": "5s",
        "upstash-callback-method": "put",
        "upstash-callback-forward-x-a": "a",
        "upstash-callback-x-b": "b",
        "upstash-failure-callback": "https://cb.example/failed",
        "upstash-failure-callback-forward-x-c": "c",
    }).template
    assert message.callback is not None and message.failure_callback is not None
    assert message.callback.headers == {"X-A": "a", "X-B": "b"}
    assert (message.callback.retries, message.callback.delay_s) == (1, 5)
    assert message.callback.method == "PUT"
    assert message.failure_callback.headers == {"X-C": "c"}
    assert message.failure_callback.retries is None


def test_labels_redaction_and_flow_control() -> None:
    message = parse({
        "upstash-label": "a, b",
        "upstash-redact-fields": "body,header[Authorization],headers[X-Key]",
        "upstash-flow-control-key": "k",
        "upstash-flow-control-value": "parallelism=3, rate=10,period=1m",
    }).template
    assert message.labels == ("a", "b")
    assert message.redaction == Redaction(True, False, frozenset({"authorization", "x-key"}))
    assert message.flow_control == FlowControl("k", 3, 10, 60)


def test_flow_control_period_defaults_to_one_second() -> None:
    flow = parse({"upstash-flow-control-key": "k",
                  "upstash-flow-control-value": "rate=5"}).template.flow_control
    assert flow == FlowControl("k", None, 5, 1)


def test_dedup_keys() -> None:
    by_id = parse({"upstash-deduplication-id": "abc"})
    assert by_id.dedup_key(URL) == "id:abc"
    by_content = parse({"upstash-content-based-deduplication": "TRUE"}, b"x")
    same = parse({"upstash-content-based-deduplication": "true"}, b"x")
    other = parse({"upstash-content-based-deduplication": "true"}, b"y")
    assert by_content.dedup_key(URL) == same.dedup_key(URL) != other.dedup_key(URL)
    assert by_content.dedup_key(URL) != by_content.dedup_key(URL + "2")
    assert parse({}).dedup_key(URL) is None


@pytest.mark.parametrize(
    ("raw", "url", "group"),
    [
        ("https://x.test/a?b=c", "https://x.test/a?b=c", None),
        ("https:/x.test/a", "https://x.test/a", None),
        ("my-group.v2", None, "my-group.v2"),
    ],
)
def test_destinations(raw: str, url: str | None, group: str | None) -> None:
    destination = parse_destination(raw)
    assert (destination.url, destination.url_group) == (url, group)


@pytest.mark.parametrize("raw", ["", "ftp://x.test", "http://", "not a url"])
def test_bad_destinations(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_destination(raw)


def test_errors_are_domain_errors_not_value_errors() -> None:
    with pytest.raises(BadRequest, match="upstash-retries"):
        parse({"upstash-retries": "-2"})
    assert not issubclass(NotFound, BadRequest)


def test_split_query_separates_config_and_drops_the_token() -> None:
    config, kept = split_query("a=1&Upstash-Delay=10s&qstash_token=t&b=%2F")
    assert config == {"upstash-delay": "10s"}
    assert kept == "a=1&b=%2F"


def test_canonical() -> None:
    assert canonical("x-trace-id") == "X-Trace-Id"
