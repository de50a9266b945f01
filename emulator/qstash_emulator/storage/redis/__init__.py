"""The Redis store: every area in Redis under one key prefix, shared by restarts and instances.

Each area is one module here (messages, history, gates, usage, config, harness) over the
shared plumbing in `base` (client, key layout), `writes` (writes held back and sent together),
`lease` (which instance is alive), `lua` (the atomic operations) and `codec` (JSON).
"""

from __future__ import annotations

from .store import DEFAULT_PREFIX, RedisStore

__all__ = ["DEFAULT_PREFIX", "RedisStore"]
