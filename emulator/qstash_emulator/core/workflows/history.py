"""A run's history on the wire: the JSON array a step delivery carries (and `GET
/v2/workflows/runs/{id}` answers), and the step JSON inside its items."""

from __future__ import annotations

import base64
import json
from typing import Any

from .model import HistoryItem


def history_json(items: list[HistoryItem]) -> list[dict[str, str]]:
    """`[{messageId, body (base64), callType}]`, initial payload first."""
    return [{"messageId": item.message_id, "body": base64.b64encode(item.body).decode(),
             "callType": item.call_type} for item in items]


def history_body(items: list[HistoryItem]) -> bytes:
    return json.dumps(history_json(items), separators=(",", ":")).encode()


def step_of(body: bytes) -> dict[str, Any] | None:
    """The step a step message carries (`stepId`, `stepName`, `stepType`, `out`, ...), if its
    body is one."""
    try:
        step = json.loads(body)
    except ValueError:
        return None
    if not isinstance(step, dict) or "stepName" not in step:
        return None
    return step


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
