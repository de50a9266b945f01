"""The queue benchmark script runs (tiny size) and prints its four figures."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scenarios" / "bench_queue.py"


def test_bench_queue_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(SCRIPT))
    namespace["main"](["--jobs", "20"])
    out = capsys.readouterr().out
    assert out.count("jobs/s") == 4
    assert "destination received 80 requests" in out
