"""A client for the emulator's `/__emulator__/` control API, with a sync and an async face.

>>> from qstash_emulator.control import EmulatorControl
>>> with EmulatorControl("http://127.0.0.1:8080", token="my-token") as control:  # doctest: +SKIP
...     control.set_quota(daily=2)
...     control.advance(3600)
"""

from __future__ import annotations

from .calls import ControlError, FeatureUnavailable, QuotaLimits, WindowLimits, window_limits
from .clients import AsyncEmulatorControl, EmulatorControl

__all__ = [
    "AsyncEmulatorControl", "ControlError", "EmulatorControl", "FeatureUnavailable",
    "QuotaLimits", "WindowLimits", "window_limits",
]
