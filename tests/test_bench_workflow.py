"""`scenarios/bench_workflow.py` runs on its own and prints its figures as one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_bench_workflow_smoke() -> None:
    paths = [str(ROOT / part) for part in ("emulator", "pytest_plugin")]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scenarios" / "bench_workflow.py"), "--steps", "2",
         "--runs", "1", "--json"],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT / "scenarios",
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert (figures["steps"], figures["deliveries_per_run"]) == (2, 3)
    assert figures["overhead_ms_per_step"] > 0 and figures["week_sleep_wall_ms"] > 0
    assert figures["core_ms_per_step"] > 0 and figures["core_ms_per_plain_message"] > 0
