"""`python -m scenarios.bench.ui` runs and prints its figures (tiny sizes, no browser)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ui_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.bench.ui", "--messages", "200", "--stored", "500",
         "--rounds", "1", "--requests", "2", "--no-browser"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines if "publish/s" in line] == ["no", "SSE", "SSE"]
    assert sum("median" in line and "ms" in line for line in lines) == 6
