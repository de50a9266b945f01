"""The real command line, started as a subprocess: flags, environment variables, start-up lines."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType

import httpx
import pytest
from qstash import QStash

from qstash_emulator.core.tenants import DEV_USERS

DEV_TOKEN = DEV_USERS[0].token
DEV_CURRENT_KEY, DEV_NEXT_KEY = DEV_USERS[0].keys.current, DEV_USERS[0].keys.next
STARTUP_KEYS = (
    "QSTASH_URL", "QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY",
)
TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without any QSTASH_EMULATOR_* leaking in, unbuffered, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_EMULATOR_")}
    return env | {"PYTHONUNBUFFERED": "1"} | dict(extra or {})


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qstash_emulator", *args], env=child_env(env),
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
    )


class CliProcess:
    """`python -m qstash_emulator ...` in a subprocess, its output read line by line."""

    def __init__(self, args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> None:
        self._command = [sys.executable, "-m", "qstash_emulator", *args]
        self._env = child_env(env)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> CliProcess:
        self._process = subprocess.Popen(
            self._command, env=self._env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._process is not None
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def startup(self) -> dict[str, str]:
        """Read lines until the four `QSTASH_*=` lines have been printed."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not set(STARTUP_KEYS) <= found.keys():
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no start-up lines within {TIMEOUT_SECONDS}s: {self.output}")
            if line is None:
                pytest.fail(f"the emulator exited early: {self.output}")
            self.output.append(line)
            name, sep, value = line.partition("=")
            if sep and name in STARTUP_KEYS:
                found[name] = value
        return found

    def wait_healthy(self, url: str) -> dict[str, object]:
        """Poll the health route until it answers (bounded)."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            try:
                response = httpx.get(f"{url}/__emulator__/health", timeout=1.0)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{url} never became healthy: {self.output}")
            time.sleep(0.05)


def _assert_dev_credentials(lines: dict[str, str], port: int) -> None:
    assert lines["QSTASH_URL"] == f"http://127.0.0.1:{port}"
    assert lines["QSTASH_TOKEN"] == DEV_TOKEN
    assert lines["QSTASH_CURRENT_SIGNING_KEY"] == DEV_CURRENT_KEY
    assert lines["QSTASH_NEXT_SIGNING_KEY"] == DEV_NEXT_KEY


def test_flags_start_an_emulator_that_prints_dev_credentials() -> None:
    port = free_port()
    with CliProcess(["--port", str(port), "--clock", "virtual"]) as cli:
        lines = cli.startup()
        _assert_dev_credentials(lines, port)
        assert any(line.startswith("qstash-emulator is running") for line in cli.output)
        health = cli.wait_healthy(lines["QSTASH_URL"])
        assert health["status"] == "ok"
        assert health["clock"] == "virtual"
        keys = QStash(lines["QSTASH_TOKEN"], base_url=lines["QSTASH_URL"]).signing_key.get()
        assert (keys.current, keys.next) == (DEV_CURRENT_KEY, DEV_NEXT_KEY)


def test_environment_variables_alone_configure_the_emulator() -> None:
    port = free_port()
    env = {
        "QSTASH_EMULATOR_HOST": "127.0.0.1",
        "QSTASH_EMULATOR_PORT": str(port),
        "QSTASH_EMULATOR_CLOCK": "virtual",
    }
    with CliProcess(env=env) as cli:
        lines = cli.startup()
        _assert_dev_credentials(lines, port)
        assert cli.wait_healthy(lines["QSTASH_URL"])["clock"] == "virtual"


def test_token_flags_add_tenants_and_unknown_tokens_get_401() -> None:
    port = free_port()
    with CliProcess(["--port", str(port), "--token", "my-token", "--token", "other-token"]) as cli:
        url = cli.startup()["QSTASH_URL"]
        cli.wait_healthy(url)
        for token in ("my-token", "other-token", DEV_TOKEN):
            response = httpx.get(f"{url}/v2/keys", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, token
            assert set(response.json()) == {"current", "next"}
        denied = httpx.get(f"{url}/v2/keys", headers={"Authorization": "Bearer not-a-token"})
        assert denied.status_code == 401
        assert isinstance(denied.json()["error"], str)


def test_any_token_accepts_every_token() -> None:
    port = free_port()
    with CliProcess(["--port", str(port), "--any-token"]) as cli:
        url = cli.startup()["QSTASH_URL"]
        cli.wait_healthy(url)
        token = f"random-{uuid.uuid4().hex}"
        response = httpx.get(f"{url}/v2/keys", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        keys = QStash(token, base_url=url).signing_key.get()
        assert keys.current.startswith("sig_") and keys.next.startswith("sig_")


def test_an_invalid_clock_flag_exits_with_a_message() -> None:
    result = run_cli("--clock", "sundial")
    assert result.returncode == 2
    assert "sundial" in result.stderr


def test_an_invalid_clock_variable_exits_with_a_message() -> None:
    result = run_cli(env={"QSTASH_EMULATOR_CLOCK": "sundial"})
    assert result.returncode == 2
    assert "sundial" in result.stderr
    assert "QSTASH_URL=" not in result.stdout


def test_help_mentions_the_environment_variables() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "QSTASH_EMULATOR_" in result.stdout


def test_the_banner_follows_the_bind_and_names_the_store() -> None:
    port = free_port()
    with CliProcess(["--port", str(port), "--clock", "virtual"]) as cli:
        cli.startup()
        [banner] = [line for line in cli.output if line.startswith("qstash-emulator is running")]
        assert banner == (f"qstash-emulator is running on 127.0.0.1:{port} "
                          "(clock: virtual, store: memory)")


def test_a_port_in_use_is_one_line_and_status_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"qstash-emulator: port {port} is in use; pick another with --port"]
    assert result.stdout == ""  # no "is running" line first


def test_an_unreachable_redis_store_is_one_line_and_status_2() -> None:
    port = free_port()  # nothing listens there
    result = run_cli("--port", "0", "--store", f"redis://:secret@127.0.0.1:{port}/5")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"qstash-emulator: cannot reach the store redis://127.0.0.1:{port}/5: ")
    assert "refused" in line.lower() and "secret" not in line
    assert result.stdout == ""


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("QSTASH_EMULATOR_PORT", "abc", "QSTASH_EMULATOR_PORT='abc': want an integer"),
    ("QSTASH_EMULATOR_SPEED", "fast", "QSTASH_EMULATOR_SPEED='fast': want a number"),
    ("QSTASH_EMULATOR_REGION", "mars-1", "unknown region 'MARS-1'"),
])
def test_a_bad_environment_value_names_its_variable(
    variable: str, value: str, expected: str
) -> None:
    result = run_cli(env={variable: value})
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert expected in line


def test_help_lists_the_scenario_subcommand_and_the_exit_status() -> None:
    result = run_cli("--help")
    assert "qstash-emulator scenario run FILE" in result.stdout
    assert "Exit status: 0 stopped normally, 2 could not start" in result.stdout


def test_signing_keys_and_region_flags_reach_the_api_and_the_start_up_lines() -> None:
    port = free_port()
    args = ["--port", str(port), "--clock", "virtual", "--signing-keys", "sig_a,sig_b",
            "--region", "us-east-1"]
    with CliProcess(args) as cli:
        lines = cli.startup()
        assert (lines["QSTASH_CURRENT_SIGNING_KEY"], lines["QSTASH_NEXT_SIGNING_KEY"]) == (
            "sig_a", "sig_b")
        cli.wait_healthy(lines["QSTASH_URL"])
        keys = QStash(DEV_TOKEN, base_url=lines["QSTASH_URL"]).signing_key.get()
        assert (keys.current, keys.next) == ("sig_a", "sig_b")
    refused = run_cli("--signing-keys", "only-one")
    assert refused.returncode == 2
    assert "CURRENT,NEXT" in refused.stderr


def test_workers_on_the_memory_store_is_one_line_and_status_2() -> None:
    result = run_cli("--port", "0", "--workers", "2")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "qstash-emulator: --workers 2 needs the Redis store (--store redis://host:port/db): "
        "the memory store lives in one process"]
    assert result.stdout == ""
