"""Failures the emulator survives are logged once each, with their cause: one line for the
store or the network failing, a traceback only for a bug, and never asyncio's "Task exception
was never retrieved"."""

from __future__ import annotations

import gc
import logging

import httpx
import pytest

from pytest_qstash.serving import ServerThread
from qstash_emulator import Emulator, Settings, create_app
from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.core.tenants import DEFAULT_TOKEN

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


class FailingFirst:
    """A destination whose first `failures` attempts break midway (as a store outage would)."""

    def __init__(self, error: Exception, failures: int = 3) -> None:
        self.error = error
        self.failures = failures
        self.delivered = 0

    async def dispatch(self, request: DeliveryRequest) -> Response:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.delivered += 1
        return Response(200)

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(("error", "traceback"), [
    (ConnectionError("store unreachable"), False), (KeyError("a bug"), True),
])
def test_attempts_given_back_are_logged_once_each(
        caplog: pytest.LogCaptureFixture, error: Exception, traceback: bool) -> None:
    caplog.set_level(logging.WARNING)
    destination = FailingFirst(error)
    emulator = Emulator(Settings(clock="virtual"), dispatcher=destination)
    with ServerThread(create_app(emulator), lifespan="on") as served:
        httpx.post(f"{served.url}/v2/publish/http://127.0.0.1:9/x", content=b"x", headers=AUTH)
        for _ in range(4):
            httpx.post(f"{served.url}/__emulator__/clock/advance", json={"seconds": 0},
                       headers=AUTH)
    gc.collect()  # asyncio reports unretrieved task exceptions when the task is collected
    assert destination.delivered == 1
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in records if "never retrieved" in r.getMessage()]
    assert len(records) == 3, [r.getMessage() for r in records]
    for record in records:
        assert record.name == "qstash_emulator"
        assert record.getMessage().startswith("a delivery attempt failed midway")
        assert type(error).__name__ in record.getMessage()
        assert (record.exc_info is not None) is traceback
