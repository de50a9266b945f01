"""`scenarios/bench_gates.py` runs on its own and prints one figure per case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_bench_gates_smoke() -> None:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(
        [str(ROOT / "emulator"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scenarios" / "bench_gates.py"), "--messages", "300"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "ungated", "queue (parallelism 100)", "flow key (parallelism 100)"]
    assert all("messages/s" in line for line in lines)
