"""Run a scenario: an emulator process, the runner's destinations, traffic, then the verdict."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..clocks import wall_now, wall_wait
from ..control import AsyncEmulatorControl, FeatureUnavailable, window_limits
from ..core.tenants import DEFAULT_TOKEN
from .destination import DestinationServer
from .expect import Check, evaluate, unknown_names
from .features import FeatureMissing
from .fields import ScenarioError
from .launch import EmulatorHandle, start_emulator
from .metrics import METRICS, PublishRecord, RunData, summarize, timeline
from .model import Scenario
from .publishers import Publisher, make_publisher, require_publisher
from .traffic import Event, events_for

ProgressHook = Callable[[str, int, int], None]  # (stage, done, total)
FALLBACK_WAIT_S = 30.0
CONTROL_TIMEOUT_S = 600.0  # advancing the clock waits for every attempt that falls due


@dataclass(frozen=True)
class Report:
    """The outcome of a run: metrics, checked expectations and the timeline."""

    scenario: str
    clock: str
    speed: float
    metrics: dict[str, float | None]
    checks: tuple[Check, ...]
    timeline: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "clock": self.clock, "speed": self.speed,
            "passed": self.passed, "metrics": self.metrics,
            "checks": [{"expect": c.text, "ok": c.ok, "left": c.left, "right": c.right,
                        "error": c.error} for c in self.checks],
            "timeline": self.timeline,
        }


def prepare(scenario: Scenario, *, speed: float | None = None, virtual: bool = False,
            smoke: bool = False) -> Scenario:
    """Apply command-line overrides; check expectations only name known metrics."""
    if smoke:
        scenario = scenario.smoked()
    run = scenario.run
    if virtual:
        run = replace(run, clock="virtual")
    if speed is not None:
        run = replace(run, speed=speed)
    for text in scenario.expect:
        unknown = unknown_names(text, set(METRICS))
        if unknown:
            raise ScenarioError(f"expect: {text!r}: unknown metric {unknown[0]!r} "
                                f"(known: {', '.join(METRICS)})")
    return replace(scenario, run=run)


async def run_scenario(scenario: Scenario, *, url: str | None = None, token: str | None = None,
                       progress: ProgressHook | None = None) -> Report:
    """Run an already `prepare`d scenario. Raises `FeatureMissing` before any traffic."""
    require_publisher(scenario.publish)
    events = events_for(scenario)
    handle = (EmulatorHandle(url, token or DEFAULT_TOKEN) if url
              else await start_emulator(scenario.run, scenario.quota.plan))
    try:
        data = await _Run(scenario, handle, progress or (lambda *_: None)).execute(events)
    finally:
        handle.stop()
    metrics = summarize(data)
    checks = tuple(evaluate(text, metrics) for text in scenario.expect)
    return Report(scenario.name, scenario.run.clock, scenario.run.speed, metrics, checks,
                  timeline(data))


class _Run:
    def __init__(self, scenario: Scenario, handle: EmulatorHandle, progress: ProgressHook):
        self.s = scenario
        self.handle = handle
        self.progress = progress
        self.virtual = scenario.run.clock == "virtual"
        self.speed = 1.0 if self.virtual else scenario.run.speed
        self.control = AsyncEmulatorControl(handle.url, handle.token, timeout=CONTROL_TIMEOUT_S)
        self.rng = random.Random(scenario.run.seed)
        self.now_t = 0.0  # the scenario time the run has reached (virtual clock)
        self.data = RunData(self.virtual, self.speed, 0.0, 0)
        self.destinations = DestinationServer(scenario.destinations, now_t=self._scenario_t,
                                              speed=self.speed, seed=scenario.run.seed)
        self.publisher: Publisher | None = None
        self.semaphore = asyncio.Semaphore(scenario.publish.concurrency)

    def _scenario_t(self) -> float:
        return self.now_t if self.virtual else self.data.t_of_wall(wall_now())

    async def execute(self, events: list[Event]) -> RunData:
        await self.destinations.start()
        try:
            try:
                await self._configure()
            except FeatureUnavailable as exc:
                raise FeatureMissing(str(exc)) from None
            self.publisher = make_publisher(self.s.publish, self.handle.url, self.handle.token)
            self.data.emu0_ms = await self.control.now_ms()
            self.data.wall0 = wall_now()
            await (self._drive_virtual(events) if self.virtual else self._drive_real(events))
            await self._collect()
        finally:
            if self.publisher is not None:
                await self.publisher.close()
            await self.control.close()
            await self.destinations.stop()
        return self.data

    async def _configure(self) -> None:
        """Install quota, faults; probe every optional feature before the first publish."""
        s = self.s
        if s.quota.limits:
            await self.control.set_quota(**window_limits(s.quota.limits))
        for destination in s.destinations:
            if destination.fault:
                await self.control.add_fault(self.destinations.url_for(destination.name),
                                             **destination.fault)
        if s.outages:
            await self.control.end_outage()  # probe: 404 when the switch does not exist
        if s.publish.flow_control:
            await self.control.flow_controls()

    # -- traffic -------------------------------------------------------------------------

    async def _publish(self, seq: int, event: Event) -> None:
        assert self.publisher is not None
        low, high = self.s.publish.delay_s
        delay = self.rng.randint(low, high) if high else 0
        async with self.semaphore:
            start = self.now_t + self.data.emu0_ms / 1000 if self.virtual else wall_now()
            outcome = await self.publisher.publish(
                seq, self.destinations.url_for(event.destination), delay)
        self.data.publishes.append(PublishRecord(
            seq, event.t, event.destination, outcome.outcome, start, delay,
            outcome.message_id, outcome.backend))
        self.progress("publishing", len(self.data.publishes), self._total)

    async def _drive_virtual(self, events: list[Event]) -> None:
        self._total = len(events)
        tick = self.s.run.tick_s
        outages = _outage_actions(self.s)
        for tick_t, group in _ticks(events, tick):
            await self._advance_to(tick_t, outages)
            await asyncio.gather(*(self._publish(seq, e) for seq, e in group))
            await self._sample_quota()
        end = (events[-1].t if events else 0.0) + self.s.run.settle_s
        await self._advance_to(end, outages)
        self.progress("settling", 1, 1)
        await self._wait_fallback()

    async def _advance_to(self, t: float, outages: list[tuple[float, bool, Any]]) -> None:
        while outages and outages[0][0] <= t:
            at, start, body = outages.pop(0)
            await self._advance_to(at, [])
            await self._switch_outage(start, body)
        if t > self.now_t:
            now_ms = await self.control.advance(t - self.now_t)
            self.now_t = (now_ms - self.data.emu0_ms) / 1000

    async def _drive_real(self, events: list[Event]) -> None:
        self._total = len(events)
        sampler = asyncio.create_task(self._sample_forever())
        outage_task = asyncio.create_task(self._real_outages())
        tasks = []
        try:
            for seq, event in enumerate(events):
                await wall_wait(self.data.wall0 + event.t / self.speed - wall_now())
                tasks.append(asyncio.create_task(self._publish(seq, event)))
            await asyncio.gather(*tasks)
            await self._settle_real()
        finally:
            sampler.cancel()
            outage_task.cancel()
            await asyncio.gather(sampler, outage_task, return_exceptions=True)

    async def _real_outages(self) -> None:
        for at, start, body in _outage_actions(self.s):
            await wall_wait(self.data.wall0 + at / self.speed - wall_now())
            await self._switch_outage(start, body)

    async def _switch_outage(self, start: bool, body: Mapping[str, Any] | None) -> None:
        if start and body is not None:
            await self.control.start_outage(**body)
        else:
            await self.control.end_outage()

    async def _settle_real(self) -> None:
        """Wait until every job is delivered or dead, or `settle` scenario seconds passed
        (always the whole settle time when the scenario expects redeliveries)."""
        deadline = wall_now() + self.s.run.settle_s / self.speed
        redeliveries = any(d.duplicates or d.fault for d in self.s.destinations)
        while wall_now() < deadline:
            self.progress("settling", self.destinations.fresh, self._expected())
            if not redeliveries and await self._all_done():
                return
            await wall_wait(min(0.2, max(0.0, deadline - wall_now())))

    async def _all_done(self) -> bool:
        if self.destinations.fresh >= self._expected():
            return True
        return self.destinations.fresh + await self.control.dlq_count() >= self._expected()

    def _expected(self) -> int:
        return sum(1 for p in self.data.publishes if p.outcome in ("accepted", "fallback"))

    async def _wait_fallback(self) -> None:
        """Memory-fallback jobs are delivered by the client in real time: give them time."""
        fallback = sum(1 for p in self.data.publishes if p.outcome == "fallback")
        if not fallback:
            return
        deadline = wall_now() + FALLBACK_WAIT_S
        while wall_now() < deadline and not await self._all_done():
            await wall_wait(0.05)

    # -- measurements --------------------------------------------------------------------

    async def _sample_quota(self) -> None:
        if self.s.quota.empty:
            return
        remaining = _daily_remaining(await self.control.quota())
        if remaining is not None:
            self.data.quota_samples.append((self._scenario_t(), remaining))

    async def _sample_forever(self) -> None:
        while True:
            await self._sample_quota()
            await wall_wait(0.25)

    async def _collect(self) -> None:
        assert self.publisher is not None
        await self.publisher.close()
        self.data.queue_stats = await self.publisher.stats()
        self.publisher = None
        ours = {p.message_id for p in self.data.publishes if p.message_id}
        self.data.log = [r for r in await self.control.deliveries() if r.get("messageId") in ours]
        self.data.dlq = await self.control.dlq_count()
        self.data.arrivals = list(self.destinations.arrivals)
        self.data.wall_s = wall_now() - self.data.wall0


def _ticks(events: list[Event], tick: float) -> Iterable[tuple[float, list[tuple[int, Event]]]]:
    """Group events into ticks; each group is published at its tick's start."""
    groups: dict[int, list[tuple[int, Event]]] = {}
    for seq, event in enumerate(events):
        groups.setdefault(int(event.t // tick), []).append((seq, event))
    return ((index * tick, group) for index, group in sorted(groups.items()))


def _daily_remaining(quota: Mapping[str, Any]) -> float | None:
    """The daily window's remaining count from a `GET /__emulator__/quota` answer."""
    daily = quota.get("daily")
    remaining = daily.get("remaining") if isinstance(daily, dict) else None
    return float(remaining) if isinstance(remaining, int | float) else None


def _outage_actions(scenario: Scenario) -> list[tuple[float, bool, Any]]:
    """(time, start?, body) in time order: each outage starts and, with a duration, ends."""
    actions: list[tuple[float, bool, Any]] = []
    for outage in scenario.outages:
        actions.append((outage.at, True, outage.body))
        if outage.duration is not None:
            actions.append((outage.at + outage.duration, False, None))
    return sorted(actions, key=lambda a: (a[0], a[1]))


__all__ = ["FeatureMissing", "Report", "prepare", "run_scenario"]
