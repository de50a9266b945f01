"""The benchmarks in `scenarios/bench` run as `python -m scenarios.bench.<name>` from the
repository root: every module imports, and the gates benchmark prints one figure per case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
IMPORT_ALL = (
    "import importlib, pkgutil, scenarios.bench as bench\n"
    "for module in pkgutil.iter_modules(bench.__path__):\n"
    "    importlib.import_module(f'scenarios.bench.{module.name}')\n"
    "    print(module.name)\n"
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def test_every_benchmark_module_imports() -> None:
    done = _run("-c", IMPORT_ALL)
    assert done.returncode == 0, done.stderr
    assert {"emulator", "processes", "gates", "crash_redis"} <= set(done.stdout.split())


def test_bench_gates_smoke() -> None:
    done = _run("-m", "scenarios.bench.gates", "--messages", "300")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "ungated", "queue (parallelism 100)", "flow key (parallelism 100)"]
    assert all("messages/s" in line for line in lines)


def test_bench_reliability_smoke() -> None:
    """Every part with tiny settings: the figures come out and nothing acknowledged is lost."""
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.bench.reliability", "--json", "--pause-seconds", "0.5",
         "--kill-seconds", "0.3", "--workers", "2", "--messages", "50", "--rate", "100",
         "--soak-seconds", "2", "--tenants", "3", "--history-mb", "8"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    assert set(figures) == {"pause", "kill", "fair", "soak"}
    for part in ("pause", "kill"):
        assert figures[part]["acknowledged"] > 0
        assert figures[part]["acknowledged_lost"] == 0
        assert figures[part]["stored_despite_error"] == 0
        assert figures[part]["health_checks_during"] > 0
    assert figures["fair"]["fast_alone_p99_ms"] is not None
    assert figures["fair"]["fast_next_to_hanging_p99_ms"] is not None
    assert figures["soak"]["published"] > 0


def test_bench_throughput_smoke() -> None:
    """The wrk-driven benchmark runs end to end with tiny settings and prints its table."""
    done = _run("-m", "scenarios.bench.throughput", "--seconds", "1", "--rates", "200",
                "--rate-seconds", "1", "--delayed", "100", "--no-redis", "--rounds", "2")
    assert done.returncode == 0, done.stderr
    for label in ("bare Starlette POST endpoint", "publishes/s, memory, no deliveries",
                  "bare endpoint, corked writes", "closed loops: median of 2 rounds",
                  "deliveries/s end to end (memory)", "p99 publish->delivery at 200/s",
                  "load generator (wrk) CPU"):
        assert label in done.stdout, done.stdout
    assert '"memory_early": 0' in done.stdout


def test_bench_memory_smoke() -> None:
    done = _run("-m", "scenarios.bench.memory", "--messages", "2000")
    assert done.returncode == 0, done.stderr
    assert "2,000 pending messages of 200 bytes: RSS" in done.stdout
    assert "beyond the body" in done.stdout


def test_bench_startup_smoke() -> None:
    """The start-up benchmark times real starts of this checkout and prints its verdict."""
    done = _run("-m", "scenarios.bench.startup", "--runs", "2")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("this checkout: median ") and "over 2 starts" in line
