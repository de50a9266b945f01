"""The live stream as a client sees it, the `--no-ui` switch, and the dashboard line the
command line prints on start."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from qstash import QStash
from redis_support import free_port
from ui_support import UI

from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.settings import Settings

WAIT_S = 15.0


def snapshots(response: httpx.Response) -> Iterator[dict[str, str]]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json.loads(line.removeprefix("data:"))


def test_the_stream_sends_the_counters_when_they_change(
    server: EmulatorServer, client: QStash, endpoint: Endpoint, tenant_key: str
) -> None:
    url = f"{server.url}{UI}/stream?tenant={tenant_key}"
    with httpx.stream("GET", url, timeout=WAIT_S) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        received = snapshots(response)
        first = next(received)
        assert (first["pending"], first["delivered"], first["dlq"]) == ("0", "0", "0")
        client.message.publish(url=endpoint.url_for("/s"), body="s", delay="1h")
        second = next(received)
    assert second["pending"] == "1"
    assert second["version"] != first["version"]


def test_no_ui_serves_no_dashboard() -> None:
    with EmulatorServer(clock="virtual", ui=False) as server:
        assert httpx.get(f"{server.url}{UI}/").status_code == 404
        assert httpx.get(f"{server.url}/").status_code == 404
        assert httpx.get(f"{server.url}/__emulator__/health").status_code == 200


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("true", True)])
def test_the_ui_variable(raw: str, expected: bool) -> None:
    assert Settings.from_env({"QSTASH_EMULATOR_UI": raw}).ui is expected


def _startup(args: list[str]) -> list[str]:
    """Everything the command line printed by the time it answers requests."""
    port = free_port()
    command = [sys.executable, "-m", "qstash_emulator", "--clock", "virtual", "--port",
               str(port), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={"PYTHONUNBUFFERED": "1", "PATH": ""})
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)  # it prints before it serves
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=WAIT_S)
    return [line.replace(str(port), "PORT") for line in output.splitlines()]


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    transport = httpx.HTTPTransport(retries=50)  # connection attempts, backing off
    with httpx.Client(transport=transport, timeout=WAIT_S) as http:
        assert process.poll() is None
        assert http.get(f"{url}/__emulator__/health").status_code == 200


def test_the_command_line_prints_the_dashboard_url_after_the_environment_lines() -> None:
    printed = _startup([])
    at = printed.index(f"Dashboard: http://127.0.0.1:PORT{UI}/")
    assert printed[at - 1].startswith("QSTASH_NEXT_SIGNING_KEY=")


def test_no_ui_prints_no_dashboard_line() -> None:
    printed = _startup(["--no-ui"])
    assert any(line.startswith("QSTASH_NEXT_SIGNING_KEY=") for line in printed)
    assert not any(line.startswith("Dashboard:") for line in printed)
