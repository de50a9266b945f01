"""The scenario format: TOML text -> validated, frozen `Scenario` (pure: no I/O but reading)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import fields
from .fields import ScenarioError

SHAPES = ("constant", "ramp", "spike", "poisson")
CLOCKS = ("real", "virtual")
VIA = ("sdk", "request_queue")
FAULT_KEYS = frozenset({
    "statuses", "latency_ms", "timeout", "connection_error", "probability", "seed",
    "duplicate_after_s", "signature",
})


@dataclass(frozen=True)
class Phase:
    """A stretch of traffic: `rate` messages per second for `duration` seconds, in a shape."""

    shape: str
    rate: float
    duration: float
    destination: str
    to_rate: float | None = None  # ramp: the rate at the end
    peak: float | None = None  # spike: the rate inside the spike (default 10 x rate)
    at: float | None = None  # spike: offset of the spike in the phase (default: the middle)
    width: float = 1.0  # spike: how long the spike lasts


@dataclass(frozen=True)
class Destination:
    """A local endpoint the runner serves; `fault` is injected by the emulator instead."""

    name: str
    statuses: tuple[int, ...] = (200,)
    latency_ms: float = 0.0
    duplicates: float = 0.0  # chance that a processed delivery's answer is lost (-> redelivery)
    fault: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Publish:
    via: str = "sdk"
    retries: int | None = None
    delay_s: tuple[int, int] = (0, 0)
    flow_control: Mapping[str, str] | None = None
    queue_options: Mapping[str, Any] = field(default_factory=dict)
    concurrency: int = 64


@dataclass(frozen=True)
class RunSettings:
    clock: str = "real"
    speed: float = 1.0
    settle_s: float = 30.0
    seed: int = 1
    store: str = "memory"
    tick_s: float = 0.1


@dataclass(frozen=True)
class Quota:
    plan: str | None = None
    limits: Mapping[str, int | None] = field(default_factory=dict)  # daily / monthly / burst

    @property
    def empty(self) -> bool:
        return self.plan is None and not self.limits


@dataclass(frozen=True)
class Outage:
    at: float
    duration: float | None
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Smoke:
    duration_scale: float = 1.0
    rate_scale: float = 1.0
    settle_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: RunSettings
    publish: Publish
    quota: Quota
    destinations: tuple[Destination, ...]
    phases: tuple[Phase, ...] = ()
    trace: Path | None = None
    outages: tuple[Outage, ...] = ()
    expect: tuple[str, ...] = ()
    smoke: Smoke = Smoke()

    def destination(self, name: str) -> Destination:
        for item in self.destinations:
            if item.name == name:
                return item
        raise ScenarioError(f"unknown destination {name!r}")

    def smoked(self) -> Scenario:
        """The small, short version the test suite runs (`[smoke]` scales phases and settle)."""
        s = self.smoke
        phases = tuple(
            replace(
                p,
                rate=p.rate * s.rate_scale,
                duration=p.duration * s.duration_scale,
                to_rate=None if p.to_rate is None else p.to_rate * s.rate_scale,
                peak=None if p.peak is None else p.peak * s.rate_scale,
                at=None if p.at is None else p.at * s.duration_scale,
                width=p.width * s.duration_scale,
            )
            for p in self.phases
        )
        settle = self.run.settle_s if s.settle_s is None else s.settle_s
        return replace(self, phases=phases, run=replace(self.run, settle_s=settle))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises `ScenarioError` naming the bad field."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ScenarioError(f"{source}: {exc.strerror or exc}") from None
    return parse_scenario(data, base=source.parent, default_name=source.stem)


def parse_scenario(data: Mapping[str, Any], base: Path = Path("."),
                   default_name: str = "scenario") -> Scenario:
    """Validate a decoded TOML document."""
    fields.only_keys(data, "", {"name", "description", "run", "publish", "quota", "destinations",
                                "phases", "trace", "outages", "expect", "smoke"})
    destinations = _destinations(data.get("destinations", {"app": {}}))
    names = [d.name for d in destinations]
    phases = tuple(_phase(p, f"phases[{i}]", names) for i, p in enumerate(
        fields.list_of(data, "phases")))
    trace = data.get("trace")
    if bool(phases) == (trace is not None):
        raise ScenarioError("give either [[phases]] or trace = \"file.csv|file.jsonl\", not both")
    return Scenario(
        name=fields.text(data.get("name", default_name), "name"),
        description=fields.text(data.get("description", ""), "description"),
        run=_run(fields.table(data, "run")),
        publish=_publish(fields.table(data, "publish")),
        quota=_quota(fields.table(data, "quota")),
        destinations=destinations,
        phases=phases,
        trace=None if trace is None else base / fields.text(trace, "trace"),
        outages=tuple(_outage(o, f"outages[{i}]") for i, o in enumerate(
            fields.list_of(data, "outages"))),
        expect=tuple(fields.text(e, "expect[]") for e in fields.list_of(data, "expect")),
        smoke=_smoke(fields.table(data, "smoke")),
    )


# -- sections ----------------------------------------------------------------------------


def _run(t: Mapping[str, Any]) -> RunSettings:
    fields.only_keys(t, "run.", {"clock", "speed", "settle", "seed", "store", "tick"})
    clock = fields.choice(t.get("clock", "real"), CLOCKS, "run.clock")
    return RunSettings(
        clock=clock,
        speed=fields.positive(t.get("speed", 1.0), "run.speed"),
        settle_s=fields.seconds(t.get("settle", 30), "run.settle"),
        seed=fields.whole(t.get("seed", 1), "run.seed"),
        store=fields.text(t.get("store", "memory"), "run.store"),
        tick_s=fields.positive(fields.seconds(t.get("tick", 0.1), "run.tick"), "run.tick"),
    )


def _publish(t: Mapping[str, Any]) -> Publish:
    fields.only_keys(t, "publish.", {"via", "retries", "delay", "flow_control", "queue_options",
                          "concurrency"})
    retries = t.get("retries")
    flow = t.get("flow_control")
    if flow is not None and not (isinstance(flow, dict) and "key" in flow):
        raise ScenarioError("publish.flow_control: want {key = \"...\", value = \"rate=10\"}")
    return Publish(
        via=fields.choice(t.get("via", "sdk"), VIA, "publish.via"),
        retries=None if retries is None else fields.whole(retries, "publish.retries", minimum=0),
        delay_s=_delay(t.get("delay", 0)),
        flow_control=None if flow is None else {k: str(v) for k, v in flow.items()},
        queue_options=dict(fields.table(t, "queue_options")),
        concurrency=fields.whole(t.get("concurrency", 64), "publish.concurrency", minimum=1),
    )


def _delay(value: Any) -> tuple[int, int]:
    if isinstance(value, list) and len(value) == 2:
        low, high = (fields.whole(v, "publish.delay", minimum=0) for v in value)
        if low > high:
            raise ScenarioError("publish.delay: [low, high] with low <= high")
        return low, high
    seconds = fields.whole(value, "publish.delay", minimum=0)
    return seconds, seconds


def _quota(t: Mapping[str, Any]) -> Quota:
    fields.only_keys(t, "quota.", {"plan", "daily", "monthly", "burst"})
    limits = {k: fields.whole(t[k], f"quota.{k}", minimum=0) for k in ("daily", "monthly", "burst")
              if k in t}
    plan = t.get("plan")
    return Quota(None if plan is None else fields.text(plan, "quota.plan"), limits)


def _destinations(raw: Any) -> tuple[Destination, ...]:
    if not isinstance(raw, dict) or not raw:
        raise ScenarioError("destinations: want at least one [destinations.NAME] table")
    return tuple(_destination(name, spec) for name, spec in raw.items())


def _destination(name: str, spec: Any) -> Destination:
    where = f"destinations.{name}."
    if not isinstance(spec, dict):
        raise ScenarioError(f"{where[:-1]}: want a table")
    fields.only_keys(spec, where, {"statuses", "latency_ms", "duplicates", "fault"})
    statuses = spec.get("statuses", [200])
    if not isinstance(statuses, list) or not statuses or not all(
            isinstance(s, int) and 100 <= s <= 599 for s in statuses):
        raise ScenarioError(f"{where}statuses: want a list of HTTP statuses like [500, 200]")
    fault = fields.table(spec, "fault")
    fields.only_keys(fault, f"{where}fault.", set(FAULT_KEYS))
    duplicates = fields.number(spec.get("duplicates", 0.0), f"{where}duplicates")
    if not 0 <= duplicates <= 1:
        raise ScenarioError(f"{where}duplicates: a probability between 0 and 1")
    return Destination(name, tuple(statuses),
                       fields.number(spec.get("latency_ms", 0), f"{where}latency_ms"),
                       duplicates, dict(fault))


def _phase(t: Any, where: str, names: list[str]) -> Phase:
    if not isinstance(t, dict):
        raise ScenarioError(f"{where}: want a table")
    fields.only_keys(t, where + ".", {"shape", "rate", "duration", "destination", "to_rate",
                                      "peak", "at", "width"})
    destination = fields.text(t.get("destination", names[0]), f"{where}.destination")
    if destination not in names:
        raise ScenarioError(f"{where}.destination: unknown destination {destination!r}")
    optional = {k: fields.number(t[k], f"{where}.{k}") for k in ("to_rate", "peak", "at") if k in t}
    return Phase(
        shape=fields.choice(t.get("shape", "constant"), SHAPES, f"{where}.shape"),
        rate=fields.number(t.get("rate"), f"{where}.rate"),
        duration=fields.positive(fields.seconds(t.get("duration"), f"{where}.duration"),
                           f"{where}.duration"),
        destination=destination,
        width=fields.positive(fields.seconds(t.get("width", 1.0), f"{where}.width"),
                              f"{where}.width"),
        **optional,
    )


def _outage(t: Any, where: str) -> Outage:
    if not isinstance(t, dict) or "at" not in t:
        raise ScenarioError(f"{where}: want a table with at = SECONDS and the outage's mode")
    fields.only_keys(t, f"{where}.", {"at", "duration", "mode", "status", "seconds", "count",
                                      "paths"})
    body = {k: v for k, v in t.items() if k not in ("at", "duration")}
    duration = t.get("duration")
    return Outage(fields.seconds(t["at"], f"{where}.at"),
                  None if duration is None else fields.seconds(duration, f"{where}.duration"), body)


def _smoke(t: Mapping[str, Any]) -> Smoke:
    fields.only_keys(t, "smoke.", {"duration_scale", "rate_scale", "settle"})
    settle = t.get("settle")
    return Smoke(fields.positive(t.get("duration_scale", 1.0), "smoke.duration_scale"),
                 fields.positive(t.get("rate_scale", 1.0), "smoke.rate_scale"),
                 None if settle is None else fields.seconds(settle, "smoke.settle"))
