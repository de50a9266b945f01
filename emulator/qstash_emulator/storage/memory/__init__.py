"""The in-process store: one object per area, every one of them plain dicts and heaps."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from .budget import DEFAULT_HISTORY_BYTES, HistoryBudget
from .config import MemoryConfig
from .gates import MemoryGates
from .harness import MemoryHarness
from .history import MemoryHistory
from .messages import DEDUP_SWEEP_AT, MemoryMessages
from .usage import MemoryUsage
from .workflows import MemoryWorkflowStore

__all__ = ["DEDUP_SWEEP_AT", "DEFAULT_HISTORY_BYTES", "HistoryBudget", "MemoryStore"]


class MemoryStore:
    """Everything in this process; bounded histories so long runs keep a flat footprint:
    per tenant (`max_*` records) and for every tenant together (`max_history_bytes`, the
    estimated size of log events, delivery records and finished messages; None: no total).

    >>> store = MemoryStore(max_finished=1000, max_logs=10000)
    >>> store.messages.next_due_ms() is None
    True
    """

    name = "memory"
    poll_s: float | None = None
    holds_writes = False

    def __init__(
        self, *, max_finished: int = 50_000, max_logs: int = 200_000,
        max_deliveries: int = 100_000, max_history_bytes: int | None = DEFAULT_HISTORY_BYTES,
    ) -> None:
        self.budget = HistoryBudget(max_history_bytes)
        self.messages = MemoryMessages(max_finished, self.budget)
        self.history = MemoryHistory(max_logs, max_deliveries, self.budget)
        self.gates = MemoryGates()
        self.usage = MemoryUsage()
        self.config = MemoryConfig()
        self.harness = MemoryHarness()
        self.workflows = MemoryWorkflowStore()

    def reset(self, tenant: str | None) -> None:
        self.messages.reset(tenant)
        self.history.reset(tenant)
        self.gates.reset(tenant)
        self.usage.reset(tenant)
        self.config.reset(tenant)
        self.harness.reset(tenant)
        self.workflows.reset(tenant)

    def deferred(self) -> AbstractContextManager[None]:
        return nullcontext()

    async def commit(self) -> None:
        return None

    def close(self) -> None:
        return None
