"""A workflow run survives a `kill -9` of an emulator on Redis: a restart finishes it."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from qstash import AsyncQStash, QStash, Receiver
from redis_support import SKIP_REASON, free_port, redis_url, unique_prefix
from workflow_apps import Journal, order_app
from workflow_support import Runs, ServeApp

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.model import SigningKeys

ROOT = Path(__file__).resolve().parents[2]
WEEK_S = 7 * 86400
START_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def redis_server_url() -> Iterator[str]:
    with redis_url() as url:
        if url is None:
            pytest.skip(SKIP_REASON)
        yield url


class EmulatorProcess:
    """`python -m qstash_emulator` on Redis, on a fixed port so that a restart keeps its URL."""

    def __init__(self, store: str, prefix: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._args = ["--port", str(self.port), "--clock", "virtual", "--any-token",
                      "--store", store, "--store-prefix", prefix]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> EmulatorProcess:
        paths = [str(ROOT / part) for part in ("emulator", "client", "pytest_plugin")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self._process = subprocess.Popen([sys.executable, "-m", "qstash_emulator", *self._args],
                                         env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/__emulator__/health").raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the emulator did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; whatever was not in Redis yet is lost."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(10)


@pytest.fixture
def prefix(redis_server_url: str) -> Iterator[str]:
    """This test's key prefix on the test Redis; every key under it is deleted at the end."""
    chosen = unique_prefix("workflow")
    yield chosen
    client = redis.Redis.from_url(redis_server_url)
    for key in client.scan_iter(f"{chosen}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def emulator_on_redis(redis_server_url: str, prefix: str) -> Iterator[EmulatorProcess]:
    emulator = EmulatorProcess(redis_server_url, prefix)
    yield emulator
    emulator.kill()


def test_a_sleeping_run_finishes_after_kill_9_and_restart(
    emulator_on_redis: EmulatorProcess, token: str, keys: SigningKeys, serve_app: ServeApp,
    endpoint: Endpoint,
) -> None:
    emulator = emulator_on_redis.start()
    journal = Journal()
    app_client = AsyncQStash(token, base_url=emulator.url, retry=False)
    app = serve_app(order_app(app_client, Receiver(keys.current, keys.next), journal))
    endpoint.respond_with(200, path="/quote", body=json.dumps({"quote": "Q-9"}),
                          headers={"Content-Type": "application/json"})
    QStash(token, base_url=emulator.url, retry=False).message.publish_json(
        url=f"{app.url}/order", body={"item": "lamp", "quote_url": endpoint.url_for("/quote")})
    with EmulatorControl(emulator.url, token) as control:
        control.advance(0)
    assert journal.names == ["reserve", "price"]

    emulator.kill()
    emulator.start()
    with EmulatorControl(emulator.url, token) as control, Runs(emulator.url, token) as runs:
        control.advance(WEEK_S)
        [run_id] = journal.run_ids
        assert journal.names == ["reserve", "price", "confirm"]
        assert journal.value("confirm")["quote"] == {"quote": "Q-9"}
        assert runs.get(run_id)["workflowState"] == "RUN_SUCCESS"
        assert runs.step_names(run_id) == ["init", "reserve", "price", "cool-down", "quote",
                                           "confirm"]


def test_a_waiter_and_its_timeout_survive_a_restart(
    redis_server_url: str, prefix: str, token: str, endpoint: Endpoint
) -> None:
    settings = {"clock": "virtual", "store": redis_server_url, "store_prefix": prefix,
                "any_token": True}
    app = endpoint.url_for("/wf")
    run = {"Upstash-Workflow-RunId": "wfr_wait", "Upstash-Workflow-Url": app}
    step = {"stepId": 1, "stepName": "approval", "stepType": "Wait", "concurrent": 1}
    with EmulatorServer(**settings) as first, httpx.Client(
            base_url=first.url, headers={"Authorization": f"Bearer {token}"}) as api:
        api.post(f"/v2/publish/{app}", content=b"payload",
                 headers={**run, "Upstash-Workflow-Init": "true"}).raise_for_status()
        endpoint.wait_for(1)
        api.post("/v2/wait/approved", headers=run, json={
            "url": app, "timeout": "1h", "timeoutUrl": app, "step": step}).raise_for_status()
    with EmulatorServer(**settings) as second, httpx.Client(
            base_url=second.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert [w["url"] for w in api.get("/v2/waiters/approved").json()] == [app]
        with EmulatorControl(second.url, token) as control:
            control.advance(3600)
        [_, timed_out] = endpoint.wait_for(2)
        items = timed_out.json()
        assert len(items) == 2 and items[1]["callType"] == "step"
        assert json.loads(base64.b64decode(items[1]["body"]))["waitTimeout"] is True
        assert api.get("/v2/waiters/approved").json() == []
