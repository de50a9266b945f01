"""Workflow runs in the core: a run's messages, their delivery form, settings, failure and end.

The publishes are the ones the Workflow SDKs make (see `workflow_app`); deliveries go through
a function, so every rule runs for real on the virtual clock.
"""

from __future__ import annotations

import base64
import json

import pytest
from qstash import Receiver
from workflow_app import APP, TENANT, history, init_headers, make, publish, step, step_headers, to

from qstash_emulator.core.errors import BadRequest, NotFound
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest, Response, State
from qstash_emulator.core.workflows.model import RunState

pytestmark = pytest.mark.anyio


def state_of(emulator: object, run_id: str) -> str:
    [view] = emulator.service.workflow_runs(TENANT, {"workflowRunId": [run_id]}).items  # type: ignore[attr-defined]
    return str(view.run.state.value)


def used_today(emulator: object) -> int:
    report = emulator.service.quota_report(TENANT)  # type: ignore[attr-defined]
    return int(next(w.used for w in report.windows if w.window.value == "daily"))


async def test_the_init_is_delivered_with_the_history_and_the_run_headers() -> None:
    emulator, dispatcher = make()
    await emulator.start()
    init = publish(emulator, init_headers("wfr_1", **{"upstash-forward-x-shop": "acme"}),
                   b'{"item":"book"}')
    await emulator.drain()
    [delivery] = dispatcher.requests
    assert history(delivery) == [(init.message_id, b'{"item":"book"}', "step")]
    assert delivery.headers["Upstash-Workflow-RunId"] == "wfr_1"
    assert delivery.headers["Upstash-Workflow-Url"] == APP
    assert delivery.headers["Upstash-Workflow-Init"] == "false"
    assert delivery.headers["Upstash-Workflow-CreatedAt"] == str(1_700_000_000_000)
    assert delivery.headers["Upstash-Workflow-Sdk-Version"] == "1"
    assert delivery.headers["X-Shop"] == "acme"
    keys = emulator.service.signing_keys(TENANT)
    Receiver(keys.current, keys.next).verify(
        body=delivery.body.decode(), signature=delivery.headers["Upstash-Signature"], url=APP)
    await emulator.stop()


async def test_each_step_comes_with_the_history_so_far_each_message_once() -> None:
    answers = iter([Response(200), Response(500), Response(200)])
    emulator, dispatcher = make(lambda request: next(answers))
    await emulator.start()
    init = publish(emulator, init_headers("wfr_1"), b"payload")
    await emulator.drain()
    first = publish(emulator, step_headers("wfr_1"), step(1, "reserve", {"qty": 2}))
    await emulator.advance(3600)
    assert [r.message_id for r in dispatcher.requests] == [
        init.message_id, first.message_id, first.message_id]
    retried = dispatcher.requests[2]
    assert history(retried) == [(init.message_id, b"payload", "step"),
                                (first.message_id, step(1, "reserve", {"qty": 2}), "step")]
    assert retried.headers["Upstash-Retried"] == "1"
    assert [item.message_id for item in emulator.service.workflow_history(TENANT, "wfr_1")] == [
        init.message_id, first.message_id]
    await emulator.stop()


async def test_a_second_init_of_a_live_run_is_a_duplicate() -> None:
    emulator, _ = make()
    first = publish(emulator, init_headers("wfr_1"), b"one")
    again = publish(emulator, init_headers("wfr_1"), b"two")
    assert again.deduplicated and again.message_id == first.message_id
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=False, response=None)
    third = publish(emulator, init_headers("wfr_1"), b"three")
    assert not third.deduplicated and third.message_id != first.message_id
    assert emulator.service.workflow_history(TENANT, "wfr_1") == []


async def test_a_step_of_an_unknown_run_is_404_and_of_an_ended_run_400() -> None:
    emulator, _ = make()
    with pytest.raises(NotFound, match="workflow run wfr_x not found"):
        publish(emulator, step_headers("wfr_x"), step(1, "a"))
    publish(emulator, init_headers("wfr_1"))
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=True, response=None)
    plain = PublishRequest("http://other/x", {}, b"plain")
    late = PublishRequest(APP, step_headers("wfr_1"), step(1, "a"))
    with pytest.raises(BadRequest, match="wfr_1 is not running: it is RUN_CANCELED"):
        emulator.service.batch(TENANT, [plain, late], None)
    assert used_today(emulator) == 1  # the Init only


