"""Run an ASGI (or WSGI) application under uvicorn in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any, Literal

import uvicorn

LifespanMode = Literal["on", "off", "auto"]
Interface = Literal["auto", "asgi3", "asgi2", "wsgi"]

_STARTUP_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.005
_GRACEFUL_SHUTDOWN = 3


class ServerThread:
    """Serve an ASGI app on a loopback port from a daemon thread.

    The listening socket is bound by the caller's thread, so ``port=0`` picks a
    free port that is known as soon as :meth:`start` returns.

    Example::

        with ServerThread(app) as server:
            httpx.get(server.url + "/health")
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lifespan: LifespanMode = "auto",
        interface: Interface = "auto",
        http: Any = "auto",
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._lifespan: LifespanMode = lifespan
        self._interface: Interface = interface
        self._http = http
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("ServerThread has no port yet: call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{_url_host(self._host)}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("ServerThread is not running: call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ServerThread:
        """Start serving and block until uvicorn reports it has started."""
        if self.running:
            raise RuntimeError("ServerThread is already running")
        sock = self._bind()
        server = uvicorn.Server(self._config())
        thread = threading.Thread(
            target=self._run,
            args=(server, sock),
            name=f"ServerThread-{self._port}",
            daemon=True,
        )
        self._server, self._thread, self._error = server, thread, None
        thread.start()
        self._wait_started(server, thread)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread to finish; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(1.0)
        self._server = None
        self._thread = None
        self._loop = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServerThread {self._host}:{self._port} {state}>"

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self._app,
            interface=self._interface,
            http=self._http,
            lifespan=self._lifespan,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        )

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        return sock

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        loop = _new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # SystemExit is how uvicorn reports a failed lifespan
            self._error = exc
        finally:
            _close_loop(loop)
            sock.close()

    def _wait_started(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            thread.join(_POLL_INTERVAL)
            if not thread.is_alive():
                self._fail_startup(f"server thread exited during startup: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                self._fail_startup(f"server did not start within {_STARTUP_TIMEOUT:g}s")

    def _fail_startup(self, message: str) -> None:
        error = self._error
        self._server = None
        self._thread = None
        self._loop = None
        raise RuntimeError(message) from error


def _url_host(host: str) -> str:
    """Return a host usable in a URL that reaches a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """Create a loop the way uvicorn's ``loop="auto"`` does: uvloop when it is installed.

    Besides speed this matters for latency: with the stdlib loop each httpx request to
    the server stalls ~40 ms on loopback (delayed-ACK interplay), with uvloop it does not.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel leftover tasks and close ``loop``."""
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
