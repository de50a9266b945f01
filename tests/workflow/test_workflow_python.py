"""Upstash Workflow's Python SDK (FastAPI) runs end to end on the emulator, time on its clock.

The app is the official `upstash-workflow` package served on a real loopback port; it verifies
every delivery's signature with `qstash.Receiver`, so a run that finishes proves that each
signature covered the body actually sent.
"""

from __future__ import annotations

import base64
import json

from qstash import AsyncQStash, QStash, Receiver
from workflow_apps import Journal, fragile_app, order_app
from workflow_support import Runs, ServeApp

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint

WEEK_S = 7 * 86400
TRANSPORT = {"content-length", "host", "connection", "transfer-encoding", "keep-alive",
             "expect", "upgrade", "accept-encoding"}


def forwarded_transport_headers(control: EmulatorControl) -> list[tuple[str, str]]:
    """(message id, header) of every delivery that carried a transport header of the sender."""
    return [(d["messageId"], name) for d in control.deliveries()
            for name in d["headers"] if name.lower() in TRANSPORT]


def test_run_run_sleep_a_week_call_run(
    client: QStash, app_client: AsyncQStash, receiver: Receiver, serve_app: ServeApp,
    control: EmulatorControl, endpoint: Endpoint, runs: Runs,
) -> None:
    journal = Journal()
    app = serve_app(order_app(app_client, receiver, journal))
    endpoint.respond_with(200, path="/quote", body=json.dumps({"quote": "Q-1"}),
                          headers={"Content-Type": "application/json"})
    client.message.publish_json(url=f"{app.url}/order", headers={"X-Shop": "acme"},
                                body={"item": "book", "quote_url": endpoint.url_for("/quote")})

    control.advance(0)
    [run_id] = journal.run_ids
    assert journal.executed == [("reserve", {"item": "book", "qty": 2}), ("price", 42)]
    control.advance(WEEK_S - 1)
    assert journal.names == ["reserve", "price"] and endpoint.requests == []
    assert runs.get(run_id)["workflowState"] == "RUN_STARTED"

    control.advance(1)
    [quote] = endpoint.requests
    assert quote.method == "POST" and quote.json() == {"total": 42}
    assert journal.names == ["reserve", "price", "confirm"]
    assert journal.value("confirm") == {"total": 42, "status": 200, "quote": {"quote": "Q-1"}}
    run = runs.get(run_id)
    assert run["workflowState"] == "RUN_SUCCESS"
    assert runs.step_names(run_id) == ["init", "reserve", "price", "cool-down", "quote", "confirm"]
    assert {headers.get("x-shop") for headers in journal.seen_headers} == {"acme"}
    assert forwarded_transport_headers(control) == []


def test_the_week_long_sleep_is_one_delayed_delivery(
    client: QStash, app_client: AsyncQStash, receiver: Receiver, serve_app: ServeApp,
    control: EmulatorControl, endpoint: Endpoint,
) -> None:
    journal = Journal()
    app = serve_app(order_app(app_client, receiver, journal))
    endpoint.respond_with(200, path="/quote", body="{}",
                          headers={"Content-Type": "application/json"})
    before_ms = control.now_ms()
    client.message.publish_json(url=f"{app.url}/order",
                                body={"item": "pen", "quote_url": endpoint.url_for("/quote")})
    control.advance(WEEK_S)
    deliveries = control.deliveries()
    # the first attempt to start after the week (the call it makes may finish before it does)
    woken = sorted((d for d in deliveries if d["time"] >= before_ms + WEEK_S * 1000),
                   key=lambda d: d["startSeq"])
    assert woken and woken[0]["url"] == f"{app.url}/order"
    history = json.loads(woken[0]["body"])
    steps = [json.loads(base64.b64decode(item["body"])) for item in history[1:]]
    assert [step["stepName"] for step in steps] == ["reserve", "price", "cool-down"]
    assert woken[0]["headers"]["Upstash-Workflow-Init"] == "false"
    assert json.loads(base64.b64decode(history[0]["body"]))["item"] == "pen"


def test_a_failing_step_ends_in_the_failure_function(
    client: QStash, app_client: AsyncQStash, receiver: Receiver, serve_app: ServeApp,
    control: EmulatorControl, runs: Runs,
) -> None:
    journal = Journal()
    app = serve_app(fragile_app(app_client, receiver, journal))
    client.message.publish_json(url=f"{app.url}/fragile", body={"order": 7})

    control.advance(0)
    assert journal.names == ["fine", "charge"] and journal.failures == []
    control.advance(3600)
    assert journal.names == ["fine", "charge", "charge"]
    [failure] = journal.failures
    assert failure["status"] == 500 and "card declined" in failure["message"]
    assert failure["payload"] == {"order": 7}
    run = runs.get(failure["runId"])
    assert run["workflowState"] == "RUN_FAILED"
    assert run["failureFunction"]["state"] == "CALLBACK_SUCCESS"
    assert [m["workflowRunId"] for m in runs.dlq()] == [failure["runId"]]
    assert forwarded_transport_headers(control) == []
