"""Reading the workflow headers of a publish: which run a message belongs to, in which role,
and the run each of its callbacks belongs to."""

from __future__ import annotations

from collections.abc import Mapping

from .. import protocol as p
from ..errors import BadRequest
from ..headers import parse_bool
from ..model import WorkflowRef


def step_ref(headers: Mapping[str, str]) -> WorkflowRef | None:
    """The run of a published message (`Upstash-Workflow-RunId` and friends), if any."""
    return _ref(headers, "upstash-workflow-", invoke=_flag(headers, p.WORKFLOW_INVOKE))


def callback_ref(headers: Mapping[str, str]) -> WorkflowRef | None:
    """The run that the callback of a `context.call` belongs to."""
    return _ref(headers, p.CALLBACK_WORKFLOW_PREFIX)


def failure_ref(headers: Mapping[str, str]) -> WorkflowRef | None:
    """The run that the failure callback belongs to."""
    return _ref(headers, p.FAILURE_CALLBACK_WORKFLOW_PREFIX)


def _ref(headers: Mapping[str, str], prefix: str, invoke: bool = False) -> WorkflowRef | None:
    run_id = headers.get(prefix + "runid", "").strip()
    if not run_id:
        return None
    return WorkflowRef(
        run_id=run_id,
        call_type=_call_type(headers.get(prefix + "calltype")),
        url=headers.get(prefix + "url", "").strip(),
        init=_flag(headers, prefix + "init"),
        invoke=invoke,
    )


def _call_type(value: str | None) -> str:
    if value is None or not value.strip():
        return "step"
    chosen = value.strip()
    if chosen not in p.CALL_TYPES:
        raise BadRequest(p.WORKFLOW_CALL_TYPE_INVALID.format(
            value=value, allowed=", ".join(p.CALL_TYPES)))
    return chosen


def _flag(headers: Mapping[str, str], name: str) -> bool:
    try:
        return parse_bool(headers.get(name, "false"), name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def given(headers: Mapping[str, str], name: str) -> bool:
    """Whether the publish set `name` itself (else a step inherits it from its run)."""
    return name in headers
