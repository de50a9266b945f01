"""The pytest plugin (entry point `qstash`). Fixtures arrive with the plugin issue."""

from __future__ import annotations
