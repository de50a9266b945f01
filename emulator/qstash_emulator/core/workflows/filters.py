"""Choosing runs: the filters of the logs (`/v2/workflows/events`) and of bulk cancel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import BadRequest
from ..headers import parse_bool
from ..messages.filters import int_param, values
from .model import Run

Params = Mapping[str, Sequence[str]]
FIELDS = ("workflowRunId", "state", "label", "callerIp", "flowControlKey")


@dataclass(frozen=True, slots=True)
class RunFilter:
    """AND across fields, OR within one; `workflowUrl` a prefix unless exact; dates in ms."""

    fields: dict[str, frozenset[str]]
    urls: frozenset[str]
    url_exact: bool
    created_at_ms: int | None
    from_ms: int | None
    to_ms: int | None

    @classmethod
    def from_params(cls, params: Params, *, url_exact: bool) -> RunFilter:
        return cls(
            {name: frozenset(values(params, name)) for name in FIELDS if values(params, name)},
            frozenset(values(params, "workflowUrl")),
            url_exact or _flag(params, "workflowUrlExactMatch"),
            int_param(params, "workflowCreatedAt"),
            int_param(params, "fromDate"),
            int_param(params, "toDate"),
        )

    @property
    def empty(self) -> bool:
        return not (self.fields or self.urls or self.created_at_ms is not None
                    or self.from_ms is not None or self.to_ms is not None)

    def matches(self, run: Run) -> bool:
        return (self._url_matches(run.url) and self._time_matches(run.created_at_ms)
                and all(_field(run, name) & wanted for name, wanted in self.fields.items()))

    def _url_matches(self, url: str) -> bool:
        if not self.urls:
            return True
        return url in self.urls if self.url_exact else url.startswith(tuple(self.urls))

    def _time_matches(self, created_at_ms: int) -> bool:
        return ((self.created_at_ms is None or created_at_ms == self.created_at_ms)
                and (self.from_ms is None or created_at_ms >= self.from_ms)
                and (self.to_ms is None or created_at_ms <= self.to_ms))


def _flag(params: Params, name: str) -> bool:
    given = values(params, name)
    try:
        return bool(given) and parse_bool(given[0], name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _field(run: Run, name: str) -> set[str]:
    settings = run.settings
    flow = settings.flow_control.key if settings.flow_control else None
    found = {
        "workflowRunId": {run.run_id},
        "state": {run.state.value},
        "label": set(settings.labels),
        "callerIp": {settings.caller_ip} if settings.caller_ip else set(),
        "flowControlKey": {flow} if flow else set(),
    }
    return found[name]
