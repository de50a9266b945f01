"""The table `scenarios.bench.throughput` prints: figure, ceiling, ratio, target."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .throughput import Figures

# (label, figure, ceiling figure or None, target, kind: "ratio>=" | "<=" | "==" | "")
ROWS = [
    ("bare Starlette POST endpoint (req/s)", "bare_rps", None, None, ""),
    ("publishes/s, memory, no deliveries (delayed 1 h)", "memory_idle_publish_rps", "bare_rps",
     0.5, "ratio>="),
    ("publishes/s, memory, deliveries running", "memory_publish_rps", "bare_rps", 0.3,
     "ratio>="),
    ("  toy queue publishes/s, deliveries running", "toy_publish_rps", "bare_rps", None, ""),
    ("deliveries/s end to end (memory)", "memory_deliveries_ps", "toy_deliveries_ps", 0.75,
     "ratio>="),
    ("bare endpoint, corked writes (req/s)", "bare_corked_rps", None, None, ""),
    ("  publishes/s, no deliveries, against it", "memory_idle_publish_rps", "bare_corked_rps",
     0.5, "ratio>="),
    ("  publishes/s, deliveries running, against it", "memory_publish_rps", "bare_corked_rps",
     0.3, "ratio>="),
    ("toy queue, corked, emulator's client: deliveries/s end to end", "toy_lean_deliveries_ps",
     None, None, ""),
    ("  deliveries/s end to end (memory), against it", "memory_deliveries_ps",
     "toy_lean_deliveries_ps", 0.75, "ratio>="),
]
TAIL = [
    ("delay lateness p99, delayed 1-2 s (ms)", "memory_lateness_p99_ms", None, None, ""),
    ("delivered early", "memory_early", None, 0, "=="),
    ("publishes/s, Redis, 1 worker", "redis1_publish_rps", "memory_publish_rps", None, ""),
    ("deliveries/s end to end, Redis, 1 worker", "redis1_deliveries_ps",
     "memory_deliveries_ps", None, ""),
    ("publishes/s, Redis, 2 workers", "redis2_publish_rps", "redis1_publish_rps", None, ""),
    ("deliveries/s end to end, Redis, 2 workers", "redis2_deliveries_ps",
     "redis1_deliveries_ps", None, ""),
]


def rows(rates: Sequence[int]) -> list[tuple[str, str, str | None, float | None, str]]:
    paced = [(f"p99 publish->delivery at {rate:,}/s (ms; toy as ceiling)",
              f"memory_p99_ms_{rate}", f"toy_p99_ms_{rate}", 20.0 if rate == 2_000 else None,
              "<=" if rate == 2_000 else "") for rate in rates]
    return ROWS + paced + TAIL


def verdict(value: float | None, ceiling: float | None, target: float | None,
            kind: str) -> tuple[str, str]:
    ratio = value / ceiling if value is not None and ceiling else None
    shown = f"{ratio:.2f}" if ratio is not None else "-"
    if value is None or target is None:
        return shown, "-"
    if kind == "ratio>=":
        met = ratio is not None and ratio >= target
        return shown, f"{'met' if met else 'MISSED'} (>= {target:g})"
    ok = value <= target if kind == "<=" else value == target
    return shown, f"{'met' if ok else 'MISSED'} ({kind} {target:g})"


def report(figures: Figures, rates: Sequence[int]) -> None:
    from rich.console import Console
    from rich.table import Table

    f = figures.values
    table = Table(title="qstash-emulator under wrk -t1 -c64 (ceilings measured in this run)")
    for column in ("figure", "emulator", "ceiling", "ratio", "target"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for label, key, ceiling_key, target, kind in rows(rates):
        value = f.get(key)
        ceiling = f.get(ceiling_key) if ceiling_key else None
        ratio, met = verdict(value, ceiling, target, kind)
        table.add_row(label, _num(value), _num(ceiling), ratio, met)
    console = Console(width=120)
    console.print(table)
    rounds = max((len(values) for values in figures.samples.values()), default=0)
    if rounds > 1:
        console.print(f"closed loops: median of {rounds} rounds (servers alternating; every "
                      "round's figure under \"samples\" below)")
    if figures.generator_cpu:
        console.print(f"load generator (wrk) CPU: at most {max(figures.generator_cpu):.0%} of "
                      "one core in any run (headroom: it was never the limit)")
    for note in figures.notes:
        console.print(f"note: {note}")
    console.print_json(json.dumps({**f, "samples": figures.samples}))


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
