"""Expectations over metrics, and the metric computations themselves."""

from __future__ import annotations

import pytest

from qstash_emulator.scenario_runner.expect import evaluate, unknown_names
from qstash_emulator.scenario_runner.metrics import (
    Arrival,
    PublishRecord,
    RunData,
    peak_rate,
    percentile,
    summarize,
    timeline,
)
from qstash_emulator.scenario_runner.model import ScenarioError


@pytest.mark.parametrize(("text", "ok"), [
    ("delivered == published", True),
    ("delivered != published", False),
    ("retried == published * 2", True),
    ("dlq <= published - 8", True),
    ("p99_latency_ms < 10", False),
    ("-dlq < 0", True),
    ("published / 2 >= 5", True),
])
def test_evaluate(text: str, ok: bool) -> None:
    metrics = {"delivered": 10, "published": 10, "retried": 20, "dlq": 2, "p99_latency_ms": 12.5}
    assert evaluate(text, metrics).ok is ok


def test_a_missing_value_fails_with_a_reason() -> None:
    check = evaluate("p99_latency_ms <= 5", {"p99_latency_ms": None})
    assert not check.ok
    assert "no value for p99_latency_ms" in check.describe()


@pytest.mark.parametrize("text", [
    "__import__('os').system('true') == 0", "a.b == 1", "a == b == c", "a", "a ** 2 == 4",
    "a in b", "delivered ==",
])
def test_only_plain_comparisons_are_accepted(text: str) -> None:
    with pytest.raises(ScenarioError):
        evaluate(text, {"a": 1, "b": 1, "c": 1})


def test_unknown_names_are_reported() -> None:
    assert unknown_names("delivred == published", {"delivered", "published"}) == ["delivred"]


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50, 99, 100)
    assert percentile([], 50) is None


def test_peak_rate_uses_half_open_windows() -> None:
    assert peak_rate([0, 0, 0.5, 1.0, 1.0, 1.9]) == 3
    assert peak_rate([0, 0.2, 0.4, 0.6, 0.8, 0.99]) == 6
    assert peak_rate([0.0, 1.0, 2.0]) == 1
    assert peak_rate([]) == 0
    assert peak_rate([0.2, 0.2, 1.2, 1.2]) == 2  # 1.2 - 1.0 is 0.19999999999999996


def _arrival(seq: int, wall: float, *, fresh: bool = True, duplicate: bool = False,
             status: int = 200) -> Arrival:
    return Arrival(seq, f"msg_{seq}", wall, wall - 100, status, fresh, duplicate)


def test_summarize_real_clock_latency_and_duplicates() -> None:
    data = RunData(virtual=False, speed=1.0, wall0=100.0, emu0_ms=0)
    data.publishes = [PublishRecord(i, 0.1 * i, "app", "accepted", 100 + 0.1 * i, 0, f"msg_{i}")
                      for i in range(3)]
    data.publishes.append(PublishRecord(3, 0.3, "app", "rejected_429", 100.3))
    data.arrivals = [_arrival(0, 100.010), _arrival(1, 100.120), _arrival(2, 100.205),
                     _arrival(0, 105.0, fresh=False, duplicate=True)]
    metrics = summarize(data)
    assert metrics["published"] == 4
    assert metrics["accepted"] == 3
    assert metrics["rejected_429"] == 1
    assert metrics["delivered"] == 3
    assert metrics["duplicates"] == metrics["duplicates_handled"] == 1
    assert metrics["p50_latency_ms"] == pytest.approx(10, abs=0.01)
    assert metrics["max_latency_ms"] == pytest.approx(20, abs=0.01)
    assert metrics["early"] == 0


def test_summarize_virtual_clock_reads_the_emulator_log() -> None:
    data = RunData(virtual=True, speed=1.0, wall0=0.0, emu0_ms=1_000_000)
    data.publishes = [PublishRecord(0, 0.0, "app", "accepted", 1000.0, 2, "msg_a")]
    data.log = [
        {"messageId": "msg_a", "attempt": 0, "time": 1_002_000, "status": 500, "kind": "message"},
        {"messageId": "msg_a", "attempt": 1, "time": 1_014_000, "status": 200, "kind": "message"},
    ]
    metrics = summarize(data)
    assert (metrics["attempts"], metrics["retried"]) == (2, 1)
    assert metrics["p99_latency_ms"] == 12_000  # due after the 2 s delay, delivered 12 s later
    assert metrics["early"] == 0


def test_an_early_delivery_is_counted() -> None:
    data = RunData(virtual=True, speed=1.0, wall0=0.0, emu0_ms=0)
    data.publishes = [PublishRecord(0, 0.0, "app", "accepted", 10.0, 5, "msg_a")]
    data.log = [{"messageId": "msg_a", "attempt": 0, "time": 12_000, "status": 200}]
    assert summarize(data)["early"] == 1


def _spike_run() -> RunData:
    """130 s at 10/s with a one-second spike of 200 at t=10; the last publish at 130.5 s."""
    data = RunData(virtual=True, speed=1.0, wall0=0.0, emu0_ms=0)
    times = [i / 10 for i in range(1300)] + [10 + i / 200 for i in range(200)] + [130.5]
    data.publishes = [PublishRecord(i, t, "app", "accepted", t) for i, t in enumerate(times)]
    return data


def test_timeline_shows_a_one_second_spike_at_its_height_and_the_last_second() -> None:
    line = timeline(_spike_run())
    assert line["bin_s"] == 1
    assert line["published_per_s"][10] == 210  # the spike's second: 200 + the steady 10
    assert line["published_per_s"][9] == line["published_per_s"][11] == 10
    assert line["t"][-1] == 130 and line["published_per_s"][-1] == 1


def test_chart_draws_every_bin_over_its_width_and_no_empty_quota_panel() -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    import matplotlib.pyplot as plt

    from qstash_emulator.scenario_runner.report import figure
    from qstash_emulator.scenario_runner.runner import Report

    line = timeline(_spike_run())
    report = Report("spike", "virtual", 1.0, {}, (), line)
    chart = figure(report)
    [rates] = chart.axes  # no quota was set: one panel
    [published] = [a for a in rates.patches if a.get_label() == "published"]
    values, edges = published.get_data()[:2]  # (values, edges, baseline)
    assert max(values) == 210 and edges[-1] == 131  # the last second is drawn to its end
    plt.close(chart)
    with_quota = figure(Report("q", "virtual", 1.0, {}, (),
                               line | {"quota_remaining": [[0.0, 30], [5.0, 0]]}))
    assert len(with_quota.axes) == 2
    plt.close(with_quota)


def test_summarize_counts_qstash_429_answers_a_fallback_hid() -> None:
    data = RunData(virtual=True, speed=1.0, wall0=0.0, emu0_ms=0)
    data.publishes = [PublishRecord(0, 0.0, "app", "fallback", 0.0)]
    data.queue_stats = {"qstash_429_answers": 1, "fallback_jobs": 1}
    metrics = summarize(data)
    assert (metrics["qstash_429"], metrics["rejected_429"], metrics["fallback_jobs"]) == (1, 0, 1)
