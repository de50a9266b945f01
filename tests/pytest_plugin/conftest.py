"""Helpers for running downstream test files with `pytester` against our plugin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_qstash.server import EmulatorServer
from qstash_emulator.control import EmulatorControl

ROOT = Path(__file__).parents[2]
EXAMPLES = Path(__file__).parent / "examples"
# The example files are downstream tests: they run through pytester, not in our own session.
collect_ignore = ["examples"]

PYTHONPATH = os.pathsep.join(str(ROOT / part) for part in ("emulator", "client", "pytest_plugin"))
# Keep the outer run's environment from steering the downstream runs.
_PLUGIN_ENV = (
    "QSTASH_EMULATOR_URL", "QSTASH_EMULATOR_CLOCK", "QSTASH_EMULATOR_PLAN",
    "QSTASH_EMULATOR_DAILY_QUOTA", "QSTASH_EMULATOR_MONTHLY_QUOTA", "QSTASH_EMULATOR_BURST_RATE",
    "QSTASH_URL", "QSTASH_TOKEN", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
)


@pytest.fixture
def downstream(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose subprocess runs import this worktree's packages first."""
    inherited = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([PYTHONPATH, inherited]))
    for name in _PLUGIN_ENV:
        monkeypatch.delenv(name, raising=False)
    return pytester


@pytest.fixture
def needs_harness(server: EmulatorServer) -> None:
    """Skip (only) when the emulator answers 404 for the quota/outage/fault API."""
    with EmulatorControl(server.url) as control:
        if not control.supports_harness():
            pytest.skip("the emulator has no /__emulator__/ quota/outage/fault API yet (404)")
