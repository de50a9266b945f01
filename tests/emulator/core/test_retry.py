from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from qstash_emulator.core.messages.delay_expression import (
    MAX_BACKOFF_S,
    InvalidRetryDelay,
    RetryDelayExpression,
)
from qstash_emulator.core.messages.retry import (
    RETRY_AFTER_MAX_S,
    default_backoff_s,
    next_retry_delay_s,
    retry_after_s,
)

NOW_S = 1_700_000_000.0
MAX_MS = MAX_BACKOFF_S * 1000


def _http_date(epoch_s: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch_s, UTC), usegmt=True)


# --- default backoff ---------------------------------------------------------------------------


def test_limits_are_one_day() -> None:
    assert MAX_BACKOFF_S == 86_400
    assert RETRY_AFTER_MAX_S == 86_400


@pytest.mark.parametrize(
    ("retry_number", "seconds"),
    [
        (1, 12.182493960703473),
        (2, 148.4131591025766),
        (3, 1808.0424144560632),
        (4, 22026.465794806718),
        (5, 86_400.0),
        (6, 86_400.0),
    ],
)
def test_default_backoff_ladder(retry_number: int, seconds: float) -> None:
    assert math.isclose(default_backoff_s(retry_number), seconds, rel_tol=1e-12)


@pytest.mark.parametrize("retry_number", [50, 1_000, 10**6, 10**100])
def test_default_backoff_never_overflows(retry_number: int) -> None:
    assert default_backoff_s(retry_number) == 86_400.0


def test_default_backoff_is_monotonic() -> None:
    values = [default_backoff_s(n) for n in range(0, 20)]
    assert values == sorted(values)
    assert values[0] == 1.0


def test_default_backoff_rejects_negative() -> None:
    with pytest.raises(ValueError):
        default_backoff_s(-1)


# --- retry delay expressions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "retried", "ms"),
    [
        ("1000", 0, 1000.0),
        ("1000", 7, 1000.0),
        ("1000 * (1 + retried)", 0, 1000.0),
        ("1000 * (1 + retried)", 3, 4000.0),
        ("pow(2, retried) * 1000", 0, 1000.0),
        ("pow(2, retried) * 1000", 4, 16000.0),
        ("max(10, pow(2, retried))", 0, 10.0),
        ("max(10, pow(2, retried))", 5, 32.0),
        ("min(5000, 100 * exp(retried))", 0, 100.0),
        ("min(5000, 100 * exp(retried))", 2, 100 * math.exp(2)),
        ("min(5000, 100 * exp(retried))", 10, 5000.0),
        ("floor(sqrt(retried) * 1000)", 2, 1414.0),
        ("floor(sqrt(retried) * 1000)", 0, 0.0),
        ("2 ** retried * 100", 3, 800.0),
        ("retried ** 2", 4, 16.0),
        ("10 % 3 * 100", 0, 100.0),
        ("(retried + 1) / 2 * 1000", 0, 500.0),
        ("1000 - -retried", 5, 1005.0),
        ("+retried * 10", 5, 50.0),
        ("abs(-1500)", 0, 1500.0),
        ("ceil(1.2) * 100", 0, 200.0),
        ("floor(1.8) * 100", 0, 100.0),
        ("round(2.5) * 100", 0, 300.0),  # half away from zero, not banker's rounding
        ("round(2.4) * 100", 0, 200.0),
        ("abs(round(-2.5)) * 100", 0, 300.0),
        ("min(7)", 0, 7.0),
        ("max(1, 2, 3, retried)", 9, 9.0),
        ("1.5e3", 0, 1500.0),
        ("  1000  ", 0, 1000.0),
    ],
)
def test_expression_evaluates(source: str, retried: int, ms: float) -> None:
    expression = RetryDelayExpression.parse(source)
    assert expression.source == source
    assert math.isclose(expression.evaluate_ms(retried), ms, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("source", "retried", "ms"),
    [
        ("-1000", 0, 0.0),
        ("1000 - retried * 1000", 5, 0.0),
        ("100000000000", 0, float(MAX_MS)),
        ("pow(2, retried) * 1000", 40, float(MAX_MS)),
        ("pow(10, 400)", 0, float(MAX_MS)),
        ("10 ** 10 ** 10", 0, float(MAX_MS)),
        ("9 ** 9 ** 9 ** 9", 0, float(MAX_MS)),
        ("exp(100000)", 0, float(MAX_MS)),
        ("-exp(100000)", 0, 0.0),
        ("pow(-10, 401)", 0, 0.0),
        ("pow(-10, 400)", 0, float(MAX_MS)),
        ("1e308 * 1e308", 0, float(MAX_MS)),
        ("1" + "0" * 400, 0, float(MAX_MS)),
        ("min(5000, exp(retried))", 100_000, 5000.0),
        ("1000 / exp(100000)", 0, 0.0),
        ("pow(2, -10000)", 0, 0.0),
        ("floor(exp(100000))", 0, float(MAX_MS)),
        ("sqrt(exp(100000))", 0, float(MAX_MS)),
    ],
)
def test_expression_result_is_clamped(source: str, retried: int, ms: float) -> None:
    assert RetryDelayExpression.parse(source).evaluate_ms(retried) == ms


