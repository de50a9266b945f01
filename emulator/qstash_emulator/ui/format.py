"""How the dashboard writes values: times, durations, bodies and headers (no web library)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

BODY_PREVIEW_CHARS = 200
UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def when(timestamp_ms: int | None) -> str:
    """`2024-05-01 12:00:03.250` (UTC), or an em dash for no time."""
    if timestamp_ms is None:
        return "—"
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{timestamp_ms % 1000:03d}"


def relative(timestamp_ms: int | None, now_ms: int) -> str:
    """`in 5m`, `3s ago` or `now`, against the emulator's clock."""
    if timestamp_ms is None:
        return ""
    delta_s = round((timestamp_ms - now_ms) / 1000)
    if delta_s == 0:
        return "now"
    return f"in {span(delta_s)}" if delta_s > 0 else f"{span(-delta_s)} ago"


def span(seconds: int) -> str:
    """`1d 2h`, `5m 3s`, `12s`: the two largest units."""
    parts: list[str] = []
    for unit, size in UNITS:
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def text_of(body: bytes) -> str:
    """A body as text: pretty-printed when it is JSON, UTF-8 with replacements otherwise."""
    decoded = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(decoded), indent=2, ensure_ascii=False)
    except ValueError:
        return decoded


def pretty(text: str) -> str:
    """`text_of` for text already decoded (a workflow step's result)."""
    return text_of(text.encode())


def preview(body: bytes, limit: int = BODY_PREVIEW_CHARS) -> str:
    """The start of a body on one line."""
    flat = " ".join(body.decode("utf-8", errors="replace").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def number(value: int | float | None) -> str:
    """`12,345`, or `∞` for no limit."""
    if value is None:
        return "∞"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def percent(used: int, limit: int | None) -> int:
    """How full a quota window is, 0..100 (0 without a limit)."""
    if not limit:
        return 100 if limit == 0 else 0
    return min(100, round(100 * used / limit))
