"""What a scenario can need that an emulator or environment may lack."""

from __future__ import annotations


class FeatureMissing(RuntimeError):
    """The scenario needs something this emulator or environment does not have."""
