"""Pytest helpers for testing code against the local QStash emulator."""

from __future__ import annotations

from pytest_qstash.endpoint import Endpoint, RecordedRequest
from pytest_qstash.serving import ServerThread

__all__ = ["Endpoint", "RecordedRequest", "ServerThread"]
