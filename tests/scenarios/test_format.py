"""The scenario format: validation names the bad field; smoke scaling; traffic shapes; traces."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from qstash_emulator.scenario_runner.model import Phase, ScenarioError, parse_scenario
from qstash_emulator.scenario_runner.traffic import events_for, load_trace, phase_times

BASE = {"phases": [{"rate": 10, "duration": 2}]}


def test_defaults_give_one_destination_and_real_clock() -> None:
    scenario = parse_scenario(BASE)
    assert [d.name for d in scenario.destinations] == ["app"]
    assert scenario.run.clock == "real"
    assert scenario.publish.via == "sdk"
    assert len(events_for(scenario)) == 20


@pytest.mark.parametrize(("data", "message"), [
    ({"phases": [{"rate": 10, "duration": 2, "rat": 1}]}, "phases[0].rat: unknown field"),
    ({"phases": [{"rate": 10, "duration": 2, "shape": "square"}]}, "phases[0].shape"),
    ({"phases": [{"rate": -1, "duration": 2}]}, "phases[0].rate"),
    ({"phases": [{"rate": 1, "duration": "forever"}]}, "phases[0].duration"),
    ({"phases": [{"rate": 1, "duration": 1, "destination": "nope"}]}, "unknown destination"),
    ({}, "either [[phases]] or trace"),
    (BASE | {"trace": "x.csv"}, "either [[phases]] or trace"),
    (BASE | {"run": {"clock": "sundial"}}, "run.clock"),
    (BASE | {"publish": {"via": "carrier-pigeon"}}, "publish.via"),
    (BASE | {"publish": {"delay": [3, 1]}}, "publish.delay"),
    (BASE | {"destinations": {"a": {"statuses": [42]}}}, "destinations.a.statuses"),
    (BASE | {"destinations": {"a": {"duplicates": 2}}}, "destinations.a.duplicates"),
    (BASE | {"destinations": {"a": {"fault": {"explode": True}}}}, "destinations.a.fault.explode"),
    (BASE | {"quota": {"daily": "lots"}}, "quota.daily"),
    (BASE | {"outages": [{"mode": "error"}]}, "outages[0]"),
    (BASE | {"outages": [{"at": 1, "mode": "error", "state": 503}]}, "outages[0].state"),
    (BASE | {"extra": 1}, "extra: unknown field"),
])
def test_bad_scenarios_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_scenario(data)


def test_durations_accept_numbers_go_and_qstash_forms() -> None:
    scenario = parse_scenario(BASE | {"run": {"settle": "1d", "tick": "250ms"}})
    assert scenario.run.settle_s == 86400
    assert scenario.run.tick_s == 0.25
    assert parse_scenario(BASE | {"run": {"settle": "1m30s"}}).run.settle_s == 90


def test_smoke_scales_phases_and_settle() -> None:
    data = {"phases": [{"shape": "spike", "rate": 10, "peak": 100, "duration": 10, "at": 4}],
            "smoke": {"duration_scale": 0.5, "rate_scale": 0.2, "settle": 3}}
    smoked = parse_scenario(data).smoked()
    phase = smoked.phases[0]
    assert (phase.rate, phase.peak, phase.duration, phase.at, phase.width) == (2, 20, 5, 2, 0.5)
    assert smoked.run.settle_s == 3


def test_constant_is_evenly_spaced() -> None:
    times = phase_times(Phase("constant", 4, 2, "app"))
    assert times == [0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_ramp_accelerates_from_rate_to_to_rate() -> None:
    times = phase_times(Phase("ramp", 10, 10, "app", to_rate=30))
    assert len(times) == 200
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] > gaps[-1] > 0
    assert sum(1 for t in times if t < 5) < sum(1 for t in times if t >= 5)


def test_spike_is_ten_times_the_base_rate_by_default() -> None:
    times = phase_times(Phase("spike", 20, 10, "app", width=1))
    inside = [t for t in times if 4.5 <= t < 5.5]
    before = [t for t in times if 3.5 <= t < 4.5]
    assert len(inside) == 200
    assert len(before) == 20
    assert len(times) == 20 * 9 + 200


def test_poisson_is_seeded_and_near_its_rate() -> None:
    phase = Phase("poisson", 50, 20, "app")
    first = phase_times(phase, random.Random(5))
    assert first == phase_times(phase, random.Random(5))
    assert first != phase_times(phase, random.Random(6))
    assert 850 < len(first) < 1150
    assert first == sorted(first) and first[-1] < 20


def test_csv_trace_is_shifted_to_zero_and_sorted(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,destination\n1000.5,b\n1000.0,a\n1002,\n")
    events = load_trace(trace, default="a", names={"a", "b"})
    assert [(e.t, e.destination) for e in events] == [(0.0, "a"), (0.5, "b"), (2.0, "a")]


def test_jsonl_trace_and_its_errors(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"t": 3, "destination": "a"}\n\n{"t": 1}\n')
    assert [e.t for e in load_trace(trace, default="a", names={"a"})] == [0, 2]
    trace.write_text('{"t": 3, "destination": "zzz"}\n')
    with pytest.raises(ScenarioError, match="unknown destination 'zzz'"):
        load_trace(trace, default="a", names={"a"})
    trace.write_text("{oops\n")
    with pytest.raises(ScenarioError, match="not JSON"):
        load_trace(trace, default="a", names={"a"})


def test_csv_trace_without_a_time_column_is_refused(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("when,destination\n1,a\n")
    with pytest.raises(ScenarioError, match="needs a header"):
        load_trace(trace, default="a", names={"a"})
