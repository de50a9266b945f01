"""Showing a run: a rich progress bar, the summary table, and the PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .runner import Report

ROWS = (
    ("published", "published"), ("accepted", "accepted by QStash"),
    ("qstash_429", "429 answers from QStash"), ("rejected_429", "429s the publisher saw"),
    ("fallback_jobs", "fallback jobs"),
    ("fallback_episodes", "fallback episodes"), ("publish_errors", "publish errors"),
    ("delivered", "delivered (jobs)"), ("deliveries", "requests at destinations"),
    ("retried", "retried attempts"), ("dlq", "in the DLQ"), ("duplicates", "duplicates"),
    ("duplicates_handled", "duplicates handled"), ("early", "delivered early"),
    ("p50_latency_ms", "p50 latency (ms)"), ("p95_latency_ms", "p95 latency (ms)"),
    ("p99_latency_ms", "p99 latency (ms)"), ("peak_delivery_rate", "peak deliveries/s"),
    ("wall_s", "wall time (s)"),
)


class RichProgress:
    """A `ProgressHook` drawing one bar per stage (publishing, settling) on stderr."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(TextColumn("{task.description:>10}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                  transient=False)
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=max(total, 1))
        self._progress.update(self._tasks[stage], completed=done, total=max(total, done, 1))


def summary_table(report: Report) -> Table:
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    clock = report.clock if report.clock == "virtual" else f"real x{report.speed:g}"
    table = Table(title=f"scenario {report.scenario} ({clock}): {verdict}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in ROWS:
        table.add_row(label, _fmt(report.metrics.get(key)))
    for check in report.checks:
        mark = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        table.add_row(f"expect {check.text}", f"{mark} {check.describe()[len(check.text):]}")
    return table


def plot(report: Report, path: str | Path) -> None:
    """The chart of `figure` as a PNG (needs the `plot` extra)."""
    import matplotlib.pyplot as plt

    chart = figure(report)
    chart.savefig(path)
    plt.close(chart)


def figure(report: Report) -> Any:
    """Rates (and the daily quota, when the scenario sets one) over scenario time; each bin is
    drawn over its whole width, the last one included."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    line = report.timeline
    samples = line.get("quota_remaining") or []
    chart, axes = plt.subplots(2 if samples else 1, 1, figsize=(10, 6 if samples else 4),
                                sharex=True, squeeze=False)
    rates = axes[0][0]
    edges = [*line["t"], line["t"][-1] + line["bin_s"]] if line.get("t") else [0.0]
    for key, label in (("published_per_s", "published"), ("delivered_per_s", "delivered"),
                       ("rejected_429_per_s", "429"), ("fallback_per_s", "fallback")):
        if any(line.get(key, [])):
            rates.stairs(line[key], edges, label=label)
    rates.set_ylabel("per second")
    rates.legend(loc="upper right")
    rates.set_title(f"scenario {report.scenario}")
    if samples:
        quota = axes[1][0]
        quota.plot([s[0] for s in samples], [s[1] for s in samples], label="daily quota left")
        quota.legend(loc="upper right")
        quota.set_ylabel("quota remaining")
    axes[-1][0].set_xlabel("scenario time (s)")
    chart.tight_layout()
    return chart


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if float(value) == int(value) else f"{value:.1f}"
