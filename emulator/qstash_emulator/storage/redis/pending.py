"""The writes the Redis store holds back (see `writes.WriteBehind`), and how to undo the part of
them an operation that failed had queued."""

from __future__ import annotations

from dataclasses import dataclass, field

MARKER_TTL_MS = 10_000
"""How long a commit's marker (applied or declined) lives: well past any commit's deadline."""


@dataclass(frozen=True)
class Mark:
    """How much of each part of the queue there was at one moment."""

    messages: int
    appends: dict[str, int]
    charges: dict[str, list[int]]
    quota_tenants: set[str]
    increments: dict[tuple[str, str], int]
    claims: int


@dataclass
class PendingWrites:
    """What is queued; values for one key keep their order."""

    messages: list[bytes | str | int] = field(default_factory=list)
    """PUT_MESSAGES argument groups: tenant segment, id, json, kind, due ms."""
    appends: dict[str, list[bytes]] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    charges: dict[str, list[int]] = field(default_factory=dict)
    """usage key -> [count, ttl seconds]"""
    quota_tenants: set[str] = field(default_factory=set)
    increments: dict[tuple[str, str], int] = field(default_factory=dict)
    """(hash key, field) -> how much to add"""
    releases: list[tuple[str, str]] = field(default_factory=list)
    """(dedup key, message id): claims to give up (their publish failed), sent first"""
    claims: list[tuple[str, str]] = field(default_factory=list)
    """(dedup key, message id): claims made for the writes queued here, given up if they fail"""

    def __bool__(self) -> bool:
        return bool(
            self.messages or self.appends or self.charges or self.increments or self.releases
        )

    def mark(self) -> Mark:
        """Where the queue stands now, to go back to with `restore` (lists by their length)."""
        return Mark(
            len(self.messages),
            {k: len(v) for k, v in self.appends.items()},
            {k: list(v) for k, v in self.charges.items()},
            set(self.quota_tenants),
            dict(self.increments),
            len(self.claims),
        )

    def restore(self, mark: Mark) -> None:
        """Back to `mark`; dedup ids claimed since are given up."""
        self.releases += self.claims[mark.claims :]
        del self.claims[mark.claims :]
        del self.messages[mark.messages :]
        for key in list(self.appends):
            if key in mark.appends:
                del self.appends[key][mark.appends[key] :]
            else:
                del self.appends[key], self.limits[key]
        self.charges, self.quota_tenants = mark.charges, mark.quota_tenants
        self.increments = mark.increments

    def commit_args(
        self, deadline_us: int, marker: str, prefix: str, max_finished: int
    ) -> list[object]:
        """The COMMIT script's arguments."""
        args: list[object] = [
            deadline_us,
            marker,
            MARKER_TTL_MS,
            prefix,
            max_finished,
            len(self.releases),
        ]
        for key, message_id in self.releases:
            args += [key, message_id]
        args += [len(self.messages), *self.messages, len(self.appends)]
        for key, values in self.appends.items():
            args += [key, self.limits[key], len(values), *values]
        args.append(len(self.charges))
        for key, (count, ttl_s) in self.charges.items():
            args += [key, count, ttl_s]
        args.append(len(self.increments))
        for (key, name), count in self.increments.items():
            args += [key, name, count]
        return [*args, len(self.quota_tenants), *sorted(self.quota_tenants)]
