"""qstash-emulator: a local, offline emulator and test harness for Upstash QStash.

The names below are imported on first use, so that `import qstash_emulator.cli` (the
command line) or a pytest run that never starts an emulator does not load the whole server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .clocks import SystemClock, VirtualClock
    from .control import AsyncEmulatorControl, ControlError, EmulatorControl, FeatureUnavailable
    from .emulator import VERSION, Emulator
    from .settings import Settings

__all__ = [
    "VERSION", "AsyncEmulatorControl", "ControlError", "Emulator", "EmulatorControl",
    "FeatureUnavailable", "Settings", "SystemClock", "VirtualClock", "create_app",
]

_HOMES = {
    "create_app": ".app", "SystemClock": ".clocks", "VirtualClock": ".clocks",
    "AsyncEmulatorControl": ".control", "ControlError": ".control",
    "EmulatorControl": ".control", "FeatureUnavailable": ".control", "VERSION": ".emulator",
    "Emulator": ".emulator", "Settings": ".settings",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
