"""Idempotency records: the first result of a delivery, replayed to its duplicates.

A delivery first `begin`s its key. `new` means run the handler, then `finish` (success) or
`abandon` (failure, so that the retry runs it again). `done` carries the stored first reply.
`busy` means the same key is running right now elsewhere (answered 409, QStash retries later).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .clock import wall_ms

DEFAULT_RESULT_TTL_S = 7 * 24 * 3600
DEFAULT_LEASE_S = 60.0


@dataclass(frozen=True)
class StoredReply:
    """The reply a handler gave the first time."""

    status: int
    body: bytes
    content_type: str = "application/json"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "content_type": self.content_type,
                "body": base64.b64encode(self.body).decode()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredReply:
        return cls(int(data["status"]), base64.b64decode(data["body"]), str(data["content_type"]))


@dataclass(frozen=True)
class Claim:
    """The outcome of `begin`: run it (`new`), replay (`done`) or come back later (`busy`)."""

    kind: Literal["new", "done", "busy"]
    reply: StoredReply | None = None


class IdempotencyStore(Protocol):
    """Records keyed by delivery id; every method is atomic and thread-safe."""

    def begin(self, key: str) -> Claim: ...

    def finish(self, key: str, reply: StoredReply) -> None: ...

    def abandon(self, key: str) -> None: ...

    def close(self) -> None: ...


class MemoryIdempotencyStore:
    """Records in this process; a running claim expires after `lease_s`, results after `ttl_s`."""

    blocking = False

    def __init__(
        self, ttl_s: float = DEFAULT_RESULT_TTL_S, lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.ttl_s, self.lease_s = ttl_s, lease_s
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, tuple[int, StoredReply | None]] = {}

    def begin(self, key: str) -> Claim:
        with self._lock:
            now = self._clock()
            record = self._records.get(key)
            if record is not None and record[0] > now:
                reply = record[1]
                return Claim("busy") if reply is None else Claim("done", reply)
            self._records[key] = (now + int(self.lease_s * 1000), None)
            return Claim("new")

    def finish(self, key: str, reply: StoredReply) -> None:
        with self._lock:
            self._records[key] = (self._clock() + int(self.ttl_s * 1000), reply)

    def abandon(self, key: str) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is not None and record[1] is None:
                del self._records[key]

    def close(self) -> None:
        """Nothing to release."""
