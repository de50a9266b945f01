"""The queue benchmark runs (tiny size) and prints its four figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_bench_queue_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.bench.request_queue", "--jobs", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("jobs/s") == 4
    assert "destination received 80 requests" in done.stdout
