"""Every shipped scenario, run in smoke mode against a real emulator process.

A scenario is skipped only when it needs a feature this build lacks (`FeatureMissing`: a 404 on
its `/__emulator__/` path or `/v2/flowControl`, or no `qstash_queue.RequestQueue`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qstash_emulator.scenario_runner import FeatureMissing, load_scenario, prepare, run_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))
REQUIRED = {"burst", "quota_exhaustion_fallback", "idempotency_duplicates", "retries_to_dlq",
            "flow_control_smoothing"}


def test_the_required_scenarios_are_shipped() -> None:
    assert {path.stem for path in SHIPPED} >= REQUIRED


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_is_valid(path: Path) -> None:
    scenario = prepare(load_scenario(path), smoke=True)
    assert scenario.expect, "a scenario without expectations can never fail"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_passes_in_smoke_mode(path: Path) -> None:
    scenario = prepare(load_scenario(path), smoke=True)
    try:
        report = asyncio.run(run_scenario(scenario))
    except FeatureMissing as exc:
        pytest.skip(str(exc))
    failed = [check.describe() for check in report.checks if not check.ok]
    assert report.passed, f"{failed}; metrics {report.metrics}"
    assert report.metrics["published"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_EMULATOR_")}
    return subprocess.run([sys.executable, "-m", "qstash_emulator", "scenario", "run", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_cli_exit_status_follows_the_expectations(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "retries_to_dlq.toml").read_text()
    failing = tmp_path / "failing.toml"
    failing.write_text(text.replace('"dlq == published"', '"dlq == published + 1"'))
    passed = _cli(str(ROOT / "scenarios" / "retries_to_dlq.toml"), "--smoke", "--quiet")
    assert passed.returncode == 0, passed.stderr
    assert "PASSED" in passed.stdout
    failed = _cli(str(failing), "--smoke", "--quiet", "--json")
    assert failed.returncode == 1, failed.stderr
    assert '"passed": false' in failed.stdout


def test_cli_refuses_a_bad_scenario_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('expect = ["delivred == published"]\n[[phases]]\nrate = 1\nduration = 1\n')
    done = _cli(str(bad), "--quiet")
    assert done.returncode == 2
    assert "unknown metric 'delivred'" in done.stderr


def test_cli_writes_a_png_chart(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    chart = tmp_path / "chart.png"
    done = _cli(str(ROOT / "scenarios" / "trace_replay.toml"), "--quiet", "--plot", str(chart))
    assert done.returncode == 0, done.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("target", ["missing.toml", "."])
def test_cli_a_missing_file_or_a_directory_is_one_line_and_status_2(
    tmp_path: Path, target: str
) -> None:
    done = _cli(str(tmp_path / target), "--quiet")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("invalid scenario: ") and str(tmp_path) in line
    assert "Traceback" not in done.stderr


def test_cli_plot_without_matplotlib_is_refused_before_the_run(tmp_path: Path) -> None:
    blocked = ("import sys; sys.modules['matplotlib'] = None; "
               "from qstash_emulator.cli import main; main(sys.argv[1:])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_EMULATOR_")}
    done = subprocess.run(
        [sys.executable, "-c", blocked, "scenario", "run",
         str(ROOT / "scenarios" / "retries_to_dlq.toml"), "--plot", str(tmp_path / "c.png")],
        capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "--plot needs matplotlib: pip install 'qstash-emulator[plot]'"]
    assert done.stdout == ""  # nothing ran