@pytest.mark.parametrize(
    ("source", "retried"),
    [
        ("1000 / retried", 0),
        ("1 / 0", 3),
        ("10 % 0", 0),
        ("sqrt(-1)", 0),
        ("sqrt(retried - 5)", 0),
        ("pow(-8, 0.5)", 0),
        ("(-8) ** 0.5", 0),
        ("pow(0, -1)", 0),
        ("exp(100000) - exp(100000)", 0),
        ("exp(100000) / exp(100000)", 0),
        ("exp(100000) % 3", 0),
    ],
)
def test_expression_math_errors_raise(source: str, retried: int) -> None:
    expression = RetryDelayExpression.parse(source)
    with pytest.raises(InvalidRetryDelay, match="invalid retry delay expression"):
        expression.evaluate_ms(retried)


def test_expression_math_error_depends_on_retried() -> None:
    expression = RetryDelayExpression.parse("1000 / retried")
    assert expression.evaluate_ms(4) == 250.0
    with pytest.raises(InvalidRetryDelay):
        expression.evaluate_ms(0)


@pytest.mark.parametrize(
    "source",
    [
        "",
        "   ",
        "__import__('os')",
        "__import__('os').system('true')",
        "retried.real",
        "(1).__class__",
        "foo",
        "retried + foo",
        "Retried",
        '"a"',
        "b'a'",
        "lambda: 1",
        "[1]",
        "(1, 2)",
        "{1: 2}",
        "{1}",
        "[x for x in range(3)]",
        "1 if 1 else 2",
        "1 < 2",
        "1 and 2",
        "not 1",
        "~1",
        "1 << 3",
        "1 // 2",
        "1 | 2",
        "1 ^ 2",
        "1 @ 2",
        "retried[0]",
        "(retried := 5)",
        "True",
        "None",
        "1j",
        "...",
        "f'{retried}'",
        "pow(1)",
        "pow(1, 2, 3)",
        "exp()",
        "exp(1, 2)",
        "sqrt(1, 2)",
        "abs()",
        "floor(1, 2)",
        "ceil()",
        "round(1.5, 1)",
        "min()",
        "max()",
        "max(*[1, 2])",
        "pow(2, exp=3)",
        "math.exp(1)",
        "log(10)",
        "int(1)",
        "eval('1')",
        "print(1)",
        "1000;",
        "x = 1",
        "1000 +",
        "(" * 300 + "1" + ")" * 300,
        "1" + " + 1" * 150,
        "-" * 400 + "1",
        "1" * 501,
        "retried" + " " * 600,
    ],
)
def test_expression_rejects_outside_whitelist(source: str) -> None:
    with pytest.raises(InvalidRetryDelay, match="invalid retry delay expression"):
        RetryDelayExpression.parse(source)


def test_invalid_retry_delay_is_a_value_error() -> None:
    assert issubclass(InvalidRetryDelay, ValueError)


