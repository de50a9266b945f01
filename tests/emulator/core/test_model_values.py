"""The domain's values: built and copied as dataclasses promise (the hot classes fill their
slots with generated code, which must not change what a caller sees)."""

from __future__ import annotations

import dataclasses

import pytest

from qstash_emulator.core.model import (
    DeliveryRecord,
    Kind,
    LogEvent,
    Message,
    Redaction,
    Response,
    State,
    changed,
)


def _message(**changes: object) -> Message:
    return Message(message_id="msg_1", tenant="t", url="http://example.test/x", body=b"hi",
                   created_at_ms=1, not_before_ms=2, **changes)  # type: ignore[arg-type]


def test_defaults_are_the_declared_ones() -> None:
    message = _message()
    declared = {field.name: field.default for field in dataclasses.fields(Message)
                if field.default is not dataclasses.MISSING}
    assert {name: getattr(message, name) for name in declared} == declared
    assert message.headers == {}
    assert message.state is State.CREATED and message.kind is Kind.MESSAGE


def test_each_value_gets_its_own_default_container() -> None:
    first, second = _message(), _message()
    assert first.headers is not second.headers
    assert Response(200).headers is not Response(200).headers


def test_values_stay_frozen_and_compare_by_fields() -> None:
    message = _message(headers={"A": "1"}, redaction=Redaction(body=True))
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.url = "http://other.test"  # type: ignore[misc]
    assert message == _message(headers={"A": "1"}, redaction=Redaction(body=True))
    assert message != _message()
    assert dataclasses.replace(message, url="http://b.test").url == "http://b.test"


def test_arguments_are_checked_as_dataclasses_check_them() -> None:
    with pytest.raises(TypeError):
        Message(message_id="m")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _message(colour="red")
    with pytest.raises(TypeError):
        Response(200, {}, b"", None, False, None, "one too many")  # type: ignore[call-arg]


def test_positional_arguments_fill_fields_in_order() -> None:
    message = _message()
    event = LogEvent(7, 8, State.DELIVERED, message)
    assert (event.seq, event.time_ms, event.state, event.message) == (7, 8, State.DELIVERED,
                                                                      message)
    assert event.error is None and event.response is None
    record = DeliveryRecord(1, "t", "msg_1", "http://x.test", "POST", {}, b"", 1, 5,
                            Response(500, error="boom"), Kind.MESSAGE)
    assert record.response.error == "boom" and record.ended_at_ms is None


def test_changed_copies_every_other_field() -> None:
    message = _message(headers={"A": "1"}, labels=("x",))
    copy = changed(message, state=State.ACTIVE, retried=1)
    assert copy == dataclasses.replace(message, state=State.ACTIVE, retried=1)
    with pytest.raises(TypeError):
        changed(message, colour="red")
