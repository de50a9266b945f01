"""What a run records, and the metrics computed from it (pure)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ACCEPTED, REJECTED_429, FALLBACK, ERROR = "accepted", "rejected_429", "fallback", "error"

METRICS = (
    "published", "accepted", "rejected_429", "qstash_429", "fallback_jobs", "fallback_episodes",
    "publish_errors", "delivered", "deliveries", "attempts", "retried", "dlq", "duplicates",
    "duplicates_handled", "early", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms",
    "max_latency_ms", "peak_delivery_rate", "wall_s",
)


@dataclass(frozen=True)
class PublishRecord:
    """One publish: when (scenario seconds), its outcome and, for latency, its start time.

    `start` is wall seconds on a real clock and emulator seconds on a virtual one.
    """

    seq: int
    t: float
    destination: str
    outcome: str
    start: float
    delay_s: int = 0
    message_id: str | None = None
    backend: str | None = None


@dataclass(frozen=True)
class Arrival:
    """One request at a runner destination; `fresh` is the first processing of its job."""

    seq: int | None
    message_id: str | None
    wall: float
    t: float  # scenario seconds when it arrived, as the runner saw it
    status: int
    fresh: bool
    duplicate: bool


@dataclass
class RunData:
    """Everything a run collected; `t_of_*` map times to scenario seconds."""

    virtual: bool
    speed: float
    wall0: float
    emu0_ms: int
    publishes: list[PublishRecord] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    log: list[Mapping[str, Any]] = field(default_factory=list)  # /__emulator__/deliveries
    quota_samples: list[tuple[float, float]] = field(default_factory=list)
    dlq: int | None = None
    queue_stats: Mapping[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    def t_of_wall(self, wall: float) -> float:
        return (wall - self.wall0) * self.speed

    def t_of_emu(self, ms: float) -> float:
        return (ms - self.emu0_ms) / 1000


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (`q` in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rate(times: Iterable[float], window: float = 1.0) -> int:
    """The most events inside any half-open window [t, t + window)."""
    ordered = sorted(times)
    best, low = 0, 0
    for high, t in enumerate(ordered):
        while ordered[low] <= t - window + 1e-9:  # float times: 1.2 - 1.0 < 0.2
            low += 1
        best = max(best, high - low + 1)
    return best


def summarize(data: RunData) -> dict[str, float | None]:
    """The metrics that expectations, the summary table and the JSON report use."""
    outcomes = Counter(p.outcome for p in data.publishes)
    messages = [r for r in data.log if r.get("kind", "message") == "message"]
    latencies, early = _latencies(data)
    stats = data.queue_stats
    return {
        "published": len(data.publishes),
        "accepted": outcomes[ACCEPTED],
        "rejected_429": outcomes[REJECTED_429],
        "qstash_429": stats.get("qstash_429_answers", outcomes[REJECTED_429]),
        "fallback_jobs": stats.get("fallback_jobs", outcomes[FALLBACK]),
        "fallback_episodes": stats.get("fallback_episodes", 0),
        "publish_errors": outcomes[ERROR],
        "delivered": sum(1 for a in data.arrivals if a.fresh),
        "deliveries": len(data.arrivals),
        "attempts": len(messages),
        "retried": sum(1 for r in messages if int(r.get("attempt", 0)) > 0),
        "dlq": data.dlq,
        "duplicates": sum(1 for a in data.arrivals if a.duplicate),
        "duplicates_handled": sum(1 for a in data.arrivals if a.duplicate and a.status < 300),
        "early": early,
        "p50_latency_ms": percentile(latencies, 50),
        "p95_latency_ms": percentile(latencies, 95),
        "p99_latency_ms": percentile(latencies, 99),
        "max_latency_ms": max(latencies) if latencies else None,
        "peak_delivery_rate": peak_rate(delivery_times(data)),
        "wall_s": round(data.wall_s, 3),
    }


def delivery_times(data: RunData) -> list[float]:
    """Scenario times of successful deliveries: the emulator's log on a virtual clock (plus
    memory-fallback arrivals, placed by wall time), the destination's clock on a real one."""
    if not data.virtual:
        return [a.t for a in data.arrivals if a.fresh]
    qstash = [data.t_of_emu(r["time"]) for r in data.log
              if r.get("kind", "message") == "message" and 200 <= int(r["status"]) < 300]
    logged = {r.get("messageId") for r in data.log}
    others = [a.t for a in data.arrivals if a.fresh and a.message_id not in logged]
    return qstash + others


def _latencies(data: RunData) -> tuple[list[float], int]:
    """Publish-to-first-successful-delivery latencies (scenario ms) and how many were early."""
    by_seq = {p.seq: p for p in data.publishes}
    firsts = _first_success_times(data)
    latencies, early = [], 0
    for seq, done in firsts.items():
        publish = by_seq.get(seq)
        if publish is None:
            continue
        elapsed = (done - publish.start) * (1 if data.virtual else data.speed)
        if elapsed < publish.delay_s - 0.0005:
            early += 1
        latencies.append(max(0.0, elapsed - publish.delay_s) * 1000)
    return latencies, early


def _first_success_times(data: RunData) -> dict[int, float]:
    """seq -> when it was first processed (emulator seconds on a virtual clock, else wall)."""
    firsts: dict[int, float] = {}
    if data.virtual:
        seq_of = {p.message_id: p.seq for p in data.publishes if p.message_id}
        for record in data.log:
            seq = seq_of.get(str(record.get("messageId")))
            ok = 200 <= int(record.get("status", 0)) < 300
            if seq is not None and ok and record.get("kind", "message") == "message":
                firsts.setdefault(seq, record["time"] / 1000)
        return firsts
    for arrival in data.arrivals:
        if arrival.fresh and arrival.seq is not None:
            firsts.setdefault(arrival.seq, arrival.wall)
    return firsts


def timeline(data: RunData, bins: int = 3600) -> dict[str, Any]:
    """Per-bin rates over scenario time for the chart and the JSON report: one-second bins
    (wider only past `bins` seconds), so a one-second spike shows at its height."""
    ends = [p.t for p in data.publishes] + delivery_times(data) + [0.0]
    span = max(ends) or 1.0
    width = max(1.0, math.ceil(span / bins))
    count = int(span // width) + 1

    def histogram(times: Iterable[float]) -> list[float]:
        out = [0.0] * count
        for t in times:
            out[min(count - 1, max(0, int(t // width)))] += 1 / width
        return out

    series = {name: histogram(p.t for p in data.publishes if p.outcome == name)
              for name in (ACCEPTED, REJECTED_429, FALLBACK)}
    return {
        "bin_s": width,
        "t": [i * width for i in range(count)],
        "published_per_s": histogram(p.t for p in data.publishes),
        **{f"{k}_per_s": v for k, v in series.items()},
        "delivered_per_s": histogram(delivery_times(data)),
        "quota_remaining": [list(s) for s in data.quota_samples],
    }
