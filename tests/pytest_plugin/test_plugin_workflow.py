"""The `qstash_workflow` fixture in downstream test files (serial and `-n 2`), and its
`WorkflowRunner` without pytest."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from qstash import AsyncQStash, Receiver
from upstash_workflow import AsyncWorkflowContext
from upstash_workflow.fastapi import Serve

from pytest_qstash.server import EmulatorServer
from pytest_qstash.workflow import WorkflowRunner
from qstash_emulator.core.model import SigningKeys

pytest_plugins = ["pytester"]
XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]

DOWNSTREAM = '''
from fastapi import FastAPI
from upstash_workflow import AsyncWorkflowContext
from upstash_workflow.fastapi import Serve


def make_app(fail: bool = False) -> FastAPI:
    app = FastAPI()
    serve = Serve(app)
    failures = []

    async def on_failure(context, status, message, headers):
        failures.append(message)

    @serve.post("/order", retries=0, failure_function=on_failure)
    async def order(context: AsyncWorkflowContext[dict]) -> None:
        async def reserve():
            return {"item": context.request_payload["item"], "qty": 2}

        reserved = await context.run("reserve", reserve)
        await context.sleep("cool-down", "7d")

        async def price():
            if fail:
                raise RuntimeError("no price")
            return reserved["qty"] * 21

        await context.run("price", price)

    app.state.failures = failures
    return app


def test_a_week_long_run_ends_at_once(qstash_workflow):
    url = qstash_workflow.serve(make_app()) + "/order"
    run = qstash_workflow.run(url, body={"item": "book"})
    assert run.state == "RUN_SUCCESS"
    assert run.results["reserve"] == {"item": "book", "qty": 2}
    assert run.results["price"] == 42
    assert [step.name for step in run.steps] == ["init", "reserve", "cool-down", "price"]


def test_a_failing_run_and_its_failure_function(qstash_workflow):
    app = make_app(fail=True)
    run = qstash_workflow.run(qstash_workflow.serve(app) + "/order", body={"item": "pen"})
    assert run.state == "RUN_FAILED"
    assert run.failure["state"] == "CALLBACK_SUCCESS"
    assert app.state.failures and "no price" in app.state.failures[0]


def test_faults_apply_to_workflow_steps(qstash_workflow, qstash_faults):
    url = qstash_workflow.serve(make_app()) + "/order"
    run_id = qstash_workflow.trigger(url, body={"item": "cup"})
    qstash_faults.add("*/order", statuses=[500])  # the step after the sleep fails, no retries
    run = qstash_workflow.finish(run_id)
    assert run.state == "RUN_FAILED"
    assert [step.name for step in run.steps] == ["init", "reserve", "cool-down"]
'''


@pytest.mark.parametrize("args", XDIST)
def test_the_fixture_in_downstream_tests(downstream: pytest.Pytester, args: list[str]) -> None:
    downstream.makepyfile(test_workflow_app=DOWNSTREAM)
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=3)


def test_the_runner_without_pytest(server: EmulatorServer, token: str, keys: SigningKeys,
                                   control: object) -> None:
    app = FastAPI()
    serve = Serve(app)
    client = AsyncQStash(token, base_url=server.url, retry=False)

    @serve.post("/greet", qstash_client=client, receiver=Receiver(keys.current, keys.next))
    async def greet(context: AsyncWorkflowContext[str]) -> None:
        async def hello() -> str:
            return f"hello {context.request_payload}"

        await context.run("hello", hello)
        await context.sleep_until("later", 4_000_000_000)

    with WorkflowRunner(server.url, token) as runner:
        url = runner.serve(app) + "/greet"
        run_id = runner.trigger(url, body="Ada")
        assert runner.get(run_id).results == {"init": "Ada", "hello": "hello Ada"}
        runner.cancel(run_id)
        assert runner.finish(run_id).state == "RUN_CANCELED"
        assert runner.notify("nobody-waits", {"x": 1}) == []
        with pytest.raises(AssertionError, match="no workflow run started"):
            runner.max_wait_s = 0.2
            runner.trigger(runner.serve(FastAPI()) + "/missing")
