"""Calling store methods from asyncio code: in a worker thread only when they block.

In-memory stores and limiters say `blocking = False` and are called directly on the event loop
(their locks are held for microseconds); anything else (Redis) runs in `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def is_blocking(*parts: object) -> bool:
    """True if any of `parts` (None ignored) may block on I/O."""
    return any(getattr(part, "blocking", True) for part in parts if part is not None)


async def offload(blocking: bool, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)`, in a worker thread when `blocking`."""
    if blocking:
        return await asyncio.to_thread(func, *args, **kwargs)
    return func(*args, **kwargs)
