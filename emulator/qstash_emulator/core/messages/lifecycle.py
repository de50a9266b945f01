"""A message's lifecycle: the one transition table, and what an attempt's outcome means."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from .. import protocol as p
from ..model import CallbackSpec, Kind, Message, Response, State
from .delay_expression import RetryDelayExpression
from .retry import next_retry_delay_s

# Stored states and where each may go. ERROR and CANCEL_REQUESTED are only ever logged: an
# attempt that fails is logged ERROR and stored RETRY or FAILED; a cancel is logged
# CANCEL_REQUESTED and stored CANCELED.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.CREATED: frozenset({State.ACTIVE, State.CANCELED}),
    State.RETRY: frozenset({State.ACTIVE, State.CANCELED}),
    State.ACTIVE: frozenset({State.DELIVERED, State.RETRY, State.FAILED, State.CANCELED}),
    State.DELIVERED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELED: frozenset(),
}


class InvalidTransition(RuntimeError):
    """A change of state the lifecycle does not allow (a bug, never a caller's mistake)."""


def check_transition(current: State, wanted: State) -> None:
    if wanted not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"a {current.value} message cannot become {wanted.value}")


@dataclass(frozen=True, slots=True)
class Decision:
    state: State  # DELIVERED, RETRY or FAILED
    next_attempt_ms: int | None = None


def is_non_retryable(response: Response) -> bool:
    flag = {k.lower(): v for k, v in response.headers.items()}.get(p.NON_RETRYABLE, "")
    return response.status == p.NON_RETRYABLE_STATUS and flag.strip().lower() == "true"


def decide(message: Message, response: Response, now_ms: int) -> Decision:
    """DELIVERED on 2xx; FAILED when out of retries or non-retryable; else RETRY at a time."""
    if response.ok:
        return Decision(State.DELIVERED)
    if is_non_retryable(response) or message.retried >= message.max_retries:
        return Decision(State.FAILED)
    expression = (
        RetryDelayExpression.parse(message.retry_delay_expr) if message.retry_delay_expr else None
    )
    delay_s = next_retry_delay_s(
        retried=message.retried,
        expression=expression,
        response_headers=response.headers,
        now_s=now_ms / 1000,
    )
    return Decision(State.RETRY, now_ms + max(0, round(delay_s * 1000)))


def error_text(response: Response) -> str:
    return response.error or f"destination answered with status {response.status}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _listed(headers: dict[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in headers.items()}


def callback_body(source: Message, response: Response, dlq_id: str | None = None) -> bytes:
    """The JSON QStash posts to a (failure) callback URL after an attempt."""
    body: dict[str, object] = {
        "status": response.status,
        "header": _listed(response.headers),
        "body": _b64(response.body),
        "retried": source.retried,
        "maxRetries": source.max_retries,
        "sourceMessageId": source.message_id,
        "url": source.url,
        "method": source.method,
        "sourceHeader": _listed(source.headers),
        "sourceBody": _b64(source.body),
        "notBefore": source.not_before_ms,
        "createdAt": source.created_at_ms,
    }
    optional = {
        "dlqId": dlq_id,
        "topicName": source.topic_name,
        "endpointName": source.endpoint_name,
        "scheduleId": source.schedule_id,
        "callerIP": source.caller_ip,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return json.dumps(body).encode()


def callback_message(
    source: Message, spec: CallbackSpec, body: bytes, kind: Kind, message_id: str, now_ms: int
) -> Message:
    """A new message to the callback URL, retried like its source unless configured."""
    return Message(
        message_id=message_id,
        tenant=source.tenant,
        url=spec.url,
        body=body,
        created_at_ms=now_ms,
        not_before_ms=now_ms + spec.delay_s * 1000,
        due_at_ms=now_ms + spec.delay_s * 1000,
        method=spec.method,
        headers={"Content-Type": "application/json", **spec.headers},
        max_retries=source.max_retries if spec.retries is None else spec.retries,
        retry_delay_expr=spec.retry_delay_expr or source.retry_delay_expr,
        timeout_s=spec.timeout_s,
        caller_ip=source.caller_ip,
        topic_name=source.topic_name,
        endpoint_name=source.endpoint_name,
        queue_name=source.queue_name,
        schedule_id=source.schedule_id,
        kind=kind,
        source_message_id=source.message_id,
        workflow=spec.workflow,
    )
