"""Small helpers for header maps: canonical names, booleans, query-string splitting."""

from __future__ import annotations

from urllib.parse import unquote_plus

from . import protocol


def canonical(name: str) -> str:
    """`x-test-header` -> `X-Test-Header` (HTTP/1.1 servers hand us lower-cased names)."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def parse_bool(value: str, field: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0", ""):
        return False
    raise ValueError(f"invalid {field}: {value!r} is not a boolean")


def split_query(raw_query: str) -> tuple[dict[str, str], str]:
    """Split a publish query string into QStash config (`upstash-*`) and the destination's query.

    `qstash_token` is dropped; everything else stays, byte for byte, on the destination.
    """
    config: dict[str, str] = {}
    kept: list[str] = []
    for part in raw_query.split("&") if raw_query else ():
        name, _, value = part.partition("=")
        key = unquote_plus(name).lower()
        if key == "qstash_token":
            continue
        if key.startswith(protocol.CONFIG_PREFIX):
            config.setdefault(key, unquote_plus(value))
        else:
            kept.append(part)
    return config, "&".join(kept)
