"""Gates in this process: queues and flow-control keys, wait lists and wake times."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from ...core.gating.rules import Gate

GateId = tuple[str, str, str]  # tenant, kind, name


class MemoryGates:
    """Gates by (tenant, kind, name), their FIFO wait lists, and a heap of wake times."""

    def __init__(self) -> None:
        self._gates: dict[GateId, Gate] = {}
        self._waits: dict[GateId, deque[str]] = {}
        self._wakes: list[tuple[int, str, str, str]] = []

    def get_gate(self, tenant: str, kind: str, name: str) -> Gate | None:
        return self._gates.get((tenant, kind, name))

    def put_gate(self, tenant: str, gate: Gate) -> None:
        key = (tenant, gate.kind.value, gate.name)
        previous = self._gates.get(key)
        self._gates[key] = gate
        wake = gate.wake_at_ms
        if wake is not None and (previous is None or previous.wake_at_ms != wake):
            heapq.heappush(self._wakes, (wake, *key))

    def delete_gate(self, tenant: str, kind: str, name: str) -> None:
        self._gates.pop((tenant, kind, name), None)
        self._waits.pop((tenant, kind, name), None)

    def gates(self, tenant: str, kind: str) -> Sequence[Gate]:
        return [g for (t, k, _), g in self._gates.items() if t == tenant and k == kind]

    def push_waiting(self, tenant: str, kind: str, name: str, message_id: str) -> None:
        self._waits.setdefault((tenant, kind, name), deque()).append(message_id)

    def pop_waiting(self, tenant: str, kind: str, name: str) -> str | None:
        queue = self._waits.get((tenant, kind, name))
        return queue.popleft() if queue else None

    def waiting(self, tenant: str, kind: str, name: str) -> Sequence[str]:
        return list(self._waits.get((tenant, kind, name), ()))

    def _live_wake(self, entry: tuple[int, str, str, str]) -> bool:
        gate = self._gates.get(entry[1:])
        return gate is not None and gate.wake_at_ms == entry[0]

    def pop_gate_wakes(self, now_ms: int) -> list[tuple[str, str, str]]:
        woken: list[tuple[str, str, str]] = []
        while self._wakes and self._wakes[0][0] <= now_ms:
            entry = heapq.heappop(self._wakes)
            if self._live_wake(entry) and entry[1:] not in woken:
                woken.append(entry[1:])
        return woken

    def next_gate_wake_ms(self) -> int | None:
        while self._wakes:
            if self._live_wake(self._wakes[0]):
                return self._wakes[0][0]
            heapq.heappop(self._wakes)
        return None

    def gate_lock(self) -> AbstractContextManager[None]:
        return nullcontext()

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            self._gates.clear()
            self._waits.clear()
            self._wakes.clear()
            return
        for key in [k for k in self._gates if k[0] == tenant]:
            del self._gates[key]
        for key in [k for k in self._waits if k[0] == tenant]:
            del self._waits[key]
