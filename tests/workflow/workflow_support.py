"""Helpers of the workflow tests: the runs API as the emulator shows it, served apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from pytest_qstash.serving import ServerThread

ServeApp = Callable[[Any], ServerThread]


class Runs:
    """Workflow runs as the emulator shows them (`GET /v2/workflows/events`, grouped by run)."""

    def __init__(self, url: str, token: str) -> None:
        self._http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})

    def get(self, run_id: str) -> dict[str, Any]:
        answer = self._http.get("/v2/workflows/events",
                                params={"groupBy": "workflowRunId", "workflowRunId": run_id})
        answer.raise_for_status()
        [run] = answer.json()["runs"]
        return run  # type: ignore[no-any-return]

    def step_names(self, run_id: str) -> list[str]:
        return [step["stepName"] for group in self.get(run_id)["steps"]
                for step in group["steps"] if "stepName" in step]

    def dlq(self) -> list[dict[str, Any]]:
        answer = self._http.get("/v2/dlq", params={"source": "workflow"})
        answer.raise_for_status()
        return answer.json()["messages"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Runs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
