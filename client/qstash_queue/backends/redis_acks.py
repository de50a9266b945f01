"""Acknowledging finished stream entries in batches.

A worker acknowledges and deletes each delivered entry (`XACK` + `XDEL`). Sent one by one, those
round trips cost as much as the deliveries themselves; an `AckBatcher` sends whatever finished
while its previous batch was on the wire, so a busy worker acknowledges many entries per round
trip and an idle one still acknowledges at once. An entry whose acknowledgement is lost (the
process dies first, or Redis fails) stays pending and is delivered again after the lease: the
at-least-once promise does not depend on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

logger = logging.getLogger("qstash_queue.redis_fallback")
RETRY_AFTER_ERROR_S = 1.0


class AckBatcher:
    """Collects finished entry ids and acknowledges them, many per round trip."""

    def __init__(self, client: Callable[[], aioredis.Redis], stream: str, group: str) -> None:
        self._client, self._stream, self._group = client, stream, group
        self._ids: list[str] = []
        self._ready = asyncio.Event()

    def add(self, entry_id: str) -> None:
        self._ids.append(entry_id)
        self._ready.set()

    async def run(self) -> None:
        """Send batches as ids come (a task of the worker)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            try:
                await self.flush()
            except Exception:
                logger.exception("acknowledging fallback entries failed; trying again")
                await asyncio.sleep(RETRY_AFTER_ERROR_S)
                self._ready.set()

    async def flush(self) -> None:
        """Acknowledge and delete every id collected so far (put back if Redis fails)."""
        ids, self._ids = self._ids, []
        if not ids:
            return
        try:
            pipe = self._client().pipeline(transaction=True)
            pipe.xack(self._stream, self._group, *ids)
            pipe.xdel(self._stream, *ids)
            await pipe.execute()
        except BaseException:
            self._ids[:0] = ids
            raise
