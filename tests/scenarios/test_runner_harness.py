"""The runner drives the emulator's harness through the control client: a quota, a destination
fault and an outage, all on the virtual clock, each visible in the run's metrics."""

from __future__ import annotations

import asyncio
import tomllib

from qstash_emulator.scenario_runner import parse_scenario, prepare, run_scenario

SCENARIO = """
name = "harness"
expect = [
    "published == 40",
    "publish_errors == 10",  # the outage: one second at 10/s answered 503
    "rejected_429 == 5",     # the daily quota of 25 ran out
    "accepted == 25",
    "dlq == 1",              # the fault answered the first delivery 500 (no retries)
    "delivered == 24",
]

[run]
clock = "virtual"
settle = "1h"

[publish]
via = "sdk"
retries = 0

[quota]
daily = 25

[destinations.flaky]
fault = { statuses = [500] }

[[phases]]
shape = "constant"
rate = 10
duration = 4

[[outages]]
at = 1
duration = 1
mode = "error"
status = 503
"""


def test_quota_fault_and_outage_reach_the_emulator() -> None:
    report = asyncio.run(run_scenario(prepare(parse_scenario(tomllib.loads(SCENARIO)))))
    assert report.passed, [check.describe() for check in report.checks if not check.ok]
