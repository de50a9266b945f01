"""`context.invoke`: the body of an invoking `Init`, and the step that answers the invoker."""

from __future__ import annotations

import json
from typing import Any

from .. import protocol as p
from ..errors import BadRequest
from ..messages.publish import PublishRequest
from .model import Invoker


def invoke_request(body: bytes) -> tuple[bytes, Invoker]:
    """The invoked run's initial payload and its invoker, from `{body, headers, workflowRunId,
    workflowRunCreatedAt, workflowUrl, step}`."""
    data = _object(body)
    run_id, url, step = data.get("workflowRunId"), data.get("workflowUrl"), data.get("step")
    if not isinstance(run_id, str) or not isinstance(url, str) or not isinstance(step, dict):
        raise BadRequest(p.WORKFLOW_INVOKE_BODY.format(
            reason="want workflowRunId, workflowUrl and step"))
    created = data.get("workflowRunCreatedAt")
    invoker = Invoker(run_id, url, created if isinstance(created, int) else 0,
                      first_values(data.get("headers")), step)
    return _payload(data.get("body")), invoker


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise BadRequest(p.WORKFLOW_INVOKE_BODY.format(reason=str(exc))) from exc
    if not isinstance(data, dict):
        raise BadRequest(p.WORKFLOW_INVOKE_BODY.format(reason="want a JSON object"))
    return data


def _payload(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":")).encode()


def first_values(headers: object) -> dict[str, str]:
    """Lower-cased names to values from `{name: [value, ...]}` (or `{name: value}`)."""
    if not isinstance(headers, dict):
        return {}
    found: dict[str, str] = {}
    for name, value in headers.items():
        chosen = value[0] if isinstance(value, list) and value else value
        if isinstance(chosen, str):
            found[str(name).lower()] = chosen
    return found


def invoker_answer(invoker: Invoker, *, body: str | None, failed: bool = False,
                   canceled: bool = False) -> PublishRequest:
    """The step that hands the invoked run's end to the invoker: `{body, isFailed,
    isCanceled}` as its `out` (no `body` when there is none)."""
    result: dict[str, object] = {"isFailed": failed, "isCanceled": canceled}
    if body is not None:
        result["body"] = body
    step = {**invoker.step, "out": json.dumps(result, separators=(",", ":"))}
    return PublishRequest(invoker.url, invoker.headers,
                          json.dumps(step, separators=(",", ":")).encode())
