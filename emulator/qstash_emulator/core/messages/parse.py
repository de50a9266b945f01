"""Turn a publish request (destination, headers, body) into a message template.

All validation happens here, before anything is stored, so bad input changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from .. import protocol as p
from ..durations import MAX_TIME_MS, InvalidDuration, parse_duration_s
from ..errors import BadRequest
from ..headers import canonical, parse_bool
from ..model import CallbackSpec, FlowControl, Message, Redaction
from .delay_expression import InvalidRetryDelay, RetryDelayExpression

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
METHOD_NAMES = {name: name for name in METHODS}
NO_REDACTION = Redaction()
SHARED_VALUE_CHARS = 100  # header values up to this long are kept once for all messages
SINGLE_SLASH = re.compile(r"^(https?):/(?!/)")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
NOT_FORWARDED = p.TRANSPORT_HEADERS | {"authorization"}
REDACT_HEADER = re.compile(r"^headers?\[(?P<name>[^\]]+)\]$")


@dataclass(frozen=True, slots=True)
class Destination:
    url: str | None = None
    url_group: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A validated publish: the message template (no id, no tenant yet) and its dedup key."""

    template: Message
    destination: Destination
    dedup_id: str | None
    content_dedup: bool

    def dedup_key(self, url: str) -> str | None:
        if self.dedup_id is not None:
            return "id:" + self.dedup_id
        if not self.content_dedup:
            return None
        return "content:" + content_hash(url, self.template)


def content_hash(url: str, message: Message) -> str:
    digest = hashlib.sha256(url.encode())
    digest.update(message.body)
    for name in sorted(message.headers):
        digest.update(f"\n{name}:{message.headers[name]}".encode())
    return digest.hexdigest()


@lru_cache(maxsize=4096)
def parse_destination(raw: str) -> Destination:
    """The URL or URL group a publish names (most publishers name a few, over and over)."""
    destination = raw.strip()
    if not destination:
        raise BadRequest(p.EMPTY_DESTINATION)
    if destination.startswith(("http:/", "https:/")) and "//" not in destination[:8]:
        destination = SINGLE_SLASH.sub(r"\1://", destination)
    if destination.startswith(("http://", "https://")):
        if not urlsplit(destination).hostname:
            raise BadRequest(f"invalid destination url: {destination!r} has no host")
        return Destination(url=destination)
    if NAME_PATTERN.match(destination):
        return Destination(url_group=destination)
    raise BadRequest(p.INVALID_SCHEME)


def parse_publish(
    destination: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now_ms: int,
    caller_ip: str | None = None,
) -> Parsed:
    """Validate a publish. `headers` has lower-cased names (query config merged in)."""
    return parse_publish_to(parse_destination(destination), headers, body, now_ms=now_ms,
                            caller_ip=caller_ip)


def parse_publish_to(
    destination: Destination,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now_ms: int,
    caller_ip: str | None = None,
) -> Parsed:
    """`parse_publish` for a destination already parsed."""
    try:
        return _parse(destination, headers, body, now_ms, caller_ip)
    except (ValueError, InvalidDuration, InvalidRetryDelay) as exc:
        raise BadRequest(str(exc)) from exc


def _parse(
    destination: Destination, h: Mapping[str, str], body: bytes, now_ms: int, ip: str | None
) -> Parsed:
    template = Message(
        message_id="",
        tenant="",
        url=destination.url or "",
        body=body,
        created_at_ms=now_ms,
        not_before_ms=now_ms + _delay_ms(h, now_ms),
        method=_method(h.get(p.METHOD)),
        headers=_forwarded(h),
        max_retries=_retries(h.get(p.RETRIES), p.RETRIES),
        retry_delay_expr=_retry_delay(h.get(p.RETRY_DELAY)),
        timeout_s=_timeout(h.get(p.TIMEOUT), p.TIMEOUT),
        callback=_callback(h, p.CALLBACK),
        failure_callback=_callback(h, p.FAILURE_CALLBACK),
        labels=_labels(h.get(p.LABEL)),
        redaction=_redaction(h.get(p.REDACT_FIELDS)),
        flow_control=_flow_control(h.get(p.FLOW_CONTROL_KEY), h.get(p.FLOW_CONTROL_VALUE)),
        caller_ip=ip,
    )
    content_dedup = parse_bool(h.get(p.CONTENT_BASED_DEDUPLICATION, "false"), "content dedup")
    return Parsed(template, destination, h.get(p.DEDUPLICATION_ID) or None, content_dedup)


def _method(value: str | None) -> str:
    if value is None:
        return "POST"
    method = METHOD_NAMES.get(value.strip().upper())  # the one shared string of each name
    if method is None:
        raise ValueError(f"invalid {p.METHOD} header: {value!r}")
    return method


def _delay_ms(h: Mapping[str, str], now_ms: int) -> int:
    not_before = h.get(p.NOT_BEFORE)
    if not_before is not None:
        if not not_before.strip().isdigit():
            raise ValueError(f"invalid {p.NOT_BEFORE} header: {not_before!r}")
        delay_ms, field = max(0, int(not_before) * 1000 - now_ms), p.NOT_BEFORE
    else:
        delay = h.get(p.DELAY)
        delay_ms, field = (_duration(delay, p.DELAY) * 1000 if delay is not None else 0), p.DELAY
    if now_ms + delay_ms > MAX_TIME_MS:
        raise ValueError(f"invalid {field} header: the message would be due after "
                         "2200-01-01T00:00:00Z")
    return delay_ms


