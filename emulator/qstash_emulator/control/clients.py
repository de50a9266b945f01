"""`EmulatorControl` and `AsyncEmulatorControl`: the calls of `calls` over httpx.

Each method is made from its call's definition (signature, docstring, wire form), so the two
faces cannot drift apart; only the way a request is sent differs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar, cast, get_args, get_type_hints

import httpx

from ..core.tenants import DEFAULT_TOKEN
from . import calls
from .calls import ControlError, Request, Steps, read_answer

P = ParamSpec("P")
T = TypeVar("T")
DEFAULT_TIMEOUT_S = 60.0


def _as_method(define: Callable[..., Any], method: Callable[..., Any], owner: str) -> None:
    """Give `method` the name, docstring and (with `self`) signature of the call it runs."""
    signature = inspect.signature(define)
    returns = get_args(get_type_hints(define)["return"])[-1]  # Steps[T] -> T
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    attributes = {
        "__module__": __name__, "__name__": define.__name__, "__doc__": define.__doc__,
        "__qualname__": f"{owner}.{define.__name__}",
        "__signature__": signature.replace(parameters=[this, *signature.parameters.values()],
                                           return_annotation=returns),
    }
    for name, value in attributes.items():
        setattr(method, name, value)


def _sync(define: Callable[P, Steps[T]]) -> Callable[Concatenate[EmulatorControl, P], T]:
    def method(self: EmulatorControl, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(define(*args, **kwargs))

    _as_method(define, method, "EmulatorControl")
    return method


def _async(
    define: Callable[P, Steps[T]],
) -> Callable[Concatenate[AsyncEmulatorControl, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncEmulatorControl, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(define(*args, **kwargs))

    _as_method(define, method, "AsyncEmulatorControl")
    return method


class _Connection:
    """What both faces share: the base URL, the tenant's token, the admin token (sent only
    with `all_tenants=True`) and the timeout. Either token defaults to the public dev user's,
    which an emulator listening on loopback takes as its admin token too."""

    def __init__(self, url: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, *, admin_token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token or DEFAULT_TOKEN
        self.admin_token = admin_token or DEFAULT_TOKEN
        self._options: dict[str, Any] = {
            "base_url": self.url, "timeout": timeout,
            "headers": {"Authorization": f"Bearer {self.token}"},
        }

    def _headers(self, request: Request) -> dict[str, str] | None:
        """The admin token for a call on every tenant."""
        if request.params and request.params.get("all") == "true":
            return {"Authorization": f"Bearer {self.admin_token}"}
        return None


class EmulatorControl(_Connection):
    """Drive an emulator from a test: its clock, tenants, delivery log, quota, outages, faults.

    >>> with EmulatorControl(url, token="my-token") as control:  # doctest: +SKIP
    ...     control.advance(3600)
    """

    def __init__(self, url: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, *, admin_token: str | None = None) -> None:
        super().__init__(url, token, timeout, admin_token=admin_token)
        self._http = httpx.Client(**self._options)

    health = _sync(calls.health)
    reset = _sync(calls.reset)
    now_ms = _sync(calls.now_ms)
    advance = _sync(calls.advance)
    deliveries = _sync(calls.deliveries)
    supports_harness = _sync(calls.supports_harness)
    quota = _sync(calls.quota)
    set_quota = _sync(calls.set_quota)
    exhaust_quota = _sync(calls.exhaust_quota)
    reset_quota = _sync(calls.reset_quota)
    start_outage = _sync(calls.start_outage)
    outages = _sync(calls.outages)
    end_outage = _sync(calls.end_outage)
    add_fault = _sync(calls.add_fault)
    faults = _sync(calls.faults)
    remove_fault = _sync(calls.remove_fault)
    clear_faults = _sync(calls.clear_faults)
    signing_keys = _sync(calls.signing_keys)
    dlq_count = _sync(calls.dlq_count)
    flow_controls = _sync(calls.flow_controls)

    def _run(self, steps: Steps[T]) -> T:
        try:
            request = next(steps)
            while True:
                try:
                    answer = self._send(request)
                except ControlError as exc:
                    request = steps.throw(exc)
                else:
                    request = steps.send(answer)
        except StopIteration as done:
            return cast(T, done.value)

    def _send(self, request: Request) -> Any:
        response = self._http.request(request.method, request.path, params=request.params,
                                      json=request.body, headers=self._headers(request))
        return read_answer(request, response.status_code, response.content, self.url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncEmulatorControl(_Connection):
    """`EmulatorControl` for asyncio code: the same methods, awaited.

    >>> async with AsyncEmulatorControl(url, token="my-token") as control:  # doctest: +SKIP
    ...     await control.advance(3600)
    """

    def __init__(self, url: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, *, admin_token: str | None = None) -> None:
        super().__init__(url, token, timeout, admin_token=admin_token)
        self._http = httpx.AsyncClient(**self._options)

    health = _async(calls.health)
    reset = _async(calls.reset)
    now_ms = _async(calls.now_ms)
    advance = _async(calls.advance)
    deliveries = _async(calls.deliveries)
    supports_harness = _async(calls.supports_harness)
    quota = _async(calls.quota)
    set_quota = _async(calls.set_quota)
    exhaust_quota = _async(calls.exhaust_quota)
    reset_quota = _async(calls.reset_quota)
    start_outage = _async(calls.start_outage)
    outages = _async(calls.outages)
    end_outage = _async(calls.end_outage)
    add_fault = _async(calls.add_fault)
    faults = _async(calls.faults)
    remove_fault = _async(calls.remove_fault)
    clear_faults = _async(calls.clear_faults)
    signing_keys = _async(calls.signing_keys)
    dlq_count = _async(calls.dlq_count)
    flow_controls = _async(calls.flow_controls)

    async def _run(self, steps: Steps[T]) -> T:
        try:
            request = next(steps)
            while True:
                try:
                    answer = await self._send(request)
                except ControlError as exc:
                    request = steps.throw(exc)
                else:
                    request = steps.send(answer)
        except StopIteration as done:
            return cast(T, done.value)

    async def _send(self, request: Request) -> Any:
        response = await self._http.request(request.method, request.path, params=request.params,
                                            json=request.body, headers=self._headers(request))
        return read_answer(request, response.status_code, response.content, self.url)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
