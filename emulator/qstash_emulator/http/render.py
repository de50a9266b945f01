"""Domain values -> QStash's JSON shapes (field names exactly as the SDKs read them)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ..core import protocol as p
from ..core.model import DeliveryRecord, DlqEntry, LogEvent, Message, Redaction, Response

Json = dict[str, Any]


def _redacted(data: bytes) -> str:
    return p.REDACTED_PREFIX + hashlib.sha256(data).hexdigest()


def _headers(headers: dict[str, str], redaction: Redaction) -> dict[str, list[str]]:
    shown: dict[str, list[str]] = {}
    for name, value in headers.items():
        hidden = redaction.all_headers or name.lower() in redaction.header_names
        shown[name] = [_redacted(value.encode()) if hidden else value]
    return shown


def _text_body(body: bytes, redaction: Redaction, prefix: str = "body") -> Json:
    if redaction.body:
        return {prefix: _redacted(body)}
    try:
        return {prefix: body.decode("utf-8")}
    except UnicodeDecodeError:
        return {prefix + "Base64": base64.b64encode(body).decode()}


def _drop_none(data: Json) -> Json:
    return {key: value for key, value in data.items() if value is not None}


def _flow(message: Message) -> Json:
    fc = message.flow_control
    if fc is None:
        return {}
    return _drop_none(
        {"flowControlKey": fc.key, "parallelism": fc.parallelism, "rate": fc.rate,
         "period": fc.period_s}
    )


def _common(message: Message) -> Json:
    data: Json = {
        "messageId": message.message_id,
        "url": message.url,
        "method": message.method,
        "maxRetries": message.max_retries,
        "notBefore": message.not_before_ms,
        "createdAt": message.created_at_ms,
        "topicName": message.topic_name,
        "endpointName": message.endpoint_name,
        "queueName": message.queue_name,
        "scheduleId": message.schedule_id,
        "callerIP": message.caller_ip,
        "callback": message.callback.url if message.callback else None,
        "failureCallback": message.failure_callback.url if message.failure_callback else None,
        "label": message.labels[0] if message.labels else None,
        "labels": list(message.labels) if message.labels else None,
    }
    return _drop_none(data) | _flow(message)


def message_json(message: Message) -> Json:
    data = _common(message) | _text_body(message.body, message.redaction)
    data["header"] = _headers(message.headers, message.redaction)
    if message.retry_delay_expr:
        data["retryDelayExpression"] = message.retry_delay_expr
    return data | _callback_headers(message, "")


def _response_json(response: Response) -> Json:
    data: Json = {
        "responseStatus": response.status,
        "responseHeader": {name: [value] for name, value in response.headers.items()},
    }
    return data | _text_body(response.body, Redaction(), "responseBody")


def dlq_json(entry: DlqEntry) -> Json:
    return message_json(entry.message) | _response_json(entry.response) | {"dlqId": entry.dlq_id}


def log_json(event: LogEvent) -> Json:
    message = event.message
    body = message.body
    data = _common(message) | {
        "time": event.time_ms,
        "state": event.state.value,
        "header": _headers(message.headers, message.redaction),
        "body": _redacted(body) if message.redaction.body else base64.b64encode(body).decode(),
    }
    if message.retry_delay_expr:
        data["retryDelayExpr"] = message.retry_delay_expr
        data["retryDelayExpression"] = message.retry_delay_expr
    if message.timeout_s is not None:
        data["timeout"] = message.timeout_s
    return data | _callback_headers(message, "s") | _event_extras(event)


def _callback_headers(message: Message, plural: str) -> Json:
    """`callbackHeader` on messages and DLQ entries; `callbackHeaders` on log entries."""
    data: Json = {}
    if message.callback:
        data["callbackHeader" + plural] = _headers(message.callback.headers, message.redaction)
    if message.failure_callback:
        data["failureCallbackHeader" + plural] = _headers(
            message.failure_callback.headers, message.redaction
        )
    return data


def _event_extras(event: LogEvent) -> Json:
    extras: Json = _drop_none({"error": event.error, "nextDeliveryTime": event.next_delivery_ms})
    if event.response is not None:
        response = event.response
        extras["responseStatus"] = response.status
        extras["responseHeader"] = {name: [value] for name, value in response.headers.items()}
        extras["responseBody"] = base64.b64encode(response.body).decode()
        if response.injected:
            extras["injected"] = True
            extras["fault"] = response.fault
    return extras


def delivery_json(record: DeliveryRecord) -> Json:
    response = record.response
    return {
        "messageId": record.message_id,
        "url": record.url,
        "method": record.method,
        "headers": record.headers,
        "attempt": record.attempt,
        "time": record.time_ms,
        "endedAt": record.ended_at_ms,
        "startSeq": record.start_seq,
        "endSeq": record.seq,
        "kind": record.kind.value,
        "status": response.status,
        "responseHeaders": response.headers,
        "error": response.error,
        "injected": response.injected,
        "fault": response.fault,
    } | _text_body(record.body, Redaction()) | _text_body(
        response.body, Redaction(), "responseBody"
    )
