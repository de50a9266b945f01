"""An emulator on a virtual clock that delivers through a function, and the publishes a
workflow SDK makes (an `Init`, steps), for the core tests of the workflow feature."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import Published, PublishRequest
from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.ids import RandomIds
from qstash_emulator.storage.memory import MemoryStore

TENANT = "t"
APP = "http://app/wf"
START_S = 1_700_000_000


def make(answer: Callable[[DeliveryRequest], Response] | None = None
         ) -> tuple[Emulator, FunctionDispatcher]:
    dispatcher = FunctionDispatcher(answer or (lambda request: Response(200)))
    emulator = Emulator(
        Settings(clock="virtual", tokens=(TENANT,)), clock=VirtualClock(start=START_S),
        store=MemoryStore(), dispatcher=dispatcher, ids=RandomIds(seed=3),
    )
    return emulator, dispatcher


def init_headers(run_id: str, **extra: str) -> dict[str, str]:
    """What `Client.trigger` sends for a run (settings in `extra`, lower-cased names)."""
    return {"upstash-workflow-runid": run_id, "upstash-workflow-init": "true",
            "upstash-workflow-url": APP, "upstash-workflow-sdk-version": "1",
            "upstash-forward-upstash-workflow-sdk-version": "1", **extra}


def step_headers(run_id: str, **extra: str) -> dict[str, str]:
    return {"upstash-workflow-runid": run_id, "upstash-workflow-init": "false",
            "upstash-workflow-url": APP,
            "upstash-forward-upstash-workflow-sdk-version": "1", **extra}


def step(step_id: int, name: str, out: Any = None, **fields: Any) -> bytes:
    return json.dumps({"stepId": step_id, "stepName": name, "stepType": "Run",
                       "out": json.dumps(out), "concurrent": 1, **fields}).encode()


def publish(emulator: Emulator, headers: dict[str, str], body: bytes = b"",
            url: str = APP) -> Published:
    [published] = emulator.service.publish(TENANT, PublishRequest(url, headers, body), None)
    return published


def history(request: DeliveryRequest) -> list[tuple[str, bytes, str]]:
    """(message id, body, call type) of each item of a step delivery's history."""
    return [(item["messageId"], base64.b64decode(item["body"]), item["callType"])
            for item in json.loads(request.body)]


def to(url: str, dispatcher: FunctionDispatcher) -> list[DeliveryRequest]:
    return [request for request in dispatcher.requests if request.url == url]
