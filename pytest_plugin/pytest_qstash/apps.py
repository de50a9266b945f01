"""Serve the application under test on a real loopback port, so deliveries reach its handlers.

>>> with AppServers() as serve:  # doctest: +SKIP
...     base_url = serve(app)  # a FastAPI/Starlette (ASGI) or Flask/Django (WSGI) app
...     QStash(token, base_url=emulator_url).message.publish(url=f"{base_url}/jobs", body="hi")
"""

from __future__ import annotations

import inspect
from types import TracebackType
from typing import Any, Literal

from .serving import Interface, LifespanMode, ServerThread

AppKind = Literal["auto", "asgi", "wsgi"]


def app_interface(app: Any, kind: AppKind = "auto") -> Interface:
    """How uvicorn must call `app`: ASGI apps are coroutine callables `(scope, receive, send)`;
    WSGI apps are plain callables `(environ, start_response)`."""
    if kind == "wsgi":
        return "wsgi"
    if kind == "asgi" or _is_coroutine(app):
        return "auto"
    try:
        parameters = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        return "auto"
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return "wsgi" if len(positional) == 2 else "auto"


def _is_coroutine(app: Any) -> bool:
    call = app if inspect.isfunction(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


def serve_app(app: Any, *, kind: AppKind = "auto", host: str = "127.0.0.1", port: int = 0
              ) -> ServerThread:
    """Start serving `app` (its lifespan events run for an ASGI app); `.url` is its base URL,
    `.stop()` ends it."""
    interface = app_interface(app, kind)
    lifespan: LifespanMode = "off" if interface == "wsgi" else "auto"
    return ServerThread(app, host, port, lifespan=lifespan, interface=interface).start()


class AppServers:
    """Serves any number of apps; `close()` (or leaving the `with` block) stops them all."""

    def __init__(self) -> None:
        self._servers: list[ServerThread] = []

    def __call__(self, app: Any, *, kind: AppKind = "auto", port: int = 0) -> str:
        """Serve `app` on 127.0.0.1 and return its base URL (`http://127.0.0.1:<port>`)."""
        server = serve_app(app, kind=kind, port=port)
        self._servers.append(server)
        return server.url

    def close(self) -> None:
        while self._servers:
            self._servers.pop().stop()

    def __enter__(self) -> AppServers:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
