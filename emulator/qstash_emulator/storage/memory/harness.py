"""Harness state in this process: fault rules and counters, pending duplicates, outages."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import replace

from ...core.harness.model import Duplicate, FaultRule, HarnessState, Outage


class MemoryHarness:
    """Rules in insertion order with their counters, a heap of duplicates, one outage per
    tenant (key None: every tenant) whose `count` is what it has left."""

    def __init__(self) -> None:
        self._rules: dict[str, FaultRule] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._numbers = itertools.count(1)
        self._duplicates: list[Duplicate] = []
        self._outages: dict[str | None, Outage] = {}

    def harness_state(self) -> HarnessState:
        next_ms = self._duplicates[0].due_ms if self._duplicates else None
        return HarnessState(tuple(self._rules.values()), tuple(self._outages.values()), next_ms)

    # fault rules
    def new_fault_number(self) -> int:
        return next(self._numbers)

    def put_fault(self, rule: FaultRule) -> None:
        self._rules[rule.rule_id] = rule

    def delete_faults(self, rule_ids: Sequence[str]) -> int:
        deleted = 0
        for rule_id in rule_ids:
            deleted += self._rules.pop(rule_id, None) is not None
        for key in [k for k in self._counters if k[0] in rule_ids]:
            del self._counters[key]
        return deleted

    def advance_fault(self, rule_id: str, counter: str) -> int:
        if rule_id not in self._rules:
            return 0
        value = self._counters.get((rule_id, counter), 0) + 1
        self._counters[(rule_id, counter)] = value
        return value

    # duplicates
    def add_duplicate(self, duplicate: Duplicate) -> None:
        heapq.heappush(self._duplicates, duplicate)

    def pop_duplicates(self, now_ms: int) -> list[Duplicate]:
        due = []
        while self._duplicates and self._duplicates[0].due_ms <= now_ms:
            due.append(heapq.heappop(self._duplicates))
        return due

    def clear_duplicates(self) -> None:
        self._duplicates.clear()

    # outages
    def start_outage(self, outage: Outage) -> None:
        self._outages[outage.tenant] = outage

    def end_outage(self, tenant: str | None) -> bool:
        return self._outages.pop(tenant, None) is not None

    def end_all_outages(self) -> int:
        ended = len(self._outages)
        self._outages.clear()
        return ended

    def take_outage(self, outage: Outage) -> int | None:
        held = self._outages.get(outage.tenant)
        if held is None or held.outage_id != outage.outage_id or held.count is None:
            return None
        left = held.count - 1
        if left <= 0:
            del self._outages[outage.tenant]
        else:
            self._outages[outage.tenant] = replace(held, count=left)
        return left

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            self._rules.clear()
            self._counters.clear()
            self._duplicates.clear()
            self._outages.clear()
            return
        self.delete_faults([r.rule_id for r in self._rules.values() if r.tenant == tenant])
        self._outages.pop(tenant, None)
