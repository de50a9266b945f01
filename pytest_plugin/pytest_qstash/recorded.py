"""What a recording endpoint keeps of each request, and how a test's expectations are matched
against the recorded requests (with the near misses listed when none matches)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_MAX_LISTED = 20
_MAX_REPR = 120


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by an :class:`Endpoint`.

    Header names are stored lower-cased; repeated headers are joined with ``", "``.

    Example::

        req = endpoint.wait_for(1)[0]
        assert req.header("Content-Type") == "application/json"
        assert req.json() == {"hello": "world"}
    """

    method: str
    url: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    status: int = 0
    signature_valid: bool | None = None
    signature_error: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())




@dataclass(frozen=True)
class Criteria:
    body: object | None
    headers: dict[str, str] | None
    path: str | None
    method: str | None

    def select(self, requests: list[RecordedRequest]) -> list[RecordedRequest]:
        return [r for r in requests if not self.mismatches(r)]

    def mismatches(self, req: RecordedRequest) -> list[str]:
        problems: list[str] = []
        if self.method is not None and req.method != self.method.upper():
            problems.append(f"method: got {req.method} want {self.method.upper()}")
        if self.path is not None and req.path != self.path:
            problems.append(f"path: got {req.path!r} want {self.path!r}")
        if self.body is not None:
            problems.extend(_body_mismatch(req.body, self.body))
        for name, want in (self.headers or {}).items():
            got = req.header(name)
            if got != want:
                problems.append(f"header {name.lower()}: got {_short(got)} want {_short(want)}")
        return problems

    def describe(self) -> str:
        parts = [
            f"{label}={_short(value)}"
            for label, value in (
                ("method", self.method),
                ("path", self.path),
                ("headers", self.headers),
                ("body", self.body),
            )
            if value is not None
        ]
        return "{" + ", ".join(parts) + "}" if parts else "{any}"


def _body_mismatch(got: bytes, want: object) -> list[str]:
    if isinstance(want, bytes | str):
        expected = to_bytes(want)
        if got == expected:
            return []
        return [f"body differs: got {_short(got)} want {_short(expected)}"]
    try:
        parsed = json.loads(got)
    except ValueError:
        return [f"body is not JSON: got {_short(got)}"]
    if parsed == want:
        return []
    return [f"JSON body differs: got {_short(parsed)} want {_short(want)}"]


def near_misses(criteria: Criteria, requests: list[RecordedRequest]) -> str:
    if not requests:
        return ""
    lines = []
    for req in requests[:_MAX_LISTED]:
        problems = criteria.mismatches(req)
        lines.append(f"  {_label(req)}: {' ; '.join(problems) if problems else 'matches'}")
    if len(requests) > _MAX_LISTED:
        lines.append(f"  ... and {len(requests) - _MAX_LISTED} more")
    return ":\n" + "\n".join(lines)


def listing(requests: list[RecordedRequest]) -> str:
    if not requests:
        return "no requests were recorded"
    lines = [f"  {_label(r)} -> {r.status} body={_short(r.body)}" for r in requests[:_MAX_LISTED]]
    if len(requests) > _MAX_LISTED:
        lines.append(f"  ... and {len(requests) - _MAX_LISTED} more")
    return "recorded:\n" + "\n".join(lines)


def _label(req: RecordedRequest) -> str:
    return f"{req.method} {req.path}" + (f"?{req.query}" if req.query else "")


def _short(value: object) -> str:
    text = repr(value)
    if len(text) <= _MAX_REPR:
        return text
    return f"{text[:_MAX_REPR]}... ({len(text)} chars)"


def norm_path(path: str | None) -> str | None:
    if path is None:
        return None
    return path if path.startswith("/") else f"/{path}"


def to_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
