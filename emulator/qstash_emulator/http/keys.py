"""`GET /v2/keys` and `POST /v2/keys/rotate`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import FastJSON, service_of, tenant_of


async def get_keys(request: Request) -> Response:
    keys = service_of(request).signing_keys(tenant_of(request).name)
    return FastJSON({"current": keys.current, "next": keys.next})


async def rotate_keys(request: Request) -> Response:
    keys = service_of(request).rotate_keys(tenant_of(request).name)
    return FastJSON({"current": keys.current, "next": keys.next})


routes = [
    Route("/v2/keys", get_keys, methods=["GET"]),
    Route("/v2/keys/rotate", rotate_keys, methods=["POST"]),
]
