"""Test Upstash Workflow apps against the emulator: serve the app under test on a real port,
start a run, fast-forward its sleeps on the emulator's virtual clock and read how it ended.

Usable without pytest::

    with WorkflowRunner(emulator_url, token) as runner:
        url = runner.serve(app) + "/order"
        run = runner.run(url, body={"item": "book"})
        assert run.state == "RUN_SUCCESS" and run.results["price"] == 42
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx

from .serving import ServerThread

ENDED = ("RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED")
DEFAULT_WITHIN = timedelta(days=30)


@dataclass(frozen=True)
class WorkflowStep:
    """One step of a run as the emulator logged it; `out` parsed from JSON when it is JSON."""

    name: str
    type: str
    out: Any
    state: str


@dataclass(frozen=True)
class WorkflowRun:
    """A run as `GET /v2/workflows/events` shows it (the whole log entry is in `log`)."""

    run_id: str
    url: str
    state: str
    steps: list[WorkflowStep]
    response: Any = None
    log: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def results(self) -> dict[str, Any]:
        """Each step's result by step name (the last one of a name wins)."""
        return {step.name: step.out for step in self.steps}

    @property
    def failure(self) -> dict[str, Any] | None:
        """The failure function's record (`state`, `failStatus`, `failResponse`, ...), if any."""
        found = self.log.get("failureFunction")
        return dict(found) if isinstance(found, dict) else None


class WorkflowRunner:
    """Serves workflow apps and runs them to their end on the emulator at `url` as `token`.

    On a virtual clock `finish` moves the clock forward in growing jumps until the run ends,
    so a `sleep("7d")` passes at once; on a real clock it waits (up to `max_wait_s`).
    """

    def __init__(self, url: str, token: str, *, max_wait_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=120.0,
                                  headers={"Authorization": f"Bearer {token}"})
        self._servers: list[ServerThread] = []
        self.max_wait_s = max_wait_s
        self.virtual = self._http.get("/__emulator__/health").json().get("clock") != "real"

    def serve(self, app: Any) -> str:
        """Serve an ASGI app (e.g. FastAPI) on a free loopback port; its base URL."""
        server = ServerThread(app, lifespan="auto").start()
        self._servers.append(server)
        return server.url

    def trigger(self, url: str, body: Any = None, headers: dict[str, str] | None = None) -> str:
        """Start a run of the workflow at `url` as a plain QStash publish to it would (the app
        starts the run itself); returns the new run's id."""
        before = set(self._run_ids(url))
        forwarded = {f"Upstash-Forward-{name}": value for name, value in (headers or {}).items()}
        sent = self._http.post(f"/v2/publish/{url}", content=_content(body),
                               headers={"Content-Type": "application/json", **forwarded})
        _check(sent)
        return self._new_run(url, before)

    def run(self, url: str, body: Any = None, headers: dict[str, str] | None = None, *,
            within: timedelta = DEFAULT_WITHIN) -> WorkflowRun:
        """`trigger` then `finish`: the run as it ended (or as it is after `within`)."""
        return self.finish(self.trigger(url, body, headers), within=within)

    def finish(self, run_id: str, *, within: timedelta = DEFAULT_WITHIN) -> WorkflowRun:
        """Let the run go on until it ends: on a virtual clock at most `within` of emulator
        time passes (in jumps from 1 s, doubling); on a real clock `max_wait_s` of waiting."""
        if not self.virtual:
            return self._wait_for_end(run_id)
        left, jump = within.total_seconds(), 1.0
        run = self.get(run_id)
        while run.state not in ENDED and left > 0:
            self.advance(min(jump, left))
            left, jump = left - jump, jump * 2
            run = self.get(run_id)
        return run

    def get(self, run_id: str) -> WorkflowRun:
        answer = self._http.get("/v2/workflows/events",
                                params={"groupBy": "workflowRunId", "workflowRunId": run_id})
        _check(answer)
        runs = answer.json()["runs"]
        if not runs:
            raise AssertionError(f"the emulator has no workflow run {run_id}")
        return _run(runs[0])

    def advance(self, seconds: float) -> None:
        """Move the virtual clock; returns once everything due on the way was delivered."""
        _check(self._http.post("/__emulator__/clock/advance", json={"seconds": seconds}))

    def notify(self, event_id: str, data: Any = None) -> list[dict[str, Any]]:
        """Wake the runs waiting for `event_id` with `data` (`context.waitForEvent`)."""
        answer = self._http.post(f"/v2/notify/{event_id}", content=_content(data))
        _check(answer)
        return list(answer.json())

    def cancel(self, run_id: str) -> None:
        _check(self._http.delete(f"/v2/workflows/runs/{run_id}", params={"cancel": "true"}))

    def _run_ids(self, url: str) -> list[str]:
        answer = self._http.get("/v2/workflows/events", params={
            "groupBy": "workflowRunId", "workflowUrl": url, "count": 100})
        _check(answer)
        return [run["workflowRunId"] for run in answer.json()["runs"]]

    def _new_run(self, url: str, before: set[str]) -> str:
        deadline = time.monotonic() + self.max_wait_s
        while True:
            if self.virtual:
                self.advance(0)
            new = [run_id for run_id in self._run_ids(url) if run_id not in before]
            if new:
                return new[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no workflow run started at {url}: did the app answer "
                                     f"the trigger? {self._deliveries_to(url)}")
            time.sleep(0.02)

    def _wait_for_end(self, run_id: str) -> WorkflowRun:
        deadline = time.monotonic() + self.max_wait_s
        run = self.get(run_id)
        while run.state not in ENDED and time.monotonic() < deadline:
            time.sleep(0.05)
            run = self.get(run_id)
        return run

    def _deliveries_to(self, url: str) -> list[str]:
        found = self._http.get("/__emulator__/deliveries").json().get("deliveries", [])
        return [f"{d['status']} {d.get('responseBody', '')[:200]}" for d in found
                if d["url"] == url]

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self._http.close()

    def __enter__(self) -> WorkflowRunner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _check(answer: httpx.Response) -> None:
    if answer.is_error:
        raise RuntimeError(f"{answer.request.method} {answer.request.url.path} failed: "
                           f"{answer.status_code} {answer.text}")


def _content(body: Any) -> str | bytes:
    """A body as sent: text and bytes as they are, nothing as nothing, else JSON."""
    if body is None:
        return b""
    return body if isinstance(body, str | bytes) else json.dumps(body)


def _parsed(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _run(log: dict[str, Any]) -> WorkflowRun:
    steps = [WorkflowStep(step["stepName"], step.get("stepType", ""), _parsed(step.get("out")),
                          step.get("state", ""))
             for group in log.get("steps", []) if group.get("type") != "next"
             for step in group["steps"]]
    return WorkflowRun(log["workflowRunId"], log["workflowUrl"], log["workflowState"], steps,
                       _parsed(log.get("workflowRunResponse")), log)
