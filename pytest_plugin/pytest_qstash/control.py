"""`EmulatorControl`, the control-API client, where tests have always imported it from."""

from __future__ import annotations

from qstash_emulator.control import EmulatorControl

__all__ = ["EmulatorControl"]
