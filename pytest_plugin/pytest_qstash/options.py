"""The plugin's settings and their precedence: marker > command line > ini > environment > default.

Standard library only: this module is imported when pytest starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str  # the field name; --qstash-<name with dashes> and ini qstash_<name>
    help: str
    env: str | None = None
    kind: str = "string"  # string | int | bool
    default: Any = None

    @property
    def flag(self) -> str:
        return "--qstash-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "qstash_" + self.name


OPTIONS = (
    Option("url", "use the emulator running at URL instead of starting one",
           env="QSTASH_EMULATOR_URL"),
    Option("clock", "'virtual' (default) or 'real' for the emulator the plugin starts",
           env="QSTASH_EMULATOR_CLOCK", default="virtual"),
    Option("plan", "plan profile of the emulator the plugin starts (e.g. free, payg)",
           env="QSTASH_EMULATOR_PLAN"),
    Option("daily_quota", "daily message quota set for every test's tenant",
           env="QSTASH_EMULATOR_DAILY_QUOTA", kind="int"),
    Option("monthly_quota", "monthly message quota set for every test's tenant",
           env="QSTASH_EMULATOR_MONTHLY_QUOTA", kind="int"),
    Option("burst_rate", "burst limit (requests per second) set for every test's tenant",
           env="QSTASH_EMULATOR_BURST_RATE", kind="int"),
    Option("docker", "start the emulator's Docker image with testcontainers", kind="bool",
           default=False),
    Option("docker_image", "image for --qstash-docker", default="qstash-emulator:latest"),
)
MARKER_KEYS = ("plan", "clock", "daily_quota", "monthly_quota", "burst_rate", "faults")
MARKER_HELP = (
    "qstash(plan=None, clock='virtual', daily_quota=None, monthly_quota=None, burst_rate=None, "
    "faults=[]): per-test settings of the QStash emulator (pytest-qstash)"
)
CLOCKS = ("virtual", "real")


@dataclass(frozen=True)
class QStashSettings:
    """Resolved settings for one test (session values, then the test's marker on top)."""

    url: str | None = None
    clock: str = "virtual"
    plan: str | None = None
    daily_quota: int | None = None
    monthly_quota: int | None = None
    burst_rate: int | None = None
    docker: bool = False
    docker_image: str = "qstash-emulator:latest"
    faults: tuple[Mapping[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"qstash clock must be 'virtual' or 'real', not {self.clock!r}")

    @property
    def server_key(self) -> tuple[str, str | None]:
        """Tests with equal keys share one local emulator."""
        return self.clock, self.plan

    @property
    def quota(self) -> dict[str, int]:
        """The tenant limits to apply at test start, in control-API names."""
        given = {"daily": self.daily_quota, "monthly": self.monthly_quota,
                 "burst": self.burst_rate}
        return {name: value for name, value in given.items() if value is not None}


def _convert(option: Option, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    if option.kind == "int":
        return int(raw)
    if option.kind == "bool":
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in (
            "1", "true", "yes", "on")
    return str(raw)


def resolve(
    cli: Callable[[str], Any], ini: Callable[[str], Any], environ: Mapping[str, str] | None = None,
) -> QStashSettings:
    """Session settings: command line, then ini, then environment, then the default."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        for raw in (cli(option.name), ini(option.ini), env.get(option.env or "")):
            value = _convert(option, raw)
            if value is not None:
                values[option.name] = value
                break
    return QStashSettings(**values)


def with_marker(settings: QStashSettings, kwargs: Mapping[str, Any]) -> QStashSettings:
    """`settings` with a `@pytest.mark.qstash(...)`'s values on top."""
    unknown = sorted(set(kwargs) - set(MARKER_KEYS))
    if unknown:
        raise ValueError(
            f"unknown qstash marker option(s) {', '.join(unknown)}; known: {', '.join(MARKER_KEYS)}"
        )
    changes = dict(kwargs)
    if "faults" in changes:
        changes["faults"] = tuple(dict(rule) for rule in changes["faults"] or ())
    return replace(settings, **changes)

