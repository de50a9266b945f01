"""qstash-emulator: a local, offline emulator and test harness for Upstash QStash."""

from __future__ import annotations

from .app import create_app
from .clocks import SystemClock, VirtualClock
from .control import AsyncEmulatorControl, ControlError, EmulatorControl, FeatureUnavailable
from .emulator import VERSION, Emulator
from .settings import Settings

__all__ = [
    "VERSION", "AsyncEmulatorControl", "ControlError", "Emulator", "EmulatorControl",
    "FeatureUnavailable", "Settings", "SystemClock", "VirtualClock", "create_app",
]
