"""Backends: QStash through the official SDK, and the in-process memory worker."""

from __future__ import annotations

from .memory import LoopThread, MemoryBackend
from .qstash import PROMPT_RETRY, AsyncQStashBackend, QStashBackend

__all__ = ["PROMPT_RETRY", "AsyncQStashBackend", "LoopThread", "MemoryBackend", "QStashBackend"]