def _duration(value: str, field: str) -> int:
    try:
        return parse_duration_s(value)
    except InvalidDuration as exc:
        raise ValueError(f"invalid {field} header: {exc}") from exc


def _retries(value: str | None, field: str) -> int:
    if value is None:
        return 3
    text = value.strip()
    if not text.lstrip("-").isdigit() or int(text) < 0:
        raise ValueError(f"invalid {field} header: {value!r}, want a non-negative integer")
    return int(text)


def _retry_delay(value: str | None, field: str = p.RETRY_DELAY) -> str | None:
    if value is None:
        return None
    try:
        return RetryDelayExpression.parse(value).source
    except InvalidRetryDelay as exc:
        raise ValueError(f"invalid {field} header: {exc}") from exc


def _timeout(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    seconds = _duration(value, field)
    if seconds <= 0:
        raise ValueError(f"invalid {field} header: {value!r}, want a positive duration")
    return seconds


def _forwarded(h: Mapping[str, str]) -> dict[str, str]:
    if parse_bool(h.get(p.HEADER_FORWARD, "false"), p.HEADER_FORWARD):
        forwarded = {
            canonical(name): value
            for name, value in h.items()
            if name not in NOT_FORWARDED and not name.startswith(p.CONFIG_PREFIX)
        }
    else:
        forwarded = {}
    if p.CONTENT_TYPE in h:
        content_type = h[p.CONTENT_TYPE]  # a handful of values across millions of messages
        if len(content_type) <= SHARED_VALUE_CHARS:
            content_type = sys.intern(content_type)
        forwarded["Content-Type"] = content_type
    for name, value in h.items():
        if name.startswith(p.FORWARD_PREFIX):
            _forward(forwarded, name[len(p.FORWARD_PREFIX):], value)
    return forwarded


def _forward(forwarded: dict[str, str], name: str, value: str) -> None:
    """Add one header of a `*-Forward-*` form, unless it names the sender's own connection."""
    size = len(name.encode()) + len(value.encode())
    if size > p.MAX_FORWARDED_HEADER_BYTES:
        raise ValueError(p.FORWARDED_HEADER_TOO_LARGE.format(
            name=canonical(name)[:64], size=size, limit=p.MAX_FORWARDED_HEADER_BYTES))
    if name.lower() not in p.TRANSPORT_HEADERS:
        forwarded[canonical(name)] = value


def _callback(h: Mapping[str, str], prefix: str) -> CallbackSpec | None:
    url = h.get(prefix)
    if url is None:
        return None
    if not url.startswith(("http://", "https://")) or not urlsplit(url).hostname:
        raise ValueError(f"invalid {prefix} header: {url!r}, add http:// or https://")
    config = prefix + "-"
    forwarded: dict[str, str] = {}
    for name, value in h.items():
        if not name.startswith(config):
            continue
        rest = name[len(config):]
        if rest.startswith("forward-"):
            _forward(forwarded, rest[len("forward-"):], value)
        elif rest not in p.CALLBACK_CONFIG_WORDS and not rest.startswith(
                p.CALLBACK_SETTING_PREFIXES):
            forwarded[canonical(rest)] = value
    retries = h.get(config + "retries")
    delay = h.get(config + "delay")
    return CallbackSpec(
        url=url,
        headers=forwarded,
        method=_method(h.get(config + "method")),
        retries=None if retries is None else _retries(retries, config + "retries"),
        retry_delay_expr=_retry_delay(h.get(config + "retry-delay"), config + "retry-delay"),
        timeout_s=_timeout(h.get(config + "timeout"), config + "timeout"),
        delay_s=0 if delay is None else _duration(delay, config + "delay"),
    )


def _labels(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(label.strip() for label in value.split(",") if label.strip())


def _redaction(value: str | None) -> Redaction:
    if value is None:
        return NO_REDACTION
    body = all_headers = False
    names: set[str] = set()
    for item in (part.strip() for part in value.split(",")):
        match = REDACT_HEADER.match(item)
        if item == "body":
            body = True
        elif item in ("header", "headers"):
            all_headers = True
        elif match:
            names.add(match["name"].strip().lower())
        elif item:
            raise ValueError(f"invalid {p.REDACT_FIELDS} header: unknown field {item!r}")
    return Redaction(body, all_headers, frozenset(names))


def _flow_control(key: str | None, value: str | None) -> FlowControl | None:
    if key is None:
        if value:
            raise ValueError(f"{p.FLOW_CONTROL_VALUE} needs {p.FLOW_CONTROL_KEY}")
        return None
    if not key.strip():
        raise ValueError(f"invalid {p.FLOW_CONTROL_KEY} header: empty key")
    numbers: dict[str, int] = {}
    for item in (part.strip() for part in (value or "").split(",")):
        if not item:
            continue
        name, _, raw = (s.strip() for s in item.partition("="))
        if name not in ("parallelism", "rate", "period") or not raw:
            raise ValueError(f"invalid {p.FLOW_CONTROL_VALUE} header: {item!r}")
        numbers[name] = _duration(raw, p.FLOW_CONTROL_VALUE) if name == "period" else _positive(
            raw, item)
    if "period" in numbers and not 1 <= numbers["period"] <= 7 * 86400:
        raise ValueError(f"invalid {p.FLOW_CONTROL_VALUE} header: period must be 1s..1 week")
    period = numbers.get("period", 1 if ("rate" in numbers or "parallelism" in numbers) else None)
    return FlowControl(key.strip(), numbers.get("parallelism"), numbers.get("rate"), period)


def _positive(raw: str, item: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"invalid {p.FLOW_CONTROL_VALUE} header: {item!r}")
    return int(raw)
