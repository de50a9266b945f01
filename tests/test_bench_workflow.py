"""`python -m scenarios.bench.workflow` runs on its own and prints its figures as one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_bench_workflow_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.bench.workflow", "--steps", "2", "--runs", "1",
         "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert (figures["steps"], figures["deliveries_per_run"]) == (2, 3)
    assert figures["overhead_ms_per_step"] > 0 and figures["week_sleep_wall_ms"] > 0
    assert figures["core_ms_per_step"] > 0 and figures["core_ms_per_plain_message"] > 0
