"""`POST /v2/publish/{destination}` and `POST /v2/batch`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.messages.publish import Published, PublishRequest, parse_batch
from .common import (
    FastJSON,
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


async def publish_to(request: Request, queue: str | None = None) -> Response:
    """Publish (or, with `queue`, enqueue) the request's body to its path's destination."""
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
    duplicate = all(result.deduplicated for result in results)
    quota = emulator.service.quota_headers(tenant.name)
    return FastJSON(_rendered(results), status_code=202 if duplicate else 200, headers=quota)


async def publish(request: Request) -> Response:
    return await publish_to(request)


async def batch(request: Request) -> Response:
    tenant = tenant_of(request)
    requests = parse_batch(await read_body(request))
    emulator = emulator_of(request)
    results = await emulator.stored(lambda: emulator.service.batch(
        tenant.name, requests, caller_ip(request)))
    quota = emulator.service.quota_headers(tenant.name)
    return FastJSON([_rendered(element) for element in results], headers=quota)


routes = [
    Route("/v2/publish/{destination:path}", publish, methods=["POST"]),
    Route("/v2/batch", batch, methods=["POST"]),
]
