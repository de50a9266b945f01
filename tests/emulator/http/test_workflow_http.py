"""The workflow API over real HTTP: each row of docs/workflow.md's bad-input table (status,
error shape, nothing changed), and the forms the SDKs send that have no SDK call here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from test_bad_input import Case

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer

PAGE = Path(__file__).parents[3] / "docs" / "workflow.md"
APP = "http://127.0.0.1:9/wf"




CASES = [
    Case("Step of an unknown run", "POST", f"/v2/publish/{APP}", 404,
         "workflow run wfr_none not found", {"Upstash-Workflow-RunId": "wfr_none"}),
    Case("Step of a run that ended", "POST", f"/v2/publish/{APP}", 400,
         "is not running: it is RUN_CANCELED", {"Upstash-Workflow-RunId": "wfr_ended"}),
    Case("Unknown call type", "POST", f"/v2/publish/{APP}", 400,
         "invalid upstash-workflow-calltype header",
         {"Upstash-Workflow-RunId": "wfr_live", "Upstash-Workflow-CallType": "sideways"}),
    Case("Invoke without its body", "POST", f"/v2/publish/{APP}", 400, "invalid invoke body",
         {"Upstash-Workflow-RunId": "wfr_new", "Upstash-Workflow-Init": "true",
          "Upstash-Workflow-Invoke": "true"}, b"{}"),
    Case("History of an unknown run", "GET", "/v2/workflows/runs/wfr_none", 404,
         "workflow run wfr_none not found"),
    Case("End a run that ended", "DELETE", "/v2/workflows/runs/wfr_ended?cancel=false", 400,
         "is not running"),
    Case("Cancel flag not a boolean", "DELETE", "/v2/workflows/runs/wfr_live?cancel=maybe",
         400, "not a boolean"),
    Case("Logs grouped by anything else", "GET", "/v2/workflows/events?groupBy=messageId", 400,
         "invalid groupBy"),
    Case("Wait without a run", "POST", "/v2/wait/ev", 400, "needs an upstash-workflow-runid",
         body=b'{"url": "http://127.0.0.1:9/wf", "step": {}}'),
    Case("Wait without url or step", "POST", "/v2/wait/ev", 400, "invalid wait body",
         {"Upstash-Workflow-RunId": "wfr_live"}, b"{}"),
    Case("Wait with a bad timeout", "POST", "/v2/wait/ev", 400, "invalid wait body",
         {"Upstash-Workflow-RunId": "wfr_live"},
         b'{"url": "http://127.0.0.1:9/wf", "step": {}, "timeout": "soon"}'),
    Case("Notify a run that does not exist", "POST", "/v2/notify/wfr_none/ev", 404,
         "workflow run wfr_none not found"),
    Case("Resume an unknown DLQ entry", "POST", "/v2/workflows/dlq/resume?dlqIds=nope", 404,
         "dlq message not found"),
    Case("Retry the failure callback of an unknown entry", "POST",
         "/v2/workflows/dlq/callback/nope", 404, "dlq message not found"),
]


def documented_rows() -> set[str]:
    section = PAGE.read_text().split("\n## Bad input\n", 1)[1].split("\n## ", 1)[0]
    return {row.split("|")[1].strip() for row in section.splitlines()
            if re.match(r"^\| [A-Z]", row)} - {"Request"}


def test_every_case_is_a_row_of_the_page() -> None:
    assert documented_rows() == {case.name for case in CASES}


@pytest.fixture
def api(server: EmulatorServer, token: str, control: EmulatorControl) -> httpx.Client:
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    for run_id in ("wfr_live", "wfr_ended"):
        client.post(f"/v2/publish/{APP}", content=b"payload", headers={
            "Upstash-Workflow-RunId": run_id, "Upstash-Workflow-Init": "true",
            "Upstash-Delay": "1d"}).raise_for_status()
    client.delete("/v2/workflows/runs/wfr_ended?cancel=true").raise_for_status()
    return client


def runs(api: httpx.Client) -> list[tuple[str, str]]:
    found = api.get("/v2/workflows/events", params={"count": 100}).json()["runs"]
    return sorted((run["workflowRunId"], run["workflowState"]) for run in found)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(case: Case, api: httpx.Client) -> None:
    before = runs(api)
    answer = api.request(case.method, case.path, headers=case.headers, content=case.body)
    assert answer.status_code == case.status, answer.text
    assert set(answer.json()) == {"error"} and case.contains in answer.json()["error"]
    assert runs(api) == before


def test_a_batch_with_one_refused_step_stores_nothing(api: httpx.Client) -> None:
    batch = [{"destination": "http://127.0.0.1:9/plain", "body": "ok"},
             {"destination": APP, "headers": {"Upstash-Workflow-RunId": "wfr_ended"},
              "body": {"stepId": 1}}]
    answer = api.post("/v2/batch", content=json.dumps(batch))
    assert answer.status_code == 400
    events = api.get("/v2/events").json()["events"]
    assert [event for event in events if event["url"].endswith(":9/plain")] == []


def test_the_runs_api_forms(api: httpx.Client) -> None:
    history = api.get("/v2/workflows/runs/wfr_live").json()
    assert [item["callType"] for item in history] == []  # delivered in a day
    assert api.post("/v2/notify/ev", content=b"x").json() == []
    held = api.post("/v2/notify/wfr_live/ev", content=b"x")
    assert held.status_code == 201 and held.json() == {"workflowRunId": "wfr_live"}
    assert api.get("/v2/waiters/ev").json() == []
    cancelled = api.request("DELETE", "/v2/workflows/runs",
                            content=json.dumps({"workflowRunIds": ["wfr_live", "x"]}))
    assert cancelled.json() == {"cancelled": 1}
    assert runs(api) == [("wfr_ended", "RUN_CANCELED"), ("wfr_live", "RUN_CANCELED")]
    assert api.get("/v2/workflows/logs").json()["runs"][0]["workflowRunId"] in (
        "wfr_live", "wfr_ended")
    assert api.get("/v2/dlq", params={"source": "workflow"}).json() == {"messages": []}
