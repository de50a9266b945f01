"""Reading the emulator's delivery log in tests that run on the real clock."""

from __future__ import annotations

import time
from typing import Any

from pytest_qstash.control import EmulatorControl

_WAIT_S = 10


def recorded_deliveries(control: EmulatorControl, count: int,
                        message_id: str | None = None) -> list[dict[str, Any]]:
    """The delivery log (of one message, when given) once it holds at least `count` attempts.

    An endpoint sees a request before the emulator records the attempt (the record is written
    when the answer arrives), so right after an endpoint's `wait_for` the log can trail by one.
    """
    deadline = time.monotonic() + _WAIT_S
    while len(deliveries := control.deliveries(message_id)) < count \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    return deliveries
