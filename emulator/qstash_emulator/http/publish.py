"""`POST /v2/publish/{destination}` and `POST /v2/batch`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..core.messages.publish import Published, PublishRequest, parse_batch
from .common import (
    FastJSON,
    PlainASGI,
    answer_json,
    caller_ip,
    emulator_of,
    publish_config,
    raw_destination,
    read_body,
    tenant_of,
)


def _published(result: Published) -> dict[str, object]:
    data: dict[str, object] = {"messageId": result.message_id, "url": result.url}
    if result.deduplicated:
        data["deduplicated"] = True
    return data


def _rendered(results: list[Published]) -> object:
    """An object for a URL destination, an array (one per endpoint) for a URL group."""
    if len(results) == 1 and results[0].url_group is None:
        return _published(results[0])
    return [_published(result) for result in results]


async def _answer(request: Request, queue: str | None) -> tuple[int, object, dict[str, str]]:
    """Publish (or, with `queue`, enqueue) the request's body to its path's destination: the
    status, the JSON content and the quota headers of the answer."""
    tenant = tenant_of(request)
    headers, destination_query = publish_config(request)
    destination = raw_destination(request, 3 if queue is None else 4)
    if destination_query:
        destination = f"{destination}?{destination_query}"
    body = await read_body(request)
    emulator = emulator_of(request)
    published = PublishRequest(destination, headers, body, queue)
    results = await emulator.stored(lambda: emulator.service.publish(
        tenant.name, published, caller_ip(request)))
    status = 202 if all(result.deduplicated for result in results) else 200
    return status, _rendered(results), emulator.service.quota_headers(tenant.name)


async def publish_to(request: Request, queue: str | None = None) -> Response:
    status, content, quota = await _answer(request, queue)
    return FastJSON(content, status_code=status, headers=quota)


async def publish(scope: Scope, receive: Receive, send: Send) -> None:
    """`POST /v2/publish/{destination}` as a plain ASGI app: the busiest route answers without
    a Response object (errors still reach the app's one error table by raising)."""
    status, content, quota = await _answer(Request(scope, receive), None)
    await answer_json(send, status, content, quota)


async def batch(request: Request) -> Response:
    tenant = tenant_of(request)
    requests = parse_batch(await read_body(request))
    emulator = emulator_of(request)
    results = await emulator.stored(lambda: emulator.service.batch(
        tenant.name, requests, caller_ip(request)))
    quota = emulator.service.quota_headers(tenant.name)
    return FastJSON([_rendered(element) for element in results], headers=quota)


PREFIX, PARAM = "/v2/publish/", "destination"
"""The publish route's path, for the app's direct route (`http/asgi.py`)."""

routes = [
    Route(f"{PREFIX}{{{PARAM}:path}}", PlainASGI(publish), methods=["POST"]),
    Route("/v2/batch", batch, methods=["POST"]),
]