def test_directly_constructed_expression_is_still_validated_on_evaluate() -> None:
    with pytest.raises(InvalidRetryDelay):
        RetryDelayExpression("__import__('os')").evaluate_ms(0)


def test_expression_is_frozen_and_comparable() -> None:
    expression = RetryDelayExpression.parse("1000")
    assert expression == RetryDelayExpression.parse("1000")
    with pytest.raises(AttributeError):
        expression.source = "2000"  # type: ignore[misc]


def test_expression_at_limits_is_accepted() -> None:
    source = "1" + " + 1" * 49  # 99 nodes (BinOps and Constants), under the node limit
    assert len(source) <= 500
    assert RetryDelayExpression.parse(source).evaluate_ms(0) == 50.0


def test_expression_redundant_parentheses_are_fine() -> None:
    source = "(" * 60 + "retried" + ")" * 60 + " * 1000"
    assert RetryDelayExpression.parse(source).evaluate_ms(3) == 3000.0


# --- destination hints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 30 ", 30.0),
        ("1.5", 1.5),
        ("86400", 86_400.0),
        ("6m5s", 365.0),
        ("300ms", 0.3),
        ("1h", 3_600.0),
        ("1.5h", 5_400.0),
        ("2\u00b5s", 2e-6),
        ("24h", 86_400.0),
    ],
)
def test_retry_after_seconds_and_go_durations(value: str, wait: float) -> None:
    got = retry_after_s({"Retry-After": value}, NOW_S)
    assert got is not None
    assert math.isclose(got, wait, rel_tol=1e-12)


def test_retry_after_http_date_in_future() -> None:
    assert retry_after_s({"Retry-After": _http_date(NOW_S + 90)}, NOW_S) == 90.0


def test_retry_after_http_date_uses_fractional_now() -> None:
    got = retry_after_s({"Retry-After": _http_date(NOW_S + 90)}, NOW_S + 0.25)
    assert got == pytest.approx(89.75)


def test_retry_after_http_date_in_past_means_now() -> None:
    assert retry_after_s({"Retry-After": _http_date(NOW_S - 3_600)}, NOW_S) == 0.0


def test_retry_after_literal_http_date() -> None:
    now = datetime(2015, 10, 21, 7, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now) == 1_680.0


def test_retry_after_http_date_with_offset() -> None:
    now = datetime(2015, 10, 21, 7, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2015 09:10:00 +0200"}, now) == 600.0


@pytest.mark.parametrize(
    "value",
    ["86401", "86400.5", "25h", "100000s", _http_date(NOW_S + 2 * 86_400)],
)
def test_retry_after_over_one_day_is_ignored(value: str) -> None:
    assert retry_after_s({"Retry-After": value}, NOW_S) is None


@pytest.mark.parametrize(
    "value",
    ["", "soon", "-5", "1e3", "inf", "nan", "Infinity", "1 2", "5x", "0x10"],
)
def test_retry_after_unparseable_is_ignored(value: str) -> None:
    assert retry_after_s({"Retry-After": value}, NOW_S) is None


def test_retry_after_absent() -> None:
    assert retry_after_s({}, NOW_S) is None
    assert retry_after_s({"Content-Type": "text/plain", "X-Other": "5"}, NOW_S) is None


@pytest.mark.parametrize(
    "name",
    [
        "Retry-After",
        "retry-after",
        "RETRY-AFTER",
        "X-RateLimit-Reset",
        "x-ratelimit-reset",
        "X-RateLimit-Reset-Requests",
        "x-ratelimit-reset-requests",
        "X-RateLimit-Reset-Tokens",
        "X-RATELIMIT-RESET-TOKENS",
    ],
)
def test_retry_after_header_names_case_insensitive(name: str) -> None:
    assert retry_after_s({name: "7"}, NOW_S) == 7.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"x-ratelimit-reset-tokens": "4", "Retry-After": "1"}, 1.0),
        ({"X-RateLimit-Reset-Tokens": "4", "X-RateLimit-Reset": "2"}, 2.0),
        ({"X-RateLimit-Reset-Tokens": "4", "X-RateLimit-Reset-Requests": "3"}, 3.0),
        ({"X-RateLimit-Reset-Tokens": "4"}, 4.0),
        (
            {
                "X-RateLimit-Reset-Tokens": "4",
                "X-RateLimit-Reset-Requests": "3",
                "X-RateLimit-Reset": "2",
                "Retry-After": "1",
            },
            1.0,
        ),
    ],
)
def test_retry_after_header_precedence(headers: dict[str, str], wait: float) -> None:
    assert retry_after_s(headers, NOW_S) == wait


