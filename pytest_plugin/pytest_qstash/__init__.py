"""Pytest helpers for testing code against the local QStash emulator.

Names are imported lazily so that the autoloaded plugin costs almost nothing at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EmulatorControl": "pytest_qstash.control",
    "EmulatorServer": "pytest_qstash.server",
    "Endpoint": "pytest_qstash.endpoint",
    "RecordedRequest": "pytest_qstash.endpoint",
    "ServerThread": "pytest_qstash.serving",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_qstash' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
