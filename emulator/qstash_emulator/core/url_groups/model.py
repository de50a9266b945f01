"""URL groups ("topics") as values: a named set of endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class GroupEndpoint:
    """One endpoint of a URL group."""

    url: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class UrlGroup:
    """A named set of endpoints ("topic"); publishing to its name fans out to each."""

    tenant: str
    name: str
    created_at_ms: int
    updated_at_ms: int
    endpoints: tuple[GroupEndpoint, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    """Default publish headers: every publish to the group carries them unless it sets its own
    (`Upstash-Forward-*` headers reach the endpoints, `Upstash-*` settings apply)."""
