"""Harness state in Redis: fault rules and their counters, pending duplicates, outages, shared
by every instance on the prefix."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from redis.commands.core import Script

from ...core.harness.model import Duplicate, FaultRule, HarnessState, Outage
from . import lua
from .base import RedisBase, tenant_segment, text
from .codec import decode, encode

ALL_TENANTS = "all"


def outage_scope(tenant: str | None) -> str:
    """The field naming one tenant's outage (every tenant's with None)."""
    return ALL_TENANTS if tenant is None else "t:" + tenant_segment(tenant)


class RedisHarness:
    """`P:faults` (an ordered hash of rules), `P:fault-counters:<rule id>` (hash: counter ->
    count), `P:fault-numbers` (to name rules), `P:duplicates` (zset "<unique>\\n<JSON>" scored
    by due ms) and `P:outages` (hash: <scope> -> JSON, <scope>\\nid, <scope>\\nleft)."""

    def __init__(self, base: RedisBase) -> None:
        self._base = base
        self._rules = base.key("faults")
        self._counters = base.key("fault-counters:")
        self._duplicates = base.key("duplicates")
        self._outages = base.key("outages")
        self._advance = Script(base.client, lua.ADVANCE_FAULT)
        self._delete = Script(base.client, lua.DELETE_FAULTS)
        self._pop = Script(base.client, lua.POP_SCORED)
        self._take = Script(base.client, lua.TAKE_OUTAGE)

    def harness_state(self) -> HarnessState:
        def reads(pipe: Any) -> None:
            pipe.eval(lua.LIST_ORDERED, 2, self._rules, f"{self._rules}:order")
            pipe.hgetall(self._outages)
            pipe.zrange(self._duplicates, 0, 0, withscores=True)

        rules, outages, first = self._base.writes.send_with(reads)
        return HarnessState(
            tuple(decode(FaultRule, raw) for raw in rules),
            _outages({text(k): text(v) for k, v in outages.items()}),
            int(first[0][1]) if first else None,
        )

    # fault rules
    def new_fault_number(self) -> int:
        return int(self._base.client.incr(self._base.key("fault-numbers")))

    def put_fault(self, rule: FaultRule) -> None:
        self._base.put_ordered(self._rules, rule.rule_id, rule)

    def delete_faults(self, rule_ids: Sequence[str]) -> int:
        if not rule_ids:
            return 0
        keys = [self._rules, f"{self._rules}:order"]
        return int(self._delete(keys=keys, args=[self._counters, *rule_ids]))

    def advance_fault(self, rule_id: str, counter: str) -> int:
        keys = [self._rules, self._counters + rule_id]
        return int(self._advance(keys=keys, args=[rule_id, counter]))

    # duplicates
    def add_duplicate(self, duplicate: Duplicate) -> None:
        member = f"{uuid.uuid4().hex}\n{encode(duplicate).decode()}"
        self._base.client.zadd(self._duplicates, {member: duplicate.due_ms})

    def pop_duplicates(self, now_ms: int) -> list[Duplicate]:
        members = self._pop(keys=[self._duplicates], args=[now_ms])
        return [decode(Duplicate, text(member).split("\n", 1)[1]) for member in members]

    def clear_duplicates(self) -> None:
        self._base.client.delete(self._duplicates)

    # outages
    def start_outage(self, outage: Outage) -> None:
        scope = outage_scope(outage.tenant)
        pipe = self._base.client.pipeline(transaction=True)
        pipe.hset(self._outages, mapping={scope: encode(outage), f"{scope}\nid": outage.outage_id})
        if outage.count is None:
            pipe.hdel(self._outages, f"{scope}\nleft")
        else:
            pipe.hset(self._outages, f"{scope}\nleft", outage.count)
        pipe.execute()

    def end_outage(self, tenant: str | None) -> bool:
        scope = outage_scope(tenant)
        fields = (scope, f"{scope}\nid", f"{scope}\nleft")
        return bool(self._base.client.hdel(self._outages, *fields))

    def end_all_outages(self) -> int:
        pipe = self._base.client.pipeline(transaction=True)
        pipe.hkeys(self._outages)
        pipe.delete(self._outages)
        fields, _ = pipe.execute()
        return sum("\n" not in text(field) for field in fields)

    def take_outage(self, outage: Outage) -> int | None:
        left = int(self._take(keys=[self._outages],
                              args=[outage_scope(outage.tenant), outage.outage_id]))
        return None if left < 0 else left

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            client = self._base.client
            doomed = [text(raw) for raw in client.hkeys(self._rules)]
            client.delete(self._rules, f"{self._rules}:order", self._duplicates, self._outages,
                          *(self._counters + rule_id for rule_id in doomed))
            return
        rules = self._base.list_ordered(self._rules, FaultRule)
        self.delete_faults([rule.rule_id for rule in rules if rule.tenant == tenant])
        self.end_outage(tenant)


def _outages(fields: dict[str, str]) -> tuple[Outage, ...]:
    """The outages in the hash, each with the requests it has left as its `count`."""
    found = []
    for scope, raw in sorted(fields.items()):
        if "\n" in scope:
            continue
        outage = decode(Outage, raw)
        left = fields.get(f"{scope}\nleft")
        found.append(outage if left is None else replace(outage, count=int(left)))
    return tuple(found)
