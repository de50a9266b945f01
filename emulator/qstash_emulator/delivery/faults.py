"""Destination chaos applied: a Dispatcher wrapper and the ticker that makes duplicate deliveries.

`core.harness.faults.Faults` decides; this module waits, answers in the destination's place and
schedules duplicates. Every response touched by a rule comes back `injected=True` with a
`fault` note, so the delivery log and the events show it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

from ..clocks import wall_wait
from ..core.harness.faults import Effect, Faults
from ..core.harness.model import Duplicate
from ..core.messages.attempts import Attempts
from ..core.model import DeliveryRequest, Response
from ..core.ports import Clock, Dispatcher, MessageStore

Wait = Callable[[float], Awaitable[None]]


class FaultInjector:
    """A Dispatcher that applies the fault rules matching each request's URL."""

    def __init__(
        self, inner: Dispatcher, faults: Faults, clock: Clock, wait: Wait = wall_wait
    ) -> None:
        self.inner = inner
        self._faults = faults
        self._clock = clock
        self._wait = wait

    async def dispatch(self, request: DeliveryRequest) -> Response:
        effect = self._faults.effect_for(request.tenant, request.url)
        response = await self._answer(request, effect) if effect else (
            await self.inner.dispatch(request))
        notes = [f"{effect.describe()} ({effect.rule_id})"] if effect else []
        signature = self._faults.signature_for(request.tenant, request.url)
        if signature is not None:
            notes.append(f"signature {signature.value}")
        if response.ok:
            self._maybe_duplicate(request)
        if not notes:
            return response
        return replace(response, injected=True, fault="; ".join(notes))

    async def _answer(self, request: DeliveryRequest, effect: Effect) -> Response:
        latency_s = self._clock.wall_seconds(effect.latency_ms / 1000)
        if latency_s >= request.timeout_s:
            await self._wait(request.timeout_s)
            return _timed_out(request)
        await self._wait(latency_s)
        if effect.timeout:
            return _timed_out(request)
        if effect.connection_error:
            return Response(0, error="connection refused (injected fault)")
        if effect.status is not None:
            return Response(effect.status)
        return await self.inner.dispatch(replace(request, timeout_s=request.timeout_s - latency_s))

    def _maybe_duplicate(self, request: DeliveryRequest) -> None:
        rule = self._faults.duplicate_rule(request.tenant, request.url)
        if rule is None or rule.duplicate_after_s is None:
            return
        due_ms = self._clock.now_ms() + round(rule.duplicate_after_s * 1000)
        self._faults.schedule_duplicate(
            Duplicate(due_ms, request.tenant, request.message_id, rule.rule_id)
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def _timed_out(request: DeliveryRequest) -> Response:
    return Response(0, error=f"request timed out after {request.timeout_s:g}s")


class DuplicateTicker:
    """Delivers a successful message once more when its duplicate falls due (emulator time)."""

    def __init__(
        self,
        faults: Faults,
        attempts: Attempts,
        messages: MessageStore,
        dispatcher: Dispatcher,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._faults = faults
        self._attempts = attempts
        self._messages = messages
        self._dispatcher = dispatcher
        self._spawn = spawn

    def next_due_ms(self) -> int | None:
        return self._faults.next_duplicate_ms()

    def fire_due(self, now_ms: int) -> int:
        due = self._faults.pop_duplicates(now_ms)
        for duplicate in due:
            message = self._messages.get_message(duplicate.tenant, duplicate.message_id)
            if message is not None:
                self._spawn(self._deliver(self._attempts.request_for(message), duplicate))
        return len(due)

    async def _deliver(self, request: DeliveryRequest, duplicate: Duplicate) -> None:
        response = await self._dispatcher.dispatch(request)
        note = f"duplicate delivery ({duplicate.rule_id})"
        self._attempts.record_extra(request, replace(response, injected=True, fault=note))
