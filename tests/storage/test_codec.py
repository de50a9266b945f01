"""The store codec round-trips every model dataclass exactly (new models are covered as added)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from enum import Enum
from typing import Any

import pytest

from qstash_emulator.core import model
from qstash_emulator.core.harness import model as harness_model
from qstash_emulator.core.model import Message, Response
from qstash_emulator.storage.redis.codec import decode, encode

MODELS = sorted(
    (cls for module in (model, harness_model)
     for _, cls in inspect.getmembers(module, inspect.isclass)
     if dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__),
    key=lambda cls: cls.__name__,
)


def sample(hint: Any, name: str = "x") -> Any:
    """A value of type `hint` that differs from every default."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return sample(next(a for a in args if a is not type(None)), name)
    if origin in (tuple, list, frozenset):
        return origin([sample(args[0], name + "1"), sample(args[0], name + "2")])
    if origin is dict:
        return {"Key-" + name: sample(args[1], name)}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    if dataclasses.is_dataclass(hint):
        return build(hint)  # type: ignore[arg-type]
    values = {str: "s-" + name, int: 1_700_000_000_123, float: 2.5, bool: True,
              bytes: b"\x00\xff" + name.encode()}
    return values[hint]


def build(cls: type) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: sample(hints[f.name], f.name) for f in dataclasses.fields(cls)})


def test_every_model_is_covered() -> None:
    assert {cls.__name__ for cls in MODELS} >= {"Message", "LogEvent", "DlqEntry",
                                                 "DeliveryRecord", "SigningKeys", "FaultRule",
                                                 "Duplicate", "Outage", "HarnessState"}


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_round_trip_with_every_field_set(cls: type) -> None:
    value = build(cls)
    assert decode(cls, encode(value)) == value


@pytest.mark.parametrize("cls", [c for c in MODELS if all(
    f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    for f in dataclasses.fields(c))], ids=lambda cls: cls.__name__)
def test_round_trip_of_defaults_is_compact(cls: type) -> None:
    assert encode(cls()) == b"{}" and decode(cls, b"{}") == cls()


def test_defaults_are_left_out_and_bytes_survive() -> None:
    value = Message("m", "t", "http://h", b"\x00\xfe", 1, 2, last_response=Response(0))
    data = json.loads(encode(value))
    assert "state" not in data and data["last_response"] == {"status": 0}
    assert decode(Message, encode(value)).body == b"\x00\xfe"


def test_header_names_that_are_str_subclasses_are_stored_as_plain_names() -> None:
    from multidict import istr  # what aiohttp gives as response header names

    response = Response(200, {istr("Content-Type"): "text/plain"}, b"ok")
    assert decode(Response, encode(response)).headers == {"Content-Type": "text/plain"}
