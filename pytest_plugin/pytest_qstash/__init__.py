"""Pytest helpers for testing code against the local QStash emulator.

Names are imported lazily so that the autoloaded plugin costs almost nothing at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AppServers": "pytest_qstash.apps",
    "DockerEmulator": "pytest_qstash.container",
    "EmulatorClock": "pytest_qstash.clock",
    "EmulatorControl": "qstash_emulator.control",
    "EmulatorServer": "pytest_qstash.server",
    "Endpoint": "pytest_qstash.endpoint",
    "Faults": "pytest_qstash.harness",
    "FreezableClock": "pytest_qstash.clock",
    "Outage": "pytest_qstash.harness",
    "QStashSettings": "pytest_qstash.options",
    "Quota": "pytest_qstash.harness",
    "RecordedRequest": "pytest_qstash.endpoint",
    "ServerPool": "pytest_qstash.pool",
    "ServerThread": "pytest_qstash.serving",
    "serve_app": "pytest_qstash.apps",
    "Switch": "pytest_qstash.harness",
    "Tenant": "pytest_qstash.pool",
    "WorkflowRun": "pytest_qstash.workflow",
    "WorkflowRunner": "pytest_qstash.workflow",
    "WorkflowStep": "pytest_qstash.workflow",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_qstash' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
