"""The overview (counters, delivery rate, quota gauges, the clock), the clock's buttons, and
the live stream every page listens to (Server-Sent Events, by sse-starlette)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from ..clocks import wall_wait
from ..core.errors import BadRequest
from ..core.ports import Clock
from ..core.service import Service
from . import format as fmt
from .counts import CountsCache
from .frame import View, counts_of, emulator_of, field, page, service_of, view_of
from .views import Figures, figures
from .workflows import runs_snapshot, runs_version

REFRESH_S = 1.0
"""How often (wall seconds) the stream looks at the counters; it sends only on a change."""
RATE_WINDOW_S = 3.0
PING_S = 15


@page("overview.html")
def overview(request: Request, view: View) -> dict[str, Any]:
    emulator = emulator_of(request)
    service = emulator.service
    return {
        "figures": figures(counts_of(request).counts(view.tenant.name)),
        "quota": service.quota_report(view.tenant.name),
        "next_due_ms": emulator.next_due_ms(),
        "store": emulator.store_name,
    }


async def advance(request: Request, view: View, form: FormData) -> str:
    emulator = emulator_of(request)
    now_ms = emulator.clock.now_ms()
    if field(form, "to") == "next":
        due_ms = emulator.next_due_ms()
        if due_ms is None:
            return "nothing is due"
        seconds = max(0, due_ms - now_ms) / 1000
    else:
        seconds = _seconds(field(form, "seconds"))
    await emulator.advance(seconds)
    moved_s = round((emulator.clock.now_ms() - now_ms) / 1000)
    return f"clock advanced by {fmt.span(moved_s)} to {fmt.when(emulator.clock.now_ms())}"


def _seconds(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise BadRequest(f"seconds must be a number, not {raw!r}") from None


async def stream(request: Request) -> Response:
    """`data:` a JSON snapshot of the tenant's counters whenever one of them changed; with
    `runs=1` (the workflow pages) the counts of runs by state too."""
    view = view_of(request)
    emulator = emulator_of(request)
    with_runs = request.query_params.get("runs") == "1"
    snapshots = _snapshots(service_of(request), counts_of(request), emulator.clock,
                           view.tenant.name, with_runs)
    return EventSourceResponse(snapshots, ping=PING_S)


async def _snapshots(service: Service, cache: CountsCache, clock: Clock, tenant: str,
                     with_runs: bool) -> AsyncIterator[dict[str, str]]:
    rate = DeliveryRate(RATE_WINDOW_S)
    last: dict[str, str] = {}
    while True:
        shown = figures(cache.counts(tenant))
        current = snapshot(shown, rate.update(clock.wall(), shown.delivered), clock.now_ms())
        if with_runs:
            counts = service.workflow_run_counts(tenant)
            current |= runs_snapshot(counts)
            current["version"] += runs_version(counts)
        if current != last:
            yield {"data": json.dumps(current)}
            last = current
        await wall_wait(REFRESH_S)


def snapshot(shown: Figures, per_second: float, now_ms: int) -> dict[str, str]:
    return {
        "version": shown.version, "pending": fmt.number(shown.pending),
        "delivered": fmt.number(shown.delivered), "failed": fmt.number(shown.failed),
        "dlq": fmt.number(shown.dlq), "rate": f"{per_second:,.1f}", "clock": fmt.when(now_ms),
    }


class DeliveryRate:
    """Deliveries per second over the last `window_s` wall seconds of samples."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, wall_s: float, delivered: int) -> float:
        self._samples.append((wall_s, delivered))
        while wall_s - self._samples[0][0] > self._window_s:
            self._samples.popleft()
        first_s, first = self._samples[0]
        if wall_s <= first_s or delivered < first:
            return 0.0
        return (delivered - first) / (wall_s - first_s)
