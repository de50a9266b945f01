"""`python -m scenarios.bench.gates` runs on its own and prints one figure per case."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_bench_gates_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.bench.gates", "--messages", "300"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "ungated", "queue (parallelism 100)", "flow key (parallelism 100)"]
    assert all("messages/s" in line for line in lines)
