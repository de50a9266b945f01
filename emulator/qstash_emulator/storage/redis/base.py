"""What every area of the Redis store shares: the client, the write queue and the key layout."""

from __future__ import annotations

from typing import Any, TypeVar

import redis
from redis.commands.core import Script

from . import lua
from .availability import Availability
from .codec import decode, encode
from .writes import WriteBehind, WritesFirst

T = TypeVar("T")


def tenant_segment(tenant: str) -> str:
    """`tenant` made safe as one `:`-separated key segment (no `:` or newline in it)."""
    return tenant.replace("%", "%25").replace(":", "%3A").replace("\n", "%0A")


def tenant_of_segment(segment: str) -> str:
    return segment.replace("%0A", "\n").replace("%3A", ":").replace("%25", "%")


def glob_escape(pattern: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in pattern)


def text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisBase:
    """The plumbing the areas share.

    `client` sends the writes held back in `writes` before any command of its own, so Redis
    sees this process's writes in the order they were made; `raw` skips that (for commands
    whose order does not matter). Keys are `<prefix>:<name>` for emulator-wide structures and
    `<prefix>:t:<tenant segment>:<kind>` for a tenant's.
    """

    def __init__(self, client: redis.Redis, prefix: str, max_finished: int,
                 availability: Availability | None = None) -> None:
        self.prefix = prefix
        self.raw = client
        self.writes = WriteBehind(client, prefix, max_finished, availability)
        ordered: Any = WritesFirst(client, self.writes)
        self.client = ordered
        self._put_ordered = Script(ordered, lua.PUT_ORDERED)
        self._list_ordered = Script(ordered, lua.LIST_ORDERED)
        self._delete_ordered = Script(ordered, lua.DELETE_ORDERED)

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def tkey(self, tenant: str, kind: str) -> str:
        return f"{self.prefix}:t:{tenant_segment(tenant)}:{kind}"

    def send_unless_deferred(self) -> None:
        """Messages, log entries and usage counts all go through the write queue; outside
        `deferred()` it is sent at once."""
        if not self.writes.deferring:
            self.writes.flush()

    # insertion-ordered hashes of JSON values: `<hash>` plus its order zset `<hash>:order`
    def put_ordered(self, hash_key: str, item_id: str, value: object) -> None:
        self._put_ordered(keys=[hash_key, f"{hash_key}:order", self.key("order")],
                          args=[item_id, encode(value)])

    def get_ordered(self, hash_key: str, item_id: str, cls: type[T]) -> T | None:
        raw = self.client.hget(hash_key, item_id)
        return None if raw is None else decode(cls, raw)

    def delete_ordered(self, hash_key: str, item_id: str) -> bool:
        return bool(self._delete_ordered(keys=[hash_key, f"{hash_key}:order"], args=[item_id]))

    def list_ordered(self, hash_key: str, cls: type[T]) -> list[T]:
        raw = self._list_ordered(keys=[hash_key, f"{hash_key}:order"])
        return [decode(cls, item) for item in raw]

    def append(self, key: str, value: bytes, limit: int) -> None:
        """Append to a list of JSON values that keeps its newest `limit` entries."""
        self.writes.append(key, value, limit)
        self.send_unless_deferred()

    def delete_matching(self, pattern: str) -> None:
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)

    def delete_tenant(self, tenant: str | None) -> None:
        """Delete every per-tenant key of one tenant (of every tenant with None)."""
        if tenant is None:
            self.delete_matching(f"{glob_escape(self.prefix)}:t:*")
        else:
            self.delete_matching(glob_escape(self.tkey(tenant, "")) + "*")
