from __future__ import annotations

import math

import pytest

from qstash_emulator.core.durations import (
    InvalidDuration,
    parse_duration_s,
    parse_go_duration_s,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10),
        ("0s", 0),
        ("2m", 120),
        ("1h", 3_600),
        ("1d", 86_400),
        ("1d10h30m", 86_400 + 36_000 + 1_800),
        ("1h30m3s", 5_403),
        ("1d1s", 86_401),
        ("90m", 5_400),
        ("100s", 100),
        ("007s", 7),
        ("0", 0),
        ("42", 42),
        ("  15s  ", 15),
        ("\t60\n", 60),
        ("2M", 120),
        ("1H30M", 5_400),
        ("1D", 86_400),
        ("5S", 5),
    ],
)
def test_parse_duration_accepts_qstash_syntax(text: str, seconds: int) -> None:
    result = parse_duration_s(text)
    assert result == seconds
    assert isinstance(result, int)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-5s",
        "-5",
        "+5",
        "1.5s",
        "1.5",
        "10x",
        "10ms",
        "1w",
        "s",
        "10 s",
        "1h 30m",
        "abc",
        "1s1s",
        "1m1h",
        "30s2m",
        "h1",
        "1d2",
        "0x10",
        "1e3",
        "\u0661\u0662s",  # arabic-indic digits are not accepted
    ],
)
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidDuration):
        parse_duration_s(text)


def test_invalid_duration_is_a_value_error_naming_the_value() -> None:
    with pytest.raises(ValueError, match="'12parsecs'"):
        parse_duration_s("12parsecs")
    assert issubclass(InvalidDuration, ValueError)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m5s", 365.0),
        ("1.5h", 5_400.0),
        ("300ms", 0.3),
        ("2us", 2e-6),
        ("2\u00b5s", 2e-6),
        ("2\u03bcs", 2e-6),
        ("10ns", 1e-8),
        ("1h2m3.5s", 3_723.5),
        ("0", 0.0),
        ("0s", 0.0),
        ("1s500ms", 1.5),
        (".5s", 0.5),
        ("1.s", 1.0),
        (" 30s ", 30.0),
        ("2h45m", 9_900.0),
        ("1m1m", 120.0),
    ],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert math.isclose(parse_go_duration_s(text), seconds, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize(
    "text",
    ["", " ", "5", "1.5", "-1s", "+1s", "1d", "1x", "s", ".s", "1 s", "1S", "1H", "1h-2m", "ms"],
)
def test_parse_go_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidDuration, match="invalid duration"):
        parse_go_duration_s(text)
