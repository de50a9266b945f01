"""Flow-control keys: inspect, pause, resume, pin, unpin and reset them.

A key comes into being with the first message that names it and takes each new message's
`parallelism`/`rate`/`period` unless those are pinned. `reset` zeroes both the rate window and
the parallelism count (attempts in flight then no longer count against the key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from .. import protocol as p
from ..context import Context
from ..durations import InvalidDuration, parse_duration_s
from ..errors import BadRequest, NotFound
from ..headers import parse_bool
from ..model import State
from ..plans import Plans
from ..ports import GateStore
from . import rules as g
from .admission import PENDING, Admission
from .rules import Gate, GateKind

FLOW = GateKind.FLOW.value
MAX_PERIOD_S = 7 * 86400


@dataclass(frozen=True, slots=True)
class FlowInfo:
    gate: Gate
    wait_list_size: int
    rate_count: int


@dataclass(frozen=True, slots=True)
class GlobalParallelism:
    maximum: int | None
    count: int


class FlowControls:
    def __init__(self, ctx: Context, gate_store: GateStore, gates: Admission, plans: Plans
                 ) -> None:
        self.ctx = ctx
        self.gate_store = gate_store
        self.gates = gates
        self.plans = plans

    def _gate(self, tenant: str, key: str) -> Gate:
        gate = self.gate_store.get_gate(tenant, FLOW, key)
        if gate is None:
            raise NotFound(p.FLOW_CONTROL_NOT_FOUND.format(key=key))
        return gate

    def _info(self, tenant: str, gate: Gate) -> FlowInfo:
        waiting = 0
        for message_id in self.gate_store.waiting(tenant, FLOW, gate.name):
            message = self.ctx.messages.get_message(tenant, message_id)
            waiting += message is not None and message.state in PENDING
        return FlowInfo(gate, waiting, g.rate_count(gate, self.ctx.now_ms()))

    def get(self, tenant: str, key: str) -> FlowInfo:
        return self._info(tenant, self._gate(tenant, key))

    def list(self, tenant: str, search: str | None = None) -> list[FlowInfo]:
        gates = sorted(self.gate_store.gates(tenant, FLOW), key=lambda gate: gate.name)
        wanted = (search or "").lower()
        return [self._info(tenant, gate) for gate in gates if wanted in gate.name.lower()]

    def set_paused(self, tenant: str, key: str, paused: bool) -> None:
        self._change(tenant, key, paused=paused)

    def pin(self, tenant: str, key: str, params: Mapping[str, str]) -> None:
        """Fix parallelism and/or rate+period; starts a new rate window now."""
        changes: dict[str, object] = {}
        if "parallelism" in params:
            changes |= {"parallelism": _positive(params, "parallelism"),
                        "pinned_parallelism": True}
        if "rate" in params:
            changes["rate"] = _positive(params, "rate")
        if "period" in params:
            changes["period_s"] = _period(params["period"])
        if "rate" in params or "period" in params:
            changes["pinned_rate"] = True
        if not changes:
            raise BadRequest("invalid pin: give parallelism, rate and/or period")
        self._change(tenant, key, window_start_ms=self.ctx.now_ms(), window_count=0,
                     recent_starts_ms=(), **changes)

    def unpin(self, tenant: str, key: str, params: Mapping[str, str]) -> None:
        both = "parallelism" not in params and "rate" not in params
        changes = {}
        for name in ("parallelism", "rate"):
            if both or _flag(params, name):
                changes[f"pinned_{name}"] = False
        self._change(tenant, key, **changes)

    def reset_rate(self, tenant: str, key: str) -> None:
        self._change(tenant, key, window_start_ms=self.ctx.now_ms(), window_count=0,
                     recent_starts_ms=())

    def reset(self, tenant: str, key: str) -> None:
        self._change(tenant, key, window_start_ms=self.ctx.now_ms(), window_count=0,
                     recent_starts_ms=(),
                     holders=frozenset())

    def _change(self, tenant: str, key: str, **changes: object) -> None:
        with self.gate_store.gate_lock():  # read-modify-write, atomic across instances
            gate = self._gate(tenant, key)
            changed = replace(gate, updated_at_ms=self.ctx.now_ms(), **changes)  # type: ignore[arg-type]
            self.gates.refresh(tenant, changed)

    def act(self, tenant: str, key: str, action: str, params: Mapping[str, str]) -> None:
        """One of ACTIONS by name (an unknown name: 404 like an unknown path)."""
        change = ACTIONS.get(action)
        if change is None:
            raise NotFound(p.NOT_FOUND)
        change(self, tenant, key, params)

    def global_parallelism(self, tenant: str) -> GlobalParallelism:
        active = sum(m.state is State.ACTIVE for m in self.ctx.messages.active_messages(tenant))
        return GlobalParallelism(self.plans.limit(tenant, "parallelism"), active)


Action = Callable[[FlowControls, str, str, Mapping[str, str]], None]
ACTIONS: dict[str, Action] = {
    "pause": lambda flows, tenant, key, _: flows.set_paused(tenant, key, True),
    "resume": lambda flows, tenant, key, _: flows.set_paused(tenant, key, False),
    "pin": lambda flows, tenant, key, params: flows.pin(tenant, key, params),
    "unpin": lambda flows, tenant, key, params: flows.unpin(tenant, key, params),
    "resetRate": lambda flows, tenant, key, _: flows.reset_rate(tenant, key),
    "reset": lambda flows, tenant, key, _: flows.reset(tenant, key),
}


def _positive(params: Mapping[str, str], name: str) -> int:
    raw = params[name].strip()
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"invalid {name}: {params[name]!r}, want a positive integer")
    return int(raw)


def _period(raw: str) -> int:
    try:
        seconds = parse_duration_s(raw)
    except InvalidDuration as exc:
        raise BadRequest(f"invalid period: {exc}") from exc
    if not 1 <= seconds <= MAX_PERIOD_S:
        raise BadRequest(f"invalid period: {raw!r}, want 1s to 1 week")
    return seconds


def _flag(params: Mapping[str, str], name: str) -> bool:
    try:
        return name in params and parse_bool(params[name], name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
