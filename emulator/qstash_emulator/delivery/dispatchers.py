"""Dispatchers: outbound HTTP clients behind the `Dispatcher` protocol.

The emulator delivers with `http1.Http1Dispatcher`, which hands what it does not speak to
`AiohttpDispatcher`; `python -m scenarios.bench.delivery` compares the CPU each costs.
`HttpxDispatcher` takes any httpx transport, so tests can deliver in-process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from yarl import URL

if TYPE_CHECKING:  # both imported when first used: start-up does not pay for them
    import aiohttp
    import httpx

from ..core.model import DeliveryRequest, Response


def _load_aiohttp() -> None:
    """Import aiohttp at the first delivery (its import builds TLS contexts: about 0.1 s)."""
    global aiohttp
    import aiohttp


PARSED_URLS_KEPT = 1024
"""Destination URLs kept parsed (most deliveries go to a few URLs; parsing one costs more than
the rest of building the request)."""
NO_SKIP: tuple[str, ...] = ()
SKIP_CONTENT_TYPE = ("Content-Type",)


class AiohttpDispatcher:
    """Delivers over a shared aiohttp session with up to `connections` open sockets."""

    def __init__(self, connections: int = 256) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _url(self, url: str) -> URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= PARSED_URLS_KEPT:
                self._urls.clear()
            parsed = self._urls[url] = URL(url, encoded=True)
        return parsed

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            if len(self._timeouts) >= PARSED_URLS_KEPT:
                self._timeouts.clear()
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            _load_aiohttp()
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def dispatch(self, request: DeliveryRequest) -> Response:
        session = self._open()
        skip = NO_SKIP if "Content-Type" in request.headers else SKIP_CONTENT_TYPE
        try:
            async with session.request(
                request.method,
                self._url(request.url),
                headers=request.headers,
                data=request.body,
                timeout=self._timeout(request.timeout_s),
                allow_redirects=False,
                skip_auto_headers=skip,
            ) as answer:
                body = await answer.read()
                return Response(answer.status, dict(answer.headers), body)
        except TimeoutError:
            return Response(0, error=f"request timed out after {request.timeout_s:g}s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Response(0, error=f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxDispatcher:
    """Delivers with httpx; pass `transport=httpx.ASGITransport(app)` to stay in-process."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        import httpx

        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False)

    async def dispatch(self, request: DeliveryRequest) -> Response:
        import httpx

        try:
            answer = await self._client.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.body,
                timeout=request.timeout_s,
            )
        except httpx.TimeoutException:
            return Response(0, error=f"request timed out after {request.timeout_s:g}s")
        except (httpx.HTTPError, OSError) as exc:
            return Response(0, error=f"{type(exc).__name__}: {exc}")
        return Response(answer.status_code, dict(answer.headers), answer.content)

    async def aclose(self) -> None:
        await self._client.aclose()


class FunctionDispatcher:
    """Delivers in-process: each attempt is answered by `answer(request)` (and recorded).

    >>> dispatcher = FunctionDispatcher(lambda request: Response(200))
    """

    def __init__(self, answer: Callable[[DeliveryRequest], Response]) -> None:
        self.answer = answer
        self.requests: list[DeliveryRequest] = []

    async def dispatch(self, request: DeliveryRequest) -> Response:
        self.requests.append(request)
        await asyncio.sleep(0)
        return self.answer(request)

    async def aclose(self) -> None:
        return None
