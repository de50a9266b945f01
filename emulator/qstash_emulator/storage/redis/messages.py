"""Messages in Redis: per-tenant hashes, one due index shared by instances, claims, dedup ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from redis.commands.core import Script

from ...core.model import Message, State
from . import lua
from .availability import RedisUnavailable
from .base import RedisBase, tenant_of_segment, tenant_segment, text
from .codec import decode, encode
from .lease import Lease
from .pending import MARKER_TTL_MS
from .writes import LATE

PENDING = (State.CREATED, State.RETRY)


class RedisMessages:
    """`P:t:T:active` and `P:t:T:finished` (hashes id -> JSON with an `:order` zset), the due
    index `P:due` (zset "T\\n<id>" scored by due ms), `P:claims` (member -> instance making the
    attempt, see `Lease`) and `P:t:T:dedup:<key>` ("<expires at ms>|<message id>")."""

    def __init__(self, base: RedisBase, lease: Lease) -> None:
        self._base = base
        self._lease = lease
        self._release_one = Script(base.client, lua.RELEASE_ONE)
        self._release_all = Script(base.client, lua.RELEASE_CLAIMS)
        self._claim_dedup = Script(base.client, lua.CLAIM_DEDUP)
        self._decline_pop = Script(base.client, lua.DECLINE_POP)
        self._unsure_pops: list[str] = []  # markers of claims whose answer never came
        self._done_markers: list[str] = []  # markers of answered claims, deleted with the next

    def _member(self, tenant: str, message_id: str) -> str:
        return f"{tenant_segment(tenant)}\n{message_id}"

    def put_message(self, message: Message) -> None:
        if message.finished:
            kind = "f"
        elif message.state in PENDING:
            kind = "p"
        else:
            kind = "a" if message.state is State.ACTIVE else "o"
        self._base.writes.put_message(tenant_segment(message.tenant), message.message_id,
                                      encode(message), kind, message.due_at_ms)
        self._base.send_unless_deferred()

    def get_message(self, tenant: str, message_id: str) -> Message | None:
        # a message only ever moves from active to finished, so this order never misses one
        client = self._base.client
        raw = client.hget(self._base.tkey(tenant, "active"), message_id)
        if raw is None:
            raw = client.hget(self._base.tkey(tenant, "finished"), message_id)
        return None if raw is None else decode(Message, raw)

    def get_messages(self, wanted: Sequence[tuple[str, str]]) -> list[Message | None]:
        if not wanted:
            return []

        def reads(pipe: Any) -> None:
            for tenant, message_id in wanted:  # active first, as in get_message
                pipe.hget(self._base.tkey(tenant, "active"), message_id)
                pipe.hget(self._base.tkey(tenant, "finished"), message_id)

        raw = self._base.writes.send_with(reads)  # held-back writes ride along: one round trip
        found = [active if active is not None else finished
                 for active, finished in zip(raw[::2], raw[1::2], strict=True)]
        return [None if item is None else decode(Message, item) for item in found]

    def active_messages(self, tenant: str) -> Iterable[Message]:
        return self._base.list_ordered(self._base.tkey(tenant, "active"), Message)

    def pop_due(self, now_ms: int, limit: int) -> list[Message]:
        """Claim due messages. A claim whose answer never came is settled first: the
        messages it took (if Redis ran it) are returned now, so none stays claimed unseen."""
        recovered = self._settle_unsure_pops()
        key = self._base.key
        marker = key(f"pop:{uuid.uuid4().hex}")
        keys = [key("due"), key("claims"), key("instances"), marker]
        args = [now_ms, limit, self._lease.instance, self._base.prefix,
                self._base.writes.deadline_us(), MARKER_TTL_MS]
        done, self._done_markers = self._done_markers, []

        def commands(pipe: Any) -> None:
            if done:
                pipe.delete(*done)
            pipe.eval(lua.POP_DUE, 4, *keys, *args)

        try:
            raw = self._base.writes.send_with(commands)[-1]
        except RedisUnavailable as exc:
            self._done_markers += done
            if exc.sent:
                self._unsure_pops.append(marker)
            if recovered:  # already claimed: they must reach the caller
                return recovered
            raise
        self._done_markers.append(marker)
        return recovered + [self._pending(decode(Message, item)) for item in raw]

    def _settle_unsure_pops(self) -> list[Message]:
        taken: list[tuple[str, str]] = []
        while self._unsure_pops:
            members = self._decline_pop(keys=[self._unsure_pops[0]], args=[MARKER_TTL_MS])
            self._unsure_pops.pop(0)
            for member in (members or [])[1:]:
                segment, _, message_id = text(member).partition("\n")
                taken.append((tenant_of_segment(segment), message_id))
        found = self.get_messages(taken)
        return [self._pending(m) for m in found if m is not None and not m.finished]

    def release(self, tenant: str, message_id: str, now_ms: int) -> None:
        self._release_one(keys=[self._base.key("due"), self._base.key("claims")],
                          args=[self._lease.instance, now_ms, self._member(tenant, message_id)])

    def _pending(self, message: Message) -> Message:
        """A claimed message; one left ACTIVE by a dead instance is made pending again."""
        if message.state in PENDING:
            return message
        restored = replace(message, state=State.RETRY if message.retried else State.CREATED)
        self._base.client.hset(self._base.tkey(message.tenant, "active"), message.message_id,
                               encode(restored))
        return restored

    def next_due_ms(self) -> int | None:
        first = self._base.client.zrange(self._base.key("due"), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    def claim_dedup(
        self, tenant: str, key: str, message_id: str, now_ms: int, window_ms: int
    ) -> str | None:
        name = self._base.tkey(tenant, f"dedup:{key}")
        held = self._claim_dedup(
            keys=[name],
            args=[message_id, now_ms, now_ms + window_ms, max(window_ms, 1) * 6,
                  self._base.writes.deadline_us()],
        )
        if held == -1:
            raise RedisUnavailable(LATE)
        if held:
            return text(held)
        self._base.writes.claimed_dedup(name, message_id)
        return None

    # newest-first reads (the dashboard)
    def unfinished_count(self, tenant: str) -> int:
        return int(self._base.client.hlen(self._base.tkey(tenant, "active")))

    def message_page(self, tenant: str, finished: bool, start: int, count: int
                     ) -> list[Message]:
        key = self._base.tkey(tenant, "finished" if finished else "active")
        ids = self._base.client.zrevrange(f"{key}:order", start, start + count - 1)
        if not ids:
            return []
        return [decode(Message, item) for item in self._base.client.hmget(key, ids)
                if item is not None]

    def release_claims(self) -> None:
        """Give this instance's unfinished claims back to the due index and end its lease."""
        key = self._base.key
        self._release_all(keys=[key("due"), key("claims"), key("instances"), self._lease.key],
                          args=[self._lease.instance, 0])

    def reset(self, tenant: str | None) -> None:
        """Forget the due entries and claims of the tenant's messages (every one with None)."""
        due, claims = self._base.key("due"), self._base.key("claims")
        client = self._base.client
        if tenant is None:
            client.delete(due, claims)
            return
        ids = client.hkeys(self._base.tkey(tenant, "active"))
        members = [self._member(tenant, text(raw)) for raw in ids]
        if members:
            pipe = client.pipeline(transaction=False)
            pipe.zrem(due, *members)
            pipe.hdel(claims, *members)
            pipe.execute()
