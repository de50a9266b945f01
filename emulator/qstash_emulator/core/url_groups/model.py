"""URL groups ("topics") as values: a named set of endpoints."""

from __future__ import annotations

from dataclasses import dataclass


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
