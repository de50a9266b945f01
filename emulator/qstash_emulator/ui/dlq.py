"""The dead-letter queue: filtered list, one entry, retry and delete (one or many)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from ..core.errors import BadRequest
from .frame import View, page, service_of
from .messages import echoed, query
from .views import shown_body, shown_headers

DLQ_FILTERS = ("url", "label", "queueName", "responseStatus", "messageId")
NONE_CHOSEN = "choose at least one entry"


@page("dlq.html")
def dlq(request: Request, view: View) -> dict[str, Any]:
    found = service_of(request).list_dlq(view.tenant.name, query(request, DLQ_FILTERS))
    return {"entries": found.items, "cursor": found.cursor,
            "filters": echoed(request, DLQ_FILTERS)}


@page("dlq_entry.html")
def entry(request: Request, view: View) -> dict[str, Any]:
    found = service_of(request).get_dlq(view.tenant.name, request.path_params["dlq_id"])
    message = found.message
    return {"entry": found, "headers": shown_headers(message.headers, message.redaction),
            "body": shown_body(message.body, message.redaction)}


def chosen(form: FormData) -> list[str]:
    ids = [value for value in form.getlist("id") if isinstance(value, str) and value]
    if not ids:
        raise BadRequest(NONE_CHOSEN)
    return ids


async def retry(request: Request, view: View, form: FormData) -> str:
    """Publish each chosen entry's message again, as `POST /v2/dlq/retry` does."""
    service = service_of(request)
    tenant = view.tenant.name
    entries = [service.get_dlq(tenant, dlq_id) for dlq_id in chosen(form)]
    new_ids = [service.retry_dlq(tenant, found, {}) for found in entries]
    return f"retried as {', '.join(new_ids)}"


async def delete(request: Request, view: View, form: FormData) -> str:
    deleted = service_of(request).delete_dlq_many(view.tenant.name, chosen(form))
    return f"deleted {deleted} entr{'y' if deleted == 1 else 'ies'}"
