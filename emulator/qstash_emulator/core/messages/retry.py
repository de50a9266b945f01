"""Retry scheduling: the default backoff, `Upstash-Retry-Delay` expressions and the
destination's own hints (`Retry-After` and its relatives)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

from ..durations import InvalidDuration, parse_go_duration_s
from .delay_expression import MAX_BACKOFF_S, InvalidRetryDelay, RetryDelayExpression

RETRY_AFTER_MAX_S = 86_400

_BACKOFF_RATE = 2.5
_BACKOFF_CAP_EXPONENT = math.log(MAX_BACKOFF_S)

_RETRY_AFTER_HEADERS = (
    "retry-after",
    "x-ratelimit-reset",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)
_PLAIN_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def default_backoff_s(retry_number: int) -> float:
    """QStash's default delay before retry number `retry_number` (1 = first retry)."""
    if retry_number < 0:
        raise ValueError(f"retry number must be >= 0, got {retry_number}")
    exponent = _BACKOFF_RATE * retry_number
    if exponent >= _BACKOFF_CAP_EXPONENT:
        return float(MAX_BACKOFF_S)
    return math.exp(exponent)


# --- destination hints -----------------------------------------------------------------------


def _first_hint(headers: Mapping[str, str]) -> str | None:
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in _RETRY_AFTER_HEADERS:
        if name in lowered:
            return lowered[name]
    return None


def _http_date_wait_s(value: str, now_s: float) -> float | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now_s)


def _hint_wait_s(value: str, now_s: float) -> float | None:
    text = value.strip()
    if _PLAIN_SECONDS.fullmatch(text):
        return float(text)
    try:
        wait: float = parse_go_duration_s(text)
    except InvalidDuration:
        return _http_date_wait_s(text, now_s)
    return wait


def retry_after_s(headers: Mapping[str, str], now_s: float) -> float | None:
    """Wait the destination asked for via Retry-After / X-RateLimit-Reset*, if usable."""
    value = _first_hint(headers)
    if value is None:
        return None
    wait = _hint_wait_s(value, now_s)
    if wait is None or not math.isfinite(wait) or wait > RETRY_AFTER_MAX_S:
        return None
    return wait


def next_retry_delay_s(
    *,
    retried: int,
    expression: RetryDelayExpression | None,
    response_headers: Mapping[str, str],
    now_s: float,
) -> float:
    """Seconds to wait before the next attempt; `retried` = retries already performed."""
    hinted = retry_after_s(response_headers, now_s)
    if hinted is not None:
        return hinted
    if expression is not None:
        try:
            return expression.evaluate_ms(retried) / 1000
        except InvalidRetryDelay:
            pass  # a runtime math error must not wedge delivery; use the default ladder
    return default_backoff_s(retried + 1)
