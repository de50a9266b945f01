"""Checked reads of scenario-file fields: each names the field when the value is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.durations import InvalidDuration, parse_duration_s, parse_go_duration_s


class ScenarioError(ValueError):
    """A scenario file that does not follow the format; the message names the bad field."""

def only_keys(t: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(t) - allowed)
    if unknown:
        raise ScenarioError(f"{where}{unknown[0]}: unknown field (allowed: {sorted(allowed)})")


def table(t: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = t.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"{key}: want a table")
    return value


def list_of(t: Mapping[str, Any], key: str) -> list[Any]:
    value = t.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{key}: want a list")
    return value


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: want a string")
    return value


def choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ScenarioError(f"{where}: want one of {', '.join(choices)}, not {value!r}")
    return str(value)


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScenarioError(f"{where}: want a number >= 0")
    return float(value)


def positive(value: Any, where: str) -> float:
    found = number(value, where)
    if found <= 0:
        raise ScenarioError(f"{where}: want a number > 0")
    return found


def whole(value: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: want a whole number")
    if minimum is not None and value < minimum:
        raise ScenarioError(f"{where}: want a whole number >= {minimum}")
    return value


def seconds(value: Any, where: str) -> float:
    """A number of seconds or a duration string (`500ms`, `2m`, `1h30m`, `1d`)."""
    if isinstance(value, str):
        try:
            return parse_go_duration_s(value)
        except InvalidDuration:
            pass
        try:
            return float(parse_duration_s(value))
        except InvalidDuration:
            raise ScenarioError(f"{where}: invalid duration {value!r}: want e.g. "
                                "'500ms', '10s', '2m', '1h30m' or '1d'") from None
    return number(value, where)
