"""Every call of the emulator's control API, defined once and free of I/O.

A call is a generator: it yields the `Request`s to send, receives each answer's JSON, and
returns what the caller gets. `EmulatorControl` runs the calls over `httpx.Client` and
`AsyncEmulatorControl` over `httpx.AsyncClient`, so both faces send the same forms and read the
answers the same way. Calls that can act on every tenant take `all_tenants=True` (the
emulator asks for its admin token then).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict, TypeVar, Unpack

T = TypeVar("T")
Json = dict[str, Any]

CONTROL: Final = "/__emulator__/"
WINDOWS: Final = ("daily", "monthly", "burst")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of a call; `feature` names what a 404/405 answer means is missing."""

    method: str
    path: str
    body: Any = None
    params: Mapping[str, str] | None = None
    feature: str | None = None


Steps = Generator[Request, Any, T]


class ControlError(RuntimeError):
    """The emulator refused a control call: `status` and the text of its `{"error": ...}`."""

    def __init__(self, method: str, path: str, status: int, error: str, *,
                 message: str | None = None) -> None:
        super().__init__(message or f"{method} {path} failed: {status} {error}")
        self.method = method
        self.path = path
        self.status = status
        self.error = error


class FeatureUnavailable(ControlError):
    """The emulator has no such path (404/405): it is older than, or built without, a feature."""


class WindowLimits(TypedDict, total=False):
    """Quota limits by window; None lifts a limit, an omitted window stays as it is."""

    daily: int | None
    monthly: int | None
    burst: int | None


class QuotaLimits(WindowLimits, total=False):
    """Window limits plus the plan whose table supplies every limit not overridden."""

    plan: str


def window_limits(values: Mapping[str, int | None]) -> WindowLimits:
    """The `daily`, `monthly` and `burst` entries of `values` (other keys are left out)."""
    limits: WindowLimits = {}
    for window in WINDOWS:
        if window in values:
            limits[window] = values[window]
    return limits


def read_answer(request: Request, status: int, content: bytes, where: str) -> Any:
    """The answer's JSON (None when empty), or the `ControlError` it stands for."""
    text = content.decode(errors="replace")
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = text
    if status < 400:
        return data
    error = data.get("error") if isinstance(data, dict) else None
    error_text = str(error or text)
    if request.feature is not None and status in (404, 405):
        raise FeatureUnavailable(
            request.method, request.path, status, error_text,
            message=f"the emulator at {where} has no {request.path} API ({status}): "
                    f"it lacks {request.feature}")
    raise ControlError(request.method, request.path, status, error_text)


def _tenants(all_tenants: bool) -> dict[str, str] | None:
    return {"all": "true"} if all_tenants else None


def _given(**values: Any) -> Json:
    return {name: value for name, value in values.items() if value is not None}


# --- the emulator, its clock and its delivery log ---------------------------------------------


def health() -> Steps[Json]:
    """Status, version, store and clock (`"virtual"` or `"real"`) of the emulator."""
    answer: Json = yield Request("GET", CONTROL + "health")
    return answer


def reset(*, all_tenants: bool = False) -> Steps[None]:
    """Forget everything the tenant (or, with `all_tenants`, everyone) left on the emulator."""
    yield Request("POST", CONTROL + "reset", params=_tenants(all_tenants))


def now_ms() -> Steps[int]:
    """The emulator clock's time in unix milliseconds."""
    answer = yield Request("GET", CONTROL + "clock")
    return int(answer["now"])


def advance(seconds: float) -> Steps[int]:
    """Move the virtual clock; returns (the new time in ms) once every due attempt was made."""
    answer = yield Request("POST", CONTROL + "clock/advance", body={"seconds": seconds})
    return int(answer["now"])


def deliveries(message_id: str | None = None, *, all_tenants: bool = False) -> Steps[list[Json]]:
    """The delivery log (every attempt, oldest first), optionally of one message only."""
    params = {**(_tenants(all_tenants) or {}), **({"messageId": message_id} if message_id else {})}
    answer = yield Request("GET", CONTROL + "deliveries", params=params or None)
    return list(answer["deliveries"])


def supports_harness() -> Steps[bool]:
    """False when the emulator lacks any of the quota, outage and fault APIs."""
    for path, feature in (("quota", "quotas"), ("outage", "outages"), ("faults", "faults")):
        try:
            yield Request("GET", CONTROL + path, feature=feature)
        except FeatureUnavailable:
            return False
    return True


# --- quotas -----------------------------------------------------------------------------------


def quota(*, all_tenants: bool = False) -> Steps[Json]:
    """Plan, limits and, per window, limit, used, remaining and reset (unix seconds)."""
    answer: Json = yield Request("GET", CONTROL + "quota", params=_tenants(all_tenants),
                                 feature="quotas")
    return answer