def test_retry_after_first_present_header_decides_even_if_unusable() -> None:
    headers = {"Retry-After": "garbage", "X-RateLimit-Reset": "5"}
    assert retry_after_s(headers, NOW_S) is None
    assert retry_after_s({"Retry-After": "2d", "X-RateLimit-Reset": "5"}, NOW_S) is None


# --- next retry delay --------------------------------------------------------------------------


def test_next_delay_defaults_to_ladder() -> None:
    delays = [
        next_retry_delay_s(retried=n, expression=None, response_headers={}, now_s=NOW_S)
        for n in range(6)
    ]
    assert delays == [default_backoff_s(n + 1) for n in range(6)]
    assert delays[0] == pytest.approx(12.1825, abs=1e-4)
    assert delays[-1] == 86_400.0


def test_next_delay_uses_expression_in_ms() -> None:
    expression = RetryDelayExpression.parse("1000 * (1 + retried)")
    got = [
        next_retry_delay_s(retried=n, expression=expression, response_headers={}, now_s=NOW_S)
        for n in range(3)
    ]
    assert got == [1.0, 2.0, 3.0]


def test_next_delay_retry_after_beats_expression() -> None:
    expression = RetryDelayExpression.parse("1000")
    got = next_retry_delay_s(
        retried=0, expression=expression, response_headers={"Retry-After": "42"}, now_s=NOW_S
    )
    assert got == 42.0


def test_next_delay_retry_after_beats_default() -> None:
    got = next_retry_delay_s(
        retried=3, expression=None, response_headers={"x-ratelimit-reset": "6m5s"}, now_s=NOW_S
    )
    assert got == 365.0


def test_next_delay_retry_after_zero_means_immediately() -> None:
    expression = RetryDelayExpression.parse("5000")
    got = next_retry_delay_s(
        retried=2, expression=expression, response_headers={"Retry-After": "0"}, now_s=NOW_S
    )
    assert got == 0.0


def test_next_delay_http_date_hint() -> None:
    headers = {"Retry-After": _http_date(NOW_S + 15)}
    got = next_retry_delay_s(retried=0, expression=None, response_headers=headers, now_s=NOW_S)
    assert got == 15.0


def test_next_delay_over_one_day_falls_back_to_expression() -> None:
    expression = RetryDelayExpression.parse("2500")
    got = next_retry_delay_s(
        retried=0, expression=expression, response_headers={"Retry-After": "90000"}, now_s=NOW_S
    )
    assert got == 2.5


def test_next_delay_over_one_day_falls_back_to_default() -> None:
    got = next_retry_delay_s(
        retried=1, expression=None, response_headers={"Retry-After": "90000"}, now_s=NOW_S
    )
    assert got == default_backoff_s(2)


def test_next_delay_unparseable_hint_falls_back() -> None:
    got = next_retry_delay_s(
        retried=0, expression=None, response_headers={"Retry-After": "later"}, now_s=NOW_S
    )
    assert got == default_backoff_s(1)


def test_next_delay_expression_math_error_falls_back_to_default() -> None:
    expression = RetryDelayExpression.parse("1000 / retried")
    got = next_retry_delay_s(retried=0, expression=expression, response_headers={}, now_s=NOW_S)
    assert got == default_backoff_s(1)
    got = next_retry_delay_s(retried=1, expression=expression, response_headers={}, now_s=NOW_S)
    assert got == 1.0


def test_next_delay_expression_is_clamped_to_one_day() -> None:
    expression = RetryDelayExpression.parse("pow(10, retried)")
    got = next_retry_delay_s(retried=50, expression=expression, response_headers={}, now_s=NOW_S)
    assert got == 86_400.0
