"""Exact JSON round trips for the frozen model dataclasses, driven by their type hints.

`encode(value)` gives compact JSON bytes (fields equal to their default are left out, so old
records still decode after a field is added); `decode(Model, data)` rebuilds an equal value.
Supported field types: str, int, float, bool, None, bytes (base64), str-Enums, nested
dataclasses, `X | None`, `tuple[X, ...]`, `list[X]`, `frozenset[X]` and `dict[str, X]`.

>>> from qstash_emulator.core.model import SigningKeys
>>> decode(SigningKeys, encode(SigningKeys("a", "b")))
SigningKeys(current='a', next='b')
"""

from __future__ import annotations

import base64
import dataclasses
import types
import typing
from collections.abc import Callable, Hashable
from enum import Enum
from functools import cache
from typing import Any, TypeVar, cast

import orjson

T = TypeVar("T")
Convert = Callable[[Any], Any]
_MISSING = dataclasses.MISSING


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    default: Any
    to_json: Convert
    from_json: Convert


def encode(value: Any) -> bytes:
    """`value` (a model dataclass) as compact JSON bytes."""
    converted = _encoder(cast(Hashable, type(value)))(value)
    return orjson.dumps(converted, option=orjson.OPT_NON_STR_KEYS)  # header names: str subclasses


def decode(cls: type[T], data: bytes | str) -> T:
    """The `cls` value that `encode` turned into `data`."""
    result: T = _decoder(cast(Hashable, cls))(orjson.loads(data))
    return result


def _identity(value: Any) -> Any:
    return value


@cache
def _fields(cls: type) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    plan = []
    for item in dataclasses.fields(cls):
        default = item.default
        if item.default_factory is not _MISSING:
            default = item.default_factory()
        hint = hints[item.name]
        plan.append(_Field(item.name, default, _to_json(hint), _from_json(hint)))
    return tuple(plan)


@cache
def _encoder(cls: type) -> Convert:
    plan = _fields(cls)
    # the last value converted (models are frozen): a message is stored, then logged at once
    last: list[tuple[Any, dict[str, Any]]] = [(None, {})]

    def to_json(value: Any) -> dict[str, Any]:
        held = last[0]
        if held[0] is value:
            return held[1]
        out: dict[str, Any] = {}
        for item in plan:
            raw = getattr(value, item.name)
            if item.default is _MISSING or raw != item.default:
                out[item.name] = item.to_json(raw)
        last[0] = (value, out)
        return out

    return to_json


@cache
def _decoder(cls: type) -> Convert:
    plan = _fields(cls)

    def from_json(data: dict[str, Any]) -> Any:
        return cls(**{item.name: item.from_json(data[item.name])
                      for item in plan if item.name in data})

    return from_json


def _optional_inner(hint: Any) -> Any | None:
    """`X` for `X | None`, else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        raise TypeError(f"unsupported union {hint!r}")
    return None


def _to_json(hint: Any) -> Convert:
    inner = _optional_inner(hint)
    if inner is not None:
        convert = _to_json(inner)
        return lambda v: None if v is None else convert(v)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, list):
        item = _to_json(args[0])
        return lambda v: [item(x) for x in v]
    if origin is frozenset:
        item = _to_json(args[0])
        return lambda v: sorted(item(x) for x in v)
    if origin is dict:
        item = _to_json(args[1])
        return _identity if item is _identity else lambda v: {k: item(x) for k, x in v.items()}
    return _scalar_to_json(hint)


def _scalar_to_json(hint: Any) -> Convert:
    if hint is bytes:
        return lambda v: base64.b64encode(v).decode("ascii")
    if isinstance(hint, type) and issubclass(hint, Enum):
        return lambda v: v.value
    if dataclasses.is_dataclass(hint):
        return _encoder(hint)  # type: ignore[arg-type]
    if hint in (str, int, float, bool, type(None), Any):
        return _identity
    raise TypeError(f"unsupported field type {hint!r}")


def _from_json(hint: Any) -> Convert:
    inner = _optional_inner(hint)
    if inner is not None:
        convert = _from_json(inner)
        return lambda v: None if v is None else convert(v)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, list, frozenset):
        item = _from_json(args[0])
        return lambda v: origin(item(x) for x in v)
    if origin is dict:
        item = _from_json(args[1])
        return dict if item is _identity else lambda v: {k: item(x) for k, x in v.items()}
    return _scalar_from_json(hint)


def _scalar_from_json(hint: Any) -> Convert:
    if hint is bytes:
        return base64.b64decode
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if dataclasses.is_dataclass(hint):
        return _decoder(hint)  # type: ignore[arg-type]
    if hint is float:
        return float
    if hint in (str, int, bool, type(None), Any):
        return _identity
    raise TypeError(f"unsupported field type {hint!r}")