def set_quota(*, all_tenants: bool = False, **limits: Unpack[QuotaLimits]) -> Steps[Json]:
    """Change limits live: `daily`, `monthly`, `burst` (None lifts one) and `plan`."""
    answer: Json = yield Request("PUT", CONTROL + "quota", body=dict(limits),
                                 params=_tenants(all_tenants), feature="quotas")
    return answer


def exhaust_quota(window: str = "daily", *, all_tenants: bool = False) -> Steps[Json]:
    """Use up the `daily` or `monthly` window: the next publish gets 429."""
    answer: Json = yield Request("POST", CONTROL + "quota/exhaust", body={"window": window},
                                 params=_tenants(all_tenants), feature="quotas")
    return answer


def reset_quota(*, all_tenants: bool = False) -> Steps[Json]:
    """Forget the usage counted so far (the limits stay)."""
    answer: Json = yield Request("POST", CONTROL + "quota/reset",
                                 params=_tenants(all_tenants), feature="quotas")
    return answer


# --- outages ----------------------------------------------------------------------------------


def start_outage(
    mode: str = "error", *, status: int | None = None, seconds: float | None = None,
    count: int | None = None, paths: list[str] | None = None, all_tenants: bool = False,
) -> Steps[Json]:
    """Start a QStash outage: `error` (answer `status`), `timeout` (hang `seconds`), `reset`."""
    body = _given(mode=mode, status=status, seconds=seconds, count=count, paths=paths)
    answer: Json = yield Request("POST", CONTROL + "outage", body=body,
                                 params=_tenants(all_tenants), feature="outages")
    return answer


def outages(*, all_tenants: bool = False) -> Steps[list[Json]]:
    """The outages in force for the tenant (or everywhere)."""
    answer = yield Request("GET", CONTROL + "outage", params=_tenants(all_tenants),
                           feature="outages")
    return list(answer["outages"])


def end_outage(*, all_tenants: bool = False) -> Steps[None]:
    """End the tenant's outages (or every outage)."""
    yield Request("DELETE", CONTROL + "outage", params=_tenants(all_tenants), feature="outages")


# --- destination faults -----------------------------------------------------------------------


def add_fault(match: str, *, all_tenants: bool = False, **effects: Any) -> Steps[str]:
    """Add a fault rule for destinations matching `match`; returns its id.

    Effects as in the API: `statuses=[500, "pass"]`, `latency_ms`, `timeout`,
    `connection_error`, `probability`, `seed`, `duplicate_after_s`, `signature`, `match_type`.
    What the emulator warns about in its answer (a listed 2xx) is raised as a `UserWarning`.
    """
    answer = yield Request("POST", CONTROL + "faults", body={"match": match, **effects},
                           params=_tenants(all_tenants), feature="faults")
    for text in answer.get("warnings", []):
        warnings.warn(f"fault on {match}: {text}", UserWarning, stacklevel=4)
    return str(answer["id"])


def faults(*, all_tenants: bool = False) -> Steps[list[Json]]:
    """The fault rules in force."""
    answer = yield Request("GET", CONTROL + "faults", params=_tenants(all_tenants),
                           feature="faults")
    return list(answer["faults"])


def remove_fault(fault_id: str, *, all_tenants: bool = False) -> Steps[None]:
    """Remove one rule (a `ControlError` with status 404 when there is no such rule)."""
    yield Request("DELETE", f"{CONTROL}faults/{fault_id}", params=_tenants(all_tenants))


def clear_faults(*, all_tenants: bool = False) -> Steps[None]:
    """Remove every rule."""
    yield Request("DELETE", CONTROL + "faults", params=_tenants(all_tenants), feature="faults")


# --- QStash reads (v2) ------------------------------------------------------------------------


def signing_keys() -> Steps[tuple[str, str]]:
    """The tenant's (current, next) signing keys."""
    answer = yield Request("GET", "/v2/keys")
    return str(answer["current"]), str(answer["next"])


def dlq_count() -> Steps[int]:
    """How many messages the tenant's dead-letter queue holds."""
    total, cursor = 0, None
    while True:
        params = {"count": "100"} | ({"cursor": cursor} if cursor else {})
        page = yield Request("GET", "/v2/dlq", params=params)
        total += len(page.get("messages", []))
        cursor = page.get("cursor")
        if not cursor:
            return total


def flow_controls() -> Steps[list[Json]]:
    """The tenant's flow-control keys and their state."""
    answer = yield Request("GET", "/v2/flowControl", feature="flow control")
    return list(answer)