async def test_a_step_takes_its_runs_settings_unless_it_sets_its_own() -> None:
    emulator, _ = make()
    publish(emulator, init_headers(
        "wfr_1", **{"upstash-retries": "1", "upstash-retry-delay": "500", "upstash-label": "l",
                    "upstash-flow-control-key": "k", "upstash-flow-control-value": "rate=5",
                    "upstash-forward-x-shop": "acme"}))
    inherits = publish(emulator, step_headers("wfr_1"), step(1, "a"))
    own = publish(emulator, step_headers("wfr_1", **{"upstash-retries": "0",
                                                     "upstash-forward-x-shop": "own"}),
                  step(2, "b"))
    taken = emulator.service.get_message(TENANT, inherits.message_id)
    assert (taken.max_retries, taken.retry_delay_expr, taken.labels) == (1, "500", ("l",))
    assert taken.flow_control is not None and taken.flow_control.key == "k"
    assert taken.headers["X-Shop"] == "acme"
    mine = emulator.service.get_message(TENANT, own.message_id)
    assert (mine.max_retries, mine.headers["X-Shop"]) == (0, "own")


async def test_a_call_goes_out_raw_and_its_answer_comes_back_raw_to_the_workflow() -> None:
    def answer(request: DeliveryRequest) -> Response:
        if request.url == "http://api/quote":
            return Response(200, {"Content-Type": "application/json"}, b'{"quote":1}')
        return Response(200)

    emulator, dispatcher = make(answer)
    await emulator.start()
    publish(emulator, init_headers("wfr_1", **{"upstash-forward-x-shop": "acme"}))
    await emulator.drain()
    call_headers = {
        "upstash-workflow-runid": "wfr_1", "upstash-workflow-url": APP,
        "upstash-workflow-calltype": "toCallback", "upstash-retries": "0",
        "upstash-forward-authorization": "Bearer api", "upstash-callback": APP,
        "upstash-callback-workflow-runid": "wfr_1", "upstash-callback-workflow-url": APP,
        "upstash-callback-workflow-calltype": "fromCallback",
        "upstash-callback-workflow-init": "false",
        "upstash-callback-feature-set": "LazyFetch,InitialBody",
        "upstash-callback-forward-upstash-workflow-callback": "true",
        "upstash-callback-forward-upstash-workflow-stepname": "quote",
    }
    publish(emulator, call_headers, b'{"total":42}', url="http://api/quote")
    await emulator.drain()
    [call] = to("http://api/quote", dispatcher)
    assert call.body == b'{"total":42}' and call.headers["Authorization"] == "Bearer api"
    assert not {"X-Shop", "Upstash-Workflow-RunId"} & set(call.headers)
    callback = to(APP, dispatcher)[-1]
    assert json.loads(callback.body)["status"] == 200
    assert base64.b64decode(json.loads(callback.body)["body"]) == b'{"quote":1}'
    assert callback.headers["Upstash-Workflow-RunId"] == "wfr_1"
    assert callback.headers["Upstash-Workflow-Callback"] == "true"
    assert callback.headers["Upstash-Workflow-Stepname"] == "quote"
    assert not [name for name in callback.headers if "Feature" in name or "Calltype" in name]
    assert "Upstash-Workflow-Sdk-Version" not in callback.headers
    await emulator.stop()


