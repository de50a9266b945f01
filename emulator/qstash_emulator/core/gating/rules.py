"""Gates: the pure rules of queues and flow-control keys (who may start now, and when).

A gate is either a queue or a flow-control key. Both hold *slots*: a queue slot belongs to a
message from its first attempt until it and its callbacks are finished; a flow-control slot
belongs to one attempt while it is in flight. A flow-control key also counts attempts per
rate window. Messages that may not start yet wait in the gate's FIFO wait list (kept in the
store); these functions only compute new gate values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from ..model import FlowControl, Kind, Message

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")


class GateKind(StrEnum):
    QUEUE = "queue"
    FLOW = "flow"


@dataclass(frozen=True, slots=True)
class Gate:
    """A queue or a flow-control key: its limits and what currently occupies it."""

    kind: GateKind
    name: str
    parallelism: int | None = None  # None: unlimited
    rate: int | None = None  # attempts per period; None: unlimited
    period_s: int = 1
    paused: bool = False
    holders: frozenset[str] = frozenset()  # message ids occupying a slot
    children: frozenset[tuple[str, str]] = frozenset()  # (source id, callback id) pending
    window_start_ms: int = 0
    window_count: int = 0
    recent_starts_ms: tuple[int, ...] = ()  # starts within the last period (sliding window)
    wake_at_ms: int | None = None  # when a rate-blocked wait list may move again
    pinned_parallelism: bool = False
    pinned_rate: bool = False
    created_at_ms: int = 0
    updated_at_ms: int = 0


def is_gated(message: Message) -> bool:
    """Does this message need a gate's permission to start an attempt?"""
    return message.kind is Kind.MESSAGE and (
        message.queue_name is not None or message.flow_control is not None
    )


def window_end_ms(gate: Gate) -> int:
    return gate.window_start_ms + gate.period_s * 1000


def roll(gate: Gate, now_ms: int) -> Gate:
    """Forget starts older than one period; start a new reporting window if this one is over.

    The limit itself is a sliding window: at most `rate` starts in any `period`.
    """
    if gate.rate is None:
        return gate
    horizon = now_ms - gate.period_s * 1000
    recent = tuple(t for t in gate.recent_starts_ms if t > horizon)
    if gate.window_count and now_ms < window_end_ms(gate):
        return gate if recent == gate.recent_starts_ms else replace(gate, recent_starts_ms=recent)
    return replace(gate, window_start_ms=now_ms, window_count=0, recent_starts_ms=recent)


def rate_count(gate: Gate, now_ms: int) -> int:
    return roll(gate, now_ms).window_count


def has_room(gate: Gate) -> bool:
    """May one more attempt start now (after `roll`)?"""
    if gate.paused:
        return False
    if gate.parallelism is not None and len(gate.holders) >= gate.parallelism:
        return False
    return gate.rate is None or len(gate.recent_starts_ms) < gate.rate


def take(gate: Gate, message_id: str, now_ms: int) -> Gate:
    """Give `message_id` a slot and count its start against the rate."""
    recent = (*gate.recent_starts_ms, now_ms)[-gate.rate:] if gate.rate else ()
    return replace(gate, holders=gate.holders | {message_id},
                   window_count=gate.window_count + 1, recent_starts_ms=recent)


def release(gate: Gate, message_id: str) -> Gate:
    if message_id not in gate.holders:
        return gate
    return replace(gate, holders=gate.holders - {message_id})


def wake_time(gate: Gate) -> int | None:
    """When waiting messages may move without anything finishing: the next rate window."""
    if gate.paused or gate.rate is None or len(gate.recent_starts_ms) < gate.rate:
        return None
    if gate.parallelism is not None and len(gate.holders) >= gate.parallelism:
        return None
    return gate.recent_starts_ms[0] + gate.period_s * 1000


def adopt(gate: Gate, source_id: str, child_id: str) -> Gate:
    """A callback of `source_id` keeps the source's queue slot until it is finished."""
    return replace(gate, children=gate.children | {(source_id, child_id)})


def drop_child(gate: Gate, source_id: str, child_id: str) -> Gate:
    return replace(gate, children=gate.children - {(source_id, child_id)})


def has_children(gate: Gate, source_id: str) -> bool:
    return any(source == source_id for source, _ in gate.children)


def configure_flow(gate: Gate, flow: FlowControl, now_ms: int) -> Gate:
    """Apply a message's flow-control values, except the pinned ones."""
    changes: dict[str, object] = {}
    if not gate.pinned_parallelism:
        changes["parallelism"] = flow.parallelism
    if not gate.pinned_rate:
        changes["rate"] = flow.rate
        changes["period_s"] = flow.period_s or 1
    updated = replace(gate, **changes)  # type: ignore[arg-type]
    return updated if updated == gate else replace(updated, updated_at_ms=now_ms)


def new_queue(name: str, now_ms: int, parallelism: int = 1, paused: bool = False) -> Gate:
    return Gate(
        GateKind.QUEUE, name, parallelism=parallelism, paused=paused,
        created_at_ms=now_ms, updated_at_ms=now_ms,
    )


def new_flow(flow: FlowControl, now_ms: int) -> Gate:
    return configure_flow(
        Gate(GateKind.FLOW, flow.key, created_at_ms=now_ms, updated_at_ms=now_ms), flow, now_ms
    )
