"""Traffic scenarios: a TOML format (`model`, `traffic`, `expect`: pure) and a runner at the
edge that starts an emulator process, serves destinations and publishes through the SDK or
`qstash_queue.RequestQueue`.

>>> from qstash_emulator.scenario_runner import load_scenario, prepare, run_scenario
>>> scenario = prepare(load_scenario("scenarios/burst.toml"), smoke=True)  # doctest: +SKIP
>>> asyncio.run(run_scenario(scenario)).passed  # doctest: +SKIP
"""

from __future__ import annotations

from .features import FeatureMissing
from .fields import ScenarioError
from .model import Scenario, load_scenario, parse_scenario
from .runner import Report, prepare, run_scenario

__all__ = [
    "FeatureMissing", "Report", "Scenario", "ScenarioError", "load_scenario", "parse_scenario",
    "prepare", "run_scenario",
]