@pytest.mark.parametrize("own_callback", [False, True], ids=["run's", "step's own"])
async def test_a_step_that_fails_for_good_fails_its_run_and_calls_the_failure_function(
    own_callback: bool,
) -> None:
    failing = {"on": not own_callback}
    emulator, dispatcher = make(lambda request: Response(500, {}, b'{"message":"boom"}')
                                if failing["on"] else Response(200))
    await emulator.start()
    failure = {"upstash-failure-callback": "http://app/failure",
               "upstash-failure-callback-workflow-runid": "wfr_1",
               "upstash-failure-callback-workflow-url": APP,
               "upstash-failure-callback-workflow-calltype": "failureCall",
               "upstash-failure-callback-forward-upstash-workflow-is-failure": "true",
               "upstash-failure-callback-forward-content-length": "8"}
    publish(emulator, init_headers("wfr_1", **{"upstash-retries": "0"},
                                   **({} if own_callback else failure)), b'{"order":7}')
    if own_callback:  # the Python SDK puts its failure callback on every step
        await emulator.drain()
        failing["on"] = True
        publish(emulator, step_headers("wfr_1", **failure), step(1, "a"))
    await emulator.advance(60)
    [call] = to("http://app/failure", dispatcher)
    body = json.loads(call.body)
    assert body["workflowRunId"] == "wfr_1" and body["url"] == APP
    assert body["workflowCreatedAt"] == 1_700_000_000_000
    assert base64.b64decode(body["sourceBody"]) == b'{"order":7}'
    assert body["status"] == 500 and base64.b64decode(body["body"]) == b'{"message":"boom"}'
    assert call.headers["Upstash-Workflow-Is-Failure"] == "true"
    assert call.headers["Upstash-Workflow-RunId"] == "wfr_1"
    assert "Content-Length" not in call.headers
    [view] = emulator.service.workflow_runs(TENANT, {}).items
    assert view.run.state is RunState.RUN_FAILED and view.run.failure is not None
    assert view.run.failure.callback_state is not None
    assert view.run.failure.callback_state.value == "CALLBACK_FAIL"
    await emulator.stop()


async def test_the_app_ends_its_run_once() -> None:
    emulator, _ = make()
    publish(emulator, init_headers("wfr_1"))
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=False, response='"done"')
    [view] = emulator.service.workflow_runs(TENANT, {}).items
    assert view.run.state is RunState.RUN_SUCCESS and view.run.response == '"done"'
    assert view.run.completed_at_ms == 1_700_000_000_000
    with pytest.raises(BadRequest):
        emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=True, response=None)
    with pytest.raises(NotFound):
        emulator.service.end_workflow_run(TENANT, "wfr_2", cancel=False, response=None)
    with pytest.raises(NotFound):
        emulator.service.workflow_history(TENANT, "wfr_1")


async def test_cancel_drops_the_pending_steps() -> None:
    emulator, dispatcher = make()
    await emulator.start()
    publish(emulator, init_headers("wfr_1"))
    await emulator.drain()
    sleeping = publish(emulator, step_headers("wfr_1", **{"upstash-delay": "1d"}),
                       step(1, "nap", stepType="SleepFor"))
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=True, response=None)
    await emulator.advance(2 * 86400)
    assert len(dispatcher.requests) == 1
    assert emulator.service.get_message(TENANT, sleeping.message_id).state is State.CANCELED
    assert state_of(emulator, "wfr_1") == "RUN_CANCELED"
    await emulator.stop()


async def test_bulk_cancel_by_ids_by_filters_and_all() -> None:
    emulator, _ = make()
    urls = {"wfr_a": "http://app/a", "wfr_b": "http://app/a/b", "wfr_c": "http://app/c"}
    for run_id, url in urls.items():
        publish(emulator, init_headers(run_id, **{"upstash-workflow-url": url,
                                                  "upstash-label": run_id}), url=url)
    cancel = emulator.service.cancel_workflow_runs
    assert cancel(TENANT, ["wfr_c", "nope"], {}) == 1
    assert cancel(TENANT, ["wfr_c"], {}) == 0
    exact = {"workflowUrl": ["http://app/a"], "workflowUrlExactMatch": ["true"]}
    assert cancel(TENANT, None, exact) == 1
    assert cancel(TENANT, None, {"label": ["wfr_b"]}) == 1
    publish(emulator, init_headers("wfr_d"))
    assert cancel(TENANT, None, {"workflowUrl": ["http://app/"]}) == 1
    publish(emulator, init_headers("wfr_e"))
    assert cancel(TENANT, None, {}) == 1


async def test_faults_and_quotas_apply_to_workflow_messages() -> None:
    emulator, dispatcher = make()
    await emulator.start()
    emulator.service.add_fault(TENANT, {"match": APP, "connection_error": True})
    publish(emulator, init_headers("wfr_1", **{"upstash-retries": "0"}))
    publish(emulator, init_headers("wfr_2", **{"upstash-retries": "0"}))
    await emulator.drain()
    assert [r.message_id for r in dispatcher.requests] == []  # answered by the fault
    assert state_of(emulator, "wfr_1") == state_of(emulator, "wfr_2") == "RUN_FAILED"
    assert used_today(emulator) == 2
    await emulator.stop()
