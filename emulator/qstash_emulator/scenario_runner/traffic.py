"""Traffic: phases or a recorded trace -> a sorted list of publish events (pure, seeded)."""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .fields import ScenarioError
from .model import Phase, Scenario

TIME_COLUMNS = ("t", "time", "timestamp", "ts")


@dataclass(frozen=True)
class Event:
    """Publish one message at `t` seconds of scenario time to the named destination."""

    t: float
    destination: str


def events_for(scenario: Scenario) -> list[Event]:
    """Every publish of the scenario, in time order."""
    if scenario.trace is not None:
        names = {d.name for d in scenario.destinations}
        return load_trace(scenario.trace, default=scenario.destinations[0].name, names=names)
    rng = random.Random(scenario.run.seed)
    events: list[Event] = []
    start = 0.0
    for phase in scenario.phases:
        events.extend(Event(start + t, phase.destination) for t in phase_times(phase, rng))
        start += phase.duration
    return events


def phase_times(phase: Phase, rng: random.Random | None = None) -> list[float]:
    """Offsets (seconds from the phase start) of the phase's publishes."""
    if phase.shape == "constant":
        return list(_constant(phase.rate, 0.0, phase.duration))
    if phase.shape == "ramp":
        return list(_ramp(phase.rate, phase.rate if phase.to_rate is None else phase.to_rate,
                          phase.duration))
    if phase.shape == "spike":
        return _spike(phase)
    return list(_poisson(phase.rate, phase.duration, rng or random.Random(0)))


def _constant(rate: float, start: float, duration: float) -> Iterator[float]:
    count = round(rate * duration)
    for i in range(count):
        yield start + i / rate


def _ramp(first: float, last: float, duration: float) -> Iterator[float]:
    """Rate moves linearly from `first` to `last`: invert N(t) = first t + (last-first) t^2/2D."""
    count = round((first + last) / 2 * duration)
    a = (last - first) / (2 * duration)
    for k in range(count):
        if abs(a) < 1e-12:
            yield k / first
        else:
            yield (-first + math.sqrt(max(first * first + 4 * a * k, 0.0))) / (2 * a)


def _spike(phase: Phase) -> list[float]:
    peak = phase.rate * 10 if phase.peak is None else phase.peak
    width = min(phase.width, phase.duration)
    at = (phase.duration - width) / 2 if phase.at is None else min(phase.at,
                                                                   phase.duration - width)
    times = list(_constant(phase.rate, 0.0, at)) if phase.rate else []
    times += list(_constant(peak, at, width)) if peak else []
    end = at + width
    if phase.rate:
        times += list(_constant(phase.rate, end, phase.duration - end))
    return times


def _poisson(rate: float, duration: float, rng: random.Random) -> Iterator[float]:
    if rate <= 0:
        return
    t = rng.expovariate(rate)
    while t < duration:
        yield t
        t += rng.expovariate(rate)


# -- traces ------------------------------------------------------------------------------


def load_trace(path: Path, default: str, names: set[str]) -> list[Event]:
    """A CSV (header with `t`/`time`/`timestamp`, optional `destination`) or JSONL trace.

    Timestamps are seconds; absolute ones (unix time) are shifted so the first is at 0.
    """
    if not path.exists():
        raise ScenarioError(f"trace: no such file {path}")
    text = path.read_text(encoding="utf-8")
    rows = _jsonl(text, path) if path.suffix in (".jsonl", ".ndjson") else _csv(text, path)
    pairs = sorted(_pair(row, default, names, path) for row in rows)
    if not pairs:
        raise ScenarioError(f"trace: {path} has no rows")
    first = pairs[0][0]
    return [Event(t - first, name) for t, name in pairs]


def _csv(text: str, path: Path) -> Iterable[dict[str, object]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not set(TIME_COLUMNS) & set(reader.fieldnames):
        raise ScenarioError(f"trace: {path} needs a header with one of {TIME_COLUMNS}")
    return list(reader)


def _jsonl(text: str, path: Path) -> Iterable[dict[str, object]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ScenarioError(f"trace: {path}:{number}: not JSON: {exc}") from exc
    return rows


def _pair(row: dict[str, object], default: str, names: set[str],
          path: Path) -> tuple[float, str]:
    raw = next((row[c] for c in TIME_COLUMNS if c in row), None)
    try:
        t = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ScenarioError(f"trace: {path}: bad timestamp {raw!r}") from None
    name = str(row.get("destination") or default)
    if name not in names:
        raise ScenarioError(f"trace: {path}: unknown destination {name!r}")
    return t, name
