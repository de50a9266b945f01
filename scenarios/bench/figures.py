"""The figures a benchmark run collects, the targets they are held to, and the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Results:
    figures: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


TARGETS = [
    # (label, figure, ceiling figure or None, target, "ratio>=" | "<=" | "==")
    ("publishes/s (memory)", "emulator_memory_publish_rps", "ceiling_bare_rps", 0.60, "ratio>="),
    ("deliveries/s end to end", "emulator_memory_deliveries_ps", "toy_deliveries_ps", 0.50,
     "ratio>="),
    ("p50 latency @1000/s (ms)", "emulator_memory_latency_p50_ms", "toy_latency_p50_ms", None,
     ""),
    ("p99 latency @1000/s (ms)", "emulator_memory_latency_p99_ms", "toy_latency_p99_ms", 50,
     "<="),
    ("  p99 publish answer lag (ms)", "emulator_memory_send_lag_p99_ms", "toy_send_lag_p99_ms",
     None, ""),
    ("delay lateness p99 (ms)", "emulator_memory_lateness_p99_ms", "toy_lateness_p99_ms", 5,
     "<="),
    ("delivered early", "emulator_memory_early", "toy_early", 0, "=="),
    ("10k to DLQ, virtual (s)", "emulator_dlq_fast_forward_s", None, 10, "<="),
    ("publishes/s (redis)", "emulator_redis_publish_rps", "emulator_memory_publish_rps", 0.50,
     "ratio>="),
    ("deliveries/s (redis)", "emulator_redis_deliveries_ps", "emulator_memory_deliveries_ps",
     None, ""),
]


def verdict(value: float | None, ceiling: float | None, target: float | None,
            kind: str) -> tuple[str, str]:
    ratio = value / ceiling if value is not None and ceiling else None
    shown = f"{ratio:.0%}" if ratio is not None else "-"
    if value is None or target is None:
        return shown, "-"
    if kind == "ratio>=":
        return shown, ("met" if ratio is not None and ratio >= target else "MISSED") + \
            f" (>= {target:.0%})"
    ok = value <= target if kind == "<=" else value == target
    return shown, ("met" if ok else "MISSED") + f" ({kind} {target:g})"


def report(results: Results) -> None:
    from rich.console import Console
    from rich.table import Table

    f = results.figures
    table = Table(title="qstash-emulator benchmark (ratios to ceilings measured in this run)")
    for column in ("figure", "emulator", "ceiling", "ratio", "target"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for label, key, ceiling_key, target, kind in TARGETS:
        value = f.get(key)
        ceiling = f.get(ceiling_key) if ceiling_key else None
        ratio, met = verdict(value, ceiling, target, kind)
        table.add_row(label, _num(value), _num(ceiling), ratio, met)
    console = Console()
    console.print(table)
    console.print(f"ceiling: bare Starlette endpoint {_num(f.get('ceiling_bare_rps'))} req/s; "
                  f"toy queue publishes {_num(f.get('toy_publish_rps'))}/s")
    for note in results.notes:
        console.print(f"note: {note}")
    console.print_json(json.dumps({k: v for k, v in f.items()}))


def top_frames(path: Path, limit: int = 12) -> list[tuple[str, float]]:
    """Self time by leaf frame from a py-spy raw (collapsed) profile."""
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        leaf = stack.split(";")[-1]
        counts[leaf] = counts.get(leaf, 0) + int(number)
        total += int(number)
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    return [(name, count / total) for name, count in ranked] if total else []


def print_profiles(directory: Path) -> None:
    for path in sorted(directory.glob("*.txt")):
        print(f"\nprofile {path.name} (self time by leaf frame):")
        for name, share in top_frames(path):
            print(f"  {share:6.1%}  {name}")


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
