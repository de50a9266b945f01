"""The `qstash` marker, the options and their precedence, an external emulator shared by two
xdist workers, and `--qstash-docker` without a Docker engine."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from pytest_qstash.options import QStashSettings, resolve, with_marker
from pytest_qstash.server import EmulatorServer

pytest_plugins = ["pytester"]


# -- precedence, as plain functions ----------------------------------------------------------


def _resolve(cli: dict[str, str], ini: dict[str, str], env: dict[str, str]) -> QStashSettings:
    return resolve(cli.get, lambda name: ini.get(name, ""), env)


def test_defaults() -> None:
    settings = _resolve({}, {}, {})
    assert (settings.url, settings.clock, settings.plan, settings.docker) == (
        None, "virtual", None, False)
    assert settings.quota == {}


def test_command_line_beats_ini_beats_environment() -> None:
    env = {"QSTASH_EMULATOR_CLOCK": "real", "QSTASH_EMULATOR_PLAN": "free",
           "QSTASH_EMULATOR_DAILY_QUOTA": "5", "QSTASH_EMULATOR_URL": "http://env:1"}
    ini = {"qstash_plan": "payg", "qstash_daily_quota": "7"}
    cli = {"daily_quota": "9"}
    settings = _resolve(cli, ini, env)
    assert (settings.clock, settings.plan, settings.daily_quota, settings.url) == (
        "real", "payg", 9, "http://env:1")
    assert settings.quota == {"daily": 9}


def test_marker_beats_everything_and_rejects_unknown_keys() -> None:
    session = _resolve({"clock": "real", "daily_quota": "9"}, {}, {})
    settings = with_marker(session, {"clock": "virtual", "faults": [{"match": "*"}]})
    assert (settings.clock, settings.daily_quota, settings.faults) == ("virtual", 9,
                                                                       ({"match": "*"},))
    with pytest.raises(ValueError, match="unknown qstash marker option"):
        with_marker(session, {"colour": "blue"})
    with pytest.raises(ValueError, match="clock must be"):
        with_marker(session, {"clock": "sundial"})


def test_boolean_and_empty_values() -> None:
    assert _resolve({}, {"qstash_docker": "true"}, {}).docker is True
    assert _resolve({"docker": None}, {"qstash_docker": ""}, {}).docker is False


# -- the same through pytest ----------------------------------------------------------------

MARKERS = '''
import os

import pytest


def clock_of(tenant):
    return tenant.control.health()["clock"]


def test_session_clock(qstash_tenant, qstash_settings):
    assert clock_of(qstash_tenant) == qstash_settings.clock == os.environ["EXPECT_CLOCK"]


@pytest.mark.qstash(clock="real")
def test_marker_real(qstash_tenant):
    assert clock_of(qstash_tenant) == "real"


@pytest.mark.qstash(clock="real")
class TestClassMarker:
    @pytest.mark.qstash(clock="virtual")
    def test_closest_marker_wins(self, qstash_tenant):
        assert clock_of(qstash_tenant) == "virtual"

    def test_class_marker(self, qstash_tenant):
        assert clock_of(qstash_tenant) == "real"


@pytest.mark.qstash(colour="blue")
def test_unknown_marker_option(qstash_tenant):
    pass
'''


@pytest.mark.parametrize(
    ("env", "ini", "cli", "expected"),
    [
        pytest.param("real", None, None, "real", id="env"),
        pytest.param("real", "virtual", None, "virtual", id="ini-beats-env"),
        pytest.param("virtual", "virtual", "real", "real", id="cli-beats-ini"),
    ],
)
def test_marker_and_session_options(
    downstream: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    env: str, ini: str | None, cli: str | None, expected: str,
) -> None:
    monkeypatch.setenv("QSTASH_EMULATOR_CLOCK", env)
    monkeypatch.setenv("EXPECT_CLOCK", expected)
    if ini:
        downstream.makeini(f"[pytest]\nqstash_clock = {ini}\n")
    downstream.makepyfile(test_markers=MARKERS)
    result = downstream.runpytest_subprocess(*(["--qstash-clock", cli] if cli else []))
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*unknown qstash marker option(s) colour*"])


def test_the_marker_is_registered(downstream: pytest.Pytester) -> None:
    result = downstream.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.qstash(plan=None, clock='virtual'*"])


# -- one external emulator shared by two workers ----------------------------------------------

SHARED = '''
import json
import os

import pytest


@pytest.mark.parametrize("n", range(6))
def test_isolated(n, qstash_client, qstash_endpoint, qstash_tenant, qstash_receiver,
                  qstash_clock, worker_id):
    url = qstash_endpoint.url_for(f"/t{n}")
    ids = {qstash_client.message.publish(url=url, body=f"{n}-{i}", delay="30s").message_id
           for i in range(3)}
    qstash_clock.advance(30)
    for request in qstash_endpoint.wait_for(3):
        qstash_receiver.verify(signature=request.header("Upstash-Signature"),
                               body=request.text, url=request.url)
    assert {log.message_id for log in qstash_client.log.list().logs} == ids
    assert {d["messageId"] for d in qstash_tenant.control.deliveries()} == ids
    with open(os.environ["RECORD"], "a") as record:
        record.write(json.dumps([worker_id, qstash_tenant.token]) + "\\n")


@pytest.mark.qstash(clock="real")
def test_other_clock_is_skipped(qstash_tenant):
    pass


@pytest.mark.qstash(plan="free")
def test_plan_is_skipped(qstash_tenant):
    pass
'''


@pytest.mark.parametrize("how", ["option", "ini", "env"])
def test_two_workers_share_an_external_emulator_without_seeing_each_other(
    downstream: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer,
    tmp_path: Path, how: str,
) -> None:
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("RECORD", str(record))
    args = ["-rs"]
    if how == "option":  # two workers here; ini and env run serially to check the wiring
        args += ["-n", "2", "--qstash-url", server.url]
    elif how == "ini":
        downstream.makeini(f"[pytest]\nqstash_url = {server.url}\n")
    else:
        monkeypatch.setenv("QSTASH_EMULATOR_URL", server.url)
    downstream.makepyfile(test_shared=SHARED)
    result = downstream.runpytest_subprocess(*args)
    result.assert_outcomes(passed=6, skipped=2)
    result.stdout.fnmatch_lines(["*needs a real clock; the external emulator's clock is virtual*"])
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert {worker for worker, _ in rows} == ({"gw0", "gw1"} if how == "option" else {"master"})
    assert len({token for _, token in rows}) == 6


# -- Docker -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["option", "ini"])
def test_docker_without_an_engine_fails_with_a_clear_message(
    downstream: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    downstream.makepyfile(test_docker="def test_it(qstash_client):\n    pass\n")
    if how == "ini":
        downstream.makeini("[pytest]\nqstash_docker = true\n")
    result = downstream.runpytest_subprocess(*(["--qstash-docker"] if how == "option" else []))
    result.assert_outcomes(errors=1)
    if importlib.util.find_spec("testcontainers") is None:
        expected = ("--qstash-docker needs testcontainers, which is not installed: "
                    "pip install 'qstash-emulator[docker]'")
    else:
        expected = "--qstash-docker: no Docker engine is reachable"
    output = result.stdout.str()
    assert expected in output
    assert "Traceback" not in output
    assert "direct cause" not in output
