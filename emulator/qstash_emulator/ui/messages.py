"""Messages (filtered list, detail with the attempt timeline, cancel) and the log stream."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from ..core.model import State
from .frame import View, page, service_of
from .views import shown_body, shown_headers, timeline

MESSAGE_FILTERS = ("state", "url", "label", "queueName", "flowControlKey")
LOG_FILTERS = ("state", "messageId", "url", "label", "queueName", "scheduleId",
               "flowControlKey", "topicName")
MESSAGE_STATES = tuple(s.value for s in State if s not in (State.ERROR, State.CANCEL_REQUESTED))
LOG_STATES = tuple(s.value for s in State)
PAGE_SIZE = "50"


def query(request: Request, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The filters given (empty ones left out), the cursor and the page size, as the service
    takes them."""
    chosen = {name: [request.query_params[name]] for name in (*names, "cursor", "count")
              if request.query_params.get(name)}
    return {"count": [PAGE_SIZE], **chosen}


def echoed(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in names}


@page("messages.html")
def messages(request: Request, view: View) -> dict[str, Any]:
    found = service_of(request).browse_messages(view.tenant.name,
                                                query(request, MESSAGE_FILTERS))
    return {"rows": found.items, "cursor": found.cursor, "states": MESSAGE_STATES,
            "filters": echoed(request, MESSAGE_FILTERS)}


@page("message.html")
def message(request: Request, view: View) -> dict[str, Any]:
    service = service_of(request)
    message_id = request.path_params["message_id"]
    found = service.get_message(view.tenant.name, message_id)
    events = service.message_events(view.tenant.name, message_id)
    return {"message": found, "headers": shown_headers(found.headers, found.redaction),
            "body": shown_body(found.body, found.redaction), "timeline": timeline(events)}


async def cancel(request: Request, view: View, form: FormData) -> str:
    canceled = service_of(request).cancel(view.tenant.name, request.path_params["message_id"])
    return "message canceled" if canceled else "the message had already finished"


@page("logs.html")
def logs(request: Request, view: View) -> dict[str, Any]:
    found = service_of(request).list_logs(view.tenant.name, query(request, LOG_FILTERS))
    return {"events": found.items, "cursor": found.cursor, "states": LOG_STATES,
            "filters": echoed(request, LOG_FILTERS)}
