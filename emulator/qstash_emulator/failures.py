"""How the emulator reports a failure it survives: one log line naming the cause, with the
traceback only when the failure is a bug (not the store or the network failing)."""

from __future__ import annotations

import logging

from .core.errors import StoreUnavailable

LOG = logging.getLogger("qstash_emulator")
OUTSIDE_MODULES = frozenset({"redis", "aiohttp"})


def outside_failure(exc: BaseException) -> bool:
    """A failure of something outside the emulator (the store, the network), not a bug."""
    module = type(exc).__module__.split(".")[0]
    outside = (OSError, TimeoutError, StoreUnavailable)
    return isinstance(exc, outside) or module in OUTSIDE_MODULES


def report(what: str, exc: BaseException) -> None:
    """Log `what` failed: one line for an outside failure, with the traceback for a bug."""
    if outside_failure(exc):
        LOG.error("%s: %s: %s", what, type(exc).__name__, exc)
    else:
        LOG.error("%s: unexpected %s: %s", what, type(exc).__name__, exc, exc_info=exc)
